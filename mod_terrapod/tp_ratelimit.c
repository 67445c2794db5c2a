/* Rate-limit classes, windows and verdicts: pure functions the glue's
 * shared-memory counters are built on, unit-tested without a server. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "tp_ratelimit.h"

/* A user's budget is per second, as HCP Terraform's is and as go-tfe
 * reads X-RateLimit-Limit (it paces itself at two thirds of the ping's
 * figure per second); the per-address classes guard against guessing
 * and floods, where a minute's count is the useful one. */
static const struct {
    const char *name;
    int window;                 /* seconds */
    const char *window_name;
} classes[TP_RL_NCLASSES] = {
    {"unauthenticated", 60, "minute"},
    {"authenticated", 1, "second"},
    {"sign-in", 60, "minute"}
};

/* Where credentials are presented: POST /oauth/authorize (the login
 * form), the token endpoint, and the native auth API. */
static int is_sign_in(const char *method, const char *path)
{
    return (strcmp(path, "/oauth/authorize") == 0
            && strcmp(method, "POST") == 0)
           || strcmp(path, "/oauth/token") == 0
           || strncmp(path, "/oauth/token/", 13) == 0
           || strncmp(path, "/api/terrapod/v1/auth/", 22) == 0;
}

const char *tp_rl_class_name(tp_rl_class_e c)
{
    return c < TP_RL_NCLASSES ? classes[c].name : "exempt";
}

int tp_rl_class_named(const char *name)
{
    int i;

    for (i = 0; i < TP_RL_NCLASSES; i++) {
        if (strcmp(name, classes[i].name) == 0) {
            return i;
        }
    }
    return -1;
}

int tp_rl_window(tp_rl_class_e c)
{
    return classes[c].window;
}

const char *tp_rl_window_name(tp_rl_class_e c)
{
    return classes[c].window_name;
}

const char *tp_rl_parse_limit(const char *arg, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (end == arg || *end || v < 0 || v > TP_RL_MAX_LIMIT) {
        return "takes a number of requests per minute (0: no limit)";
    }
    *out = (int)v;
    return NULL;
}

tp_rl_class_e tp_rl_classify(const char *method, const char *path,
                             tp_rl_caller_e caller)
{
    if (caller == TP_RL_RUNNER) {
        return TP_RL_EXEMPT;
    }
    if (caller == TP_RL_USER) {
        return TP_RL_AUTHENTICATED;
    }
    return is_sign_in(method, path) ? TP_RL_SIGN_IN : TP_RL_UNAUTHENTICATED;
}

static apr_int64_t window_of(tp_rl_class_e c, apr_time_t now)
{
    return (apr_int64_t)apr_time_sec(now) / classes[c].window;
}

const char *tp_rl_key(apr_pool_t *p, tp_rl_class_e c, const char *budget,
                      apr_time_t now)
{
    return apr_psprintf(p, "%d|%s|%" APR_INT64_T_FMT, (int)c, budget,
                        window_of(c, now));
}

apr_time_t tp_rl_window_end(tp_rl_class_e c, apr_time_t now)
{
    return apr_time_from_sec((window_of(c, now) + 1) * classes[c].window);
}

void tp_rl_judge(int limit, unsigned count, apr_time_t now, apr_time_t end,
                 tp_rl_verdict_t *v)
{
    v->limit = limit;
    v->allowed = count <= (unsigned)limit;
    v->remaining = v->allowed ? limit - (int)count : 0;
    v->reset = end > now ? end - now : 0;
}
