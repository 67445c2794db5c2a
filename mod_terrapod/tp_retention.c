/* The retention task. Each batch is one transaction: the rows are marked
 * (and locked) first, the files removed, then the marks committed; a
 * batch cut short rolls back and its rows, whose files may already be
 * gone, are found and marked again next time. Removing a missing file
 * does nothing, so the task can always run again. While a backup runs
 * nothing is removed (its dump may name the files it is about to copy):
 * the task waits for its next run. */
#include <apr_strings.h>
#include "tp_retention.h"
#include "tp_backup.h"

/* rows per transaction and transactions per run, so a backlog never
 * holds many locks or keeps the task busy for long */
#define BATCH 200
#define MAX_BATCHES 50

#define FINAL_RUN "('planned_and_finished', 'applied', 'discarded'," \
    " 'errored', 'canceled')"
/* the run that stored a workspace's current state (the newest finalized
 * version) */
#define CURRENT_STATE_RUN(ws) \
    "(SELECT sv.run_id FROM state_versions sv" \
    "  WHERE sv.workspace_id = " ws " AND sv.status = 'finalized'" \
    "  ORDER BY sv.seq DESC LIMIT 1)"

/* Old finished runs, except the one behind the current state. */
static const tp_stmt_t SQL_RETAIN_RUNS = {"retention_runs",
    "WITH doomed AS ("
    " SELECT r.id FROM runs r"
    "  WHERE r.artifacts_removed_at IS NULL"
    "    AND r.created_at < now() - make_interval(days => %s::int)"
    "    AND r.status IN " FINAL_RUN
    "    AND r.id IS DISTINCT FROM " CURRENT_STATE_RUN("r.workspace_id")
    "  ORDER BY r.created_at LIMIT %s::int"
    "  FOR UPDATE OF r SKIP LOCKED)"
    " UPDATE runs SET artifacts_removed_at = now()"
    "   FROM doomed WHERE runs.id = doomed.id RETURNING runs.id"};

/* Old uploaded configuration versions, except the workspace's current
 * one (the newest non-speculative, and the newest a run without one would
 * take: provisional ones count once applied), one a run not yet finished
 * uses, and the one of the run behind the current state. */
static const tp_stmt_t SQL_RETAIN_CVS = {"retention_cvs",
    "WITH doomed AS ("
    " SELECT cv.id FROM configuration_versions cv"
    "  WHERE cv.status = 'uploaded'"
    "    AND cv.created_at < now() - make_interval(days => %s::int)"
    "    AND cv.id IS DISTINCT FROM"
    "        (SELECT n.id FROM configuration_versions n"
    "                   WHERE n.workspace_id = cv.workspace_id"
    "                     AND n.status = 'uploaded' AND NOT n.speculative"
    "                   ORDER BY n.seq DESC LIMIT 1)"
    "    AND cv.id IS DISTINCT FROM"
    "        (SELECT n.id FROM configuration_versions n"
    "          WHERE n.workspace_id = cv.workspace_id"
    "            AND n.status = 'uploaded' AND NOT n.speculative"
    "            AND (NOT n.provisional"
    "                 OR EXISTS (SELECT 1 FROM runs a"
    "                             WHERE a.configuration_version_id = n.id"
    "                               AND a.status = 'applied'))"
    "          ORDER BY n.seq DESC LIMIT 1)"
    "    AND NOT EXISTS (SELECT 1 FROM runs r"
    "                     WHERE r.configuration_version_id = cv.id"
    "                       AND (r.status NOT IN " FINAL_RUN
    "                            OR r.id = " CURRENT_STATE_RUN("r.workspace_id")
    "                           ))"
    "  ORDER BY cv.created_at LIMIT %s::int"
    "  FOR UPDATE OF cv SKIP LOCKED)"
    " UPDATE configuration_versions c SET status = 'archived'"
    "   FROM doomed WHERE c.id = doomed.id"
    " RETURNING c.id, c.workspace_id"};

void tp_retention_remove_run(const tp_storage_t *st, apr_pool_t *p,
                             const char *run_id)
{
    tp_storage_remove_tree(st, p, tp_run_prefix(p, run_id));
    tp_storage_remove_tree(st, p, tp_run_log_prefix(p, run_id));
}

static void remove_run_row(const tp_storage_t *st, apr_pool_t *p,
                           const tp_rows_t *rows, int i)
{
    tp_retention_remove_run(st, p, tp_row(rows, i, "id"));
}

static void remove_cv_row(const tp_storage_t *st, apr_pool_t *p,
                          const tp_rows_t *rows, int i)
{
    tp_storage_remove(st, p, tp_cv_key(p, tp_row(rows, i, "workspace_id"),
                                       tp_row(rows, i, "id")));
}

typedef void remove_fn(const tp_storage_t *st, apr_pool_t *p,
                       const tp_rows_t *rows, int i);

/* One transaction: marks up to BATCH rows, removes their files, commits;
 * *n is how many were marked, *backup 1 when a backup held it off. The
 * backup lock is taken once there is something to remove, before any
 * file goes: a backup starting later waits for the commit, so its dump
 * shows the rows marked. */
static tp_err_t *sweep_batch(tp_db_t *db, apr_pool_t *p,
                             const tp_storage_t *st, const tp_stmt_t *stmt,
                             const char *days, remove_fn *remove, int *n,
                             int *backup)
{
    tp_rows_t *rows;
    tp_err_t *err;
    int i, no_backup = 1;

    *n = 0;
    if ((err = tp_db_begin(db, p)) != NULL) {
        return err;
    }
    if ((err = tp_db_exec(db, p, stmt, &rows,
                          TP_DB_ARGS(days, apr_itoa(p, BATCH)))) != NULL
        || (rows->nrows > 0
            && (err = tp_backup_hold_off(db, p, &no_backup)) != NULL)
        || !no_backup) {
        *backup = !err;
        tp_db_rollback(db);
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        remove(st, p, rows, i);
    }
    if ((err = tp_db_commit(db)) == NULL) {
        *n = rows->nrows;
    }
    return err;
}

/* Every batch of stmt due after days (0: none), up to MAX_BATCHES. */
static tp_err_t *sweep(tp_db_t *db, apr_pool_t *p, const tp_storage_t *st,
                       const tp_stmt_t *stmt, int days, remove_fn *remove,
                       int *total, int *backup)
{
    apr_pool_t *batch_pool;
    tp_err_t *err = NULL;
    int batch, n = BATCH;

    *total = 0;
    if (days == 0) {
        return NULL;
    }
    apr_pool_create(&batch_pool, p);
    for (batch = 0; batch < MAX_BATCHES && n == BATCH && !err && !*backup;
         batch++) {
        apr_pool_clear(batch_pool);
        err = sweep_batch(db, batch_pool, st, stmt, apr_itoa(p, days),
                          remove, &n, backup);
        *total += n;
    }
    apr_pool_destroy(batch_pool);
    return err;
}

tp_err_t *tp_retention_task(tp_db_t *db, apr_pool_t *p,
                            const tp_task_env_t *env, const char **summary)
{
    int runs = 0, cvs = 0, backup = 0;
    tp_err_t *err;

    if ((err = sweep(db, p, env->storage, &SQL_RETAIN_RUNS,
                     env->retention_run_days, remove_run_row, &runs,
                     &backup)) == NULL) {
        err = sweep(db, p, env->storage, &SQL_RETAIN_CVS,
                    env->retention_cv_days, remove_cv_row, &cvs, &backup);
    }
    *summary = apr_psprintf(p, "removed the artifacts of %d run(s) and %d "
                            "configuration version tarball(s)%s", runs, cvs,
                            backup ? "; a backup is under way, the rest "
                                     "waits for the next run" : "");
    return err;
}
