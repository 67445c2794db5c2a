/* Configurations from a repository: a commit's archive fetched once and
 * made into the form an upload has, and configuration versions made of it
 * that remember where they came from (TFE's ingress attributes). Shared
 * by POST /runs and the background child's poller. */
#ifndef TP_VCS_CONFIG_H
#define TP_VCS_CONFIG_H

#include "tp_vcs_store.h"
#include "tp_json.h"

/* Where a configuration came from. Strings may be NULL (unknown). */
typedef struct tp_vcs_ingress {
    const char *commit_sha;
    const char *commit_url;
    const char *branch;             /* NULL for a tag or a bare SHA */
    const char *tag;
    const char *commit_message;
    const char *sender_username;    /* the commit's author, or who pushed */
    int pull_request_number;        /* 0: none */
    const char *pull_request_url;
    const char *pull_request_title;
    const char *compare_url;
    const char *clone_url;
    const char *identifier;         /* owner/name */
    int is_pull_request;
} tp_vcs_ingress_t;

/* The ingress as stored and served: TFE's ingress-attributes names,
 * null for what is unknown. */
tp_json_t *tp_vcs_ingress_json(apr_pool_t *p, const tp_vcs_ingress_t *ing);

/* refs (of tp_vcs_ref_t) as the API lists them: [{name, sha}]. */
tp_json_t *tp_vcs_refs_json(apr_pool_t *p, const apr_array_header_t *refs);

/* Whether a vcs-ref names a commit by its SHA: 7 to 40 hex digits. */
int tp_vcs_ref_is_sha(const char *ref);

/* TFE's service-provider of a connection: "github" or "gitlab_hosted"
 * for the public services, "github_enterprise" or "gitlab_enterprise"
 * for a server of one's own (server_url not NULL). */
const char *tp_vcs_service_provider(tp_vcs_provider_e provider,
                                    const char *server_url);

/* Downloads the archive of commit sha once, strips its single top
 * directory and checks it as an upload is checked (env's caps: 413 for a
 * download past them, 422 for an archive that is no configuration or
 * unpacks past them). *tarball: a temp file that lives as long as p;
 * *files (unless NULL): the regular files it holds. */
tp_err_t *tp_vcs_fetch(apr_pool_t *p, const tp_vcs_env_t *env,
                       tp_vcs_conn_t *c, const char *owner, const char *name,
                       const char *sha, const char **tarball, int *files);

/* Makes tarball (from tp_vcs_fetch) an uploaded configuration version of
 * workspace ws_id, with the source of its VCS connection ("github",
 * "gitlab") and the ingress: the file is stored under the key an upload
 * uses first, then the row is written, so a version never lacks its file
 * (a failed write removes the file). 404 when the workspace is gone. */
tp_err_t *tp_vcs_cv_create(tp_db_t *db, apr_pool_t *p,
                           const tp_vcs_env_t *env, const char *ws_id,
                           const char *tarball, const tp_vcs_ingress_t *ing,
                           int speculative, const char **cv_id);

#endif
