/* VCS connections: what the API, and the provider clients built on it,
 * agree on about a connection's provider and addresses. Pure functions
 * of their arguments, for unit tests. */
#ifndef TP_VCS_H
#define TP_VCS_H

#include <apr_pools.h>
#include <apr_tables.h>

/* what credentials of a connection are sealed for (tp_seal) */
#define TP_VCS_SEAL_PURPOSE "vcs-credentials"

typedef enum {
    TP_VCS_GITHUB,
    TP_VCS_GITLAB
} tp_vcs_provider_e;

/* "github" or "gitlab"; -1 for anything else. */
int tp_vcs_provider_named(const char *name);

/* Checks a connection's server-url: https to any host, or http to one of
 * internal_hosts (const char *, compared ignoring case; may be NULL);
 * no user name or password, query or fragment. *out is the URL without
 * trailing slashes. NULL when it is fine, else why not. */
const char *tp_vcs_server_url_check(apr_pool_t *p, const char *url,
                                    const apr_array_header_t *internal_hosts,
                                    const char **out);

/* The REST base of a connection without a trailing slash: the public
 * service's (https://api.github.com, https://gitlab.com/api/v4) when
 * server_url is NULL, else SERVER/api/v3 (GitHub Enterprise) or
 * SERVER/api/v4 (GitLab); a server URL already ending in that path is
 * kept as it is. */
const char *tp_vcs_api_base(apr_pool_t *p, tp_vcs_provider_e provider,
                            const char *server_url);

/* A repository's web URL on the connection's host
 * (https://github.com/OWNER/REPO, https://HOST/OWNER/REPO for a server
 * URL, an optional ".git" or trailing slash): *owner and *name. GitHub
 * has exactly one owner; GitLab's owner is the group path with any
 * subgroups. APR_EINVAL for another host, scheme or shape. */
apr_status_t tp_vcs_repo_parse(apr_pool_t *p, tp_vcs_provider_e provider,
                               const char *server_url, const char *repo_url,
                               const char **owner, const char **name);

#endif
