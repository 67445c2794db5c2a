/* The metrics' counters, laid out in one block of shared memory, and their
 * exposition text. Histograms keep a count per bucket (not cumulative) and
 * no total: the text sums the buckets it read once, so a scrape racing a
 * request still shows cumulative buckets that agree with their count. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "tp_metrics.h"
#include "tp_run.h"
#include "tp_tasks.h"

#define MAX_BUCKETS 12           /* finite buckets; one more for +Inf */
#define CLASSES 5                /* status classes 1xx .. 5xx */

/* Upper bounds of a histogram's buckets, in microseconds and as the
 * le label shows them. */
typedef struct {
    int n;
    const apr_interval_time_t *le;
    const char *const *text;
} bounds_t;

/* requests and tasks: 5 ms .. 10 s */
static const apr_interval_time_t latency_le[] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000
};
static const char *const latency_text[] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
    "10"
};
static const bounds_t latency = {11, latency_le, latency_text};

/* a connection from the pool: at once (a free one) .. seconds (a new
 * one to a slow database, or none free until another request ends) */
static const apr_interval_time_t acquire_le[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 500000, 1000000,
    5000000
};
static const char *const acquire_text[] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.1", "0.5", "1", "5"
};
static const bounds_t acquire = {12, acquire_le, acquire_text};

typedef struct {
    volatile apr_uint64_t n[MAX_BUCKETS + 1];
    volatile apr_uint64_t sum_us;
} hist_t;

typedef struct {
    volatile apr_uint64_t outcomes[3];       /* by tp_task_outcome_e */
    hist_t took;                             /* turns that ran */
} task_t;

/* A process's connections in use; pid 0: a free slot. */
typedef struct {
    volatile apr_uint32_t pid;
    volatile apr_uint32_t in_use;
} slot_t;

typedef struct {
    volatile apr_uint64_t acquire_failures;
    volatile apr_uint64_t storage_full;
    volatile apr_uint64_t storage_other;
    hist_t acquire;
} shared_t;

/* Requests of no route, by method; the last is every other method. */
static const char *const unmatched_methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"
};
#define UNMATCHED (int)(sizeof(unmatched_methods) / sizeof(char *))

struct tp_metrics {
    shared_t *sh;
    task_t *tasks;
    int ntasks;
    slot_t *slots;
    int nslots;
    int slot;                    /* this process's, or -1 */
    hist_t *requests;            /* (nroutes + UNMATCHED) * CLASSES */
    const tp_metrics_route_t *routes;
    int nroutes;
};

static int task_count(void)
{
    int n = 0;

    while (tp_tasks[n].name) {
        n++;
    }
    return n;
}

/* Sizes rounded up to keep every counter 8-byte aligned. */
#define ALIGNED(n) (((n) + 7) & ~(apr_size_t)7)

apr_size_t tp_metrics_size(int nroutes, int nprocs)
{
    return ALIGNED(sizeof(shared_t))
           + ALIGNED(sizeof(task_t) * (apr_size_t)task_count())
           + ALIGNED(sizeof(slot_t) * (apr_size_t)nprocs)
           + sizeof(hist_t) * (apr_size_t)(nroutes + UNMATCHED) * CLASSES;
}

tp_metrics_t *tp_metrics_make(apr_pool_t *p, void *mem,
                              const tp_metrics_route_t *routes, int nroutes,
                              int nprocs)
{
    tp_metrics_t *m = apr_pcalloc(p, sizeof(*m));
    char *at = mem;

    memset(mem, 0, tp_metrics_size(nroutes, nprocs));
    m->ntasks = task_count();
    m->nslots = nprocs;
    m->slot = -1;
    m->routes = routes;
    m->nroutes = nroutes;
    m->sh = (shared_t *)at;
    at += ALIGNED(sizeof(shared_t));
    m->tasks = (task_t *)at;
    at += ALIGNED(sizeof(task_t) * (apr_size_t)m->ntasks);
    m->slots = (slot_t *)at;
    at += ALIGNED(sizeof(slot_t) * (apr_size_t)nprocs);
    m->requests = (hist_t *)at;
    return m;
}

/* 1 while process pid exists (a zombie counts until it is reaped). */
static int alive(apr_uint32_t pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

void tp_metrics_attach(tp_metrics_t *m)
{
    apr_uint32_t me = (apr_uint32_t)getpid();
    int i;

    m->slot = -1;
    for (i = 0; i < m->nslots; i++) {
        slot_t *s = &m->slots[i];
        apr_uint32_t was = apr_atomic_read32(&s->pid);

        if ((was == 0 || !alive(was))
            && apr_atomic_cas32(&s->pid, me, was) == was) {
            /* what a dead process held went with it */
            apr_atomic_set32(&s->in_use, 0);
            m->slot = i;
            return;
        }
    }
}

static void observe(hist_t *h, const bounds_t *b, apr_interval_time_t took)
{
    int i = 0;

    if (took < 0) {
        took = 0;
    }
    while (i < b->n && took > b->le[i]) {
        i++;
    }
    apr_atomic_inc64(&h->n[i]);
    apr_atomic_add64(&h->sum_us, (apr_uint64_t)took);
}

static int unmatched_index(const char *method)
{
    int i;

    for (i = 0; i < UNMATCHED - 1; i++) {
        if (method && strcmp(method, unmatched_methods[i]) == 0) {
            return i;
        }
    }
    return UNMATCHED - 1;
}

static int status_class(int status)
{
    int c = status / 100;

    return c < 1 ? 0 : c > CLASSES ? CLASSES - 1 : c - 1;
}

void tp_metrics_request(tp_metrics_t *m, int route, const char *method,
                        int status, apr_interval_time_t took)
{
    int row;

    if (!m) {
        return;
    }
    row = route >= 0 && route < m->nroutes
          ? route : m->nroutes + unmatched_index(method);
    observe(&m->requests[row * CLASSES + status_class(status)], &latency,
            took);
}

void tp_metrics_db_acquired(tp_metrics_t *m, int ok, apr_interval_time_t took)
{
    if (!m) {
        return;
    }
    observe(&m->sh->acquire, &acquire, took);
    if (!ok) {
        apr_atomic_inc64(&m->sh->acquire_failures);
    }
    else if (m->slot >= 0) {
        apr_atomic_inc32(&m->slots[m->slot].in_use);
    }
}

void tp_metrics_db_released(tp_metrics_t *m)
{
    if (m && m->slot >= 0) {
        apr_atomic_dec32(&m->slots[m->slot].in_use);
    }
}

void tp_metrics_task(tp_metrics_t *m, int task, tp_task_outcome_e outcome,
                     apr_interval_time_t took)
{
    if (!m || task < 0 || task >= m->ntasks) {
        return;
    }
    apr_atomic_inc64(&m->tasks[task].outcomes[outcome]);
    if (outcome != TP_TASK_SKIPPED) {
        observe(&m->tasks[task].took, &latency, took);
    }
}

void tp_metrics_storage_error(tp_metrics_t *m, int status)
{
    if (m) {
        apr_atomic_inc64(status == 507 ? &m->sh->storage_full
                                       : &m->sh->storage_other);
    }
}

/* ---- exposition text ---- */

/* Rendering only reads: the atomic read wants a pointer it could write. */
static apr_uint64_t read64(volatile const apr_uint64_t *v)
{
    return apr_atomic_read64((volatile apr_uint64_t *)v);
}

/* The text grows as lines in a list, joined once at the end. */
typedef struct {
    apr_pool_t *p;
    apr_array_header_t *lines;
} text_t;

static void line(text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void line(text_t *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    APR_ARRAY_PUSH(t->lines, char *) = apr_pvsprintf(t->p, fmt, ap);
    va_end(ap);
    APR_ARRAY_PUSH(t->lines, char *) = "\n";
}

static void family(text_t *t, const char *name, const char *type,
                   const char *help)
{
    line(t, "# HELP %s %s", name, help);
    line(t, "# TYPE %s %s", name, type);
}

/* A label value as the format quotes it: \ " and newline escaped. */
static const char *escaped(apr_pool_t *p, const char *v)
{
    char *out = apr_palloc(p, strlen(v) * 2 + 1), *o = out;

    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            *o++ = '\\';
            *o++ = *v;
        }
        else if (*v == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *v;
        }
    }
    *o = '\0';
    return out;
}

/* labels: "" or `name="value",...` (escaped), without braces. */
static void histogram(text_t *t, const char *name, const char *labels,
                      const hist_t *h, const bounds_t *b)
{
    const char *sep = *labels ? "," : "";
    apr_uint64_t n[MAX_BUCKETS + 1], total = 0;
    int i;

    for (i = 0; i <= b->n; i++) {
        n[i] = read64(&h->n[i]);
    }
    for (i = 0; i <= b->n; i++) {
        total += n[i];
        line(t, "%s_bucket{%s%sle=\"%s\"} %" APR_UINT64_T_FMT, name, labels,
             sep, i < b->n ? b->text[i] : "+Inf", total);
    }
    line(t, "%s_sum%s%s%s %.6f", name, *labels ? "{" : "", labels,
         *labels ? "}" : "",
         (double)read64(&h->sum_us) / APR_USEC_PER_SEC);
    line(t, "%s_count%s%s%s %" APR_UINT64_T_FMT, name, *labels ? "{" : "",
         labels, *labels ? "}" : "", total);
}

static int observed(const hist_t *h)
{
    int i;

    for (i = 0; i <= MAX_BUCKETS; i++) {
        if (read64(&h->n[i])) {
            return 1;
        }
    }
    return 0;
}

static void render_requests(text_t *t, const tp_metrics_t *m)
{
    static const char *const classes[CLASSES] = {
        "1xx", "2xx", "3xx", "4xx", "5xx"
    };
    int row, c;

    family(t, "terrapod_http_request_duration_seconds", "histogram",
           "API requests by route (its pattern in the route table), method "
           "and status class, and how long they took");
    for (row = 0; row < m->nroutes + UNMATCHED; row++) {
        const char *method = row < m->nroutes
                             ? m->routes[row].method
                             : unmatched_methods[row - m->nroutes];
        const char *route = row < m->nroutes ? m->routes[row].pattern
                                             : "unmatched";

        for (c = 0; c < CLASSES; c++) {
            const hist_t *h = &m->requests[row * CLASSES + c];

            if (observed(h)) {
                histogram(t, "terrapod_http_request_duration_seconds",
                          apr_psprintf(t->p, "route=\"%s\",method=\"%s\","
                                       "status_class=\"%s\"",
                                       escaped(t->p, route),
                                       escaped(t->p, method), classes[c]),
                          h, &latency);
            }
        }
    }
}

static void render_database_pool(text_t *t, const tp_metrics_t *m)
{
    apr_uint64_t in_use = 0;
    int i;

    for (i = 0; i < m->nslots; i++) {
        apr_uint32_t pid = apr_atomic_read32(&m->slots[i].pid);

        if (pid && alive(pid)) {
            in_use += apr_atomic_read32(&m->slots[i].in_use);
        }
    }
    family(t, "terrapod_db_connections_in_use", "gauge",
           "Connections of mod_dbd's pools that requests hold now, all "
           "processes together");
    line(t, "terrapod_db_connections_in_use %" APR_UINT64_T_FMT, in_use);
    family(t, "terrapod_db_acquire_seconds", "histogram",
           "How long requests waited for a connection from mod_dbd's pool");
    histogram(t, "terrapod_db_acquire_seconds", "", &m->sh->acquire,
              &acquire);
    family(t, "terrapod_db_acquire_failures_total", "counter",
           "Requests that got no database connection");
    line(t, "terrapod_db_acquire_failures_total %" APR_UINT64_T_FMT,
         read64(&m->sh->acquire_failures));
}

static void render_storage(text_t *t, const tp_metrics_t *m)
{
    family(t, "terrapod_storage_errors_total", "counter",
           "Storage operations that failed: the disk full (507) or "
           "anything else (503)");
    line(t, "terrapod_storage_errors_total{kind=\"full\"} %" APR_UINT64_T_FMT,
         read64(&m->sh->storage_full));
    line(t, "terrapod_storage_errors_total{kind=\"unavailable\"} %"
         APR_UINT64_T_FMT, read64(&m->sh->storage_other));
}

static void render_tasks(text_t *t, const tp_metrics_t *m)
{
    static const char *const outcomes[] = {"ok", "failed", "skipped"};
    int i, o;

    family(t, "terrapod_task_runs_total", "counter",
           "Turns of the background tasks on this server, by outcome "
           "(skipped: another node held the task's lock)");
    for (i = 0; i < m->ntasks; i++) {
        for (o = 0; o < 3; o++) {
            line(t, "terrapod_task_runs_total{task=\"%s\",outcome=\"%s\"} %"
                 APR_UINT64_T_FMT, tp_tasks[i].name, outcomes[o],
                 read64(&m->tasks[i].outcomes[o]));
        }
    }
    family(t, "terrapod_task_duration_seconds", "histogram",
           "How long the background tasks' turns that ran took");
    for (i = 0; i < m->ntasks; i++) {
        histogram(t, "terrapod_task_duration_seconds",
                  apr_psprintf(t->p, "task=\"%s\"", tp_tasks[i].name),
                  &m->tasks[i].took, &latency);
    }
}

/* The count of runs in status, from rows of (status, n). */
static apr_int64_t runs_in(const tp_rows_t *rows, const char *status)
{
    int i;

    for (i = 0; rows && i < rows->nrows; i++) {
        if (strcmp(tp_row(rows, i, "status"), status) == 0) {
            return apr_atoi64(tp_row(rows, i, "n"));
        }
    }
    return 0;
}

static void render_database(text_t *t, const tp_metrics_db_t *db)
{
    const char *const *status;

    family(t, "terrapod_database_up", "gauge",
           "1 when the database answered this scrape's questions");
    line(t, "terrapod_database_up %d", db->up ? 1 : 0);
    if (!db->up) {
        return;
    }
    /* the statuses a run passes through; final ones only ever grow */
    family(t, "terrapod_runs", "gauge", "Runs not yet final, by status");
    for (status = tp_run_status_group("non_final"); *status; status++) {
        line(t, "terrapod_runs{status=\"%s\"} %" APR_INT64_T_FMT, *status,
             runs_in(db->runs, *status));
    }
    family(t, "terrapod_run_queue_depth", "gauge",
           "Runs waiting for a listener to take their plan or apply");
    line(t, "terrapod_run_queue_depth %" APR_INT64_T_FMT,
         runs_in(db->runs, "plan_queued") + runs_in(db->runs, "apply_queued"));
    family(t, "terrapod_listeners_connected", "gauge",
           "Listeners that sent a heartbeat in the last 3 minutes");
    line(t, "terrapod_listeners_connected %" APR_INT64_T_FMT,
         db->listeners_connected);
    family(t, "terrapod_listeners_busy", "gauge",
           "Connected listeners running a plan or an apply");
    line(t, "terrapod_listeners_busy %" APR_INT64_T_FMT, db->listeners_busy);
}

char *tp_metrics_render(const tp_metrics_t *m, apr_pool_t *p,
                        const tp_metrics_db_t *db)
{
    text_t t = {p, apr_array_make(p, 512, sizeof(char *))};

    render_requests(&t, m);
    render_database_pool(&t, m);
    render_storage(&t, m);
    render_tasks(&t, m);
    render_database(&t, db);
    return apr_array_pstrcat(p, t.lines, 0);
}
