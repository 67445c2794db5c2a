/* Records every API request in the audit log from the log_transaction
 * hook: the response has gone out by then, so the one INSERT (on the
 * request's pooled mod_dbd connection) adds no latency the client sees. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mod_terrapod.h"
#include "tp_audit.h"

int tp_audit_log_transaction(request_rec *r)
{
    tp_req_t *req = ap_get_module_config(r->request_config,
                                         &terrapod_module);
    tp_audit_entry_t e = {0};
    tp_db_t *db;
    tp_err_t *err;

    if (!req) {
        return DECLINED;
    }
    e.actor = req->actor ? req->actor : "anonymous";
    e.token_id = req->who ? req->who->token_id : NULL;
    e.method = r->method;
    /* parsed_uri.path never holds the query string */
    e.path = tp_audit_path(r->pool, req->route ? req->route->pattern : NULL,
                           r->parsed_uri.path);
    if (req->route) {
        tp_audit_resource(r->pool, req->route->pattern, &req->params,
                          &e.resource_type, &e.resource_id);
    }
    e.status = r->status;
    e.client_ip = req->client_ip;
    e.duration_ms = apr_time_as_msec(apr_time_now() - r->request_time);
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_audit_record(db, r->pool, &e)) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "TP01300: audit entry "
                      "for %s %s (%d) not recorded: %s", e.method, e.path,
                      e.status, err->log ? err->log : err->detail);
    }
    return DECLINED;
}
