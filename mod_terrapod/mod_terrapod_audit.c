/* Records every API request in the audit log from the log_transaction
 * hook, and masks the credentials in what Apache's own logs show of it. The hook runs on the thread that serves the connection, before it
 * reads the client's next request, so an INSERT there would delay every
 * request of a keep-alive client: entries are queued instead and a
 * writer thread of each Apache process inserts them in batches on a
 * connection of its own. A full queue (TerrapodAuditQueue entries: the
 * database slower than the requests for a while) makes a request write
 * its own entry, so none is dropped; the queue is written out when the
 * process exits. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "mod_terrapod.h"
#include "tp_audit.h"
#include "tp_flat.h"

#define BATCH_MAX 256       /* entries per statement */
/* How long the writer lets entries gather before it writes a batch that
 * is not full: a client's burst of requests (terraform's dozen around an
 * apply) costs one insert instead of one per request competing with
 * them, and an entry is in the table about this long after its request. */
#define GATHER apr_time_from_msec(100)
#define WRITER_NAME "mod_terrapod audit writer"

/* The string fields of an entry, copied with it into the queue. */
static const apr_size_t STRINGS[] = {
    offsetof(tp_audit_entry_t, actor),
    offsetof(tp_audit_entry_t, token_id),
    offsetof(tp_audit_entry_t, method),
    offsetof(tp_audit_entry_t, path),
    offsetof(tp_audit_entry_t, resource_type),
    offsetof(tp_audit_entry_t, resource_id),
    offsetof(tp_audit_entry_t, client_ip),
};
#define N_STRINGS (sizeof(STRINGS) / sizeof(STRINGS[0]))

static struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    apr_thread_t *thread;
    tp_audit_entry_t **ring;    /* TerrapodAuditQueue entries, from pchild */
    int size, head, count, stopping;
    server_rec *s;
} aq;

/* The writer lost n entries to err. */
static void log_lost(int n, const tp_err_t *err)
{
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, aq.s, "TP01301: %d audit entries "
                 "not recorded: %s", n, err->log ? err->log : err->detail);
}

/* One batch in one statement; a failure is logged, and the writer goes
 * on with the next batch (the adapter reconnects a dropped connection). */
static void write_batch(tp_db_t *db, apr_pool_t *p, tp_audit_entry_t **batch,
                        int n)
{
    tp_err_t *err = tp_audit_record(db, p,
                                    (const tp_audit_entry_t *const *)batch, n);

    if (err) {
        log_lost(n, err);
    }
}

/* The writer's connection, opened at its first batch and named so that
 * pg_stat_activity tells it from the request connections. */
static tp_db_t *writer_db(tp_srv_conf_t *conf, apr_pool_t *p, int n)
{
    tp_db_t *db;
    tp_err_t *err = tp_db_open(p, conf->dbd_driver, conf->dbd_params, &db);

    if (!err) {
        err = tp_db_script(db, p, "SET application_name = '" WRITER_NAME
                                  "'");
    }
    if (err) {
        log_lost(n, err);
        return NULL;
    }
    return db;
}

/* With the lock held: waits for entries, then up to GATHER for a full
 * batch (or the stop), and takes up to a batch off the queue. */
static int take_batch(tp_audit_entry_t **batch)
{
    int full = aq.size < BATCH_MAX ? aq.size : BATCH_MAX;
    apr_time_t until;
    int n;

    while (aq.count == 0 && !aq.stopping) {
        apr_thread_cond_wait(aq.wake, aq.lock);
    }
    until = apr_time_now() + GATHER;
    while (aq.count < full && !aq.stopping && apr_time_now() < until) {
        apr_thread_cond_timedwait(aq.wake, aq.lock, until - apr_time_now());
    }
    for (n = 0; n < BATCH_MAX && aq.count > 0; n++, aq.count--) {
        batch[n] = aq.ring[aq.head];
        aq.head = (aq.head + 1) % aq.size;
    }
    return n;
}

static void *APR_THREAD_FUNC writer(apr_thread_t *thread, void *data)
{
    tp_srv_conf_t *conf = data;
    tp_audit_entry_t *batch[BATCH_MAX];
    apr_pool_t *p, *iter;
    tp_db_t *db = NULL;
    int n, i;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    apr_pool_create(&iter, p);
    for (;;) {
        apr_thread_mutex_lock(aq.lock);
        n = take_batch(batch);
        apr_thread_mutex_unlock(aq.lock);
        if (n == 0) {
            break;                  /* stopping, and nothing left */
        }
        if (db || (db = writer_db(conf, p, n)) != NULL) {
            write_batch(db, iter, batch, n);
            apr_pool_clear(iter);
        }
        for (i = 0; i < n; i++) {
            free(batch[i]);
        }
    }
    apr_pool_destroy(p);
    (void)thread;       /* returning ends it; its pool goes with pchild's */
    return NULL;
}

static apr_status_t stop_writer(void *data)
{
    apr_status_t rv;

    (void)data;
    apr_thread_mutex_lock(aq.lock);
    if (aq.count > 0) {
        /* a slow database holds up the process's exit until they are in */
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, aq.s, "TP01302: %d queued "
                     "audit entries to write before the process exits",
                     aq.count);
    }
    aq.stopping = 1;
    apr_thread_cond_signal(aq.wake);
    apr_thread_mutex_unlock(aq.lock);
    apr_thread_join(&rv, aq.thread);
    aq.thread = NULL;
    return APR_SUCCESS;
}

void tp_audit_child_init(apr_pool_t *pchild, server_rec *s)
{
    tp_srv_conf_t *conf = ap_get_module_config(s->module_config,
                                               &terrapod_module);

    aq.size = conf->audit_queue;        /* the main server's */
    aq.ring = apr_palloc(pchild, sizeof(*aq.ring) * (apr_size_t)aq.size);
    if (!conf->dbd_driver || !conf->dbd_params
        || apr_thread_mutex_create(&aq.lock, APR_THREAD_MUTEX_DEFAULT,
                                   pchild) != APR_SUCCESS
        || apr_thread_cond_create(&aq.wake, pchild) != APR_SUCCESS
        || apr_thread_create(&aq.thread, NULL, writer, conf, pchild)
           != APR_SUCCESS) {
        aq.thread = NULL;           /* requests write their own entries */
        return;
    }
    aq.s = s;
    /* before pchild's subpools go, the thread's among them */
    apr_pool_pre_cleanup_register(pchild, NULL, stop_writer);
}

/* Hands a copy of the entry to the writer; 0 when there is no writer or
 * its queue is full. */
static int enqueue(const tp_audit_entry_t *e)
{
    tp_audit_entry_t *c;
    int queued = 0;

    if (!aq.thread
        || (c = tp_flat_copy(e, sizeof(*e), STRINGS, N_STRINGS)) == NULL) {
        return 0;
    }
    apr_thread_mutex_lock(aq.lock);
    if (aq.count < aq.size && !aq.stopping) {
        aq.ring[(aq.head + aq.count) % aq.size] = c;
        aq.count++;
        queued = 1;
        /* the writer waits for a first entry, then for a full batch */
        if (aq.count == 1 || aq.count == BATCH_MAX || aq.count == aq.size) {
            apr_thread_cond_signal(aq.wake);
        }
    }
    apr_thread_mutex_unlock(aq.lock);
    if (!queued) {
        free(c);
    }
    return queued;
}

int tp_audit_log_transaction(request_rec *r)
{
    tp_req_t *req = ap_get_module_config(r->request_config,
                                         &terrapod_module);
    tp_audit_entry_t e = {0};
    const tp_audit_entry_t *one = &e;
    tp_db_t *db;
    tp_err_t *err;

    if (!req) {
        return DECLINED;
    }
    e.at = r->request_time;
    e.actor = req->actor ? req->actor : "anonymous";
    e.token_id = req->who ? req->who->token_id : NULL;
    e.method = r->method;
    /* parsed_uri.path never holds the query string */
    e.path = tp_audit_path(r->pool, req->pattern, r->parsed_uri.path);
    if (req->route) {
        tp_audit_resource(r->pool, req->route->pattern, &req->params,
                          &e.resource_type, &e.resource_id);
    }
    e.status = r->status;
    e.client_ip = req->client_ip;
    e.duration_ms = apr_time_as_msec(apr_time_now() - r->request_time);
    if (enqueue(&e)) {
        return DECLINED;
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_audit_record(db, r->pool, &one, 1)) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "TP01300: audit entry "
                      "for %s %s (%d) not recorded: %s", e.method, e.path,
                      e.status, err->log ? err->log : err->detail);
    }
    return DECLINED;
}

int tp_audit_mask_request(request_rec *r)
{
    tp_req_t *req = ap_get_module_config(r->request_config,
                                         &terrapod_module);
    const char *path, *query, *uri;

    if (!req) {
        return DECLINED;
    }
    path = tp_audit_path(r->pool, req->pattern, r->parsed_uri.path);
    query = tp_audit_query(r->pool, r->args);
    if (path == r->parsed_uri.path && query == r->args) {
        return DECLINED;
    }
    uri = query ? apr_pstrcat(r->pool, path, "?", query, NULL) : path;
    /* the request line is rebuilt from its parts: an absolute-form
     * request's scheme and host are left out */
    r->the_request = apr_pstrcat(r->pool, r->method, " ", uri, " ",
                                 r->protocol, NULL);
    r->unparsed_uri = apr_pstrdup(r->pool, uri);
    r->uri = r->parsed_uri.path = apr_pstrdup(r->pool, path);
    r->args = r->parsed_uri.query = query ? apr_pstrdup(r->pool, query)
                                          : NULL;
    return DECLINED;
}
