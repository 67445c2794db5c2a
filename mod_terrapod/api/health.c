/* Liveness and readiness probes for load balancers and orchestration. */
#include "../mod_terrapod.h"

static const tp_stmt_t SQL_PING = {"ready_ping",
    "SELECT count(*) AS applied FROM schema_migrations"};

tp_err_t *tp_api_health(tp_req_t *req)
{
    tp_json_t *doc = tp_json_object(req->r->pool);

    tp_json_sets(doc, "healthy", "status", NULL);
    return tp_send_json(req, 200, doc);
}

/* Readiness checks the database (including that the schema is there) and
 * the storage directory; a 503 names the check that failed. */
tp_err_t *tp_api_ready(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p);
    tp_db_t *db;
    tp_err_t *dberr, *sterr;

    dberr = tp_req_db(req, &db);
    if (!dberr) {
        dberr = tp_db_exec(db, p, &SQL_PING, NULL, 0, NULL);
    }
    sterr = tp_storage_check(&req->conf->storage, p);
    if (dberr) tp_log_err(req->r, dberr);
    if (sterr) tp_log_err(req->r, sterr);

    tp_json_sets(doc, dberr || sterr ? "not ready" : "ready", "status", NULL);
    tp_json_sets(doc, dberr ? "unhealthy" : "healthy", "checks", "database",
                 NULL);
    tp_json_sets(doc, sterr ? "unhealthy" : "healthy", "checks", "storage",
                 NULL);
    return tp_send_json(req, dberr || sterr ? 503 : 200, doc);
}
