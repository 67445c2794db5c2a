/* VCS connections: a server-url and a repository URL as an admin sends
 * them, and rate-limit headers and a request's answer (what became of
 * it) as a provider sends them. Any bytes are
 * refused or accepted, never crash; what is accepted keeps the promises
 * of tp_vcs.h. */
#include "fuzz.h"
#include "tp_vcs.h"

/* 1 when a path segment is empty, "." or "..": never in a repository's
 * owner or name, which go into the providers' API paths. */
static int bad_segment(apr_pool_t *p, const char *path)
{
    char *copy = apr_pstrdup(p, path), *seg = copy, *slash;

    for (;;) {
        slash = strchr(seg, '/');
        if (slash) {
            *slash = '\0';
        }
        if (!*seg || !strcmp(seg, ".") || !strcmp(seg, "..")) {
            return 1;
        }
        if (!slash) {
            return 0;
        }
        seg = slash + 1;
    }
}

static void repository(apr_pool_t *p, tp_vcs_provider_e provider,
                       const char *server, const char *url)
{
    const char *owner = NULL, *name = NULL;

    if (tp_vcs_repo_parse(p, provider, server, url, &owner, &name)
        != APR_SUCCESS) {
        return;
    }
    FUZZ_ASSERT(!strchr(name, '/') && !bad_segment(p, name));
    FUZZ_ASSERT(!bad_segment(p, owner));
    FUZZ_ASSERT(provider == TP_VCS_GITLAB || !strchr(owner, '/'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *a, *b, *server = NULL, *base;
    apr_array_header_t *hosts;
    apr_table_t *headers;
    long remaining;
    apr_time_t reset;
    int provider, state;
    tp_json_t *j;

    apr_pool_create(&p, fuzz_root);
    fuzz_split(p, data, size, &a, &b);
    hosts = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(hosts, const char *) = "git.internal";
    if (tp_vcs_server_url_check(p, a, hosts, &server) == NULL) {
        FUZZ_ASSERT(strncasecmp(server, "https://", 8) == 0
                    || strncasecmp(server, "http://", 7) == 0);
        FUZZ_ASSERT(server[strlen(server) - 1] != '/');
    }
    for (provider = TP_VCS_GITHUB; provider <= TP_VCS_GITLAB; provider++) {
        base = tp_vcs_api_base(p, provider, server);
        FUZZ_ASSERT(base && *base);
        repository(p, provider, NULL, b);
        repository(p, provider, server, b);
    }
    headers = apr_table_make(p, 2);
    apr_table_set(headers, "X-RateLimit-Remaining", a);
    apr_table_set(headers, "RateLimit-Reset", b);
    tp_vcs_rate_limit(headers, &remaining, &reset);
    FUZZ_ASSERT(remaining >= -1 && reset >= 0);
    if ((j = tp_json_parse(p, b, strlen(b), NULL)) != NULL) {
        state = tp_vcs_github_ops.pr_state(j);
        FUZZ_ASSERT(state >= -1 && state <= TP_VCS_PR_CLOSED);
        state = tp_vcs_gitlab_ops.pr_state(j);
        FUZZ_ASSERT(state >= -1 && state <= TP_VCS_PR_CLOSED);
    }
    apr_pool_destroy(p);
    return 0;
}
