/* The task registry and the lock discipline around each run. */
#include <string.h>
#include "tp_tasks.h"
#include "tp_auth.h"
#include "tp_state.h"
#include "tp_runs.h"
#include "tp_session.h"
#include "tp_audit.h"
#include "tp_events.h"
#include "tp_vcs_poll.h"
#include "tp_vcs_pr.h"
#include "tp_notify_store.h"
#include "tp_run_triggers.h"
#include "tp_drift_check.h"
#include "tp_retention.h"
#include "tp_module_vcs.h"

const tp_task_t tp_tasks[] = {
    {"purge-expired-tokens", 300, "7310001", tp_auth_purge_expired},
    {"discard-stale-state-uploads", 600, "7310002", tp_state_discard_stale},
    {"reconcile-runs", 15, "7310003", tp_runs_reconcile},
    {"purge-expired-sessions", 300, "7310008", tp_session_purge},
    {"purge-audit-log", 3600, "7310004", tp_audit_purge},
    {"purge-events", 300, "7310026", tp_events_purge},
    {TP_VCS_POLL_TASK, TP_VCS_POLL_INTERVAL, "7310028", NULL, tp_vcs_poll},
    {TP_VCS_STATUSES_TASK, TP_VCS_STATUSES_INTERVAL, "7310029", NULL,
     tp_vcs_statuses_task},
    {TP_NOTIFY_TASK, TP_NOTIFY_INTERVAL, "7310034", NULL, tp_notify_task},
    {TP_RUN_TRIGGERS_TASK, TP_RUN_TRIGGERS_INTERVAL, "7310033",
     tp_run_triggers_task},
    {TP_DRIFT_TASK, TP_DRIFT_INTERVAL, "7310032", NULL, tp_drift_check},
    {TP_RETENTION_TASK, TP_RETENTION_INTERVAL, "7310035", NULL,
     tp_retention_task},
    {TP_MODULE_VCS_TASK, TP_MODULE_VCS_INTERVAL, "7310036", NULL,
     tp_module_vcs_poll},
    {NULL, 0, NULL, NULL}
};

static const tp_stmt_t SQL_TRY_LOCK = {"task_try_lock",
    "SELECT pg_try_advisory_lock(%s::bigint) AS got"};
static const tp_stmt_t SQL_UNLOCK = {"task_unlock",
    "SELECT pg_advisory_unlock(%s::bigint)"};

const tp_task_t *tp_task_named(const char *name)
{
    const tp_task_t *t;

    for (t = tp_tasks; t->name; t++) {
        if (strcmp(t->name, name) == 0) {
            return t;
        }
    }
    return NULL;
}

tp_err_t *tp_task_run(tp_db_t *db, apr_pool_t *p, const tp_task_t *task,
                      const tp_task_env_t *env, int *ran,
                      const char **summary)
{
    tp_rows_t *rows;
    tp_err_t *err;

    *ran = 0;
    err = tp_db_exec(db, p, &SQL_TRY_LOCK, &rows, TP_DB_ARGS(task->lock_key));
    if (err) {
        return err;
    }
    if (!tp_row_bool(rows, 0, "got")) {
        return NULL;
    }
    *ran = 1;
    err = task->fn ? task->fn(db, p, summary)
                   : task->fn_env(db, p, env, summary);
    tp_db_exec(db, p, &SQL_UNLOCK, NULL, TP_DB_ARGS(task->lock_key));
    return err;
}
