/* Pull and merge requests: their speculative plans, and the statuses and
 * comments the providers are sent of runs (tp_vcs_pr.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_hash.h>

#include "tp_vcs_pr.h"
#include "tp_vcs_config.h"
#include "tp_vcs_poll.h"
#include "tp_run.h"
#include "tp_runs.h"
#include "tp_json.h"
#include "tp_crypto.h"
#include "tp_autodiscovery_store.h"

/* the one organization, as the web UI's paths name it */
#define ORGANIZATION "default"

/* ---- pure parts ---- */

/* "+a ~c -d" */
static const char *counts_text(apr_pool_t *p, const tp_plan_counts_t *c)
{
    return apr_psprintf(p, "+%" APR_INT64_T_FMT " ~%" APR_INT64_T_FMT
                        " -%" APR_INT64_T_FMT, c->additions, c->changes,
                        c->destructions);
}

static const struct told {
    const char *status;
    tp_vcs_state_e state;
    const char *description;
    int with_counts;            /* the description then "+a ~c -d" */
} told[] = {
    {"pending", TP_VCS_STATE_PENDING, "Run pending", 0},
    {"plan_queued", TP_VCS_STATE_PENDING, "Plan queued", 0},
    {"planning", TP_VCS_STATE_RUNNING, "Planning", 0},
    {"planned", TP_VCS_STATE_SUCCESS, "Planned, waiting for confirmation:",
     1},
    {"planned_and_finished", TP_VCS_STATE_SUCCESS, "Planned:", 1},
    {"planned_and_saved", TP_VCS_STATE_SUCCESS, "Plan saved:", 1},
    {"confirmed", TP_VCS_STATE_PENDING, "Confirmed, apply queued", 0},
    {"apply_queued", TP_VCS_STATE_PENDING, "Apply queued", 0},
    {"applying", TP_VCS_STATE_RUNNING, "Applying", 0},
    {"applied", TP_VCS_STATE_SUCCESS, "Applied:", 1},
    {"errored", TP_VCS_STATE_FAILURE, "Run errored", 0},
    {"canceled", TP_VCS_STATE_ERROR, "Run canceled", 0},
    {"discarded", TP_VCS_STATE_ERROR, "Run discarded", 0},
    {NULL, 0, NULL, 0}
};

int tp_vcs_status_of(apr_pool_t *p, const tp_vcs_run_view_t *run,
                     tp_vcs_state_e *state, const char **description)
{
    const struct told *t;

    for (t = told; t->status; t++) {
        if (strcmp(t->status, run->status) == 0) {
            *state = t->state;
            *description = t->with_counts && run->counted
                ? apr_pstrcat(p, t->description, " ",
                              counts_text(p, &run->counts), NULL)
                : t->description;
            /* with_counts ends in ':' only to be followed by them */
            if (t->with_counts && !run->counted) {
                *description = apr_pstrndup(p, t->description,
                                            strlen(t->description) - 1);
            }
            *description = tp_vcs_cut(p, *description,
                                      TP_VCS_DESCRIPTION_MAX);
            return 0;
        }
    }
    return -1;
}

const char *tp_vcs_status_context(apr_pool_t *p, const char *ws_name)
{
    return apr_pstrcat(p, "terrapod/", ws_name, NULL);
}

const char *tp_vcs_run_url(apr_pool_t *p, const char *base_url,
                           const char *ws_name, const char *run_id)
{
    apr_size_t n;

    if (!base_url) {
        return NULL;
    }
    n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/') {
        n--;
    }
    return apr_pstrcat(p, apr_pstrndup(p, base_url, n),
                       "/app/" ORGANIZATION "/workspaces/", ws_name,
                       "/runs/", run_id, NULL);
}

int tp_vcs_comment_due(const char *status)
{
    return strcmp(status, "errored") == 0
           || strcmp(status, "planned") == 0
           || strcmp(status, "planned_and_finished") == 0
           || strcmp(status, "planned_and_saved") == 0;
}

const char *tp_vcs_comment_render(apr_pool_t *p, const char *ws_name,
                                  const char *sha,
                                  const tp_vcs_run_view_t *run,
                                  const char *url)
{
    const tp_plan_counts_t *c = &run->counts;
    const char *what;

    if (strcmp(run->status, "errored") == 0) {
        what = "The plan failed.";
    }
    else if (!run->counted) {
        what = "The plan finished.";
    }
    else if (c->additions == 0 && c->changes == 0 && c->destructions == 0) {
        what = "No changes. Your infrastructure matches the configuration.";
    }
    else {
        what = apr_psprintf(p, "**Plan: %" APR_INT64_T_FMT " to add, %"
                            APR_INT64_T_FMT " to change, %" APR_INT64_T_FMT
                            " to destroy.** (%s)", c->additions, c->changes,
                            c->destructions, counts_text(p, c));
    }
    return apr_psprintf(p, "### Terraform plan: workspace `%s`\n\n"
                        "Commit `%.12s`: %s\n%s%s%s", ws_name, sha, what,
                        url ? "\n[View the run](" : "", url ? url : "",
                        url ? ")\n" : "");
}

apr_status_t tp_vcs_identifier_split(apr_pool_t *p, const char *identifier,
                                     const char **owner, const char **name)
{
    const char *slash = identifier ? strrchr(identifier, '/') : NULL;

    if (!slash || slash == identifier || !slash[1]) {
        return APR_EINVAL;
    }
    *owner = apr_pstrndup(p, identifier, (apr_size_t)(slash - identifier));
    *name = slash + 1;
    return APR_SUCCESS;
}

/* ---- speculative runs of requests ---- */

static const tp_stmt_t SQL_PR_WORKSPACES = {"vcs_pr_workspaces",
    "SELECT id, vcs_repo_url, vcs_branch, working_directory,"
    "       trigger_prefixes::text AS trigger_prefixes,"
    "       file_triggers_enabled, speculative_enabled,"
    "       autodiscovery_pr_number"
    "  FROM workspaces"
    " WHERE vcs_connection_id = %s AND vcs_repo_url <> ''"
    "   AND lifecycle_state = 'active'"
    " ORDER BY name"};

static const tp_stmt_t SQL_PR_SEEN = {"vcs_pr_seen",
    "SELECT 1 FROM vcs_pr_runs"
    " WHERE workspace_id = %s AND pr_number = %s::integer AND head_sha = %s"};

/* whether a workspace of the branch (a JSON list) has looked at the
 * request's commit: then its directories were walked too */
static const tp_stmt_t SQL_PR_KNOWN = {"vcs_pr_known",
    "SELECT 1 FROM vcs_pr_runs"
    " WHERE workspace_id IN (SELECT jsonb_array_elements_text(%s::jsonb))"
    "   AND pr_number = %s::integer AND head_sha = %s LIMIT 1"};

/* run_id NULL: the commit was looked at and touches nothing of it */
static const tp_stmt_t SQL_PR_RECORD = {"vcs_pr_record",
    "INSERT INTO vcs_pr_runs (workspace_id, pr_number, head_sha, run_id)"
    " VALUES (%s, %s::integer, %s, %s) ON CONFLICT DO NOTHING"};

/* the unfinished runs of a workspace's request other than of commit sha
 * (that of no commit: of every commit), not already asked to stop */
static const tp_stmt_t SQL_PR_OLDER = {"vcs_pr_older",
    "SELECT r.id, r.status FROM vcs_pr_runs v JOIN runs r ON r.id = v.run_id"
    " WHERE v.workspace_id = %s AND v.pr_number = %s::integer"
    "   AND v.head_sha IS DISTINCT FROM %s"
    "   AND r.status NOT IN (SELECT jsonb_array_elements_text(%s::jsonb))"
    "   AND NOT r.cancel_requested"
    " ORDER BY r.seq"};

/* the requests of the workspaces (a JSON list) not open (a JSON list)
 * that still have unfinished runs */
static const tp_stmt_t SQL_PR_CLOSED = {"vcs_pr_closed",
    "SELECT DISTINCT v.workspace_id, v.pr_number"
    "  FROM vcs_pr_runs v JOIN runs r ON r.id = v.run_id"
    " WHERE v.workspace_id IN (SELECT jsonb_array_elements_text(%s::jsonb))"
    "   AND v.pr_number NOT IN"
    "       (SELECT jsonb_array_elements_text(%s::jsonb)::integer)"
    "   AND r.status NOT IN (SELECT jsonb_array_elements_text(%s::jsonb))"
    "   AND NOT r.cancel_requested"};

static const tp_stmt_t SQL_PR_LIST_TAG = {"vcs_pr_list_tag",
    "SELECT etag FROM vcs_pr_lists"
    " WHERE vcs_connection_id = %s AND identifier = %s AND branch = %s"
    "   AND workspaces = %s"};

static const tp_stmt_t SQL_PR_LIST_TAGGED = {"vcs_pr_list_tagged",
    "INSERT INTO vcs_pr_lists (vcs_connection_id, identifier, branch,"
    "                          workspaces, etag)"
    " VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (vcs_connection_id, identifier, branch)"
    " DO UPDATE SET workspaces = EXCLUDED.workspaces,"
    "               etag = EXCLUDED.etag"};

static const tp_stmt_t SQL_PR_LIST_UNTAGGED = {"vcs_pr_list_untagged",
    "DELETE FROM vcs_pr_lists"
    " WHERE vcs_connection_id = %s AND identifier = %s AND branch = %s"};

/* What one sync works with. */
typedef struct sync {
    tp_db_t *db;
    const tp_vcs_env_t *env;
    tp_vcs_link_t *link;
    const char *owner, *name, *branch;
    const char *finals;             /* JSON list of final run statuses */
    tp_rows_t *ws;                  /* the workspaces of the branch */
    apr_array_header_t *rules;      /* its autodiscovery rules */
    int *queued;
} sync_t;

static const char *finals_json(apr_pool_t *p)
{
    const char *const *s = tp_run_status_group("final");
    tp_json_t *a = tp_json_array(p);

    for (; *s; s++) {
        tp_json_pushs(a, *s);
    }
    return tp_json_dump(a, p);
}

/* What a call to the provider found goes into the connection's health. */
static tp_err_t *recorded(sync_t *s, apr_pool_t *p, tp_err_t *err)
{
    tp_err_t *rec = tp_vcs_link_record(s->db, p, s->env, s->link, err);

    return err ? err : rec;
}

/* The workspaces bound to the repository and branch; a workspace that
 * tracks the default branch (vcs_branch empty) when branch is it. */
static tp_err_t *branch_workspaces(sync_t *s, apr_pool_t *p)
{
    apr_array_header_t *keep = apr_array_make(p, 8, sizeof(int));
    const char *default_branch = NULL, *o, *n;
    tp_rows_t *all;
    tp_err_t *err;
    int i;

    if ((err = tp_db_exec(s->db, p, &SQL_PR_WORKSPACES, &all,
                          TP_DB_ARGS(s->link->id))) != NULL) {
        return err;
    }
    for (i = 0; i < all->nrows; i++) {
        const char *b = tp_row(all, i, "vcs_branch");

        if (tp_vcs_repo_parse(p, s->link->conn.provider,
                              s->link->server_url,
                              tp_row(all, i, "vcs_repo_url"), &o, &n)
            != APR_SUCCESS || strcasecmp(o, s->owner) != 0
            || strcasecmp(n, s->name) != 0) {
            continue;
        }
        if (!*b && !default_branch
            && (err = recorded(s, p, tp_vcs_default_branch(p,
                               &s->link->conn, s->owner, s->name,
                               &default_branch))) != NULL) {
            return err;
        }
        if (strcmp(*b ? b : default_branch, s->branch) == 0) {
            APR_ARRAY_PUSH(keep, int) = i;
        }
    }
    /* the rows kept, in place */
    for (i = 0; i < keep->nelts; i++) {
        memmove(all->cells + (apr_size_t)i * all->ncols,
                all->cells + (apr_size_t)APR_ARRAY_IDX(keep, i, int)
                             * all->ncols,
                sizeof(const char *) * all->ncols);
    }
    all->nrows = keep->nelts;
    s->ws = all;
    return NULL;
}

/* A digest of what the workspaces and autodiscovery rules of the branch
 * are: the list of requests is asked conditionally only while it is the
 * same, so a workspace bound or changed since, or a rule made, is looked
 * at. */
static const char *workspaces_digest(apr_pool_t *p, const tp_rows_t *ws,
                                     const apr_array_header_t *rules)
{
    tp_json_t *all = tp_json_array(p);
    const char *text;
    int i, j;

    for (i = 0; i < rules->nelts; i++) {
        tp_json_pushs(all, APR_ARRAY_IDX(rules, i, tp_ad_rule_t).id);
    }
    for (i = 0; i < ws->nrows; i++) {
        for (j = 0; j < ws->ncols; j++) {
            tp_json_pushs(all, ws->cells[i * ws->ncols + j]
                               ? ws->cells[i * ws->ncols + j] : "");
        }
    }
    text = tp_json_dump(all, p);
    return tp_sha256_hex(p, text, strlen(text));
}

/* Ends the unfinished runs of request number on workspace ws_id other
 * than of commit sha (NULL: all of them). */
static tp_err_t *stop_older(sync_t *s, apr_pool_t *p, const char *ws_id,
                            const char *number, const char *sha)
{
    tp_rows_t *runs;
    tp_err_t *err;
    int i;

    if ((err = tp_db_exec(s->db, p, &SQL_PR_OLDER, &runs,
                          TP_DB_ARGS(ws_id, number, sha, s->finals)))
        != NULL) {
        return err;
    }
    for (i = 0; i < runs->nrows; i++) {
        err = tp_run_stop(s->db, p, tp_row(runs, i, "id"), ws_id,
                          tp_row(runs, i, "status"), NULL);
        /* 409: it moved on meanwhile (it ended, or its listener took it) */
        if (err && err->status != 409) {
            return err;
        }
    }
    return NULL;
}

/* What one request needs for its runs: its files and archive, each
 * fetched once, when a workspace first needs them. */
typedef struct pr_work {
    const tp_vcs_pr_t *pr;
    const char *number;
    apr_array_header_t *files;
    int truncated;
    const char *tarball;
} pr_work_t;

/* A plan-only run of the request's head on workspace row i. */
static tp_err_t *plan_pr(sync_t *s, apr_pool_t *p, pr_work_t *w, int i,
                         const char **run_id)
{
    const tp_vcs_pr_t *pr = w->pr;
    tp_vcs_ingress_t ing = {0};
    tp_run_spec_t spec = {0};
    const char *cv_id;
    tp_err_t *err;

    if (!w->tarball
        && (err = recorded(s, p, tp_vcs_fetch(p, s->env, &s->link->conn,
                           s->owner, s->name, pr->head_sha, &w->tarball, NULL)))
           != NULL) {
        return err;
    }
    ing.commit_sha = pr->head_sha;
    ing.branch = pr->head_ref;
    ing.sender_username = pr->author;
    ing.pull_request_number = pr->number;
    ing.pull_request_url = pr->web_url;
    ing.pull_request_title = pr->title;
    ing.identifier = apr_pstrcat(p, s->owner, "/", s->name, NULL);
    ing.is_pull_request = 1;
    if ((err = tp_vcs_cv_create(s->db, p, s->env, tp_row(s->ws, i, "id"),
                                w->tarball, &ing, 1, &cv_id)) != NULL) {
        return err;
    }
    spec.cv_id = cv_id;
    spec.message = apr_psprintf(p, "Speculative plan of #%d: %s", pr->number,
                                pr->title);
    spec.vcs_ref = "";
    spec.plan_only = 1;
    spec.refresh = 1;
    spec.target_addrs = spec.replace_addrs = spec.variables = "[]";
    spec.level = TP_LEVEL_ADMIN;    /* the server's own run */
    return tp_run_create(s->db, p, tp_row(s->ws, i, "id"), &spec, NULL,
                         run_id);
}

/* The request on workspace row i: its head planned when the workspace has
 * not seen that commit and the request touches it, the older runs of the
 * request stopped. */
static tp_err_t *sync_workspace(sync_t *s, apr_pool_t *p, pr_work_t *w,
                                int i)
{
    const char *ws_id = tp_row(s->ws, i, "id"), *run_id = NULL;
    const char *origin = tp_row(s->ws, i, "autodiscovery_pr_number");
    tp_rows_t *seen;
    tp_err_t *err;

    /* a workspace of another request's branch is that request's alone */
    if (!tp_row_bool(s->ws, i, "speculative_enabled")
        || (origin && strcmp(origin, w->number) != 0)) {
        return NULL;
    }
    if ((err = tp_db_exec(s->db, p, &SQL_PR_SEEN, &seen,
                          TP_DB_ARGS(ws_id, w->number, w->pr->head_sha)))
        != NULL || seen->nrows > 0) {
        return err;
    }
    if (!w->files
        && (err = recorded(s, p, tp_vcs_pr_files(p, &s->link->conn,
                           s->owner, s->name, w->pr->number, &w->files,
                           &w->truncated))) != NULL) {
        return err;
    }
    /* file triggers off, or a list the provider cut: any change counts,
     * as for pushes */
    if (!tp_row_bool(s->ws, i, "file_triggers_enabled") || w->truncated
        || tp_vcs_files_trigger(p, tp_row(s->ws, i, "working_directory"),
                                tp_json_text_strings(p, tp_row(s->ws, i,
                                                     "trigger_prefixes")),
                                w->files)) {
        err = plan_pr(s, p, w, i, &run_id);
        /* a commit that is no configuration is not tried again; the
         * provider failing is, next time */
        if (err && err->status != 413 && err->status != 422) {
            return err;
        }
        *s->queued += !err;
    }
    if ((err = tp_db_exec(s->db, p, &SQL_PR_RECORD, NULL,
                          TP_DB_ARGS(ws_id, w->number, w->pr->head_sha,
                                     run_id))) != NULL) {
        return err;
    }
    return stop_older(s, p, ws_id, w->number, w->pr->head_sha);
}

/* The directories only the request's head has, made workspaces by the
 * branch's rules; a commit a workspace of the branch has looked at was
 * walked already. The workspaces are read anew when some were made. A
 * rule that cannot be walked (a tree too large, a repository URL of
 * another host) leaves the request's plans to go on. */
static tp_err_t *discover(sync_t *s, apr_pool_t *p, const pr_work_t *w)
{
    tp_json_t *ids = tp_json_array(p);
    tp_rows_t *known;
    tp_err_t *err;
    int i, created;

    if (s->rules->nelts == 0) {
        return NULL;
    }
    for (i = 0; i < s->ws->nrows; i++) {
        tp_json_pushs(ids, tp_row(s->ws, i, "id"));
    }
    if ((err = tp_db_exec(s->db, p, &SQL_PR_KNOWN, &known,
                          TP_DB_ARGS(tp_json_dump(ids, p), w->number,
                                     w->pr->head_sha))) != NULL
        || known->nrows > 0) {
        return err;
    }
    err = recorded(s, p, tp_autodiscovery_pr_open(s->db, p, s->link,
                                                  s->rules, s->branch, w->pr,
                                                  &created));
    if (err && err->status != 413 && err->status != 422) {
        return err;
    }
    return created > 0 ? branch_workspaces(s, p) : NULL;
}

/* 1 when request number is in prs. */
static int listed(const apr_array_header_t *prs, int number)
{
    int i;

    for (i = 0; i < prs->nelts; i++) {
        if (APR_ARRAY_IDX(prs, i, tp_vcs_pr_t).number == number) {
            return 1;
        }
    }
    return 0;
}

/* The workspaces made for requests that are no longer open (not in prs:
 * asked, as a list may be cut, or the request now target another
 * branch): graduated when the request merged, archived when it closed
 * unmerged. *ended: how many. */
static tp_err_t *end_discovered(sync_t *s, apr_pool_t *p,
                                const apr_array_header_t *prs, int *ended)
{
    tp_vcs_pr_state_e state;
    const char *origin;
    tp_err_t *err;
    int i, number;

    *ended = 0;
    for (i = 0; i < s->ws->nrows; i++) {
        origin = tp_row(s->ws, i, "autodiscovery_pr_number");
        if (!origin || listed(prs, number = atoi(origin))) {
            continue;
        }
        err = recorded(s, p, tp_vcs_pr_state(p, &s->link->conn, s->owner,
                                             s->name, number, &state));
        if (err && err->status == 404) {
            err = NULL;
            state = TP_VCS_PR_CLOSED;   /* deleted: it never merged */
        }
        if (err || (err = tp_autodiscovery_pr_ended(s->db, p, s->link,
                                                    tp_row(s->ws, i, "id"),
                                                    number, state))
                   != NULL) {
            return err;
        }
        *ended += state != TP_VCS_PR_OPEN;
    }
    return NULL;
}

/* The runs of requests that are no longer open (prs) stopped. */
static tp_err_t *stop_closed(sync_t *s, apr_pool_t *p,
                             const apr_array_header_t *prs)
{
    tp_json_t *ws = tp_json_array(p), *open = tp_json_array(p);
    tp_rows_t *closed;
    tp_err_t *err;
    int i;

    for (i = 0; i < s->ws->nrows; i++) {
        tp_json_pushs(ws, tp_row(s->ws, i, "id"));
    }
    for (i = 0; i < prs->nelts; i++) {
        tp_json_pushs(open, apr_itoa(p, APR_ARRAY_IDX(prs, i,
                                                      tp_vcs_pr_t).number));
    }
    if ((err = tp_db_exec(s->db, p, &SQL_PR_CLOSED, &closed,
                          TP_DB_ARGS(tp_json_dump(ws, p),
                                     tp_json_dump(open, p), s->finals)))
        != NULL) {
        return err;
    }
    for (i = 0; i < closed->nrows; i++) {
        if ((err = stop_older(s, p, tp_row(closed, i, "workspace_id"),
                              tp_row(closed, i, "pr_number"), NULL))
            != NULL) {
            return err;
        }
    }
    return NULL;
}

tp_err_t *tp_vcs_prs_sync(tp_db_t *db, apr_pool_t *p, const tp_vcs_env_t *env,
                          tp_vcs_link_t *link, const char *owner,
                          const char *name, const char *branch,
                          int *queued)
{
    sync_t s = {db, env, link, owner, name, branch, NULL, NULL, NULL,
                queued};
    const char *id = apr_pstrcat(p, owner, "/", name, NULL), *digest;
    const char *etag = NULL;
    apr_array_header_t *prs;
    tp_rows_t *tag;
    tp_err_t *err;
    int i, j, ended;

    *queued = 0;
    s.finals = finals_json(p);
    if ((err = branch_workspaces(&s, p)) != NULL
        || (err = tp_ad_branch_rules(db, p, link, owner, name, branch,
                                     &s.rules)) != NULL
        || (s.ws->nrows == 0 && s.rules->nelts == 0)) {
        return err;
    }
    digest = workspaces_digest(p, s.ws, s.rules);
    if ((err = tp_db_exec(db, p, &SQL_PR_LIST_TAG, &tag,
                          TP_DB_ARGS(link->id, id, branch, digest))) != NULL
        || (err = recorded(&s, p, tp_vcs_prs(p, &link->conn, owner, name,
                                             branch, tag->nrows
                                             ? tp_row(tag, 0, "etag") : NULL,
                                             &prs, &etag))) != NULL
        || !prs) {
        return err;     /* or the same requests at the same commits */
    }
    /* all in p, no subpool: an installation token minted on the way is
     * kept in the connection, which outlives any */
    for (i = 0; !err && i < prs->nelts; i++) {
        pr_work_t w = {0};

        w.pr = &APR_ARRAY_IDX(prs, i, tp_vcs_pr_t);
        w.number = apr_itoa(p, w.pr->number);
        if (!tp_is_hex(w.pr->head_sha)) {
            continue;               /* not a commit this can fetch */
        }
        err = discover(&s, p, &w);
        for (j = 0; !err && j < s.ws->nrows; j++) {
            err = sync_workspace(&s, p, &w, j);
        }
    }
    if (err || (err = stop_closed(&s, p, prs)) != NULL
        || (err = end_discovered(&s, p, prs, &ended)) != NULL
        || (ended && (err = branch_workspaces(&s, p)) != NULL)) {
        return err;
    }
    /* all done: the same list next time, with the workspaces as they are
     * now, has nothing new */
    digest = workspaces_digest(p, s.ws, s.rules);
    return etag ? tp_db_exec(db, p, &SQL_PR_LIST_TAGGED, NULL,
                             TP_DB_ARGS(link->id, id, branch, digest, etag))
                : tp_db_exec(db, p, &SQL_PR_LIST_UNTAGGED, NULL,
                             TP_DB_ARGS(link->id, id, branch));
}

/* ---- the status outbox ---- */

/* the rows due, oldest first, each the oldest unsent one of its run */
static const tp_stmt_t SQL_OUTBOX_DUE = {"vcs_outbox_due",
    "SELECT o.seq, o.run_id, o.status, o.vcs_connection_id, o.identifier,"
    "       o.commit_sha, o.pr_number, o.status_sent, o.attempts,"
    "       w.id AS workspace_id, w.name AS ws_name,"
    "       r.plan_additions, r.plan_changes, r.plan_destructions,"
    "       r.apply_additions, r.apply_changes, r.apply_destructions,"
    "       (SELECT l.status FROM vcs_status_outbox l"
    "         WHERE l.run_id = o.run_id AND l.sent_at IS NOT NULL"
    "           AND l.seq < o.seq ORDER BY l.seq DESC LIMIT 1) AS last_status"
    "  FROM vcs_status_outbox o"
    "  JOIN runs r ON r.id = o.run_id"
    "  JOIN workspaces w ON w.id = o.workspace_id"
    " WHERE o.sent_at IS NULL AND o.next_attempt_at <= now()"
    "   AND NOT EXISTS (SELECT 1 FROM vcs_status_outbox e"
    "                    WHERE e.run_id = o.run_id AND e.sent_at IS NULL"
    "                      AND e.seq < o.seq)"
    " ORDER BY o.seq LIMIT " APR_STRINGIFY(TP_VCS_SEND_BATCH)};

static const tp_stmt_t SQL_OUTBOX_STATUS_SENT = {"vcs_outbox_status_sent",
    "UPDATE vcs_status_outbox SET status_sent = true WHERE seq = %s"};

/* sent: what its run's provider was told before it goes */
static const tp_stmt_t SQL_OUTBOX_SENT = {"vcs_outbox_sent",
    "WITH done AS (UPDATE vcs_status_outbox"
    "                 SET sent_at = now(), last_error = %s"
    "               WHERE seq = %s RETURNING run_id, seq)"
    " DELETE FROM vcs_status_outbox o USING done"
    "  WHERE o.run_id = done.run_id AND o.seq < done.seq"
    "    AND o.sent_at IS NOT NULL"};

/* tried again after 5 s doubling each time, at most an hour */
static const tp_stmt_t SQL_OUTBOX_FAILED = {"vcs_outbox_failed",
    "UPDATE vcs_status_outbox SET attempts = attempts + 1, last_error = %s,"
    "       next_attempt_at = now() + LEAST(interval '1 hour',"
    "           interval '5 seconds' * power(2, attempts))"
    " WHERE seq = %s"};

static const tp_stmt_t SQL_COMMENT_GET = {"vcs_pr_comment_get",
    "SELECT comment_id FROM vcs_pr_comments"
    " WHERE workspace_id = %s AND pr_number = %s::integer"};

static const tp_stmt_t SQL_COMMENT_SET = {"vcs_pr_comment_set",
    "INSERT INTO vcs_pr_comments (workspace_id, pr_number, comment_id)"
    " VALUES (%s, %s::integer, %s)"
    " ON CONFLICT (workspace_id, pr_number)"
    " DO UPDATE SET comment_id = EXCLUDED.comment_id, updated_at = now()"};

/* What one drain works with. */
typedef struct drain {
    tp_db_t *db;
    const tp_vcs_env_t *env;
    const char *base_url;
    apr_hash_t *links;              /* connection id -> tp_vcs_link_t */
    int statuses, comments, failed, dropped;
} drain_t;

static apr_int64_t cell_i64(const tp_rows_t *rows, int i, const char *col)
{
    const char *v = tp_row(rows, i, col);

    return v ? apr_atoi64(v) : 0;
}

/* Row i's run as the provider is told of it. */
static void run_view(const tp_rows_t *rows, int i, const char *status,
                     tp_vcs_run_view_t *v)
{
    const char *phase = strcmp(status, "applied") == 0 ? "apply" : "plan";
    char col[32];

    memset(v, 0, sizeof(*v));
    v->status = status;
    apr_snprintf(col, sizeof(col), "%s_additions", phase);
    v->counted = tp_row(rows, i, col) != NULL;
    v->counts.additions = cell_i64(rows, i, col);
    apr_snprintf(col, sizeof(col), "%s_changes", phase);
    v->counts.changes = cell_i64(rows, i, col);
    apr_snprintf(col, sizeof(col), "%s_destructions", phase);
    v->counts.destructions = cell_i64(rows, i, col);
}

/* The connection id, loaded once per drain; NULL with *err when it
 * cannot be. */
static tp_vcs_link_t *link_of(drain_t *d, apr_pool_t *p, const char *id,
                              tp_err_t **err)
{
    tp_vcs_link_t *link = apr_hash_get(d->links, id, APR_HASH_KEY_STRING);

    *err = NULL;
    if (!link) {
        link = apr_pcalloc(p, sizeof(*link));
        if ((*err = tp_vcs_link_load(d->db, p, d->env, id, link)) != NULL) {
            return NULL;
        }
        apr_hash_set(d->links, id, APR_HASH_KEY_STRING, link);
    }
    return link;
}

/* The comment of row i's request written: created, or edited in place. */
static tp_err_t *comment(drain_t *d, apr_pool_t *p, tp_vcs_link_t *link,
                         const tp_rows_t *rows, int i, const char *owner,
                         const char *name, const tp_vcs_run_view_t *v,
                         const char *url)
{
    const char *ws_id = tp_row(rows, i, "workspace_id");
    const char *number = tp_row(rows, i, "pr_number"), *id;
    tp_rows_t *had;
    tp_err_t *err;

    if ((err = tp_db_exec(d->db, p, &SQL_COMMENT_GET, &had,
                          TP_DB_ARGS(ws_id, number))) != NULL
        || (err = tp_vcs_comment_put(p, &link->conn, owner, name,
                                     atoi(number), had->nrows
                                     ? tp_row(had, 0, "comment_id") : NULL,
                                     tp_vcs_comment_render(p,
                                         tp_row(rows, i, "ws_name"),
                                         tp_row(rows, i, "commit_sha"), v,
                                         url), &id)) != NULL) {
        return err;
    }
    d->comments++;
    return tp_db_exec(d->db, p, &SQL_COMMENT_SET, NULL,
                      TP_DB_ARGS(ws_id, number, id));
}

/* What row i owes its provider, sent: its status unless the provider
 * was told it already, then the comment when one is due. */
static tp_err_t *send_row(drain_t *d, apr_pool_t *p, tp_vcs_link_t *link,
                          const tp_rows_t *rows, int i)
{
    const char *status = tp_row(rows, i, "status");
    const char *last = tp_row(rows, i, "last_status"), *desc, *last_desc;
    const char *seq = tp_row(rows, i, "seq"), *owner, *name, *url;
    tp_vcs_state_e state, last_state;
    tp_vcs_run_view_t v, lv;
    tp_err_t *err;

    run_view(rows, i, status, &v);
    if (tp_vcs_identifier_split(p, tp_row(rows, i, "identifier"), &owner,
                                &name) != APR_SUCCESS
        || tp_vcs_status_of(p, &v, &state, &desc) < 0) {
        return NULL;                /* nothing to tell */
    }
    url = tp_vcs_run_url(p, d->base_url, tp_row(rows, i, "ws_name"),
                         tp_row(rows, i, "run_id"));
    if (last) {
        run_view(rows, i, last, &lv);
    }
    if (!tp_row_bool(rows, i, "status_sent")) {
        if (!(last && tp_vcs_status_of(p, &lv, &last_state, &last_desc) == 0
              && tp_vcs_status_refused(&link->conn, last_state, state))) {
            if ((err = tp_vcs_status_post(p, &link->conn, owner, name,
                                          tp_row(rows, i, "commit_sha"),
                                          state, tp_vcs_status_context(p,
                                              tp_row(rows, i, "ws_name")),
                                          desc, url)) != NULL) {
                return err;
            }
            d->statuses++;
        }
        if ((err = tp_db_exec(d->db, p, &SQL_OUTBOX_STATUS_SENT, NULL,
                              TP_DB_ARGS(seq))) != NULL) {
            return err;
        }
    }
    if (tp_row(rows, i, "pr_number") && tp_vcs_comment_due(status)) {
        return comment(d, p, link, rows, i, owner, name, &v, url);
    }
    return NULL;
}

/* Row i: sent, or failed (tried again later, or given up after
 * TP_VCS_SEND_ATTEMPTS); the connection's health records how it went. */
static tp_err_t *drain_row(drain_t *d, apr_pool_t *p, const tp_rows_t *rows,
                           int i)
{
    const char *seq = tp_row(rows, i, "seq");
    tp_vcs_link_t *link;
    tp_err_t *err, *sent;

    link = link_of(d, p, tp_row(rows, i, "vcs_connection_id"), &err);
    if (err && err->status != 404 && err->status != 422) {
        return err;                 /* the database: tried next time */
    }
    if (!link || strcmp(link->status, "active") != 0) {
        /* a connection that cannot be used is not waited for */
        d->dropped++;
        return tp_db_exec(d->db, p, &SQL_OUTBOX_SENT, NULL, TP_DB_ARGS(
            err ? err->detail : "the connection is disabled", seq));
    }
    sent = send_row(d, p, link, rows, i);
    if ((err = tp_vcs_link_record(d->db, p, d->env, link, sent)) != NULL) {
        return err;
    }
    if (!sent) {
        return tp_db_exec(d->db, p, &SQL_OUTBOX_SENT, NULL,
                          TP_DB_ARGS(NULL, seq));
    }
    d->failed++;
    if (atoi(tp_row(rows, i, "attempts")) + 1 >= TP_VCS_SEND_ATTEMPTS) {
        d->dropped++;
        return tp_db_exec(d->db, p, &SQL_OUTBOX_SENT, NULL,
                          TP_DB_ARGS(sent->detail, seq));
    }
    return tp_db_exec(d->db, p, &SQL_OUTBOX_FAILED, NULL,
                      TP_DB_ARGS(sent->detail, seq));
}

tp_err_t *tp_vcs_statuses_send(tp_db_t *db, apr_pool_t *p,
                               const tp_vcs_env_t *env, const char *base_url,
                               const char **summary)
{
    drain_t d = {db, env, base_url, apr_hash_make(p), 0, 0, 0, 0};
    apr_hash_t *failing = apr_hash_make(p);
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if ((err = tp_db_exec(db, p, &SQL_OUTBOX_DUE, &rows, 0, NULL)) != NULL) {
        return err;
    }
    /* all in p, no subpool: the connections loaded (and the installation
     * tokens they mint) serve the whole batch */
    for (i = 0; !err && i < rows->nrows; i++) {
        const char *conn = tp_row(rows, i, "vcs_connection_id");
        int failed = d.failed;

        /* a provider that failed this time is left alone until the next */
        if (apr_hash_get(failing, conn, APR_HASH_KEY_STRING)) {
            continue;
        }
        err = drain_row(&d, p, rows, i);
        if (d.failed > failed) {
            apr_hash_set(failing, conn, APR_HASH_KEY_STRING, "");
        }
    }
    *summary = apr_psprintf(p, "%d statuses and %d comments sent, %d "
                            "failed, %d dropped", d.statuses, d.comments,
                            d.failed, d.dropped);
    return err;
}

tp_err_t *tp_vcs_statuses_task(tp_db_t *db, apr_pool_t *p,
                               const tp_task_env_t *env,
                               const char **summary)
{
    return tp_vcs_statuses_send(db, p, env->vcs, env->public_url, summary);
}
