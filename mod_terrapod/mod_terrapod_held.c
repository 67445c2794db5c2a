/* Requests an Apache process holds open while they wait for news: a
 * listener's runs/next long poll, and the event streams. Each holds a
 * worker thread for as long as it waits (and a long poll borrows a
 * database connection for each claim it tries), so a flood of them would
 * leave none for the rest of the API: a process holds at most
 * TerrapodMaxHeldRequests long polls and TerrapodMaxEventStreams streams
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

typedef struct {
    volatile apr_uint32_t held;       /* by this process, now */
    apr_uint32_t max;                 /* set in the parent, inherited */
    volatile apr_uint32_t warned_at;  /* minute of the last warning */
    const char *tag;                  /* of the warning */
    const char *what;
    const char *directive;
} hold_t;

static hold_t polls = {0, 0, 0, "TP01401", "waiting requests",
                       "TerrapodMaxHeldRequests"};
static hold_t streams = {0, 0, 0, "TP01604", "event streams",
                         "TerrapodMaxEventStreams"};

static int threads_per_child(void)
{
    int threads = 0;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS
        || threads < 1) {
        threads = 1;
    }
    return threads;
}

/* Half of what runs out first, threads or database connections: the
 * other half stays for everything else. */
static int derived_max(const tp_srv_conf_t *first)
{
    int threads = threads_per_child();
    int dbd = first->dbd_max;   /* mod_dbd's default when not set */
    int n = (threads < dbd ? threads : dbd) / 2;

    return n > 0 ? n : 1;
}

/* A quarter of the threads: with the long polls' half, a quarter stays
 * for everything else even when both are full. */
static int derived_streams(void)
{
    int n = threads_per_child() / 4;

    return n > 0 ? n : 1;
}

void tp_held_post_config(server_rec *s, const tp_srv_conf_t *first)
{
    const tp_srv_conf_t *c = ap_get_module_config(s->module_config,
                                                  &terrapod_module);

    polls.max = (apr_uint32_t)(c->max_held > 0 ? c->max_held
                                               : derived_max(first));
    streams.max = (apr_uint32_t)(c->max_streams > 0 ? c->max_streams
                                                    : derived_streams());
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "TP01403: each process holds "
                 "up to %u waiting requests (long polls) and %u event "
                 "streams", polls.max, streams.max);
}

/* Once a minute at most, so a flood does not flood the error log too. */
static void warn_full(request_rec *r, hold_t *h)
{
    apr_uint32_t minute = (apr_uint32_t)(apr_time_sec(apr_time_now()) / 60);
    apr_uint32_t last = apr_atomic_read32(&h->warned_at);

    if (last != minute && apr_atomic_cas32(&h->warned_at, minute, last)
                          == last) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "%s: this process "
                      "holds its maximum of %u %s (%s); more are answered "
                      "503", h->tag, h->max, h->what, h->directive);
    }
}

static apr_status_t release(void *data)
{
    hold_t *h = data;

    apr_atomic_dec32(&h->held);
    return APR_SUCCESS;
}

static tp_err_t *hold(tp_req_t *req, hold_t *h)
{
    request_rec *r = req->r;

    if (apr_atomic_inc32(&h->held) >= h->max) {
        apr_atomic_dec32(&h->held);
        warn_full(r, h);
        apr_table_setn(r->err_headers_out, "Retry-After",
                       APR_STRINGIFY(RETRY_AFTER));
        return tp_err(r->pool, 503, "this server is holding as many %s as "
                      "it may; ask again in %d seconds", h->what,
                      RETRY_AFTER);
    }
    /* released however the request ends, with its pool */
    apr_pool_cleanup_register(r->pool, h, release, apr_pool_cleanup_null);
    return NULL;
}

int tp_process_stopping(void)
{
    int state = AP_MPMQ_RUNNING;

    return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS
           && state == AP_MPMQ_STOPPING;
}

tp_err_t *tp_hold(tp_req_t *req)
{
    return hold(req, &polls);
}

tp_err_t *tp_hold_stream(tp_req_t *req)
{
    return hold(req, &streams);
}
