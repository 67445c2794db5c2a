/* Listeners: join with a pool's join token and receive a client
 * certificate from the listener CA; afterwards that certificate is the
 * listener's only credential (heartbeat, renew). A pool admin revokes or
 * removes one (tp_listener.c does the work). */
#include <apr_strings.h>
#include <apr_lib.h>
#include "../mod_terrapod.h"
#include "../tp_crypto.h"
#include "../tp_listener.h"

/* Short-lived certificates: a listener renews well before expiry, and a
 * lost one stops working on its own. */
#define CERT_DAYS 30

#define LISTENER_COLUMNS \
    "id, pool_id, name, cert_serial, cert_fingerprint, revoked, capacity," \
    " version, tp_ts(cert_not_after) AS cert_not_after," \
    " tp_ts(last_heartbeat_at) AS last_heartbeat_at," \
    " tp_ts(created_at) AS created_at, tp_ts(updated_at) AS updated_at," \
    " tp_ts(revoked_at) AS revoked_at, revoked_by," \
    " CASE WHEN revoked THEN 'revoked' WHEN " TP_LISTENER_ONLINE \
    "  THEN 'online' ELSE 'offline' END AS status"

/* One use of a live token; the condition on uses makes concurrent joins
 * with the last use race safely. */
static const tp_stmt_t SQL_JOIN_CONSUME = {"join_token_consume",
    "UPDATE agent_pool_tokens SET uses = uses + 1, last_used_at = now()"
    " WHERE token_hash = %s AND revoked_at IS NULL"
    "   AND (expires_at IS NULL OR expires_at > now())"
    "   AND (max_uses IS NULL OR uses < max_uses)"
    "   AND (%s::text IS NULL OR pool_id = %s)"
    " RETURNING id, pool_id"};
/* The same name in the same pool is the same listener (a restarted pod):
 * its certificate is replaced, so the previous one stops working. A
 * revoked one stays revoked: no row comes back, and nobody joins under
 * its name until it is removed. */
static const tp_stmt_t SQL_LISTENER_UPSERT = {"listener_upsert",
    "INSERT INTO listeners (id, pool_id, name, cert_serial, cert_fingerprint,"
    " cert_not_after, joined_with)"
    " VALUES (%s, %s, %s, %s, %s, to_timestamp(%s::bigint), %s)"
    " ON CONFLICT (pool_id, name) DO UPDATE"
    " SET cert_serial = EXCLUDED.cert_serial,"
    "     cert_fingerprint = EXCLUDED.cert_fingerprint,"
    "     cert_not_after = EXCLUDED.cert_not_after,"
    "     joined_with = EXCLUDED.joined_with, updated_at = now()"
    " WHERE NOT listeners.revoked"
    " RETURNING id, pool_id, name"};
static const tp_stmt_t SQL_LISTENER_RENEW = {"listener_renew",
    "UPDATE listeners SET cert_serial = %s, cert_fingerprint = %s,"
    " cert_not_after = to_timestamp(%s::bigint), updated_at = now()"
    " WHERE id = %s AND cert_fingerprint = %s AND NOT revoked"
    " RETURNING id, pool_id, name"};
static const tp_stmt_t SQL_LISTENER_NAME = {"listener_name",
    "SELECT name FROM listeners WHERE id = %s"};
static const tp_stmt_t SQL_LISTENER_HEARTBEAT = {"listener_heartbeat",
    "UPDATE listeners SET last_heartbeat_at = now(),"
    " capacity = COALESCE(%s::integer, capacity),"
    " version = COALESCE(%s, version)"
    " WHERE id = %s AND NOT revoked RETURNING " LISTENER_COLUMNS};
static const tp_stmt_t SQL_LISTENER_GET = {"listener_get",
    "SELECT " LISTENER_COLUMNS " FROM listeners WHERE id = %s"};
static const tp_stmt_t SQL_LISTENERS_OF_POOL = {"listeners_of_pool",
    "SELECT " LISTENER_COLUMNS ", count(*) OVER () AS total"
    "  FROM listeners WHERE pool_id = %s ORDER BY name"
    " LIMIT %s::bigint OFFSET %s::bigint"};

static tp_json_t *listener_resource(tp_req_t *req, const tp_rows_t *rows,
                                    int i)
{
    static const char *const strs[][2] = {
        {"name", "name"}, {"status", "status"}, {"version", "version"},
        {"cert_serial", "certificate-serial"},
        {"cert_fingerprint", "certificate-fingerprint"},
        {"cert_not_after", "certificate-expires-at"},
        {"last_heartbeat_at", "last-heartbeat-at"},
        {"created_at", "created-at"}, {"updated_at", "updated-at"},
        {"revoked_at", "revoked-at"}, {"revoked_by", "revoked-by"},
        {NULL, NULL}
    };
    tp_json_t *l = tp_jsonapi_resource(req->r->pool, "listeners",
                                       tp_row(rows, i, "id"));
    int k;

    for (k = 0; strs[k][0]; k++) {
        tp_json_sets(l, tp_row(rows, i, strs[k][0]), "attributes", strs[k][1],
                     NULL);
    }
    tp_json_seti(l, apr_atoi64(tp_row(rows, i, "capacity")), "attributes",
                 "capacity", NULL);
    tp_json_setb(l, tp_row_bool(rows, i, "revoked"), "attributes", "revoked",
                 NULL);
    tp_jsonapi_relate_to(req->r->pool, l, "agent-pool", "agent-pools",
                         tp_row(rows, i, "pool_id"));
    return l;
}

/* Listener names become certificate subjects: DNS-label-like only. */
static int listener_name_valid(const char *s)
{
    apr_size_t n;

    if (!apr_isalnum(s[0])) {
        return 0;
    }
    for (n = 1; s[n]; n++) {
        if (!apr_isalnum(s[n]) && s[n] != '-' && s[n] != '_' && s[n] != '.') {
            return 0;
        }
    }
    return n <= 63;
}

static tp_err_t *issue(tp_req_t *req, const char *name, tp_x509_t *cert)
{
    apr_pool_t *p = req->r->pool;
    const char *why;

    if (!req->conf->listener_ca_pem) {
        return tp_err(p, 503, "this server has no listener CA configured");
    }
    if (tp_x509_issue(p, req->conf->listener_ca_pem,
                      req->conf->listener_ca_key_pem, name, CERT_DAYS, cert,
                      &why) != APR_SUCCESS) {
        return tp_err_internal(p, 500, "the certificate could not be issued",
                               why);
    }
    return NULL;
}

/* The credentials a listener keeps: the private key is in this answer
 * and nowhere else. */
static tp_err_t *send_credentials(tp_req_t *req, int status,
                                  const tp_rows_t *rows,
                                  const tp_x509_t *cert)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p);

    tp_json_sets(doc, tp_row(rows, 0, "id"), "listener_id", NULL);
    tp_json_sets(doc, tp_row(rows, 0, "pool_id"), "pool_id", NULL);
    tp_json_sets(doc, tp_row(rows, 0, "name"), "name", NULL);
    tp_json_sets(doc, cert->cert_pem, "certificate", NULL);
    tp_json_sets(doc, cert->key_pem, "private_key", NULL);
    tp_json_sets(doc, req->conf->listener_ca_pem, "ca_certificate", NULL);
    tp_json_sets(doc, cert->serial, "certificate_serial", NULL);
    tp_json_sets(doc, cert->fingerprint, "certificate_fingerprint", NULL);
    tp_json_sets(doc, tp_rfc3339(p, cert->not_after),
                 "certificate_expires_at", NULL);
    apr_table_setn(req->r->headers_out, "Cache-Control", "no-store");
    return tp_send_json(req, status, doc);
}

/* No Bearer token: the join token in the body is the credential. On the
 * legacy path it must belong to the {pool_id} named. */
tp_err_t *tp_api_listener_join(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *pool_id = tp_param(&req->params, "pool_id");
    const char *raw, *name, *token_id;
    tp_json_t *body;
    tp_x509_t cert;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    int has_raw, has_name;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_attr_string(p, body, "join_token", 200, &raw, &has_raw))
           != NULL
        || (err = tp_attr_string(p, body, "name", 63, &name, &has_name))
           != NULL) {
        return err;
    }
    if (!has_name || !listener_name_valid(name)) {
        return tp_err(p, 422, "name must be 1 to 63 letters, digits, '-', "
                      "'_' or '.', starting with a letter or digit");
    }
    if (!has_raw || !tp_token_wellformed(raw)) {
        return tp_err(p, 401, "a valid join_token is required");
    }
    if ((err = issue(req, name, &cert)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_JOIN_CONSUME, &rows,
                             TP_DB_ARGS(tp_token_hash(p, raw), pool_id,
                                        pool_id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        tp_db_rollback(db);
        return tp_err(p, 401, "the join token is unknown, expired, revoked "
                      "or used up");
    }
    token_id = tp_row(rows, 0, "id");
    pool_id = tp_row(rows, 0, "pool_id");
    if ((err = tp_db_exec(db, p, &SQL_LISTENER_UPSERT, &rows,
                          TP_DB_ARGS(tp_id_generate(p, "listener"), pool_id,
                                     name, cert.serial, cert.fingerprint,
                                     apr_psprintf(p, "%" APR_TIME_T_FMT,
                                                  apr_time_sec(
                                                      cert.not_after)),
                                     token_id))) != NULL) {
        return err;
    }
    /* the token's use goes back with the refused join */
    if (rows->nrows == 0) {
        tp_db_rollback(db);
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP00714: the "
                      "revoked listener %s of pool %s tried to join again "
                      "(token %s)", name, pool_id, token_id);
        return tp_err(p, 403, "listener %s of this pool has been revoked; "
                      "a pool admin must remove it before a listener of "
                      "that name can join", name);
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP00710: listener %s "
                  "(%s) joined pool %s with token %s; certificate serial %s",
                  tp_row(rows, 0, "id"), name, pool_id, token_id,
                  cert.serial);
    return send_credentials(req, 201, rows, &cert);
}

tp_err_t *tp_api_listener_renew(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_x509_t cert;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_LISTENER_NAME, &rows, TP_DB_ARGS(id)))
        != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "listener %s not found", id);
    }
    if ((err = issue(req, tp_row(rows, 0, "name"), &cert)) != NULL) {
        return err;
    }
    if ((err = tp_req_exec(req, &SQL_LISTENER_RENEW, &rows,
                           TP_DB_ARGS(cert.serial, cert.fingerprint,
                                      apr_psprintf(p, "%" APR_TIME_T_FMT,
                                                   apr_time_sec(
                                                       cert.not_after)),
                                      id, apr_table_get(req->r->notes,
                                                        TP_LISTENER_NOTE))))
        != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 401, "the certificate was replaced meanwhile");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP00711: listener %s "
                  "renewed its certificate; serial %s", id, cert.serial);
    return send_credentials(req, 200, rows, &cert);
}

tp_err_t *tp_api_listener_heartbeat(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *capacity = NULL, *version = NULL;
    tp_json_t *body, *a;
    tp_rows_t *rows;
    tp_err_t *err;
    long long cap;
    int has;

    if (tp_has_body(req)) {
        if ((err = tp_read_json(req, &body)) != NULL) {
            return err;
        }
        /* a JSON:API document or plain attributes */
        a = tp_json_type(body, "data", NULL) == TP_JSON_OBJECT
            ? tp_json_get(body, "data", "attributes", NULL) : body;
        if ((err = tp_attr_int(p, a, "capacity", 0, 1000, &cap, &has))
            != NULL) {
            return err;
        }
        capacity = has ? apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)cap) : NULL;
        if ((err = tp_attr_string(p, a, "version", 64, &version, &has))
            != NULL) {
            return err;
        }
    }
    if ((err = tp_req_exec(req, &SQL_LISTENER_HEARTBEAT, &rows,
                           TP_DB_ARGS(capacity, version,
                                      tp_param(&req->params, "id"))))
        != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 403, "listener %s has been revoked",
                      tp_param(&req->params, "id"));
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, listener_resource(req,
                                                                      rows,
                                                                      0)));
}

tp_err_t *tp_api_pool_listeners_list(tp_req_t *req)
{
    const char *pool_id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_err_t *err = tp_pool_require(req, pool_id, req->route->level, &rows);

    return err ? err : tp_send_page(req, &SQL_LISTENERS_OF_POOL,
                                    TP_DB_ARGS(pool_id), listener_resource);
}

/* The listener {id} of the path, for a caller with the route's level on
 * its pool; a listener of a pool the caller cannot read does not exist
 * for it. */
static tp_err_t *load_managed(tp_req_t *req, tp_rows_t **rows)
{
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *pool;
    tp_err_t *err = tp_req_exec(req, &SQL_LISTENER_GET, rows, TP_DB_ARGS(id));

    if (!err && (*rows)->nrows > 0) {
        err = tp_pool_require(req, tp_row(*rows, 0, "pool_id"),
                              req->route->level, &pool);
    }
    if (err && err->status != 404) {
        return err;
    }
    if (err || (*rows)->nrows == 0) {
        return tp_err(req->r->pool, 404, "listener %s not found", id);
    }
    return NULL;
}

/* Ends the listener {id} of the path by end (revoke or remove) for the
 * caller, admin on its pool: *rows is the listener as it was, *errored the
 * number of its runs that were ended. */
static tp_err_t *end_listener(tp_req_t *req,
                              tp_err_t *(*end)(tp_db_t *, apr_pool_t *,
                                               const char *, const char *,
                                               int *),
                              tp_rows_t **rows, int *errored)
{
    tp_db_t *db;
    tp_err_t *err;

    *errored = 0;
    if ((err = load_managed(req, rows)) != NULL
        || (err = tp_req_db(req, &db)) != NULL) {
        return err;
    }
    return end(db, req->r->pool, tp_param(&req->params, "id"),
               req->who->grants.email, errored);
}

/* POST /listeners/{id}/actions/revoke: from its commit on, the listener
 * is refused everywhere; the runs it held are errored. */
tp_err_t *tp_api_listener_revoke(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_err_t *err;
    int errored;

    if ((err = end_listener(req, tp_listener_revoke, &rows, &errored))
        != NULL
        || (err = tp_req_exec(req, &SQL_LISTENER_GET, &rows, TP_DB_ARGS(id)))
           != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP00712: listener %s "
                  "(%s) of pool %s revoked by %s; %d runs errored", id,
                  tp_row(rows, 0, "name"), tp_row(rows, 0, "pool_id"),
                  req->who->grants.email, errored);
    return tp_send_json(req, 200, tp_jsonapi_doc(req->r->pool,
                                                 listener_resource(req, rows,
                                                                   0)));
}

/* DELETE /listeners/{id}: its runs errored, its name free again. */
tp_err_t *tp_api_listener_delete(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err;
    int errored;

    if ((err = end_listener(req, tp_listener_remove, &rows, &errored))
        != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP00713: listener %s "
                  "(%s) of pool %s removed by %s; %d runs errored",
                  tp_row(rows, 0, "id"), tp_row(rows, 0, "name"),
                  tp_row(rows, 0, "pool_id"), req->who->grants.email,
                  errored);
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
