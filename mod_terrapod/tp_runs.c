/* Runs in the database: status moves with the run events they record,
 * the end of a run, claims by listeners and the reconciler. The workspace
 * lock is what serialises runs; every change to it happens in the
 * transaction that moves a run. */
#include <apr_strings.h>
#include "tp_runs.h"
#include "tp_run.h"
#include "tp_token.h"

/* Moves a run and records its run event in the one statement, so a move
 * never lacks its event nor an event its move. Does nothing when the run
 * has moved on meanwhile (the caller answers 409). An errored run's event
 * says why when the run knows; a cancel the listener reports names the
 * person who asked for it. */
static const tp_stmt_t SQL_RUN_MOVE = {"run_move",
    "WITH moved AS ("
    "  UPDATE runs SET status = %s,"
    "   plan_status = COALESCE(%s, plan_status),"
    "   apply_status = COALESCE(%s, apply_status),"
    "   status_timestamps = status_timestamps"
    "     || jsonb_build_object(replace(%s, '_', '-') || '-at', tp_ts(now())),"
    "   confirmed_by = COALESCE(%s, confirmed_by), updated_at = now()"
    "  WHERE id = %s AND status = %s"
    "  RETURNING id, status, error_message, cancel_requested_by),"
    " event AS ("
    "  INSERT INTO run_events (id, run_id, action, description, actor)"
    "  SELECT %s::text, id, %s::text,"
    "         CASE WHEN status = 'errored' AND error_message <> ''"
    "              THEN error_message ELSE %s::text END,"
    "         COALESCE(%s::text, CASE WHEN status = 'canceled'"
    "                                 THEN cancel_requested_by END)"
    "    FROM moved)"
    " SELECT id FROM moved"};
static const tp_stmt_t SQL_RUN_CREATED = {"run_created_event",
    "INSERT INTO run_events (id, run_id, action, description, actor)"
    " VALUES (%s, %s, %s, %s, %s)"};
static const tp_stmt_t SQL_WS_RELEASE = {"runs_ws_release",
    "UPDATE workspaces SET lock_holder = NULL, lock_reason = '',"
    " locked_at = NULL, lock_run_id = NULL"
    " WHERE id = %s AND lock_run_id = %s"};
/* the run becomes the workspace's current run (TFE's current-run) and
 * stays it after it releases the lock */
static const tp_stmt_t SQL_WS_TAKE = {"runs_ws_take",
    "UPDATE workspaces SET lock_holder = %s, lock_reason = 'held by run ' || %s,"
    " locked_at = now(), lock_run_id = %s, current_run_id = %s"
    " WHERE id = %s AND lock_holder IS NULL RETURNING id"};
/* A saved plan rests in confirmed only while it waits for the workspace:
 * any other run passes confirmed within the transaction that queues its
 * apply. */
static const tp_stmt_t SQL_RUN_NEXT_PENDING = {"run_next_pending",
    "SELECT id, status FROM runs WHERE workspace_id = %s"
    "   AND (status = 'pending' OR (status = 'confirmed' AND save_plan))"
    " ORDER BY seq LIMIT 1"};
/* A saved plan is stale once the workspace's current state version is not
 * the one its plan read (recorded when the runner fetched the state while
 * planning; NULL when there was none). */
static const tp_stmt_t SQL_RUN_STALE_SAVED = {"run_stale_saved",
    "SELECT r.id, r.status FROM runs r"
    " WHERE r.workspace_id = %s AND r.save_plan"
    "   AND r.status IN ('planned_and_saved', 'confirmed')"
    "   AND r.plan_state_version_id IS DISTINCT FROM"
    "       (SELECT sv.id FROM state_versions sv"
    "         WHERE sv.workspace_id = r.workspace_id"
    "           AND sv.status = 'finalized' ORDER BY sv.seq DESC LIMIT 1)"
    " ORDER BY r.seq FOR UPDATE OF r"};

/* A claim holds its listener's row, so that a revocation (which updates
 * it) waits for the claim to commit and then errors the run, or is seen
 * by it and nothing is claimed. */
static const tp_stmt_t SQL_CLAIMER = {"run_claimer",
    "SELECT name, revoked FROM listeners WHERE id = %s FOR SHARE"};
/* The oldest queued run of an agent workspace served by the listener's
 * pool (a workspace without one is served by the pool named "default"),
 * while the listener runs fewer phases than its capacity. Another claimer
 * skips the row this one holds instead of waiting. */
static const tp_stmt_t SQL_RUN_CLAIMABLE = {"run_claimable",
    "SELECT r.id, r.status FROM runs r"
    "  JOIN workspaces w ON w.id = r.workspace_id"
    "  JOIN listeners l ON l.id = %s"
    " WHERE r.status IN ('plan_queued', 'apply_queued')"
    "   AND w.execution_mode = 'agent'"
    "   AND l.pool_id = COALESCE(w.agent_pool_id,"
    "         (SELECT id FROM agent_pools WHERE name = 'default'))"
    "   AND l.capacity > (SELECT count(*) FROM runs busy"
    "                      WHERE busy.listener_id = l.id"
    "                        AND busy.status IN ('planning', 'applying'))"
    " ORDER BY r.seq LIMIT 1 FOR UPDATE OF r SKIP LOCKED"};
/* The phase now running (the run has just moved) records the listener and
 * its pool as they are: TFE's execution-details, which stay true after
 * the listener is renamed or removed. */
static const tp_stmt_t SQL_RUN_CLAIMED = {"run_claimed",
    "UPDATE runs r SET listener_id = d.id, claimed_at = now(),"
    " claim_id = %s,"
    " cancel_requested = false, cancel_requested_by = NULL,"
    " plan_execution = CASE WHEN r.status = 'planning' THEN d.details"
    "                       ELSE r.plan_execution END,"
    " apply_execution = CASE WHEN r.status = 'applying' THEN d.details"
    "                        ELSE r.apply_execution END"
    "  FROM (SELECT l.id, jsonb_build_object('mode', 'agent',"
    "                'agent-id', l.id, 'agent-name', l.name,"
    "                'agent-pool-id', ap.id, 'agent-pool-name', ap.name)"
    "                AS details"
    "          FROM listeners l JOIN agent_pools ap ON ap.id = l.pool_id"
    "         WHERE l.id = %s) d"
    " WHERE r.id = %s"};

/* Claimed runs whose listener is silent (a listener that never sent a
 * heartbeat counts from the claim), gone, revoked (when erroring its runs
 * at once failed), or over the deadline. */
static const tp_stmt_t SQL_RUN_ORPHANS = {"run_orphans",
    "SELECT r.id, r.workspace_id, r.status, l.name, l.revoked,"
    "       (l.id IS NOT NULL AND r.claimed_at"
    "          < now() - make_interval(secs => %s::integer)) AS overdue"
    "  FROM runs r LEFT JOIN listeners l ON l.id = r.listener_id"
    " WHERE r.status IN ('planning', 'applying') AND r.claimed_at IS NOT NULL"
    "   AND (l.id IS NULL OR l.revoked"
    "        OR COALESCE(l.last_heartbeat_at, r.claimed_at)"
    "           < now() - make_interval(secs => %s::integer)"
    "        OR r.claimed_at < now() - make_interval(secs => %s::integer))"
    " ORDER BY r.seq LIMIT 100"};
/* The phases one listener is running. */
static const tp_stmt_t SQL_RUNS_OF_LISTENER = {"runs_of_listener",
    "SELECT id, workspace_id, status FROM runs"
    " WHERE listener_id = %s AND status IN ('planning', 'applying')"
    " ORDER BY seq"};
static const tp_stmt_t SQL_RUN_SET_ERROR = {"run_set_error",
    "UPDATE runs SET error_message = %s WHERE id = %s AND status = %s"};
/* Workspaces with a run waiting and nobody holding the lock (a person's
 * lock was released). */
static const tp_stmt_t SQL_WS_STALLED = {"runs_ws_stalled",
    "SELECT DISTINCT r.workspace_id FROM runs r"
    "  JOIN workspaces w ON w.id = r.workspace_id"
    " WHERE (r.status = 'pending' OR (r.status = 'confirmed' AND r.save_plan))"
    "   AND w.lock_holder IS NULL LIMIT 100"};
static const tp_stmt_t SQL_WS_ROW_LOCK = {"runs_ws_row_lock",
    "SELECT id FROM workspaces WHERE id = %s FOR UPDATE"};

/* A transaction that moves more than one run of a workspace, or frees or
 * takes its lock, holds the workspace row first: such transactions then
 * never wait for each other's rows in opposite orders. */
static tp_err_t *begin_ws(tp_db_t *db, apr_pool_t *p, const char *ws_id)
{
    tp_err_t *err = tp_db_begin(db, p);

    return err ? err : tp_db_exec(db, p, &SQL_WS_ROW_LOCK, NULL,
                                  TP_DB_ARGS(ws_id));
}

/* The id of a new run event. */
static const char *event_id(apr_pool_t *p)
{
    return tp_id_generate(p, "re");
}

tp_err_t *tp_run_created(tp_db_t *db, apr_pool_t *p, const char *id,
                         const char *actor)
{
    const char *action, *description;

    tp_run_event("pending", &action, &description);
    return tp_db_exec(db, p, &SQL_RUN_CREATED, NULL,
                      TP_DB_ARGS(event_id(p), id, action, description,
                                 actor));
}

tp_err_t *tp_run_move(tp_db_t *db, apr_pool_t *p, const char *id,
                      const char *from, const char *to, const char *actor)
{
    const char *plan, *apply, *action, *description;
    tp_rows_t *rows;
    tp_err_t *err;

    tp_run_phases(from, to, &plan, &apply);
    tp_run_event(to, &action, &description);
    err = tp_db_exec(db, p, &SQL_RUN_MOVE, &rows,
                     TP_DB_ARGS(to, plan, apply, to,
                                strcmp(to, "confirmed") == 0 ? actor : NULL,
                                id, from, event_id(p), action, description,
                                actor));
    if (!err && rows->nrows == 0) {
        return tp_err(p, 409, "run %s is no longer %s", id, from);
    }
    return err;
}

tp_err_t *tp_run_take(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                      const char *run_id, int *took)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_WS_TAKE, &rows,
                               TP_DB_ARGS(run_id, run_id, run_id, run_id,
                                          ws_id));

    *took = !err && rows->nrows > 0;
    return err;
}

tp_err_t *tp_run_discard_stale(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                               const char *run_id, int *run_discarded)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_RUN_STALE_SAVED, &rows,
                               TP_DB_ARGS(ws_id));
    int i;

    if (run_discarded) {
        *run_discarded = 0;
    }
    for (i = 0; !err && i < rows->nrows; i++) {
        const char *id = tp_row(rows, i, "id");

        /* the server discards it: another run applied first */
        err = tp_run_move(db, p, id, tp_row(rows, i, "status"), "discarded",
                          NULL);
        /* 409: outside a transaction, someone moved it meanwhile */
        if (err && err->status == 409) {
            err = NULL;
            continue;
        }
        if (!err && run_discarded && run_id && strcmp(id, run_id) == 0) {
            *run_discarded = 1;
        }
    }
    return err;
}

tp_err_t *tp_run_promote_next(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                              int *promoted)
{
    tp_rows_t *rows;
    const char *next, *from;
    int took;
    tp_err_t *err;

    if (promoted) {
        *promoted = 0;
    }
    if ((err = tp_run_discard_stale(db, p, ws_id, NULL, NULL)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RUN_NEXT_PENDING, &rows,
                             TP_DB_ARGS(ws_id))) != NULL
        || rows->nrows == 0) {
        return err;
    }
    next = tp_row(rows, 0, "id");
    from = tp_row(rows, 0, "status");
    if ((err = tp_run_take(db, p, ws_id, next, &took)) != NULL || !took) {
        return err;
    }
    if (promoted) {
        *promoted = 1;
    }
    /* the server queues it, as the workspace came free */
    return tp_run_move(db, p, next, from, strcmp(from, "pending") == 0
                                          ? "plan_queued" : "apply_queued",
                       NULL);
}

tp_err_t *tp_run_finish(tp_db_t *db, apr_pool_t *p, const char *id,
                        const char *ws_id, const char *from, const char *to,
                        const char *actor)
{
    tp_err_t *err;

    if ((err = begin_ws(db, p, ws_id)) != NULL
        || (err = tp_run_move(db, p, id, from, to, actor)) != NULL
        || (err = tp_db_exec(db, p, &SQL_WS_RELEASE, NULL,
                             TP_DB_ARGS(ws_id, id))) != NULL
        || (err = tp_run_promote_next(db, p, ws_id, NULL)) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    return tp_db_commit(db);
}

static const tp_stmt_t SQL_RUN_CANCEL_REQUESTED = {"run_cancel_requested",
    "UPDATE runs SET cancel_requested = true, cancel_requested_by = %s"
    " WHERE id = %s"};

tp_err_t *tp_run_stop(tp_db_t *db, apr_pool_t *p, const char *id,
                      const char *ws_id, const char *status,
                      const char *actor)
{
    if (strcmp(status, "planning") == 0 || strcmp(status, "applying") == 0) {
        return tp_db_exec(db, p, &SQL_RUN_CANCEL_REQUESTED, NULL,
                          TP_DB_ARGS(actor, id));
    }
    return tp_run_finish(db, p, id, ws_id, status,
                         tp_run_allows(status, TP_RUN_DISCARD) ? "discarded"
                                                                : "canceled",
                         actor);
}

tp_err_t *tp_run_apply_saved(tp_db_t *db, apr_pool_t *p, const char *id,
                             const char *ws_id, const char *actor)
{
    tp_err_t *err;
    int stale = 0;

    /* the workspace row held: no run takes the lock or ends meanwhile */
    if ((err = begin_ws(db, p, ws_id)) != NULL
        || (err = tp_run_discard_stale(db, p, ws_id, id, &stale)) != NULL
        || (!stale
            && ((err = tp_run_move(db, p, id, "planned_and_saved",
                                   "confirmed", actor)) != NULL
                || (err = tp_run_promote_next(db, p, ws_id, NULL)) != NULL))) {
        tp_db_rollback(db);
        return err;
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    return stale ? tp_err(p, 409, "run %s is a saved plan of a state that "
                          "is no longer current (another run applied "
                          "first); it has been discarded", id)
                 : NULL;
}

/* ---- creating runs ---- */

static const tp_stmt_t SQL_WS_CLAIM = {"run_ws_claim",
    "SELECT lock_holder, auto_apply, allow_destroy_plan FROM workspaces"
    " WHERE id = %s FOR UPDATE"};
static const tp_stmt_t SQL_CV_FOR_RUN = {"run_cv",
    "SELECT id, status, speculative FROM configuration_versions"
    " WHERE id = %s AND workspace_id = %s"};
/* A provisional version (what terraform plan -out uploads) becomes the
 * workspace's configuration only once a run of it has applied. */
static const tp_stmt_t SQL_CV_LATEST = {"run_cv_latest",
    "SELECT id, status, speculative FROM configuration_versions cv"
    " WHERE workspace_id = %s AND status = 'uploaded' AND NOT speculative"
    "   AND (NOT provisional"
    "        OR EXISTS (SELECT 1 FROM runs r"
    "                    WHERE r.workspace_id = cv.workspace_id"
    "                      AND r.configuration_version_id = cv.id"
    "                      AND r.status = 'applied'))"
    " ORDER BY seq DESC LIMIT 1"};
static const tp_stmt_t SQL_RUN_INSERT = {"run_insert",
    "INSERT INTO runs (id, plan_id, apply_id, workspace_id,"
    "   configuration_version_id, message, is_destroy, auto_apply,"
    "   plan_only, refresh, refresh_only, allow_empty_apply, save_plan,"
    "   target_addrs, replace_addrs, variables, vcs_ref, created_by,"
    "   is_drift_detection, status_timestamps)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s::boolean, %s::boolean, %s::boolean,"
    "   %s::boolean, %s::boolean, %s::boolean, %s::boolean, %s::jsonb,"
    "   %s::jsonb, %s::jsonb, %s, %s, %s::boolean,"
    "   jsonb_build_object('pending-at', tp_ts(now())))"};

/* The configuration version a run uses: the one named, or the newest
 * uploaded one (of those that are the workspace's). A speculative one
 * makes the run plan-only. */
static tp_err_t *resolve_cv(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                            tp_run_spec_t *in)
{
    tp_rows_t *rows;
    tp_err_t *err;

    err = in->cv_id
          ? tp_db_exec(db, p, &SQL_CV_FOR_RUN, &rows,
                       TP_DB_ARGS(in->cv_id, ws_id))
          : tp_db_exec(db, p, &SQL_CV_LATEST, &rows, TP_DB_ARGS(ws_id));
    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return in->cv_id
               ? tp_err(p, 422, "configuration version %s does not belong to "
                        "this workspace", in->cv_id)
               : tp_err(p, 422, TP_RUN_NO_CONFIG);
    }
    if (strcmp(tp_row(rows, 0, "status"), "uploaded") != 0) {
        return tp_err(p, 409, "configuration version %s is %s, not uploaded",
                      tp_row(rows, 0, "id"), tp_row(rows, 0, "status"));
    }
    in->cv_id = tp_row(rows, 0, "id");
    if (tp_row_bool(rows, 0, "speculative")) {
        in->plan_only = 1;
    }
    return NULL;
}

/* Inserts the run, created and (when queued) queued by its creator, and
 * queues it when it may start now. */
static tp_err_t *insert_run(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                            const tp_run_spec_t *in, const char *id,
                            const char *created_by)
{
    const char *suffix = id + 4;
    int took;
    tp_err_t *err;

    err = tp_db_exec(db, p, &SQL_RUN_INSERT, NULL,
        TP_DB_ARGS(id, apr_pstrcat(p, "plan-", suffix, NULL),
                   apr_pstrcat(p, "apply-", suffix, NULL), ws_id, in->cv_id,
                   in->message, tp_db_bool(in->is_destroy),
                   tp_db_bool(in->auto_apply), tp_db_bool(in->plan_only),
                   tp_db_bool(in->refresh), tp_db_bool(in->refresh_only),
                   tp_db_bool(in->allow_empty_apply), tp_db_bool(in->save_plan),
                   in->target_addrs, in->replace_addrs, in->variables,
                   in->vcs_ref, created_by, tp_db_bool(in->is_drift)));
    if (err || (err = tp_run_created(db, p, id, created_by)) != NULL) {
        return err;
    }
    /* a saved plan takes the lock only when it is applied */
    if (in->plan_only || in->save_plan) {
        return tp_run_move(db, p, id, "pending", "plan_queued", created_by);
    }
    if ((err = tp_run_take(db, p, ws_id, id, &took)) != NULL) {
        return err;
    }
    /* someone (or another run) holds the workspace: wait in line */
    return took ? tp_run_move(db, p, id, "pending", "plan_queued",
                              created_by)
                : NULL;
}

tp_err_t *tp_run_allowed(apr_pool_t *p, const tp_run_spec_t *spec,
                         int allow_destroy)
{
    tp_level_e need = spec->plan_only || spec->save_plan ? TP_LEVEL_PLAN
                                                         : TP_LEVEL_WRITE;

    if (spec->level < need) {
        return tp_err(p, 403, "this run needs %s on the workspace",
                      need == TP_LEVEL_PLAN ? "plan" : "write");
    }
    if (spec->is_destroy && !allow_destroy) {
        return tp_err(p, 422, "destroy runs are turned off for this "
                      "workspace (allow-destroy-plan is false)");
    }
    return NULL;
}

/* The configuration is resolved before the level is checked: a
 * speculative one makes the run plan-only, which needs less. */
static tp_err_t *create_run(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                            tp_run_spec_t *in, const char *created_by,
                            const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_db_exec(db, p, &SQL_WS_CLAIM, &rows, TP_DB_ARGS(ws_id)))
        != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "workspace %s not found", ws_id);
    }
    if ((err = resolve_cv(db, p, ws_id, in)) != NULL) {
        return err;
    }
    if ((err = tp_run_allowed(p, in, tp_row_bool(rows, 0,
                                                 "allow_destroy_plan")))
        != NULL) {
        return err;
    }
    if (!in->has_auto_apply) {
        in->auto_apply = tp_row_bool(rows, 0, "auto_apply");
    }
    return insert_run(db, p, ws_id, in, id, created_by);
}

tp_err_t *tp_run_create_in(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                           const tp_run_spec_t *spec, const char *created_by,
                           const char **run_id)
{
    tp_run_spec_t in = *spec;
    const char *id = tp_id_generate(p, "run");
    tp_err_t *err = create_run(db, p, ws_id, &in, created_by, id);

    if (!err) {
        *run_id = id;
    }
    return err;
}

tp_err_t *tp_run_create(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                        const tp_run_spec_t *spec, const char *created_by,
                        const char **run_id)
{
    const char *id;
    tp_err_t *err;

    if ((err = tp_db_begin(db, p)) != NULL) {
        return err;
    }
    if ((err = tp_run_create_in(db, p, ws_id, spec, created_by, &id))
        != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    *run_id = id;
    return NULL;
}

tp_err_t *tp_run_claim(tp_db_t *db, apr_pool_t *p, const char *listener,
                       const char **run_id, const char **phase)
{
    const char *from, *to;
    tp_rows_t *rows;
    tp_err_t *err;

    *run_id = *phase = NULL;
    if ((err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_CLAIMER, &rows,
                             TP_DB_ARGS(listener))) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if (rows->nrows == 0 || tp_row_bool(rows, 0, "revoked")) {
        tp_db_rollback(db);
        return rows->nrows == 0
               ? tp_err(p, 401, "listener %s no longer exists", listener)
               : tp_err(p, 403, "listener %s (%s) has been revoked", listener,
                        tp_row(rows, 0, "name"));
    }
    if ((err = tp_db_exec(db, p, &SQL_RUN_CLAIMABLE, &rows,
                          TP_DB_ARGS(listener))) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if (rows->nrows == 0) {
        tp_db_rollback(db);
        return NULL;
    }
    from = tp_row(rows, 0, "status");
    to = strcmp(from, "plan_queued") == 0 ? "planning" : "applying";
    if ((err = tp_run_move(db, p, tp_row(rows, 0, "id"), from, to, NULL))
        != NULL
        || (err = tp_db_exec(db, p, &SQL_RUN_CLAIMED, NULL,
                             TP_DB_ARGS(tp_id_generate(p, "claim"), listener,
                                        tp_row(rows, 0, "id")))) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    *run_id = tp_row(rows, 0, "id");
    *phase = strcmp(to, "planning") == 0 ? "plan" : "apply";
    return NULL;
}

/* Errors a planning or applying run with why, in the transaction that
 * ends it; 409 when it ended meanwhile. */
static tp_err_t *error_run(tp_db_t *db, apr_pool_t *p, const tp_rows_t *rows,
                           int i, const char *why)
{
    const char *id = tp_row(rows, i, "id");
    const char *ws = tp_row(rows, i, "workspace_id");
    const char *status = tp_row(rows, i, "status");
    tp_err_t *err;

    if ((err = begin_ws(db, p, ws)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RUN_SET_ERROR, NULL,
                             TP_DB_ARGS(why, id, status))) != NULL
        || (err = tp_run_move(db, p, id, status, "errored", NULL)) != NULL
        || (err = tp_db_exec(db, p, &SQL_WS_RELEASE, NULL,
                             TP_DB_ARGS(ws, id))) != NULL
        || (err = tp_run_promote_next(db, p, ws, NULL)) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    return tp_db_commit(db);
}

/* Why an orphaned run (a row of SQL_RUN_ORPHANS) is errored. */
static const char *orphaned_why(apr_pool_t *p, const tp_rows_t *rows, int i)
{
    const char *name = tp_row(rows, i, "name");

    if (!name) {
        return "the listener that claimed this run was removed";
    }
    if (tp_row_bool(rows, i, "revoked")) {
        return apr_psprintf(p, "listener %s was revoked", name);
    }
    if (tp_row_bool(rows, i, "overdue")) {
        return apr_psprintf(p, "the run exceeded its %d hour deadline on "
                            "listener %s", TP_RUN_DEADLINE / 3600, name);
    }
    return apr_psprintf(p, "listener %s stopped heartbeating", name);
}

/* Errors each run of rows (as error_run takes them) with why, or, when why
 * is NULL, with why it was orphaned; *errored counts those ended. A run
 * that ended meanwhile (409) is what was wanted, and is left alone. */
static tp_err_t *error_runs(tp_db_t *db, apr_pool_t *p, const tp_rows_t *rows,
                            const char *why, int *errored)
{
    tp_err_t *err;
    int i;

    for (i = 0; i < rows->nrows; i++) {
        err = error_run(db, p, rows, i, why ? why : orphaned_why(p, rows, i));
        if (err && err->status != 409) {
            return err;
        }
        *errored += err == NULL;
    }
    return NULL;
}

tp_err_t *tp_runs_release(tp_db_t *db, apr_pool_t *p, const char *listener,
                          const char *why, int *errored)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_RUNS_OF_LISTENER, &rows,
                               TP_DB_ARGS(listener));

    return err ? err : error_runs(db, p, rows, why, errored);
}

tp_err_t *tp_runs_reconcile(tp_db_t *db, apr_pool_t *p, const char **summary)
{
    const char *grace = apr_itoa(p, TP_RUN_HEARTBEAT_GRACE);
    const char *deadline = apr_itoa(p, TP_RUN_DEADLINE);
    tp_rows_t *rows;
    tp_err_t *err;
    int i, errored = 0, promoted = 0;

    if ((err = tp_db_exec(db, p, &SQL_RUN_ORPHANS, &rows,
                          TP_DB_ARGS(deadline, grace, deadline))) != NULL
        || (err = error_runs(db, p, rows, NULL, &errored)) != NULL
        || (err = tp_db_exec(db, p, &SQL_WS_STALLED, &rows, 0, NULL)) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        const char *ws = tp_row(rows, i, "workspace_id");

        if ((err = begin_ws(db, p, ws)) != NULL
            || (err = tp_run_promote_next(db, p, ws, NULL)) != NULL
            || (err = tp_db_commit(db)) != NULL) {
            tp_db_rollback(db);
            return err;
        }
        promoted++;
    }
    *summary = apr_psprintf(p, "%d runs errored, %d workspaces' next runs "
                            "queued", errored, promoted);
    return NULL;
}
