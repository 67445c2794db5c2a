/* Drift detection in the database: the background task that queues drift
 * runs for the workspaces that are due, the same queueing asked for one
 * workspace now, and the classification of a drift run's plan JSON kept
 * on the run (the run's end then records the workspace's drift status,
 * see sql/0032_drift.sql). */
#ifndef TP_DRIFT_CHECK_H
#define TP_DRIFT_CHECK_H

#include "tp_tasks.h"

#define TP_DRIFT_TASK "drift-check"
#define TP_DRIFT_INTERVAL 300
/* drift runs queued or running at once, unless TerrapodDriftMaxConcurrent
 * says otherwise */
#define TP_DRIFT_MAX_CONCURRENT 10

/* Background task "drift-check": queues a plan-only drift run, oldest due
 * first, in each workspace whose drift check is due (drift detection on,
 * an agent workspace, its interval elapsed since its last check or never
 * checked) that has a state, is not locked, has no run in flight and
 * whose VCS connection (if any) is active, until env->drift_max_concurrent
 * drift runs are in flight. A workspace whose run cannot be created (no
 * configuration) is checked and errored. */
tp_err_t *tp_drift_check(tp_db_t *db, apr_pool_t *p, const tp_task_env_t *env,
                         const char **summary);

/* Queues a drift run in workspace ws_id now, for actor (an email; NULL:
 * the server): 409 when it has no state or a run in flight, 422 when it
 * has no configuration; *run_id the new run. */
tp_err_t *tp_drift_queue(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                         const char *actor, const char **run_id);

/* Classifies the plan JSON at path of drift run run_id after rules_json
 * (the workspace's drift-ignore-rules, a JSON array) and keeps the counts
 * on the run. A plan that cannot be classified (too large) is left to
 * what terraform said of it (has-changes); the error says why. */
tp_err_t *tp_drift_classify_run(tp_db_t *db, apr_pool_t *p,
                                const char *run_id, const char *rules_json,
                                const char *path);

#endif
