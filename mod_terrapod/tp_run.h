/* The run state machine: which actions each status allows, where a
 * finished plan leads, and which statuses are final. Pure functions, so
 * the API, the listener protocol and the reconciler agree. */
#ifndef TP_RUN_H
#define TP_RUN_H

#include "tp_json.h"

typedef enum {
    TP_RUN_APPLY,          /* confirm a planned run (TFE alias: confirm) */
    TP_RUN_DISCARD,
    TP_RUN_CANCEL,
    TP_RUN_FORCE_CANCEL
} tp_run_action_e;

/* 1 when status is one a run never leaves. */
int tp_run_final(const char *status);

/* The statuses of TFE's filter[status_group]: "non_final", "final" or
 * "discardable"; NULL for any other name. */
const char *const *tp_run_status_group(const char *group);

/* 1 when action is allowed in status. */
int tp_run_allows(const char *status, tp_run_action_e action);

/* The status an action moves a run to. */
const char *tp_run_after(tp_run_action_e action);

/* What a run and its finished plan are, for tp_run_after_plan. */
enum {
    TP_RUN_PLAN_ONLY   = 1 << 0,   /* plan-only (speculative) */
    TP_RUN_SAVE_PLAN   = 1 << 1,   /* a saved plan (terraform plan -out) */
    TP_RUN_HAS_CHANGES = 1 << 2,
    TP_RUN_EMPTY_APPLY = 1 << 3,   /* allow-empty-apply */
    TP_RUN_AUTO_APPLY  = 1 << 4
};

/* Where a run goes when its plan finishes successfully (flags: the
 * TP_RUN_* bits above): plan-only runs and runs without changes (unless
 * empty applies are allowed) end planned_and_finished; saved plans wait,
 * planned_and_saved, for someone to apply them, and are never applied
 * automatically; auto-apply runs go straight to confirmed; the rest wait,
 * planned, for someone to confirm. */
const char *tp_run_after_plan(unsigned flags);

/* The plan and apply phase statuses (pending, queued, running, finished,
 * errored, canceled, unreachable) after a run moves from one status to
 * another; NULL leaves a phase as it was. An error or cancel lands on the
 * phase the run was in. */
void tp_run_phases(const char *from, const char *to, const char **plan,
                   const char **apply);

/* The run event a move to status `to` records: its action (TFE's run-events
 * vocabulary: created, queued, planning, planned, confirmed, applying,
 * applied, discarded, canceled, errored) and a description for people.
 * "pending" is where a run is created. */
void tp_run_event(const char *to, const char **action,
                  const char **description);

/* A phase's status-timestamps as TFE names them (pending-at, queued-at,
 * started-at, finished-at, errored-at, canceled-at), from the run's
 * ("<run status>-at"): the times the run entered the statuses that moved
 * the phase. phase_status is the plan's or the apply's; run may be NULL. */
tp_json_t *tp_run_phase_timestamps(apr_pool_t *p, const tp_json_t *run,
                                   int apply, const char *phase_status);

#endif
