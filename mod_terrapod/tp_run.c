/* The run state machine as tables, not scattered conditions. */
#include <string.h>
#include <apr_strings.h>
#include "tp_run.h"

static int in(const char *status, const char *const *list)
{
    for (; *list; list++) {
        if (strcmp(status, *list) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *const finals[] = {
    "planned_and_finished", "applied", "discarded", "errored", "canceled",
    NULL
};

/* runs still on their way to a final status */
static const char *const non_finals[] = {
    "pending", "plan_queued", "planning", "planned", "planned_and_saved",
    "confirmed", "apply_queued", "applying", NULL
};
/* a saved plan waits for its apply as a planned run waits for its
 * confirmation */
static const char *const confirmable[] = {
    "planned", "planned_and_saved", NULL
};

int tp_run_final(const char *status)
{
    return in(status, finals);
}

const char *const *tp_run_status_group(const char *group)
{
    if (strcmp(group, "final") == 0) {
        return finals;
    }
    if (strcmp(group, "non_final") == 0) {
        return non_finals;
    }
    /* what a person may still discard */
    if (strcmp(group, "discardable") == 0) {
        return confirmable;
    }
    return NULL;
}

int tp_run_allows(const char *status, tp_run_action_e action)
{
    static const char *const cancelable[] = {
        "pending", "plan_queued", "planning", "confirmed", "apply_queued",
        "applying", NULL
    };

    switch (action) {
    case TP_RUN_APPLY:
    case TP_RUN_DISCARD:
        return in(status, confirmable);
    case TP_RUN_CANCEL:
        return in(status, cancelable);
    case TP_RUN_FORCE_CANCEL:
        return !tp_run_final(status);
    }
    return 0;
}

const char *tp_run_after(tp_run_action_e action)
{
    switch (action) {
    case TP_RUN_APPLY:   return "confirmed";
    case TP_RUN_DISCARD: return "discarded";
    default:             return "canceled";
    }
}

const char *tp_run_after_plan(unsigned flags)
{
    if ((flags & TP_RUN_PLAN_ONLY)
        || !(flags & (TP_RUN_HAS_CHANGES | TP_RUN_EMPTY_APPLY))) {
        return "planned_and_finished";
    }
    if (flags & TP_RUN_SAVE_PLAN) {
        return "planned_and_saved";
    }
    return (flags & TP_RUN_AUTO_APPLY) ? "confirmed" : "planned";
}

static int in_apply(const char *status)
{
    static const char *const apply[] = {
        "confirmed", "apply_queued", "applying", NULL
    };

    return in(status, apply);
}

/* Each status: the plan and apply phase statuses a run in it has, and
 * the run event (TFE's action, a description for people) a move to it
 * records. errored and canceled have no phases of their own: they land on
 * the phase the run was in (tp_run_phases). */
static const struct status {
    const char *name, *plan, *apply, *action, *description;
} statuses[] = {
    {"pending", "pending", "pending", "created", "Run created"},
    {"plan_queued", "queued", "pending", "queued", "Queued to plan"},
    {"planning", "running", "pending", "planning", "Plan started"},
    {"planned", "finished", "pending", "planned",
     "Planned; waiting for confirmation"},
    /* plan-only, or nothing to apply: the run ends with its plan */
    {"planned_and_finished", "finished", "unreachable", "planned",
     "Planned and finished"},
    /* a saved plan, waiting until someone applies it */
    {"planned_and_saved", "finished", "pending", "planned",
     "Planned and saved"},
    {"confirmed", "finished", "queued", "confirmed", "Confirmed to apply"},
    {"apply_queued", "finished", "queued", "queued", "Queued to apply"},
    {"applying", "finished", "running", "applying", "Apply started"},
    {"applied", "finished", "finished", "applied", "Applied"},
    {"discarded", "finished", "unreachable", "discarded", "Discarded"},
    {"errored", NULL, NULL, "errored", "Errored"},
    {"canceled", NULL, NULL, "canceled", "Canceled"},
    {NULL, NULL, NULL, NULL, NULL}
};

static const struct status *status_of(const char *name)
{
    int i;

    for (i = 0; statuses[i].name; i++) {
        if (strcmp(statuses[i].name, name) == 0) {
            return &statuses[i];
        }
    }
    return NULL;
}

void tp_run_phases(const char *from, const char *to, const char **plan,
                   const char **apply)
{
    const struct status *st = status_of(to);

    *plan = *apply = NULL;
    if (strcmp(to, "errored") == 0 || strcmp(to, "canceled") == 0) {
        if (in_apply(from)) {
            *apply = to;
        }
        else {
            *plan = to;
            *apply = "unreachable";
        }
    }
    else if (st) {
        *plan = st->plan;
        *apply = st->apply;
    }
}

void tp_run_event(const char *to, const char **action,
                  const char **description)
{
    const struct status *st = status_of(to);

    *action = st ? st->action : to;
    *description = st ? st->description : to;
}

tp_json_t *tp_run_phase_timestamps(apr_pool_t *p, const tp_json_t *run,
                                   int apply, const char *phase_status)
{
    static const struct {
        int apply;
        const char *run, *phase;
    } stamps[] = {
        {0, "pending-at", "pending-at"},
        {0, "plan-queued-at", "queued-at"},
        {0, "planning-at", "started-at"},
        {0, "planned-at", "finished-at"},
        {0, "planned-and-finished-at", "finished-at"},
        {0, "planned-and-saved-at", "finished-at"},
        {1, "apply-queued-at", "queued-at"},
        {1, "applying-at", "started-at"},
        {1, "applied-at", "finished-at"},
        {0, NULL, NULL}
    };
    tp_json_t *out = tp_json_object(p);
    const char *at, *key;
    int i;

    for (i = 0; stamps[i].run; i++) {
        if (stamps[i].apply == apply
            && (at = tp_json_gets(run, stamps[i].run, NULL)) != NULL) {
            tp_json_sets(out, at, stamps[i].phase, NULL);
        }
    }
    /* a run errors or is canceled once, and the phase it was in says so
     * (tp_run_phases) */
    if (phase_status && (strcmp(phase_status, "errored") == 0
                         || strcmp(phase_status, "canceled") == 0)) {
        key = apr_pstrcat(p, phase_status, "-at", NULL);
        if ((at = tp_json_gets(run, key, NULL)) != NULL) {
            tp_json_sets(out, at, key, NULL);
        }
    }
    return out;
}
