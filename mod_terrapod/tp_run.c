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

int tp_run_final(const char *status)
{
    return in(status, finals);
}

int tp_run_allows(const char *status, tp_run_action_e action)
{
    static const char *const confirmable[] = {"planned", NULL};
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

const char *tp_run_after_plan(int plan_only, int has_changes,
                              int allow_empty_apply, int auto_apply)
{
    if (plan_only || (!has_changes && !allow_empty_apply)) {
        return "planned_and_finished";
    }
    return auto_apply ? "confirmed" : "planned";
}

static int in_apply(const char *status)
{
    static const char *const apply[] = {
        "confirmed", "apply_queued", "applying", NULL
    };

    return in(status, apply);
}

void tp_run_phases(const char *from, const char *to, const char **plan,
                   const char **apply)
{
    static const struct {
        const char *to, *plan, *apply;
    } table[] = {
        {"pending", "pending", "pending"},
        {"plan_queued", "queued", "pending"},
        {"planning", "running", "pending"},
        {"planned", "finished", "pending"},
        {"planned_and_finished", "finished", "unreachable"},
        {"confirmed", "finished", "queued"},
        {"apply_queued", "finished", "queued"},
        {"applying", "finished", "running"},
        {"applied", "finished", "finished"},
        {"discarded", "finished", "unreachable"},
        {NULL, NULL, NULL}
    };
    int i;

    *plan = *apply = NULL;
    if (strcmp(to, "errored") == 0 || strcmp(to, "canceled") == 0) {
        if (in_apply(from)) {
            *apply = to;
        }
        else {
            *plan = to;
            *apply = "unreachable";
        }
        return;
    }
    for (i = 0; table[i].to; i++) {
        if (strcmp(table[i].to, to) == 0) {
            *plan = table[i].plan;
            *apply = table[i].apply;
            return;
        }
    }
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
