/* Runs in the database: moving a run between statuses, ending it (the
 * workspace lock released, the next pending run queued), claiming queued
 * runs for listeners, and the reconciler that ends runs whose listener
 * went away. httpd-free, so the API and the background tasks share it. */
#ifndef TP_RUNS_H
#define TP_RUNS_H

#include "tp_db.h"
#include "tp_rbac.h"

/* Seconds without a heartbeat after which a listener's runs are errored. */
#define TP_RUN_HEARTBEAT_GRACE 60
/* Seconds a claimed run may stay in planning or applying. */
#define TP_RUN_DEADLINE (6 * 3600)

/* The answer to a run that has no configuration to run. */
#define TP_RUN_NO_CONFIG \
    "Workspace has no uploaded configuration. Upload one via 'tofu plan' / " \
    "'tofu apply' (CLI), or POST a configuration version + tarball before " \
    "queueing a run."

/* What a new run is to do, as POST /runs describes it. */
typedef struct tp_run_spec {
    const char *cv_id;          /* NULL: the workspace's newest uploaded,
                                   non-speculative configuration */
    const char *message;
    const char *vcs_ref;        /* "" unless it ran from a named ref */
    int is_destroy, plan_only, refresh, refresh_only, allow_empty_apply;
    int save_plan;
    int is_drift;               /* a drift check (plan-only, never applied) */
    int auto_apply;
    int has_auto_apply;         /* 0: the workspace's auto-apply */
    const char *target_addrs;   /* JSON lists */
    const char *replace_addrs;
    const char *variables;
    tp_level_e level;           /* the creator's on the workspace */
} tp_run_spec_t;

/* Whether spec's creator may create it on a workspace that allows
 * destroy plans (allow_destroy) or not: 403 below the level it needs
 * (plan-only runs and saved plans need plan, others write), 422 for a
 * destroy run the workspace does not allow. */
tp_err_t *tp_run_allowed(apr_pool_t *p, const tp_run_spec_t *spec,
                         int allow_destroy);

/* Creates a run of workspace ws_id for created_by (an email; NULL: the
 * server) in one transaction: its configuration resolved (422 when there
 * is none, 409 when it is not uploaded; a speculative one makes the run
 * plan-only), the creator's level checked (403: plan-only runs and saved
 * plans need plan, others write), the run inserted with its created
 * event and queued when it may start now: plan-only runs and saved plans
 * always, others when the workspace is free (they then take its lock),
 * else it waits in pending. 422 for a destroy run the workspace does not
 * allow. */
tp_err_t *tp_run_create(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                        const tp_run_spec_t *spec, const char *created_by,
                        const char **run_id);

/* The same inside the caller's transaction, for work that commits more
 * with the run (a run trigger's outbox row gone). */
tp_err_t *tp_run_create_in(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                           const tp_run_spec_t *spec, const char *created_by,
                           const char **run_id);

/* Records the "created" run event of the new run id, made by actor (an
 * email; NULL: by the server). Inside the caller's transaction. */
tp_err_t *tp_run_created(tp_db_t *db, apr_pool_t *p, const char *id,
                         const char *actor);

/* Moves run id from `from` to `to`, with its phase statuses, status
 * timestamp and run event (tp_run_event); 409, and nothing recorded, when
 * it is no longer in `from`. actor is the email of the user whose request
 * makes the move, NULL when the server makes it (listener reports, the
 * reconciler, a waiting run queued); a move to confirmed makes the actor
 * the run's confirmed_by. Inside the caller's transaction, if any. */
tp_err_t *tp_run_move(tp_db_t *db, apr_pool_t *p, const char *id,
                      const char *from, const char *to, const char *actor);

/* Gives the workspace's lock to run_id when nobody holds it (*took says
 * whether it did); the run becomes the workspace's current run. */
tp_err_t *tp_run_take(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                      const char *run_id, int *took);

/* Queues the workspace's next waiting run when the workspace is free,
 * giving it the lock: the oldest pending run (its plan) or saved plan
 * confirmed while the workspace was busy (its apply), in the order they
 * were created; saved plans gone stale are discarded first. *promoted
 * (when not NULL) says whether one was. Inside the caller's
 * transaction. */
tp_err_t *tp_run_promote_next(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                              int *promoted);

/* Ends a run's turn on its workspace (a final status, or a saved plan
 * now planned_and_saved): the run moved, the workspace lock released if
 * it held it, the next waiting run queued, in one transaction, the move
 * made by actor (as tp_run_move); 409 when it is no longer in status
 * from. */
tp_err_t *tp_run_finish(tp_db_t *db, apr_pool_t *p, const char *id,
                        const char *ws_id, const char *from, const char *to,
                        const char *actor);

/* Ends run id (in status, not final) for actor (NULL: the server) as a
 * person's cancel or discard would: one terraform is busy with is asked
 * to stop (its listener ends it, or the reconciler when the listener is
 * gone), one waiting for confirmation discarded, any other canceled. */
tp_err_t *tp_run_stop(tp_db_t *db, apr_pool_t *p, const char *id,
                      const char *ws_id, const char *status,
                      const char *actor);

/* Discards the workspace's saved plans that wait to be applied
 * (planned_and_saved, or confirmed and waiting for the workspace) whose
 * plan read a state other than the workspace's current one: another run
 * applied first, or the state was written otherwise. *run_discarded
 * (when not NULL) says whether run_id was among them. In the caller's
 * transaction, if any. */
tp_err_t *tp_run_discard_stale(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                               const char *run_id, int *run_discarded);

/* Applies a saved plan (planned_and_saved) for actor, in one
 * transaction: stale, it is discarded and the answer is 409; otherwise it
 * is confirmed and its apply queued, taking the workspace lock, at once
 * when the workspace is free, or when its turn comes. */
tp_err_t *tp_run_apply_saved(tp_db_t *db, apr_pool_t *p, const char *id,
                             const char *ws_id, const char *actor);

/* Claims the oldest queued run of an agent-mode workspace for listener:
 * plan_queued becomes planning, apply_queued applying, and the run gets a
 * new claim id (the runner tokens of the phase are signed for it).
 * *run_id is NULL when there was none; otherwise *phase is "plan" or
 * "apply". 403 once the listener is revoked, 401 once it is gone. */
tp_err_t *tp_run_claim(tp_db_t *db, apr_pool_t *p, const char *listener,
                       const char **run_id, const char **phase);

/* Errors the runs listener is planning or applying, each in its own
 * transaction as the reconciler does, with why as their error message
 * (what waits behind them is queued); *errored is increased by the number
 * ended. Runs that ended meanwhile are left alone. */
tp_err_t *tp_runs_release(tp_db_t *db, apr_pool_t *p, const char *listener,
                          const char *why, int *errored);

/* Background task "reconcile-runs": errors claimed runs whose listener
 * stopped heartbeating, vanished, was revoked or ran past the deadline,
 * and queues pending runs of workspaces that became free. */
tp_err_t *tp_runs_reconcile(tp_db_t *db, apr_pool_t *p, const char **summary);

#endif
