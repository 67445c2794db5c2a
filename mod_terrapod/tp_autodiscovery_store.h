/* Autodiscovery against the database and a provider: walking a rule's
 * branch (the directories it matches, what is already bound to them),
 * creating the workspaces of a walk, and reconciling a rule's workspaces
 * with a new commit of its branch. For the API and the background child
 * alike. */
#ifndef TP_AUTODISCOVERY_STORE_H
#define TP_AUTODISCOVERY_STORE_H

#include "tp_autodiscovery.h"
#include "tp_vcs_store.h"
#include "tp_json.h"

/* What a walk needs of a rule, saved or not. */
typedef struct tp_ad_rule {
    const char *id;                 /* NULL: a rule not saved */
    const char *repo_url;
    const char *branch;             /* "": the default branch */
    const char *pattern;
    apr_array_header_t *ignores;    /* const char * */
    const char *name_template;
    const char *on_directory_delete;    /* "flag", "destroy" */
} tp_ad_rule_t;

/* Row i of a rule's columns (id, repo_url, branch, pattern,
 * ignore_patterns as JSON text, name_template, on_directory_delete). */
tp_ad_rule_t tp_ad_rule_row(apr_pool_t *p, const tp_rows_t *rows, int i);

/* The strings of a JSON list of patterns. */
apr_array_header_t *tp_ad_patterns(apr_pool_t *p, const tp_json_t *list);

/* A walk of a rule's branch at one commit. */
typedef struct tp_ad_walk {
    const char *owner, *name;       /* the repository */
    const char *branch;             /* the branch walked */
    int is_default;                 /* it is the default branch */
    const char *sha;                /* the commit walked */
    apr_array_header_t *files;      /* tp_vcs_file_t */
    apr_array_header_t *entries;    /* tp_ad_entry_t, one per directory */
    /* a walk of a request's head: its number, and the branch's head
     * that the workspaces it creates are seeded with (0, NULL: a walk of
     * the branch, whose workspaces are seeded with sha) */
    int pr_number;
    const char *seed_sha;
} tp_ad_walk_t;

/* Walks rule over link's repository: the branch given (NULL: the rule's)
 * at sha (NULL: its head), its entries' collisions with the workspaces
 * the database has (a workspace bound to the repository, branch and
 * directory, or holding the name). 422 for a repository URL of another
 * host or a repository or branch the provider does not know, 413 when
 * the provider truncated the tree, 502 for another refusal. */
tp_err_t *tp_ad_walk(tp_db_t *db, apr_pool_t *p, tp_vcs_link_t *link,
                     const tp_ad_rule_t *rule, const char *branch,
                     const char *sha, tp_ad_walk_t *w);

/* Creates a workspace for each entry of a walk of saved rule rule_id
 * that is no collision: its name, the rule's settings, labels and owner,
 * bound to the rule's repository, branch and the entry's directory, and
 * seeded with the walk's commit so its first run is the branch's next
 * one. An entry whose name was taken meanwhile becomes a collision.
 * Each created entry gets its workspace_id; *created counts them. */
tp_err_t *tp_ad_create(tp_db_t *db, apr_pool_t *p, const char *rule_id,
                       tp_ad_walk_t *w, int *created);

/* For the poller, when tracked branch of owner/name moved to sha: each
 * enabled rule of link on that repository and branch creates the
 * workspaces of new directories; a directory of one of its workspaces
 * gone moves the workspace in place when a new directory holds the same
 * files (a rename), else follows the rule's on-directory-delete.
 * *changed counts the workspaces created, moved or flagged. A rule the
 * provider refuses (a 413 for a truncated tree, 422, 502) does not stop
 * the others: the first such refusal is returned after them. */
tp_err_t *tp_autodiscovery_reconcile(tp_db_t *db, apr_pool_t *p,
                                     tp_vcs_link_t *link, const char *owner,
                                     const char *name, const char *branch,
                                     const char *sha, int *changed);

/* ---- directories that exist only in a request's branch ---- */

/* The enabled rules (tp_ad_rule_t) of link that follow branch of
 * owner/name. */
tp_err_t *tp_ad_branch_rules(tp_db_t *db, apr_pool_t *p, tp_vcs_link_t *link,
                             const char *owner, const char *name,
                             const char *branch, apr_array_header_t **rules);

/* For the requests' sync, request pr open against branch of owner/name:
 * each of rules (tp_ad_branch_rules) walked at the request's head makes
 * the workspaces of the directories that no workspace of the branch has,
 * as reconciling does, with autodiscovery_pr_number the request's number
 * and seeded with the branch's head: the poller leaves them to the
 * request until it merges. *created counts them. A rule the provider
 * refuses does not stop the others, as for tp_autodiscovery_reconcile. */
tp_err_t *tp_autodiscovery_pr_open(tp_db_t *db, apr_pool_t *p,
                                   tp_vcs_link_t *link,
                                   const apr_array_header_t *rules,
                                   const char *branch, const tp_vcs_pr_t *pr,
                                   int *created);

/* Workspace ws_id, made for request number, which ended (state): merged,
 * it graduates (autodiscovery_pr_number cleared: the branch's poller
 * runs it from its seed on, so the merge is its next run); closed
 * unmerged, it is archived, or flagged pending_deletion when someone
 * applied it after all. */
tp_err_t *tp_autodiscovery_pr_ended(tp_db_t *db, apr_pool_t *p,
                                    const tp_vcs_link_t *link,
                                    const char *ws_id, int number,
                                    tp_vcs_pr_state_e state);

#endif
