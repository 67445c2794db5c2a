/* Rate limits: which class a request counts in, the fixed windows its
 * counters live in (a second for a user's budget, a minute for a client
 * address's), and the verdict with the numbers the X-RateLimit-* headers
 * carry. The counters themselves are the glue's (shared memory,
 * mod_terrapod_ratelimit.c). */
#ifndef TP_RATELIMIT_H
#define TP_RATELIMIT_H

#include <apr_pools.h>
#include <apr_time.h>

typedef enum {
    TP_RL_UNAUTHENTICATED, /* per client address and minute */
    TP_RL_AUTHENTICATED,   /* per user (or signed URL) and second */
    TP_RL_SIGN_IN,         /* per client address and minute */
    TP_RL_EXEMPT           /* not counted: listeners and runners */
} tp_rl_class_e;

#define TP_RL_NCLASSES 3   /* the counted classes */

#define TP_RL_DEFAULT_UNAUTHENTICATED 100
#define TP_RL_DEFAULT_AUTHENTICATED   30   /* HCP Terraform's, a second */
#define TP_RL_DEFAULT_SIGN_IN         10
#define TP_RL_MAX_LIMIT               100000000

/* Who a request turned out to be. */
typedef enum {
    TP_RL_ANONYMOUS,      /* no credential, or one that was refused */
    TP_RL_USER,           /* an API token, a session or a signed URL */
    TP_RL_RUNNER          /* a listener certificate or a runner token */
} tp_rl_caller_e;

/* "unauthenticated", "authenticated", "sign-in". */
const char *tp_rl_class_name(tp_rl_class_e c);
/* The class of that name; -1 for none. */
int tp_rl_class_named(const char *name);
/* The length of class c's windows in seconds, and its name ("second",
 * "minute"). */
int tp_rl_window(tp_rl_class_e c);
const char *tp_rl_window_name(tp_rl_class_e c);

/* Parses a per-address limit in requests per minute (0: no limit); NULL on
 * success, else why not. */
const char *tp_rl_parse_limit(const char *arg, int *out);

/* The class a request counts in. Users count in their own budget
 * wherever they go (also their sessions and sign-out under the sign-in
 * paths); anyone else on a sign-in path counts as sign-in; runners are
 * exempt. */
tp_rl_class_e tp_rl_classify(const char *method, const char *path,
                             tp_rl_caller_e caller);

/* The counter key of budget (a user, a signed URL or a client address) in
 * class c, in the window holding now. */
const char *tp_rl_key(apr_pool_t *p, tp_rl_class_e c, const char *budget,
                      apr_time_t now);

/* When class c's window holding now ends. */
apr_time_t tp_rl_window_end(tp_rl_class_e c, apr_time_t now);

typedef struct tp_rl_verdict {
    int allowed;
    int limit;
    int remaining;
    apr_interval_time_t reset;   /* until the window ends */
} tp_rl_verdict_t;

/* The verdict on the count-th request of a window ending at end. */
void tp_rl_judge(int limit, unsigned count, apr_time_t now, apr_time_t end,
                 tp_rl_verdict_t *v);

#endif
