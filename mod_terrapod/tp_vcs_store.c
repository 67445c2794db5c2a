/* Loading a VCS connection for the clients, and recording its health. */
#include <string.h>
#include <apr_strings.h>
#include "tp_vcs_store.h"
#include "tp_crypto.h"

#define ERROR_MAX 500           /* characters of a last error kept */

/* What the provider clients need, sealed as stored. */
static const tp_stmt_t SQL_LINK = {"vcs_link",
    "SELECT status, provider, server_url, github_app_id::text AS app_id,"
    " github_installation_id::text AS installation_id, credential_sealed,"
    " token_sealed,"
    " extract(epoch FROM token_expires_at)::bigint AS token_expires"
    " FROM vcs_connections WHERE id = %s"};
/* Health after a call: its success or error, the rate limit the provider
 * last reported, a newly minted token. */
static const tp_stmt_t SQL_HEALTH = {"vcs_health",
    "UPDATE vcs_connections SET"
    " last_success_at = CASE WHEN %s::text IS NULL THEN now()"
    "                        ELSE last_success_at END,"
    " last_error = COALESCE(%s, last_error),"
    " last_error_at = CASE WHEN %s::text IS NULL THEN last_error_at"
    "                      ELSE now() END,"
    " rate_limit_remaining = COALESCE(%s::integer, rate_limit_remaining),"
    " rate_limit_reset_at = COALESCE(to_timestamp(%s::bigint),"
    "                                rate_limit_reset_at),"
    " token_sealed = COALESCE(%s, token_sealed),"
    " token_expires_at = COALESCE(to_timestamp(%s::bigint),"
    "                             token_expires_at)"
    " WHERE id = %s"};

static const char *unseal(apr_pool_t *p, const tp_vcs_env_t *env,
                          const char *sealed)
{
    return sealed ? tp_unseal(p, env->key.bytes, env->key.len,
                              TP_VCS_SEAL_PURPOSE, sealed) : NULL;
}

tp_err_t *tp_vcs_link_load(tp_db_t *db, apr_pool_t *p,
                           const tp_vcs_env_t *env, const char *id,
                           tp_vcs_link_t *link)
{
    tp_vcs_conn_t *c = &link->conn;
    const char *expires;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_db_exec(db, p, &SQL_LINK, &rows, TP_DB_ARGS(id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "VCS connection %s not found", id);
    }
    memset(link, 0, sizeof(*link));
    link->id = apr_pstrdup(p, id);
    link->status = tp_row(rows, 0, "status");
    link->server_url = tp_row(rows, 0, "server_url");
    expires = tp_row(rows, 0, "token_expires");
    c->provider = tp_vcs_provider_named(tp_row(rows, 0, "provider"));
    c->api_base = tp_vcs_api_base(p, c->provider, link->server_url);
    c->app_id = tp_row(rows, 0, "app_id");
    c->installation_id = tp_row(rows, 0, "installation_id");
    c->ca_extra_file = env->ca_file;
    c->token = unseal(p, env, tp_row(rows, 0, "token_sealed"));
    c->token_expires = expires ? apr_time_from_sec(apr_atoi64(expires)) : 0;
    c->rate_remaining = -1;
    if (!(c->credential = unseal(p, env,
                                 tp_row(rows, 0, "credential_sealed")))) {
        return tp_err(p, 422, "the connection's credential cannot be "
                      "unsealed (was the deployment's key replaced?); "
                      "send it again");
    }
    return NULL;
}

tp_err_t *tp_vcs_link_record(tp_db_t *db, apr_pool_t *p,
                             const tp_vcs_env_t *env,
                             const tp_vcs_link_t *link,
                             const tp_err_t *failed)
{
    const tp_vcs_conn_t *c = &link->conn;
    const char *error = failed ? apr_pstrndup(p, failed->detail, ERROR_MAX)
                               : NULL;
    const char *token = NULL, *expires = NULL;

    if (c->token_minted) {
        token = tp_seal(p, env->key.bytes, env->key.len,
                        TP_VCS_SEAL_PURPOSE, c->token);
        expires = apr_psprintf(p, "%" APR_TIME_T_FMT,
                               apr_time_sec(c->token_expires));
    }
    return tp_db_exec(db, p, &SQL_HEALTH, NULL, TP_DB_ARGS(
        error, error, error,
        c->rate_remaining >= 0 ? apr_psprintf(p, "%ld", c->rate_remaining)
                               : NULL,
        c->rate_reset ? apr_psprintf(p, "%" APR_TIME_T_FMT,
                                     apr_time_sec(c->rate_reset)) : NULL,
        token, token ? expires : NULL, link->id));
}

static const tp_stmt_t SQL_CONNECTION_KIND = {"vcs_connection_kind",
    "SELECT provider, server_url FROM vcs_connections WHERE id = %s"};

tp_err_t *tp_vcs_connection_kind(tp_db_t *db, apr_pool_t *p, const char *id,
                                 int *provider, const char **server)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_CONNECTION_KIND, &rows,
                               TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 422, "VCS connection %s not found", id);
    }
    *provider = tp_vcs_provider_named(tp_row(rows, 0, "provider"));
    *server = tp_row(rows, 0, "server_url");
    return NULL;
}
