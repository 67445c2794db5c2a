/* Run triggers firing. The outbox row of a destination is written by the
 * transaction that marks the source's run applied (sql/0033), and removed
 * by the one that queues the destination's run: a trigger fires once,
 * whatever restarts in between. */
#include <apr_strings.h>
#include "tp_run_triggers.h"
#include "tp_runs.h"

/* Rows fired per task run: the next run takes the rest. */
#define BATCH 100

static const tp_stmt_t SQL_OUTBOX_NEXT = {"run_trigger_next",
    "SELECT o.seq, o.source_run_id, o.destination_id, o.chain::text AS chain,"
    "       s.name AS source_name,"
    "       COALESCE(d.name, o.destination_id) AS destination_name,"
    "       COALESCE(d.execution_mode, '') AS execution_mode"
    "  FROM run_trigger_outbox o"
    "  JOIN runs r ON r.id = o.source_run_id"
    "  JOIN workspaces s ON s.id = r.workspace_id"
    "  LEFT JOIN workspaces d ON d.id = o.destination_id"
    " ORDER BY o.seq LIMIT 1 FOR UPDATE OF o SKIP LOCKED"};
static const tp_stmt_t SQL_OUTBOX_DONE = {"run_trigger_done",
    "DELETE FROM run_trigger_outbox WHERE seq = %s::bigint"};
static const tp_stmt_t SQL_RUN_TRIGGERED = {"run_triggered",
    "UPDATE runs SET trigger_reason = 'run_trigger',"
    " triggered_by_run_id = %s, trigger_chain = %s::jsonb WHERE id = %s"};

typedef struct {
    apr_pool_t *p;              /* the task's: outlives each row's pool */
    int queued, dropped;
    const char *first_drop;
} tally_t;

/* The destination's run of outbox row o, inside the transaction. */
static tp_err_t *fire(tp_db_t *db, apr_pool_t *p, const tp_rows_t *o)
{
    const char *source_run = tp_row(o, 0, "source_run_id");
    tp_run_spec_t spec = {0};
    const char *run_id;
    tp_err_t *err;

    if (strcmp(tp_row(o, 0, "execution_mode"), "local") == 0) {
        /* nothing would run it; queued, it would hold the lock forever */
        return tp_err(p, 422, "the workspace runs terraform locally");
    }
    spec.message = apr_psprintf(p, "Triggered by an apply of workspace %s "
                                "(run %s)", tp_row(o, 0, "source_name"),
                                source_run);
    spec.vcs_ref = "";
    spec.refresh = 1;
    spec.target_addrs = spec.replace_addrs = spec.variables = "[]";
    spec.level = TP_LEVEL_ADMIN;        /* the server's own run */
    if ((err = tp_run_create_in(db, p, tp_row(o, 0, "destination_id"), &spec,
                                NULL, &run_id)) != NULL) {
        return err;
    }
    return tp_db_exec(db, p, &SQL_RUN_TRIGGERED, NULL,
                      TP_DB_ARGS(source_run, tp_row(o, 0, "chain"), run_id));
}

/* Fires the oldest row; *none when there was none. A destination that
 * cannot take the run (gone meanwhile: 404) loses this trigger (the row
 * goes all the same). */
static tp_err_t *fire_next(tp_db_t *db, apr_pool_t *p, tally_t *t, int *none)
{
    tp_rows_t *o;
    tp_err_t *err, *refused;

    *none = 0;
    if ((err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_OUTBOX_NEXT, &o, 0, NULL)) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if (o->nrows == 0) {
        *none = 1;
        tp_db_rollback(db);
        return NULL;
    }
    refused = fire(db, p, o);
    if (refused && refused->status >= 500) {
        tp_db_rollback(db);
        return refused;
    }
    if (refused) {
        /* what the refused run wrote goes; the row is removed alone */
        tp_db_rollback(db);
        if ((err = tp_db_begin(db, p)) != NULL) {
            return err;
        }
        t->dropped++;
        if (!t->first_drop) {
            t->first_drop = apr_psprintf(t->p, "%s: %s",
                                         tp_row(o, 0, "destination_name"),
                                         refused->detail);
        }
    }
    if ((err = tp_db_exec(db, p, &SQL_OUTBOX_DONE, NULL,
                          TP_DB_ARGS(tp_row(o, 0, "seq")))) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    t->queued += !refused;
    return tp_db_commit(db);
}

tp_err_t *tp_run_triggers_task(tp_db_t *db, apr_pool_t *p,
                               const char **summary)
{
    tally_t t = {p, 0, 0, NULL};
    apr_pool_t *sub;
    tp_err_t *err = NULL;
    int i, none = 0;

    apr_pool_create(&sub, p);
    for (i = 0; i < BATCH && !none && !err; i++) {
        apr_pool_clear(sub);
        err = fire_next(db, sub, &t, &none);
    }
    *summary = apr_psprintf(p, "%d triggered runs queued, %d triggers "
                            "dropped%s%s", t.queued, t.dropped,
                            t.first_drop ? " (" : "",
                            t.first_drop ? apr_pstrcat(p, t.first_drop, ")",
                                                       NULL) : "");
    if (err) {
        err = tp_err(p, err->status, "%s", err->detail);
    }
    apr_pool_destroy(sub);
    return err;
}
