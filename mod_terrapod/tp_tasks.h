/* Periodic background tasks. Each runs on one node at a time: the runner
 * holds a PostgreSQL advisory lock named after the task while it works. */
#ifndef TP_TASKS_H
#define TP_TASKS_H

#include "tp_db.h"
#include "tp_vcs_store.h"
#include "tp_storage.h"

/* What tasks need of the deployment's configuration, built once by the
 * background child. */
typedef struct tp_task_env {
    const tp_vcs_env_t *vcs;
    const char *public_url;     /* TerrapodPublicURL; NULL when not set */
    int vcs_poll_interval;      /* seconds between polls of a repository */
    const struct tp_notify_env *notify;     /* tp_notify_store.h */
    int drift_max_concurrent;   /* drift runs in flight at most */
    const tp_storage_t *storage;
    int retention_run_days;     /* run artifacts kept; 0: forever */
    int retention_cv_days;      /* configuration tarballs kept; 0: forever */
} tp_task_env_t;

/* A task that needs nothing of the configuration, or one that does. */
typedef tp_err_t *tp_task_fn(tp_db_t *db, apr_pool_t *p,
                             const char **summary);
typedef tp_err_t *tp_task_env_fn(tp_db_t *db, apr_pool_t *p,
                                 const tp_task_env_t *env,
                                 const char **summary);

typedef struct tp_task {
    const char *name;
    int interval;            /* seconds between runs */
    const char *lock_key;    /* advisory lock key, a bigint literal */
    tp_task_fn *fn;          /* one of these two is set */
    tp_task_env_fn *fn_env;
} tp_task_t;

/* The registered tasks, terminated by an entry with a NULL name. */
extern const tp_task_t tp_tasks[];

/* The task named name, or NULL. */
const tp_task_t *tp_task_named(const char *name);

/* Runs task unless another node holds its lock (then *ran is 0). */
tp_err_t *tp_task_run(tp_db_t *db, apr_pool_t *p, const tp_task_t *task,
                      const tp_task_env_t *env, int *ran,
                      const char **summary);

#endif
