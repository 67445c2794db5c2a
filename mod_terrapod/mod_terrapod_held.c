/* Requests an Apache process holds open while they wait for news: a
 * listener's runs/next long poll (and any later request that waits, such
 * as an event stream). Each holds a worker thread and a database
 * connection for as long as it waits, so a flood of them would leave none
 * for the rest of the API: a process holds at most TerrapodMaxHeldRequests
 * at once and answers any more at once, 503 with Retry-After. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include <stdlib.h>

#include "mod_terrapod.h"

#define RETRY_AFTER      5    /* seconds a refused client waits */

static volatile apr_uint32_t held;       /* by this process, now */
static apr_uint32_t max_held;            /* set in the parent, inherited */
static volatile apr_uint32_t warned_at;  /* minute of the last warning */

/* Half of what runs out first, threads or database connections: the
 * other half stays for everything else. */
static int derived_max(const tp_srv_conf_t *first)
{
    int threads = 0;
    int dbd = first->dbd_max;   /* mod_dbd's default when not set */
    int n;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS
        || threads < 1) {
        threads = 1;
    }
    n = (threads < dbd ? threads : dbd) / 2;
    return n > 0 ? n : 1;
}

void tp_held_post_config(server_rec *s, const tp_srv_conf_t *first)
{
    const tp_srv_conf_t *c = ap_get_module_config(s->module_config,
                                                  &terrapod_module);

    max_held = (apr_uint32_t)(c->max_held > 0 ? c->max_held
                                              : derived_max(first));
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "TP01403: each process holds "
                 "up to %u waiting requests (long polls)", max_held);
}

/* Once a minute at most, so a flood does not flood the error log too. */
static void warn_full(request_rec *r)
{
    apr_uint32_t minute = (apr_uint32_t)(apr_time_sec(apr_time_now()) / 60);
    apr_uint32_t last = apr_atomic_read32(&warned_at);

    if (last != minute && apr_atomic_cas32(&warned_at, minute, last) == last) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "TP01401: this process "
                      "holds its maximum of %u waiting requests "
                      "(TerrapodMaxHeldRequests); more are answered 503",
                      max_held);
    }
}

static apr_status_t release(void *data)
{
    (void)data;
    apr_atomic_dec32(&held);
    return APR_SUCCESS;
}

tp_err_t *tp_hold(tp_req_t *req)
{
    request_rec *r = req->r;

    if (apr_atomic_inc32(&held) >= max_held) {
        apr_atomic_dec32(&held);
        warn_full(r);
        apr_table_setn(r->err_headers_out, "Retry-After",
                       APR_STRINGIFY(RETRY_AFTER));
        return tp_err(r->pool, 503, "this server is holding as many waiting "
                      "requests as it may; ask again in %d seconds",
                      RETRY_AFTER);
    }
    /* released however the request ends, with its pool */
    apr_pool_cleanup_register(r->pool, NULL, release, apr_pool_cleanup_null);
    return NULL;
}
