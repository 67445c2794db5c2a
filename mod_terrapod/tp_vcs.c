/* VCS connections: provider names, server URLs, API bases and repository
 * URLs (tp_vcs.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "tp_vcs.h"
#include "tp_http_client.h"
#include "tp_json.h"

#define GITHUB_WEB "https://github.com"
#define GITHUB_API "https://api.github.com"
#define GITLAB_WEB "https://gitlab.com"

int tp_vcs_provider_named(const char *name)
{
    if (name && strcmp(name, "github") == 0) {
        return TP_VCS_GITHUB;
    }
    if (name && strcmp(name, "gitlab") == 0) {
        return TP_VCS_GITLAB;
    }
    return -1;
}

static int host_listed(const char *host,
                       const apr_array_header_t *hosts)
{
    int i;

    for (i = 0; hosts && i < hosts->nelts; i++) {
        if (strcasecmp(host, APR_ARRAY_IDX(hosts, i, const char *)) == 0) {
            return 1;
        }
    }
    return 0;
}

static char *without_trailing_slashes(apr_pool_t *p, const char *s)
{
    char *c = apr_pstrdup(p, s);
    apr_size_t n = strlen(c);

    while (n > 0 && c[n - 1] == '/') {
        c[--n] = '\0';
    }
    return c;
}

const char *tp_vcs_server_url_check(apr_pool_t *p, const char *url,
                                    const apr_array_header_t *internal_hosts,
                                    const char **out)
{
    apr_uri_t u;

    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme
        || !u.hostname || !*u.hostname) {
        return "must be an absolute URL such as https://github.example.com";
    }
    if (u.user || u.password || u.query || u.fragment) {
        return "may not carry a user name, password, query or fragment";
    }
    if (strcasecmp(u.scheme, "https") != 0
        && !(strcasecmp(u.scheme, "http") == 0
             && host_listed(u.hostname, internal_hosts))) {
        return "must use https; http is accepted only for a host named "
               "by TerrapodVCSInternalHost";
    }
    *out = without_trailing_slashes(p, url);
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    apr_size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *tp_vcs_api_base(apr_pool_t *p, tp_vcs_provider_e provider,
                            const char *server_url)
{
    const char *path = provider == TP_VCS_GITHUB ? "/api/v3" : "/api/v4";

    if (!server_url) {
        return provider == TP_VCS_GITHUB ? GITHUB_API
                                         : GITLAB_WEB "/api/v4";
    }
    server_url = without_trailing_slashes(p, server_url);
    return ends_with(server_url, path)
           ? server_url : apr_pstrcat(p, server_url, path, NULL);
}

/* The web root repositories live under: the public service's, or the
 * server URL without its API path. */
static const char *web_root(apr_pool_t *p, tp_vcs_provider_e provider,
                            const char *server_url)
{
    const char *base;

    if (!server_url) {
        return provider == TP_VCS_GITHUB ? GITHUB_WEB : GITLAB_WEB;
    }
    base = tp_vcs_api_base(p, provider, server_url);
    return apr_pstrndup(p, base, strlen(base) - strlen("/api/vN"));
}

/* A path segment a repository's owner or name may be. */
static int segment_ok(const char *s, apr_size_t n)
{
    apr_size_t i;

    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.'
                                                && s[1] == '.')) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789-_.", s[i])) {
            return 0;
        }
    }
    return 1;
}

apr_status_t tp_vcs_repo_parse(apr_pool_t *p, tp_vcs_provider_e provider,
                               const char *server_url, const char *repo_url,
                               const char **owner, const char **name)
{
    const char *root = web_root(p, provider, server_url);
    apr_size_t rn = strlen(root);
    char *rest, *seg, *last_slash;
    int segments = 0;

    if (!repo_url || strncasecmp(repo_url, root, rn) != 0
        || repo_url[rn] != '/') {
        return APR_EINVAL;
    }
    rest = without_trailing_slashes(p, repo_url + rn + 1);
    if (ends_with(rest, ".git")) {
        rest[strlen(rest) - 4] = '\0';
    }
    for (seg = rest; ; seg = last_slash + 1) {
        last_slash = strchr(seg, '/');
        if (!segment_ok(seg, last_slash ? (apr_size_t)(last_slash - seg)
                                        : strlen(seg))) {
            return APR_EINVAL;
        }
        segments++;
        if (!last_slash) {
            break;
        }
    }
    if (segments < 2 || (provider == TP_VCS_GITHUB && segments != 2)) {
        return APR_EINVAL;
    }
    last_slash = strrchr(rest, '/');
    *owner = apr_pstrndup(p, rest, (apr_size_t)(last_slash - rest));
    *name = last_slash + 1;
    return APR_SUCCESS;
}

/* ---- the clients' common part ---- */

static long header_long(const apr_table_t *h, const char *a, const char *b)
{
    const char *v = apr_table_get(h, a);
    char *end;
    long n;

    if (!v) {
        v = apr_table_get(h, b);
    }
    if (!v || !*v) {
        return -1;
    }
    n = strtol(v, &end, 10);
    return *end || n < 0 ? -1 : n;
}

void tp_vcs_rate_limit(const apr_table_t *headers, long *remaining,
                       apr_time_t *reset)
{
    long at = header_long(headers, "X-RateLimit-Reset", "RateLimit-Reset");

    *remaining = header_long(headers, "X-RateLimit-Remaining",
                             "RateLimit-Remaining");
    *reset = at > 0 ? apr_time_from_sec(at) : 0;
}

/* The provider's own words of a refusal: GitHub's "message", GitLab's
 * "message" or "error"; bounded, for the connection's last error. */
static const char *provider_message(apr_pool_t *p, const char *body)
{
    tp_json_t *j = body ? tp_json_parse(p, body, strlen(body), NULL) : NULL;
    const char *m = j ? tp_json_gets(j, "message", NULL) : NULL;

    if (!m && j) {
        m = tp_json_gets(j, "error", NULL);
    }
    return m ? apr_pstrndup(p, m, 200) : "";
}

/* How long to wait before attempt n (1, 2, ...): what Retry-After asked
 * within TP_VCS_RETRY_MAX, else a quarter second doubling. */
static apr_interval_time_t backoff(int n, long retry_after)
{
    if (retry_after > 0) {
        return apr_time_from_sec(retry_after < TP_VCS_RETRY_MAX
                                 ? retry_after : TP_VCS_RETRY_MAX);
    }
    return apr_time_from_msec(250) << (n - 1);
}

tp_err_t *tp_vcs_request(apr_pool_t *p, tp_vcs_conn_t *c,
                         const char *method, const char *path,
                         apr_array_header_t *headers, const char *body,
                         const char **answer)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_err_t *err = NULL;
    int attempt;

    req.method = method;
    req.url = apr_pstrcat(p, c->api_base, path, NULL);
    req.headers = headers;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.ca_extra_file = c->ca_extra_file;
    req.timeout = TP_VCS_TIMEOUT;
    APR_ARRAY_PUSH(headers, const char *) = "User-Agent: mod_terrapod";
    if (body) {
        APR_ARRAY_PUSH(headers, const char *) =
            "Content-Type: application/json";
    }
    for (attempt = 1; attempt <= TP_VCS_ATTEMPTS; attempt++) {
        if (attempt > 1) {
            apr_sleep(backoff(attempt - 1, err ? 0 : resp.retry_after));
        }
        if ((err = tp_http_perform(p, &req, &resp)) != NULL) {
            continue;           /* the exchange failed: tried again */
        }
        tp_vcs_rate_limit(resp.headers, &c->rate_remaining, &c->rate_reset);
        if (resp.status < 500) {
            break;
        }
    }
    if (err) {
        return err;
    }
    if (resp.status < 200 || resp.status > 299) {
        return tp_err(p, 502, "%s %s answered %d%s%s", method, path,
                      resp.status, *provider_message(p, resp.body)
                                   ? ": " : "",
                      provider_message(p, resp.body));
    }
    *answer = resp.body;
    return NULL;
}

tp_err_t *tp_vcs_check(apr_pool_t *p, tp_vcs_conn_t *c, const char **who)
{
    c->rate_remaining = -1;
    c->rate_reset = 0;
    return c->provider == TP_VCS_GITHUB ? tp_vcs_github_check(p, c, who)
                                        : tp_vcs_gitlab_check(p, c, who);
}
