/* Pull and merge requests: a speculative plan of each workspace a request
 * touches, one per head commit, the older ones canceled; and what the
 * provider is told of runs of configurations from a repository: a commit
 * status per change of a run's status, and on a request one comment per
 * workspace, edited in place, with its plan. Called by the background
 * child's poller; the rendering is pure, for unit tests. */
#ifndef TP_VCS_PR_H
#define TP_VCS_PR_H

#include "tp_db.h"
#include "tp_plan.h"
#include "tp_vcs_store.h"
#include "tp_tasks.h"

/* For each request open against branch of repository owner/name on link,
 * and each workspace bound to that repository and branch with
 * speculative plans whose files the request changes (its file triggers,
 * as for pushes: tp_vcs_files_trigger): a plan-only run of the request's head commit
 * when that workspace has none of it yet (its archive downloaded once),
 * the unfinished runs of older commits of the request canceled. The
 * unfinished runs of requests no longer open are canceled. The
 * autodiscovery rules of the branch make workspaces of the directories
 * only a request's head has (tp_autodiscovery_pr_open), planned for that
 * request alone; when it is no longer open they graduate (merged) or are
 * archived (closed unmerged: tp_autodiscovery_pr_ended). *queued: the
 * runs made. The connection's health records what the provider
 * answered. */
tp_err_t *tp_vcs_prs_sync(tp_db_t *db, apr_pool_t *p, const tp_vcs_env_t *env,
                          tp_vcs_link_t *link, const char *owner,
                          const char *name, const char *branch,
                          int *queued);

/* Background work: sends the status outbox in order, per run: the commit
 * status of each status a run entered, and for a request's run whose plan
 * ended its comment. A row the provider refused is tried again later,
 * waiting longer each time (TP_VCS_SEND_ATTEMPTS in all). base_url: the
 * server's public URL, for links to runs. */
tp_err_t *tp_vcs_statuses_send(tp_db_t *db, apr_pool_t *p,
                               const tp_vcs_env_t *env, const char *base_url,
                               const char **summary);

/* The task that runs it, with the deployment's public URL. */
#define TP_VCS_STATUSES_TASK "vcs-statuses"
#define TP_VCS_STATUSES_INTERVAL 5      /* seconds */
tp_err_t *tp_vcs_statuses_task(tp_db_t *db, apr_pool_t *p,
                               const tp_task_env_t *env,
                               const char **summary);

#define TP_VCS_SEND_ATTEMPTS 12
#define TP_VCS_SEND_BATCH 200       /* rows sent by one call */

/* ---- pure parts ---- */

/* What a run looked like when its status is told. */
typedef struct tp_vcs_run_view {
    const char *status;
    int counted;                    /* plan (or apply) counts known */
    tp_plan_counts_t counts;        /* the apply's once applied */
} tp_vcs_run_view_t;

/* The commit status a run in its status shows, and its description (at
 * most TP_VCS_DESCRIPTION_MAX characters): pending while it waits,
 * running while terraform works, success once planned (with "+a ~c -d")
 * or applied, failure when it errored, error when it was canceled or
 * discarded. -1 for a status that is none of these. */
int tp_vcs_status_of(apr_pool_t *p, const tp_vcs_run_view_t *run,
                     tp_vcs_state_e *state, const char **description);

/* The status's context: "terrapod/WORKSPACE". */
const char *tp_vcs_status_context(apr_pool_t *p, const char *ws_name);

/* The run's page: BASE/app/ORG/workspaces/WS/runs/RUN; NULL without a
 * base_url. */
const char *tp_vcs_run_url(apr_pool_t *p, const char *base_url,
                           const char *ws_name, const char *run_id);

/* 1 when a request's comment tells of a run in status (its plan ended:
 * planned, or errored). */
int tp_vcs_comment_due(const char *status);

/* The comment (Markdown) of workspace ws_name on a request, for its run of
 * commit sha: the plan's counts, or that it failed; a link to url (if
 * not NULL). */
const char *tp_vcs_comment_render(apr_pool_t *p, const char *ws_name,
                                  const char *sha,
                                  const tp_vcs_run_view_t *run,
                                  const char *url);

/* A repository identifier, OWNER/NAME (the owner a GitLab group path with
 * any subgroups): APR_EINVAL when it has no slash. */
apr_status_t tp_vcs_identifier_split(apr_pool_t *p, const char *identifier,
                                     const char **owner, const char **name);

#endif
