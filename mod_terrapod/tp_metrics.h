/* What an operator scrapes: counters and latency histograms kept in memory
 * every process of the server shares (set up before the processes fork,
 * recorded with atomic adds, no lock), and their rendering in the
 * Prometheus text exposition format 0.0.4. Every label value comes from a
 * fixed table (route patterns, methods, status classes, task names, run
 * statuses), never from an id or a name a client chose, so the number of
 * series is bounded whatever the traffic. */
#ifndef TP_METRICS_H
#define TP_METRICS_H

#include <apr_pools.h>
#include <apr_time.h>
#include "tp_db.h"

typedef struct tp_metrics tp_metrics_t;

/* A row of the route table, as its request series are labelled. */
typedef struct tp_metrics_route {
    const char *method;
    const char *pattern;
} tp_metrics_route_t;

/* Requests that matched no route (404, 405) are counted under this
 * index, by method. */
#define TP_METRICS_UNMATCHED (-1)

/* The outcome of a background task's turn. */
typedef enum {
    TP_TASK_OK,
    TP_TASK_FAILED,
    TP_TASK_SKIPPED         /* another node holds the task's lock */
} tp_task_outcome_e;

/* Bytes of shared memory the counters of nroutes routes and nprocs
 * processes take. */
apr_size_t tp_metrics_size(int nroutes, int nprocs);

/* Lays the counters out in mem (tp_metrics_size bytes, zeroed here):
 * memory every process maps at the same address, created before they
 * fork. The handle and the routes (kept, not copied) live in p. */
tp_metrics_t *tp_metrics_make(apr_pool_t *p, void *mem,
                              const tp_metrics_route_t *routes, int nroutes,
                              int nprocs);

/* Gives the calling process a slot for its gauge of database connections
 * in use: a free one, or one whose process has died. Without a slot its
 * connections are not counted. */
void tp_metrics_attach(tp_metrics_t *m);

/* The recorders; each does nothing when m is NULL (metrics are off).
 * route: the index in the route table, or TP_METRICS_UNMATCHED (then
 * method is the request's). took: from the request line to the end of
 * the response. */
void tp_metrics_request(tp_metrics_t *m, int route, const char *method,
                        int status, apr_interval_time_t took);
/* A database connection asked of the pool: given (ok) or not, after
 * took. One given counts as in use until tp_metrics_db_released. */
void tp_metrics_db_acquired(tp_metrics_t *m, int ok, apr_interval_time_t took);
void tp_metrics_db_released(tp_metrics_t *m);
/* A turn of task number task of tp_tasks. */
void tp_metrics_task(tp_metrics_t *m, int task, tp_task_outcome_e outcome,
                     apr_interval_time_t took);
/* A storage operation failed with status: 507 (full) or another. */
void tp_metrics_storage_error(tp_metrics_t *m, int status);

/* What the database says at scrape time. */
typedef struct tp_metrics_db {
    int up;                  /* 0: it could not be asked; the rest is unset */
    const tp_rows_t *runs;   /* columns status, n: runs not final */
    apr_int64_t listeners_connected;
    apr_int64_t listeners_busy;
} tp_metrics_db_t;

/* Every metric as exposition text: request series that saw a request,
 * the others always. */
char *tp_metrics_render(const tp_metrics_t *m, apr_pool_t *p,
                        const tp_metrics_db_t *db);

#endif
