/* The metrics' glue: the shared memory every process of the server
 * records into (set up at start-up when a server has TerrapodMetrics On,
 * before the processes and the background child fork), each API request
 * recorded after its response, and database connections taken from
 * mod_dbd's pool with the wait for them measured. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <apr_shm.h>

#include "mod_terrapod.h"

/* when the MPM does not say how many processes it may run */
#define DEFAULT_PROCESSES 64

/* NULL while no server has metrics on: every recorder then does nothing */
static tp_metrics_t *metrics;

tp_metrics_t *tp_metrics(void)
{
    return metrics;
}

static int any_metrics(server_rec *s)
{
    for (; s; s = s->next) {
        tp_srv_conf_t *c = ap_get_module_config(s->module_config,
                                                &terrapod_module);

        if (c->enabled == 1 && c->metrics == 1) {
            return 1;
        }
    }
    return 0;
}

/* The route table as the request series are labelled. */
static tp_metrics_route_t *route_labels(apr_pool_t *p, int *n)
{
    tp_metrics_route_t *labels;
    int i;

    for (*n = 0; tp_routes[*n].method; (*n)++) {
    }
    labels = apr_palloc(p, sizeof(*labels) * (apr_size_t)*n);
    for (i = 0; i < *n; i++) {
        labels[i].method = tp_routes[i].method;
        labels[i].pattern = tp_routes[i].pattern;
    }
    return labels;
}

apr_status_t tp_metrics_post_config(apr_pool_t *pconf, server_rec *s)
{
    tp_metrics_route_t *routes;
    int nroutes, nprocs;
    apr_shm_t *shm;
    apr_status_t rv;
    server_rec *vs;

    metrics = NULL;
    if (!any_metrics(s)) {
        return APR_SUCCESS;
    }
    routes = route_labels(pconf, &nroutes);
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &nprocs) != APR_SUCCESS
        || nprocs < 1) {
        nprocs = DEFAULT_PROCESSES;
    }
    rv = apr_shm_create(&shm, tp_metrics_size(nroutes, nprocs), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "TP01400: no shared "
                     "memory for the metrics (TerrapodMetrics On)");
        return rv;
    }
    metrics = tp_metrics_make(pconf, apr_shm_baseaddr_get(shm), routes,
                              nroutes, nprocs);
    /* failures of storage are counted wherever they happen, requests and
     * the background child alike */
    for (vs = s; vs; vs = vs->next) {
        tp_srv_conf_t *c = ap_get_module_config(vs->module_config,
                                                &terrapod_module);

        c->storage.metrics = metrics;
    }
    return APR_SUCCESS;
}

void tp_metrics_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    (void)s;
    if (metrics) {
        tp_metrics_attach(metrics);
    }
}

int tp_metrics_log_transaction(request_rec *r)
{
    tp_req_t *req = ap_get_module_config(r->request_config,
                                         &terrapod_module);

    if (metrics && req) {
        tp_metrics_request(metrics, req->route
                                    ? (int)(req->route - tp_routes)
                                    : TP_METRICS_UNMATCHED,
                           r->method, r->status,
                           apr_time_now() - r->request_time);
    }
    return DECLINED;
}

/* mod_dbd gives the connection back to its pool when the request's pool
 * is cleaned up; this cleanup, registered after its own, runs just
 * before. */
static apr_status_t released(void *data)
{
    tp_metrics_db_released(data);
    return APR_SUCCESS;
}

ap_dbd_t *tp_dbd_acquire(request_rec *r)
{
    static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *acquire;
    apr_time_t asked = apr_time_now();
    ap_dbd_t *dbd;

    if (!acquire) {
        acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    }
    dbd = acquire ? acquire(r) : NULL;
    if (metrics) {
        tp_metrics_db_acquired(metrics, dbd != NULL, apr_time_now() - asked);
        if (dbd) {
            apr_pool_cleanup_register(r->pool, metrics, released,
                                      apr_pool_cleanup_null);
        }
    }
    return dbd;
}

/* A connection borrowed outside mod_dbd's request bookkeeping. */
typedef struct {
    server_rec *s;
    ap_dbd_t *dbd;
} borrowed_t;

static apr_status_t give_back(void *data)
{
    static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *close_fn;
    borrowed_t *b = data;

    if (!close_fn) {
        close_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    }
    if (metrics) {
        tp_metrics_db_released(metrics);
    }
    close_fn(b->s, b->dbd);
    return APR_SUCCESS;
}

ap_dbd_t *tp_dbd_borrow(request_rec *r, apr_pool_t *p)
{
    static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *open_fn;
    apr_time_t asked = apr_time_now();
    borrowed_t *b;
    ap_dbd_t *dbd;

    if (!open_fn) {
        open_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    }
    dbd = open_fn ? open_fn(p, r->server) : NULL;
    if (metrics) {
        tp_metrics_db_acquired(metrics, dbd != NULL, apr_time_now() - asked);
    }
    if (dbd) {
        b = apr_palloc(p, sizeof(*b));
        b->s = r->server;
        b->dbd = dbd;
        apr_pool_cleanup_register(p, b, give_back, apr_pool_cleanup_null);
    }
    return dbd;
}
