/* The event hub and the event streams. Each Apache process runs one hub:
 * a thread with a database connection of its own that LISTENs for the
 * events the changing transactions record (sql/0025_events.sql), reads
 * them from the events table in id order into a ring of recent events,
 * and wakes the process's streams. A stream holds no database connection:
 * it waits on the hub's condition variable and writes its subscriber's
 * events from the ring. After a lost connection the hub reconnects with a
 * backoff, LISTENs again and reads what it missed (id > the last it read),
 * so an event is never lost to a database restart. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "mod_terrapod.h"
#include "tp_events.h"

#define CHANNEL "terrapod_events"
#define HUB_NAME "mod_terrapod event hub"
#define RING_EVENTS 10000       /* recent events a process keeps */
#define PAGE "500"              /* events per read */
#define PAGE_N 500
#define BATCH 256               /* events a stream takes at once */
#define RETRY_MS 1000           /* how soon a browser reconnects */
#define RETRY_AFTER "5"         /* seconds, while the hub cannot serve */
/* how long the hub waits for a NOTIFY before it looks at its stop flag
 * and its connection again */
#define TICK apr_time_from_sec(1)
#define BACKOFF_MIN apr_time_from_msec(250)
#define BACKOFF_MAX apr_time_from_sec(10)

static struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *news;    /* broadcast: new events, or the stop */
    apr_thread_t *thread;
    tp_ev_ring_t *ring;
    apr_int64_t last;           /* the newest id read from the table */
    apr_uint32_t queued;        /* runs queued (plan_queued, apply_queued) */
    int ready;                  /* has read the table once */
    int stopping;
    server_rec *s;
    tp_srv_conf_t *conf;
} hub;

/* Where a process starts: the events of the replay window (at most a
 * ring's worth), so that a browser reconnecting to it is replayed too. */
static const tp_stmt_t SQL_EVENTS_START = {"events_start",
    "SELECT GREATEST(COALESCE(w.first - 1, m.last, 0),"
    "                COALESCE(m.last, 0) - %s::bigint) AS start"
    "  FROM (SELECT max(id) AS last FROM events) m,"
    "       (SELECT min(id) AS first FROM events"
    "         WHERE created_at > now() - %s::integer * interval '1 second') w"};

/* The newest event committed: where a stream without Last-Event-ID
 * starts, since this process's hub may not have read it yet (its NOTIFY
 * is still on the way) and a stream opened after a commit must not be
 * sent what the commit raised. */
static const tp_stmt_t SQL_EVENTS_NEWEST = {"events_newest",
    "SELECT COALESCE(max(id), 0) AS last FROM events"};

/* The workspace's access columns as they are now, just after the commit
 * of the event (or its replay): what the workspace list would decide on. */
static const tp_stmt_t SQL_EVENTS_AFTER = {"events_after",
    "SELECT e.id, e.type, e.workspace_id, e.pool_id,"
    " e.payload->>'email' AS principal,"
    " e.type = 'run_status_change'"
    "   AND e.payload->>'status' IN ('plan_queued', 'apply_queued') AS queued,"
    " (extract(epoch FROM e.created_at) * 1000000)::bigint AS at,"
    " (jsonb_build_object('event', e.type, 'id', e.id::text,"
    "                     'at', tp_ts(e.created_at)) || e.payload)::text"
    "   AS data,"
    " w.name AS ws_name, w.owner_email AS ws_owner,"
    " w.labels::text AS ws_labels"
    " FROM events e LEFT JOIN workspaces w ON w.id = e.workspace_id"
    " WHERE e.id > %s::bigint ORDER BY e.id LIMIT " PAGE};

/* ---- the hub ---- */

static apr_int64_t int64_cell(const tp_rows_t *rows, int i, const char *col)
{
    const char *v = tp_row(rows, i, col);

    return v ? apr_atoi64(v) : 0;
}

/* Reads the events above hub.last into the ring and wakes the streams;
 * how many in *n. */
static tp_err_t *catch_up(tp_db_t *db, apr_pool_t *p, int *n)
{
    tp_rows_t *rows;
    tp_err_t *err;
    int i, got;

    *n = 0;
    do {
        const char *after = apr_psprintf(p, "%" APR_INT64_T_FMT, hub.last);

        if ((err = tp_db_exec(db, p, &SQL_EVENTS_AFTER, &rows,
                              TP_DB_ARGS(after))) != NULL) {
            return err;
        }
        apr_thread_mutex_lock(hub.lock);
        for (i = 0; i < rows->nrows; i++) {
            tp_event_t ev;

            ev.id = int64_cell(rows, i, "id");
            ev.at = (apr_time_t)int64_cell(rows, i, "at");
            ev.type = tp_row(rows, i, "type");
            ev.workspace_id = tp_row(rows, i, "workspace_id");
            ev.pool_id = tp_row(rows, i, "pool_id");
            ev.principal = tp_row(rows, i, "principal");
            ev.data = tp_row(rows, i, "data");
            ev.ws_name = tp_row(rows, i, "ws_name");
            ev.ws_owner = tp_row(rows, i, "ws_owner");
            ev.ws_labels = tp_row(rows, i, "ws_labels");
            if (!tp_ev_ring_push(hub.ring, &ev)) {
                ap_log_error(APLOG_MARK, APLOG_ERR, APR_ENOMEM, hub.s,
                             "TP01607: event %" APR_INT64_T_FMT " not kept: "
                             "out of memory", ev.id);
            }
            hub.last = ev.id;
            hub.queued += tp_row_bool(rows, i, "queued");
        }
        hub.ready = 1;
        apr_thread_cond_broadcast(hub.news);
        apr_thread_mutex_unlock(hub.lock);
        got = rows->nrows;
        *n += got;
        apr_pool_clear(p);      /* rows with it */
    } while (got == PAGE_N);
    return NULL;
}

/* A connection that LISTENs, named so that pg_stat_activity tells it
 * from the others; where to start reading on the first. */
static tp_err_t *hub_connect(apr_pool_t *p, tp_db_t **out)
{
    tp_db_t *db;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_db_open(p, hub.conf->dbd_driver, hub.conf->dbd_params,
                          &db)) != NULL
        || (err = tp_db_script(db, p, "SET application_name = '" HUB_NAME
                                      "'")) != NULL
        || (err = tp_db_listen(db, p, CHANNEL)) != NULL) {
        return err;
    }
    if (!hub.ready) {
        if ((err = tp_db_exec(db, p, &SQL_EVENTS_START, &rows,
                              TP_DB_ARGS(APR_STRINGIFY(RING_EVENTS),
                                         apr_itoa(p, hub.conf->event_replay))))
            != NULL) {
            return err;
        }
        hub.last = int64_cell(rows, 0, "start");
    }
    *out = db;
    return NULL;
}

static int hub_stopped(void)
{
    int stop;

    apr_thread_mutex_lock(hub.lock);
    stop = hub.stopping;
    apr_thread_mutex_unlock(hub.lock);
    return stop;
}

/* Waits up to t unless the hub is stopped. */
static int hub_sleep(apr_interval_time_t t)
{
    int stop;

    apr_thread_mutex_lock(hub.lock);
    if (!hub.stopping) {
        apr_thread_cond_timedwait(hub.news, hub.lock, t);
    }
    stop = hub.stopping;
    apr_thread_mutex_unlock(hub.lock);
    return stop;
}

/* The connection failed with err: it goes, and the next is tried after
 * a backoff (the failure logged once per outage). */
static void drop(tp_err_t *err, apr_pool_t *conn_pool, tp_db_t **db,
                 apr_time_t *lost, apr_interval_time_t *backoff)
{
    if (!*lost) {
        *lost = apr_time_now();
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, hub.s, "TP01601: event hub "
                     "lost the database (%s); reconnecting",
                     err->log ? err->log : err->detail);
    }
    apr_pool_clear(conn_pool);
    *db = NULL;
    hub_sleep(*backoff);
    *backoff = *backoff * 2 < BACKOFF_MAX ? *backoff * 2 : BACKOFF_MAX;
}

static void *APR_THREAD_FUNC hub_main(apr_thread_t *thread, void *data)
{
    apr_interval_time_t backoff = BACKOFF_MIN;
    apr_pool_t *p, *conn_pool, *iter;
    apr_time_t lost = 0;
    tp_db_t *db = NULL;
    tp_err_t *err;
    int session = 0, n = 0, heard = 1;

    (void)data;
    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    apr_pool_create(&conn_pool, p);
    apr_pool_create(&iter, p);
    while (!hub_stopped()) {
        apr_pool_clear(iter);
        if (!db) {
            if ((err = hub_connect(conn_pool, &db)) != NULL) {
                drop(err, conn_pool, &db, &lost, &backoff);
                continue;
            }
            session = tp_db_session(db);
            heard = 1;      /* whatever was missed meanwhile */
        }
        err = heard ? catch_up(db, iter, &n) : NULL;
        if (!err && tp_db_session(db) != session) {
            /* the adapter reconnected under the read: LISTEN again */
            err = tp_err_internal(iter, 503, "reconnected", "reconnected");
        }
        if (!err && lost) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, hub.s, "TP01602: event "
                         "hub back on the database after %" APR_TIME_T_FMT
                         " s; %d events caught up",
                         apr_time_sec(apr_time_now() - lost), n);
            lost = 0;
            backoff = BACKOFF_MIN;
        }
        if (!err && (heard = tp_db_notified(db, TICK)) < 0) {
            err = tp_err_internal(iter, 503, "database unavailable",
                                  "the listening connection closed");
        }
        if (err) {
            drop(err, conn_pool, &db, &lost, &backoff);
        }
    }
    apr_pool_destroy(p);
    (void)thread;
    return NULL;
}

static apr_status_t stop_hub(void *data)
{
    apr_status_t rv;

    (void)data;
    apr_thread_mutex_lock(hub.lock);
    hub.stopping = 1;
    apr_thread_cond_broadcast(hub.news);
    apr_thread_mutex_unlock(hub.lock);
    apr_thread_join(&rv, hub.thread);
    hub.thread = NULL;
    tp_ev_ring_destroy(hub.ring);
    hub.ring = NULL;
    return APR_SUCCESS;
}

void tp_events_child_init(apr_pool_t *pchild, server_rec *s)
{
    tp_srv_conf_t *conf = ap_get_module_config(s->module_config,
                                               &terrapod_module);

    hub.s = s;
    hub.conf = conf;
    if (!conf->dbd_driver || !conf->dbd_params) {
        return;             /* no database: the streams answer 503 */
    }
    if ((hub.ring = tp_ev_ring_create(RING_EVENTS)) == NULL
        || apr_thread_mutex_create(&hub.lock, APR_THREAD_MUTEX_DEFAULT,
                                   pchild) != APR_SUCCESS
        || apr_thread_cond_create(&hub.news, pchild) != APR_SUCCESS
        || apr_thread_create(&hub.thread, NULL, hub_main, NULL, pchild)
           != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "TP01600: no event hub "
                     "in this process: its event streams answer 503");
        tp_ev_ring_destroy(hub.ring);
        hub.ring = NULL;
        hub.thread = NULL;
        return;
    }
    /* before pchild's subpools go, the thread's among them */
    apr_pool_pre_cleanup_register(pchild, NULL, stop_hub);
}

/* ---- the listeners' long polls ---- */

apr_uint32_t tp_events_queued(void)
{
    apr_uint32_t n = 0;

    if (hub.thread) {
        apr_thread_mutex_lock(hub.lock);
        n = hub.queued;
        apr_thread_mutex_unlock(hub.lock);
    }
    return n;
}

int tp_events_wait_queued(apr_uint32_t *seen, apr_interval_time_t timeout)
{
    apr_time_t until = apr_time_now() + timeout;
    int news;

    if (!hub.thread) {
        apr_sleep(timeout);
        return 0;
    }
    apr_thread_mutex_lock(hub.lock);
    while (hub.queued == *seen && !hub.stopping && apr_time_now() < until) {
        apr_thread_cond_timedwait(hub.news, hub.lock, until - apr_time_now());
    }
    news = hub.queued != *seen;
    *seen = hub.queued;
    apr_thread_mutex_unlock(hub.lock);
    return news;
}

/* ---- a stream ---- */

typedef struct {
    request_rec *r;
    apr_bucket_brigade *bb;
    tp_ev_sub_t sub;
    apr_int64_t after;          /* the last event id it has dealt with */
    apr_time_t since;           /* the replay window's start */
    apr_time_t end;             /* of its lifetime */
    apr_interval_time_t keepalive;
} stream_t;

/* Writes and flushes text; 0 once the client is gone. */
static int put(stream_t *st, const char *text)
{
    return ap_fputs(st->r->output_filters, st->bb, text) == APR_SUCCESS
           && ap_fflush(st->r->output_filters, st->bb) == APR_SUCCESS
           && !st->r->connection->aborted;
}

/* Waits for events above st->after until quiet (or the stop) and copies
 * up to BATCH of them into p. -1 when the stream should end. */
static int take(stream_t *st, apr_pool_t *p, apr_time_t quiet,
                tp_event_t **evs)
{
    int n = -1, lost = 0;

    apr_thread_mutex_lock(hub.lock);
    while (hub.last <= st->after && !hub.stopping && apr_time_now() < quiet) {
        apr_thread_cond_timedwait(hub.news, hub.lock, quiet - apr_time_now());
    }
    if (!hub.stopping) {
        n = tp_ev_ring_since(hub.ring, st->after, st->since, p, BATCH, evs,
                             &lost);
        if (n == 0 && hub.last > st->after) {
            /* all there was above it is out of the window: past it */
            st->after = hub.last;
        }
    }
    apr_thread_mutex_unlock(hub.lock);
    if (lost) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, st->r, "TP01605: events "
                      "after %" APR_INT64_T_FMT " were dropped from this "
                      "process's ring before this stream could send them",
                      st->after);
    }
    return n;
}

/* Writes what st's subscriber is sent of evs: 1 when it wrote any, 0
 * when none, -1 when the stream ends. */
static int deliver(stream_t *st, apr_pool_t *p, const tp_event_t *evs, int n)
{
    int i, wrote = 0;

    for (i = 0; i < n; i++) {
        switch (tp_ev_decide(p, &st->sub, &evs[i])) {
        case TP_EV_END:
            return -1;
        case TP_EV_SEND:
            if (ap_fputs(st->r->output_filters, st->bb,
                         tp_sse_frame(p, evs[i].id, evs[i].type,
                                      evs[i].data)) != APR_SUCCESS) {
                return -1;
            }
            wrote = 1;
            break;
        case TP_EV_SKIP:
            break;
        }
        st->after = evs[i].id;
    }
    if (wrote && (ap_fflush(st->r->output_filters, st->bb) != APR_SUCCESS
                  || st->r->connection->aborted)) {
        return -1;
    }
    return wrote;
}

/* Until its lifetime ends, the client goes or the process stops: the
 * events, and a keep-alive whenever nothing was written for a while
 * (which is also how a client gone is noticed). */
static void run(stream_t *st)
{
    apr_time_t quiet = apr_time_now() + st->keepalive;
    apr_pool_t *iter;
    tp_event_t *evs;
    int n, wrote;

    apr_pool_create(&iter, st->r->pool);
    for (;;) {
        apr_pool_clear(iter);
        if ((n = take(st, iter, quiet < st->end ? quiet : st->end, &evs)) < 0
            || (wrote = deliver(st, iter, evs, n)) < 0
            || tp_process_stopping()) {
            return;
        }
        if (!wrote && apr_time_now() >= quiet) {
            if (!put(st, tp_sse_comment(iter, "keepalive"))) {
                return;
            }
            wrote = 1;
        }
        if (wrote) {
            quiet = apr_time_now() + st->keepalive;
        }
        if (apr_time_now() >= st->end) {
            return;
        }
    }
}

/* The newest event id the database has committed, into *id. */
static tp_err_t *newest(tp_req_t *req, apr_int64_t *id)
{
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_EVENTS_NEWEST, &rows, 0, NULL))
        != NULL) {
        return err;
    }
    *id = int64_cell(rows, 0, "last");
    return NULL;
}

/* Where a new stream starts: after its Last-Event-ID, or now. */
static tp_err_t *start(tp_req_t *req, stream_t *st)
{
    const char *last = apr_table_get(req->r->headers_in, "Last-Event-ID");
    apr_int64_t now = 0;
    int replay = 0;
    tp_err_t *err;

    if (last && !tp_ev_parse_id(last, &st->after)) {
        return tp_err(req->r->pool, 400, "Last-Event-ID must be the decimal "
                      "id of an event");
    }
    if (!last && (err = newest(req, &now)) != NULL) {
        return err;
    }
    apr_thread_mutex_lock(hub.lock);
    if (hub.ready && !last) {
        st->after = hub.last > now ? hub.last : now;
    }
    st->sub.opened = hub.last;
    replay = hub.ready;
    apr_thread_mutex_unlock(hub.lock);
    if (!replay) {
        apr_table_setn(req->r->err_headers_out, "Retry-After", RETRY_AFTER);
        return tp_err(req->r->pool, 503, "live events are not available "
                      "yet; ask again in " RETRY_AFTER " seconds");
    }
    st->since = last ? apr_time_now()
                       - apr_time_from_sec(hub.conf->event_replay) : 0;
    return NULL;
}

tp_err_t *tp_events_stream(tp_req_t *req, const tp_ev_sub_t *sub)
{
    request_rec *r = req->r;
    const tp_srv_conf_t *main_conf = hub.conf;   /* read from the main server */
    stream_t st = {0};
    tp_err_t *err;

    if (!hub.thread) {
        apr_table_setn(r->err_headers_out, "Retry-After", RETRY_AFTER);
        return tp_err(r->pool, 503, "live events are not available on this "
                      "server");
    }
    st.sub = *sub;
    if ((err = start(req, &st)) != NULL
        || (err = tp_hold_stream(req)) != NULL) {
        return err;
    }
    /* nothing of the database is held while it waits */
    tp_req_db_release(req);
    st.r = r;
    st.bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    st.keepalive = apr_time_from_sec(main_conf->event_keepalive);
    st.end = apr_time_now() + apr_time_from_sec(main_conf->stream_lifetime);
    r->status = HTTP_OK;
    ap_set_content_type(r, "text/event-stream");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    /* nothing between here and the browser may hold frames back: not
     * mod_deflate, nor a buffering proxy in front */
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    if (r->header_only) {
        return NULL;
    }
    if (put(&st, tp_sse_start(r->pool, RETRY_MS, st.after))) {
        run(&st);
    }
    return NULL;
}
