/* The VCS poller: the background task that watches the branches VCS
 * workspaces track and queues their runs, and what webhooks ask of it.
 * Everything it knows is in the database (sql/0028), so a restart of
 * Apache, its background child or PostgreSQL loses nothing; webhooks only
 * make it look sooner. */
#ifndef TP_VCS_POLL_H
#define TP_VCS_POLL_H

#include "tp_db.h"
#include "tp_tasks.h"

#define TP_VCS_POLL_TASK "vcs-poll"
#define TP_VCS_POLL_INTERVAL 60          /* seconds, by default */
/* the channel a webhook's request is notified on (sql/0028) */
#define TP_VCS_POLL_CHANNEL "terrapod_vcs_poll"
/* a failing repository is asked again after the interval, doubled at
 * each failure in a row up to this many seconds (or the interval) */
#define TP_VCS_BACKOFF_MAX 3600
#define TP_VCS_DELIVERY_DAYS 7           /* deliveries remembered */

/* The task: for each (connection, repository, branch) active VCS
 * workspaces track, due (its interval passed, or a webhook asked), one
 * conditional request for its head; on a new commit, for each workspace
 * whose files changed, a configuration version (the archive downloaded
 * once) and a run. A failing provider backs that repository off and is
 * recorded on its connection; the others go on. */
tp_err_t *tp_vcs_poll(tp_db_t *db, apr_pool_t *p, const tp_task_env_t *env,
                      const char **summary);

/* 1 when a change to one of files (paths from the repository's root)
 * concerns a workspace: a path under its working directory or one of its
 * trigger prefixes (const char *); with neither, or one of them the
 * root, any change does. */
int tp_vcs_files_trigger(apr_pool_t *p, const char *working_dir,
                         const apr_array_header_t *prefixes,
                         const apr_array_header_t *files);

/* Records webhook delivery id of provider ("github", "gitlab"); *replay
 * is 1, and nothing is recorded, when it was seen before. Then, unless a
 * replay or repo is NULL (a ping), asks the poller to look at repository repo (OWNER/NAME) of
 * connection conn_id: at branch (NULL: every branch it tracks), where a
 * push brought sha (NULL: unknown) -- a request the poller has already
 * seen sha of asks nothing. Both in one transaction. */
tp_err_t *tp_vcs_poll_request(tp_db_t *db, apr_pool_t *p,
                              const char *provider, const char *delivery,
                              const char *conn_id, const char *repo,
                              const char *branch, const char *sha,
                              int *replay);

#endif
