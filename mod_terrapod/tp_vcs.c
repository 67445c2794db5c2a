/* VCS connections: provider names, server URLs, API bases and repository
 * URLs (tp_vcs.h). */
#include <string.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "tp_vcs.h"

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
