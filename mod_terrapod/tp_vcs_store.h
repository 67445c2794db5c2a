/* VCS connections as the database keeps them, for whoever works with a
 * provider: a request handler or the background child. Both build a
 * tp_vcs_env_t from their configuration and go through here, so a
 * connection is unsealed and its health recorded in one way. */
#ifndef TP_VCS_STORE_H
#define TP_VCS_STORE_H

#include "tp_db.h"
#include "tp_capability.h"
#include "tp_storage.h"
#include "tp_vcs.h"

/* What VCS work needs of the deployment. */
typedef struct tp_vcs_env {
    tp_key_t key;                   /* seals credentials and tokens */
    const char *ca_file;            /* trusted besides the system's CAs */
    const tp_storage_t *storage;    /* where configuration versions go */
    apr_off_t max_upload;           /* a configuration's cap, unpacked */
} tp_vcs_env_t;

/* A connection as the clients use it. */
typedef struct tp_vcs_link {
    const char *id;
    const char *status;             /* "active", "disabled" */
    const char *server_url;         /* NULL: the public service */
    tp_vcs_conn_t conn;             /* its credential unsealed */
} tp_vcs_link_t;

/* Loads connection id: 404 when there is none, 422 when its credential
 * cannot be unsealed (the deployment's key was replaced). */
tp_err_t *tp_vcs_link_load(tp_db_t *db, apr_pool_t *p,
                           const tp_vcs_env_t *env, const char *id,
                           tp_vcs_link_t *link);

/* The provider (TP_VCS_*) and server URL (NULL: the public service) of
 * connection id, for checking a repository URL against it; 422 when there
 * is no such connection. */
tp_err_t *tp_vcs_connection_kind(tp_db_t *db, apr_pool_t *p, const char *id,
                                 int *provider, const char **server);

/* Records what a call to the provider found: failed (its error) or not,
 * with the rate limit it reported and any installation token minted. */
tp_err_t *tp_vcs_link_record(tp_db_t *db, apr_pool_t *p,
                             const tp_vcs_env_t *env,
                             const tp_vcs_link_t *link,
                             const tp_err_t *failed);

#endif
