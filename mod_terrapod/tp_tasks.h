/* Periodic background tasks. Each runs on one node at a time: the runner
 * holds a PostgreSQL advisory lock named after the task while it works. */
#ifndef TP_TASKS_H
#define TP_TASKS_H

#include "tp_db.h"

typedef tp_err_t *tp_task_fn(tp_db_t *db, apr_pool_t *p,
                             const char **summary);

typedef struct tp_task {
    const char *name;
    int interval;            /* seconds between runs */
    const char *lock_key;    /* advisory lock key, a bigint literal */
    tp_task_fn *fn;
} tp_task_t;

/* The registered tasks, terminated by an entry with a NULL name. */
extern const tp_task_t tp_tasks[];

/* Runs task unless another node holds its lock (then *ran is 0). */
tp_err_t *tp_task_run(tp_db_t *db, apr_pool_t *p, const tp_task_t *task,
                      int *ran, const char **summary);

#endif
