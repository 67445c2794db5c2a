/* The drift task picks due workspaces from the partial index
 * workspaces_drift_due (drift_due_at is kept by a trigger), filters out
 * those that cannot be checked now, and takes no more than the room the
 * concurrency cap leaves, so a fleet whose checks all fall due together
 * is checked a few at a time, oldest first. */
#include <apr_strings.h>
#include <apr_file_io.h>
#include "tp_drift_check.h"
#include "tp_drift.h"
#include "tp_runs.h"
#include "tp_json.h"

#define IN_FLIGHT "NOT IN ('planned_and_finished', 'applied', 'discarded'," \
                  " 'errored', 'canceled')"

/* What makes a workspace checkable besides its turn. */
#define CHECKABLE \
    "   w.execution_mode = 'agent' AND w.lifecycle_state = 'active'" \
    "   AND w.autodiscovery_pr_number IS NULL" \
    "   AND w.lock_holder IS NULL" \
    "   AND EXISTS (SELECT 1 FROM state_versions sv" \
    "                WHERE sv.workspace_id = w.id" \
    "                  AND sv.status = 'finalized')" \
    "   AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.workspace_id = w.id" \
    "                      AND r.status " IN_FLIGHT ")" \
    "   AND (w.vcs_connection_id IS NULL" \
    "        OR EXISTS (SELECT 1 FROM vcs_connections c" \
    "                    WHERE c.id = w.vcs_connection_id" \
    "                      AND c.status = 'active'))"

static const tp_stmt_t SQL_DUE = {"drift_due",
    "SELECT w.id FROM workspaces w"
    " WHERE w.drift_due_at <= now() AND" CHECKABLE
    " ORDER BY w.drift_due_at, w.id"
    " LIMIT greatest(%s::integer - (SELECT count(*) FROM runs"
    "                  WHERE is_drift_detection AND status " IN_FLIGHT "), 0)"};
static const tp_stmt_t SQL_CHECKABLE = {"drift_checkable",
    "SELECT w.id FROM workspaces w WHERE w.id = %s AND" CHECKABLE};
/* a run that could not even be created is a failed check */
static const tp_stmt_t SQL_ERRORED = {"drift_errored",
    "UPDATE workspaces SET drift_status = 'errored',"
    " drift_last_checked_at = now() WHERE id = %s"};
static const tp_stmt_t SQL_CLASSIFIED = {"drift_classified",
    "UPDATE runs SET drift_resources_drifted = %s::bigint,"
    " drift_resources_undrifted = %s::bigint"
    " WHERE id = %s AND is_drift_detection"};

static tp_err_t *create(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                        const char *actor, const char **run_id)
{
    tp_run_spec_t spec = {0};

    spec.message = "Drift detection";
    spec.vcs_ref = "";
    spec.plan_only = 1;
    spec.refresh = 1;
    spec.is_drift = 1;
    spec.has_auto_apply = 1;
    spec.target_addrs = spec.replace_addrs = spec.variables = "[]";
    spec.level = TP_LEVEL_ADMIN;
    return tp_run_create(db, p, ws_id, &spec, actor, run_id);
}

tp_err_t *tp_drift_check(tp_db_t *db, apr_pool_t *p, const tp_task_env_t *env,
                         const char **summary)
{
    tp_rows_t *due;
    apr_pool_t *sub;
    const char *run_id, *first_error = NULL;
    int i, queued = 0, failed = 0;
    tp_err_t *err = tp_db_exec(db, p, &SQL_DUE, &due,
                               TP_DB_ARGS(apr_itoa(p, env->drift_max_concurrent)));

    if (err) {
        return err;
    }
    apr_pool_create(&sub, p);
    for (i = 0; i < due->nrows && !err; i++) {
        const char *ws_id = tp_row(due, i, "id");

        err = create(db, sub, ws_id, NULL, &run_id);
        if (err && err->status < 500) {
            /* no configuration to run: the check failed, and waits for its
             * next turn */
            failed++;
            first_error = first_error ? first_error
                          : apr_pstrcat(p, ws_id, ": ", err->detail, NULL);
            err = tp_db_exec(db, sub, &SQL_ERRORED, NULL, TP_DB_ARGS(ws_id));
        }
        else if (!err) {
            queued++;
        }
        apr_pool_clear(sub);
    }
    *summary = apr_psprintf(p, "%d workspaces due, %d drift runs queued, "
                            "%d failed%s%s", due->nrows, queued, failed,
                            first_error ? ": " : "",
                            first_error ? first_error : "");
    return err;
}

tp_err_t *tp_drift_queue(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                         const char *actor, const char **run_id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_CHECKABLE, &rows,
                               TP_DB_ARGS(ws_id));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "the workspace cannot be checked for drift "
                      "now: it needs agent execution, a state, no lock, no run in flight and "
                      "an active VCS connection if it has one");
    }
    return create(db, p, ws_id, actor, run_id);
}

tp_err_t *tp_drift_classify_run(tp_db_t *db, apr_pool_t *p,
                                const char *run_id, const char *rules_json,
                                const char *path)
{
    apr_array_header_t *rules = tp_json_text_strings(p, rules_json);
    tp_drift_result_t r;
    apr_finfo_t fi;
    apr_file_t *f;
    apr_size_t len;
    char *buf;
    tp_err_t *err;
    apr_status_t rv = apr_stat(&fi, path, APR_FINFO_SIZE, p);

    if (rv == APR_SUCCESS && fi.size > TP_DRIFT_PLAN_MAX) {
        return tp_err(p, 413, "the plan JSON is larger than %" APR_OFF_T_FMT
                      " bytes", TP_DRIFT_PLAN_MAX);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);
    }
    if (rv == APR_SUCCESS) {
        len = (apr_size_t)fi.size;
        buf = apr_palloc(p, len + 1);
        rv = apr_file_read_full(f, buf, len, &len);
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        return tp_err_internal(p, 503, "storage is unavailable",
                               apr_psprintf(p, "read %s: %d", path, rv));
    }
    if ((err = tp_drift_classify(p, buf, len, rules, &r)) != NULL) {
        return err;
    }
    return tp_db_exec(db, p, &SQL_CLASSIFIED, NULL, TP_DB_ARGS(
        apr_psprintf(p, "%" APR_INT64_T_FMT, r.resources_drifted),
        apr_psprintf(p, "%" APR_INT64_T_FMT, r.resources_undrifted), run_id));
}
