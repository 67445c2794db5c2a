/* Run triggers firing: the background task that turns the outbox rows a
 * source's applied run left (sql/0033) into runs of its destinations.
 * httpd-free, as every task. */
#ifndef TP_RUN_TRIGGERS_H
#define TP_RUN_TRIGGERS_H

#include "tp_db.h"

#define TP_RUN_TRIGGERS_TASK "run-triggers"
#define TP_RUN_TRIGGERS_INTERVAL 5      /* seconds, by default */
/* sources a destination may have */
#define TP_RUN_TRIGGERS_MAX_SOURCES 20

/* The task: for each outbox row, oldest first, a run of the destination
 * (its newest configuration, its auto-apply) naming the source in its
 * message, trigger-reason "run_trigger", queued and the row deleted in
 * one transaction. A destination that cannot run (local execution, no
 * configuration) loses that trigger, which the summary names. */
tp_err_t *tp_run_triggers_task(tp_db_t *db, apr_pool_t *p,
                               const char **summary);

#endif
