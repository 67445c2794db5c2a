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

/* 1 when action is allowed in status. */
int tp_run_allows(const char *status, tp_run_action_e action);

/* The status an action moves a run to. */
const char *tp_run_after(tp_run_action_e action);

/* Where a run goes when its plan finishes successfully: plan-only runs and
 * runs without changes (unless empty applies are allowed) end
 * planned_and_finished; auto-apply runs go straight to confirmed; the
 * rest wait, planned, for someone to confirm. */
const char *tp_run_after_plan(int plan_only, int has_changes,
                              int allow_empty_apply, int auto_apply);

/* The plan and apply phase statuses (pending, queued, running, finished,
 * errored, canceled, unreachable) after a run moves from one status to
 * another; NULL leaves a phase as it was. An error or cancel lands on the
 * phase the run was in. */
void tp_run_phases(const char *from, const char *to, const char **plan,
                   const char **apply);

/* A phase's status-timestamps as TFE names them (pending-at, queued-at,
 * started-at, finished-at, errored-at, canceled-at), from the run's
 * ("<run status>-at"): the times the run entered the statuses that moved
 * the phase. phase_status is the plan's or the apply's; run may be NULL. */
tp_json_t *tp_run_phase_timestamps(apr_pool_t *p, const tp_json_t *run,
                                   int apply, const char *phase_status);

#endif
