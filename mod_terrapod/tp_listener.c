/* Listeners' credentials and their end: the certificate check behind
 * every listener request, the runner token check behind every runner
 * request, and revoking or removing a listener. */
#include <apr_strings.h>
#include "tp_listener.h"
#include "tp_crypto.h"
#include "tp_runs.h"

static const tp_stmt_t SQL_LISTENER_ADMIT = {"listener_admit",
    "SELECT id, name, revoked FROM listeners"
    " WHERE id = %s AND cert_fingerprint = %s AND cert_not_after > now()"};
/* The run's claim, and whether the listener that made it is revoked. */
static const tp_stmt_t SQL_RUNNER_CLAIM = {"runner_claim",
    "SELECT r.claim_id, l.name, l.revoked FROM runs r"
    "  LEFT JOIN listeners l ON l.id = r.listener_id WHERE r.id = %s"};
/* The first revocation is the one kept. Waits for claims in flight, which
 * hold the row FOR SHARE (tp_run_claim), so none follows it. */
static const tp_stmt_t SQL_LISTENER_REVOKE = {"listener_revoke",
    "UPDATE listeners SET revoked = true,"
    " revoked_at = CASE WHEN revoked THEN revoked_at ELSE now() END,"
    " revoked_by = CASE WHEN revoked THEN revoked_by ELSE %s END,"
    " updated_at = now()"
    " WHERE id = %s RETURNING name"};
static const tp_stmt_t SQL_LISTENER_DELETE = {"listener_delete",
    "DELETE FROM listeners WHERE id = %s"};

tp_err_t *tp_listener_admit(tp_db_t *db, apr_pool_t *p, const char *id,
                            const char *pem, tp_listener_t *out)
{
    tp_x509_t cert;
    tp_rows_t *rows;
    tp_err_t *err;

    if (tp_x509_inspect(p, pem, &cert) != APR_SUCCESS) {
        return tp_err(p, 401, "the client certificate could not be read");
    }
    if ((err = tp_db_exec(db, p, &SQL_LISTENER_ADMIT, &rows,
                          TP_DB_ARGS(id, cert.fingerprint))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        err = tp_err(p, 401, "the client certificate is not the current, "
                     "valid certificate of listener %s", id);
        err->log = apr_psprintf(p, "certificate CN=%s serial %s refused",
                                cert.common_name ? cert.common_name : "",
                                cert.serial);
        return err;
    }
    if (tp_row_bool(rows, 0, "revoked")) {
        return tp_err(p, 403, "listener %s (%s) has been revoked",
                      id, tp_row(rows, 0, "name"));
    }
    out->id = tp_row(rows, 0, "id");
    out->name = tp_row(rows, 0, "name");
    out->fingerprint = cert.fingerprint;
    return NULL;
}

tp_err_t *tp_runner_admit(tp_db_t *db, apr_pool_t *p, const tp_key_t *key,
                          const char *token, const char *run_id,
                          apr_time_t now)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_RUNNER_CLAIM, &rows,
                               TP_DB_ARGS(run_id));

    if (err) {
        return err;
    }
    /* no run, no claim to check a signature against */
    if (rows->nrows == 0) {
        return tp_err(p, 401, "this runner token is for no run");
    }
    if ((err = tp_runtok_verify(p, key, token, run_id,
                                tp_row(rows, 0, "claim_id"), now)) != NULL) {
        return err;
    }
    if (tp_row_bool(rows, 0, "revoked")) {
        return tp_err(p, 403, "listener %s, which claimed run %s, has been "
                      "revoked", tp_row(rows, 0, "name"), run_id);
    }
    return NULL;
}

/* Marks listener id revoked for actor; its name, 404 when there is no
 * such listener. */
static tp_err_t *mark_revoked(tp_db_t *db, apr_pool_t *p, const char *id,
                              const char *actor, const char **name)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_LISTENER_REVOKE, &rows,
                               TP_DB_ARGS(actor, id));

    *name = NULL;
    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "listener %s not found", id);
    }
    *name = tp_row(rows, 0, "name");
    return NULL;
}

tp_err_t *tp_listener_revoke(tp_db_t *db, apr_pool_t *p, const char *id,
                             const char *actor, int *errored)
{
    const char *name;
    tp_err_t *err = mark_revoked(db, p, id, actor, &name);

    *errored = 0;
    return err ? err : tp_runs_release(db, p, id, apr_psprintf(p,
                                       "listener %s was revoked", name),
                                       errored);
}

tp_err_t *tp_listener_remove(tp_db_t *db, apr_pool_t *p, const char *id,
                             const char *actor, int *errored)
{
    const char *name;
    tp_err_t *err;

    *errored = 0;
    if ((err = mark_revoked(db, p, id, actor, &name)) != NULL
        || (err = tp_runs_release(db, p, id, apr_psprintf(p,
                                  "listener %s was removed", name), errored))
           != NULL) {
        return err;
    }
    return tp_db_exec(db, p, &SQL_LISTENER_DELETE, NULL, TP_DB_ARGS(id));
}
