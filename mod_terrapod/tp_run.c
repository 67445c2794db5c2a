/* The run state machine as tables, not scattered conditions. */
#include <string.h>
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
    /* a saved plan waits for its apply as a planned run waits for its
     * confirmation */
    static const char *const confirmable[] = {
        "planned", "planned_and_saved", NULL
    };
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
        {"planned_and_saved", "finished", "pending"},
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
