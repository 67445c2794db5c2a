/* GET /metrics: the Prometheus exposition text of the counters every
 * process shares and of what the database says now (runs by status,
 * listeners connected and busy: one cheap statement each). Served where
 * TerrapodMetrics is On, to the addresses of TerrapodMetricsAllow (the
 * real client's, behind trusted proxies), and from anywhere to a platform
 * admin or auditor presenting an API token. */
#include <apr_strings.h>
#include "../mod_terrapod.h"

#define EXPOSITION_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* what the runs_active index holds */
static const tp_stmt_t SQL_RUNS = {"metrics_runs",
    "SELECT status, count(*) AS n FROM runs"
    " WHERE status NOT IN ('planned_and_finished', 'applied', 'discarded',"
    "                      'errored', 'canceled')"
    " GROUP BY status"};
static const tp_stmt_t SQL_LISTENERS = {"metrics_listeners",
    "SELECT count(*) AS connected,"
    "       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM runs r"
    "         WHERE r.listener_id = l.id"
    "           AND r.status IN ('planning', 'applying'))) AS busy"
    "  FROM listeners l WHERE NOT l.revoked AND " TP_LISTENER_ONLINE};

static int address_allowed(tp_req_t *req)
{
    const apr_array_header_t *nets = req->conf->metrics_allow;
    apr_sockaddr_t *sa;
    int i;

    /* client_ip is a literal address: nothing is resolved */
    if (apr_sockaddr_info_get(&sa, req->client_ip, APR_UNSPEC, 0, 0,
                              req->r->pool) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; nets && i < nets->nelts; i++) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(nets, i, apr_ipsubnet_t *), sa)) {
            return 1;
        }
    }
    return 0;
}

/* The route is open (a token, if sent and valid, names req->who): the
 * address or the caller's platform role decides. */
static tp_err_t *may_scrape(tp_req_t *req)
{
    const tp_principal_t *who = req->who;

    if (address_allowed(req)
        || (who && (who->grants.is_admin || who->grants.is_audit))) {
        return NULL;
    }
    return tp_err(req->r->pool, 403, "metrics are served to the addresses "
                  "of TerrapodMetricsAllow, or with an API token of a "
                  "platform admin or auditor");
}

/* The database's part; a failure leaves it out (terrapod_database_up 0)
 * and the counters are still served. */
static void ask_database(tp_req_t *req, tp_metrics_db_t *out)
{
    tp_rows_t *runs, *listeners;
    tp_err_t *err;

    memset(out, 0, sizeof(*out));
    if ((err = tp_req_exec(req, &SQL_RUNS, &runs, 0, NULL)) == NULL) {
        err = tp_req_exec(req, &SQL_LISTENERS, &listeners, 0, NULL);
    }
    if (err) {
        tp_log_err(req->r, err);
        return;
    }
    out->up = 1;
    out->runs = runs;
    out->listeners_connected = apr_atoi64(tp_row(listeners, 0, "connected"));
    out->listeners_busy = apr_atoi64(tp_row(listeners, 0, "busy"));
}

tp_err_t *tp_api_metrics(tp_req_t *req)
{
    tp_metrics_t *m = tp_metrics();
    tp_metrics_db_t db;
    tp_err_t *err;
    char *text;

    if (req->conf->metrics != 1 || !m) {
        return tp_err(req->r->pool, 404, "no API endpoint at %s "
                      "(TerrapodMetrics is Off)", req->r->parsed_uri.path);
    }
    if ((err = may_scrape(req)) != NULL) {
        return err;
    }
    ask_database(req, &db);
    text = tp_metrics_render(m, req->r->pool, &db);
    return tp_send_bytes(req, 200, EXPOSITION_TYPE, text, strlen(text));
}
