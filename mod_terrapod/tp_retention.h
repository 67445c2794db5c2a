/* The retention task: removes the stored artifacts of old runs (logs,
 * plan files, plan JSON) and the tarballs of old configuration versions,
 * never what a workspace's current state or configuration rests on, and
 * never a state version. */
#ifndef TP_RETENTION_H
#define TP_RETENTION_H

#include "tp_tasks.h"

#define TP_RETENTION_TASK "retention"
#define TP_RETENTION_INTERVAL 3600
#define TP_RETENTION_DAYS_DEFAULT 90

/* Removes what is stored of run_id's artifacts. */
void tp_retention_remove_run(const tp_storage_t *st, apr_pool_t *p,
                             const char *run_id);

/* Background task: in batches, removes the files and marks their rows
 * (runs.artifacts_removed_at, configuration versions 'archived') in one
 * transaction each, so a batch cut short is found again. */
tp_err_t *tp_retention_task(tp_db_t *db, apr_pool_t *p,
                            const tp_task_env_t *env, const char **summary);

#endif
