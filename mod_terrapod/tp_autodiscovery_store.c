/* Autodiscovery walks, the workspaces they create, and the reconciliation
 * of a rule's workspaces with a branch's new commit
 * (tp_autodiscovery_store.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "tp_autodiscovery_store.h"
#include "tp_crypto.h"
#include "tp_json.h"
#include "tp_token.h"
#include "tp_runs.h"

/* A workspace bound to the repository, branch and directory: the same
 * repository URL ignoring case, the branch by name or, for the default
 * branch, by following the default. */
#define BOUND(dir) \
    "(lower(w.vcs_repo_url) = lower(%s) AND w.working_directory = " dir \
    " AND w.vcs_branch IN (%s, CASE WHEN %s::boolean THEN '' END))"

/* For each entry {i, dir, name}: the workspace bound to its directory,
 * else the one holding its name, if any. */
static const tp_stmt_t SQL_AD_TAKEN = {"ad_taken",
    "SELECT e.i, b.id, b.bound, b.own"
    " FROM jsonb_to_recordset(%s::jsonb) AS e(i int, dir text, name text)"
    " CROSS JOIN LATERAL ("
    "   SELECT w.id, COALESCE(" BOUND("e.dir") ", false) AS bound,"
    "          COALESCE(w.autodiscovery_rule_id = %s, false) AS own"
    "     FROM workspaces w"
    "    WHERE " BOUND("e.dir") " OR w.name = e.name"
    "    ORDER BY 2 DESC LIMIT 1) b"};

/* A workspace of the rule's settings; no row back when the name is
 * taken. */
static const tp_stmt_t SQL_AD_CREATE = {"ad_create",
    "INSERT INTO workspaces (id, name, owner_email, project_id,"
    " execution_mode, execution_backend, agent_pool_id, terraform_version,"
    " resource_cpu, resource_memory, auto_apply, labels, vcs_connection_id,"
    " vcs_repo_url, vcs_branch, working_directory, drift_detection_enabled,"
    " autodiscovery_rule_id, vcs_last_commit_sha, autodiscovery_pr_number)"
    " SELECT %s, %s, r.owner_email, tp_default_project(), r.execution_mode,"
    " r.execution_backend, r.agent_pool_id, r.terraform_version,"
    " r.resource_cpu, r.resource_memory, r.auto_apply, r.labels,"
    " r.vcs_connection_id, r.repo_url, r.branch, %s, true, r.id, %s,"
    " NULLIF(%s::integer, 0)"
    " FROM autodiscovery_rules r WHERE r.id = %s"
    " ON CONFLICT (name) DO NOTHING RETURNING id"};

/* ---- walking ---- */

/* The branch to walk and its head, asked of the provider as needed. */
static tp_err_t *resolve(apr_pool_t *p, tp_vcs_conn_t *c,
                         const tp_ad_rule_t *rule, const char *branch,
                         const char *sha, tp_ad_walk_t *w)
{
    const char *def, *etag;
    tp_err_t *err;

    if ((err = tp_vcs_default_branch(p, c, w->owner, w->name, &def))
        != NULL) {
        return err;
    }
    w->branch = branch ? branch : *rule->branch ? rule->branch : def;
    w->is_default = strcmp(w->branch, def) == 0;
    w->sha = sha;
    if (!sha && (err = tp_vcs_head(p, c, w->owner, w->name, w->branch, NULL,
                                   &w->sha, &etag)) != NULL) {
        return err;
    }
    return NULL;
}

/* The walk's entries as SQL_AD_TAKEN takes them. */
static const char *entries_json(apr_pool_t *p, const apr_array_header_t *es)
{
    tp_json_t *list = tp_json_array(p), *o;
    const tp_ad_entry_t *e;
    int i;

    for (i = 0; i < es->nelts; i++) {
        e = &APR_ARRAY_IDX(es, i, tp_ad_entry_t);
        o = tp_json_object(p);
        tp_json_seti(o, i, "i", NULL);
        tp_json_sets(o, e->dir, "dir", NULL);
        if (e->name) {
            tp_json_sets(o, e->name, "name", NULL);
        }
        tp_json_push(list, o);
    }
    return tp_json_dump(list, p);
}

/* Marks the entries whose directory is bound or name taken. */
static tp_err_t *mark_taken(tp_db_t *db, apr_pool_t *p,
                            const tp_ad_rule_t *rule, tp_ad_walk_t *w)
{
    const char *def = tp_db_bool(w->is_default);
    tp_ad_entry_t *e;
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if (w->entries->nelts == 0) {
        return NULL;
    }
    err = tp_db_exec(db, p, &SQL_AD_TAKEN, &rows,
                     TP_DB_ARGS(entries_json(p, w->entries),
                                rule->repo_url, w->branch, def,
                                rule->id ? rule->id : "",
                                rule->repo_url, w->branch, def));
    for (i = 0; !err && i < rows->nrows; i++) {
        e = &APR_ARRAY_IDX(w->entries, atoi(tp_row(rows, i, "i")),
                           tp_ad_entry_t);
        e->collision = 1;
        e->workspace_id = tp_row(rows, i, "id");
        e->bound = tp_row_bool(rows, i, "bound");
        e->existing_autodiscovered = e->bound && tp_row_bool(rows, i, "own");
    }
    return err;
}

tp_err_t *tp_ad_walk(tp_db_t *db, apr_pool_t *p, tp_vcs_link_t *link,
                     const tp_ad_rule_t *rule, const char *branch,
                     const char *sha, tp_ad_walk_t *w)
{
    int truncated;
    tp_err_t *err;

    memset(w, 0, sizeof(*w));
    if (tp_vcs_repo_parse(p, link->conn.provider, link->server_url,
                          rule->repo_url, &w->owner, &w->name)
        != APR_SUCCESS) {
        return tp_err(p, 422, "repo-url %s is not a repository of the "
                      "connection's host", rule->repo_url);
    }
    if ((err = resolve(p, &link->conn, rule, branch, sha, w)) != NULL
        || (err = tp_vcs_tree(p, &link->conn, w->owner, w->name, w->sha,
                              &w->files, &truncated)) != NULL) {
        return err->status == 404
               ? tp_err(p, 422, "the provider does not know the repository "
                        "or branch, or does not let the connection read it: "
                        "%s", err->detail)
               : err;
    }
    if (truncated) {
        return tp_err(p, 413, "the repository %s/%s is too large to scan in "
                      "one pass: the provider truncated its tree", w->owner,
                      w->name);
    }
    w->entries = tp_ad_entries(p, tp_ad_dirs(p, w->files, rule->pattern,
                                             rule->ignores),
                               rule->name_template, w->name);
    return mark_taken(db, p, rule, w);
}

/* ---- creating ---- */

tp_err_t *tp_ad_create(tp_db_t *db, apr_pool_t *p, const char *rule_id,
                       tp_ad_walk_t *w, int *created)
{
    tp_ad_entry_t *e;
    const char *id;
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    *created = 0;
    for (i = 0; i < w->entries->nelts; i++) {
        e = &APR_ARRAY_IDX(w->entries, i, tp_ad_entry_t);
        if (e->collision) {
            continue;
        }
        id = tp_id_generate(p, "ws");
        if ((err = tp_db_exec(db, p, &SQL_AD_CREATE, &rows,
                              TP_DB_ARGS(id, e->name, e->dir,
                                         w->seed_sha ? w->seed_sha : w->sha,
                                         apr_itoa(p, w->pr_number),
                                         rule_id)))
            != NULL) {
            return err;
        }
        if (rows->nrows == 0) {
            e->collision = 1;       /* the name was taken meanwhile */
            continue;
        }
        e->workspace_id = id;
        (*created)++;
    }
    return NULL;
}

/* ---- reconciling ---- */

static const tp_stmt_t SQL_AD_RULES = {"ad_rules",
    "SELECT id, repo_url, branch, pattern, name_template,"
    " ignore_patterns::text AS ignore_patterns, on_directory_delete"
    " FROM autodiscovery_rules WHERE vcs_connection_id = %s AND enabled"
    " ORDER BY created_at, id"};
/* The rule's workspaces still active, with what is needed to end one
 * (not those of a request's branch: their directories are not on the
 * rule's branch until it merges). */
static const tp_stmt_t SQL_AD_TRACKED = {"ad_tracked",
    "SELECT w.id, w.working_directory, w.vcs_last_commit_sha,"
    " EXISTS (SELECT 1 FROM state_versions sv WHERE sv.workspace_id = w.id"
    "          AND sv.status = 'finalized') AS has_state"
    " FROM workspaces w WHERE w.autodiscovery_rule_id = %s"
    "   AND w.lifecycle_state = 'active'"
    "   AND w.autodiscovery_pr_number IS NULL"
    " ORDER BY w.working_directory"};
/* A rename: the new directory, and the new name unless it is taken. */
static const tp_stmt_t SQL_AD_MOVE = {"ad_move",
    "UPDATE workspaces SET working_directory = %s,"
    " name = CASE WHEN %s::text IS NULL OR EXISTS (SELECT 1 FROM workspaces o"
    "              WHERE o.name = %s AND o.id <> %s) THEN name ELSE %s END,"
    " vcs_last_commit_sha = %s, updated_at = now()"
    " WHERE id = %s AND lifecycle_state = 'active'"};
static const tp_stmt_t SQL_AD_LIFECYCLE = {"ad_lifecycle",
    "UPDATE workspaces SET lifecycle_state = %s, lifecycle_reason = %s,"
    " lifecycle_run_id = %s, updated_at = now()"
    " WHERE id = %s AND lifecycle_state = 'active'"};

apr_array_header_t *tp_ad_patterns(apr_pool_t *p, const tp_json_t *list)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    apr_size_t k;

    for (k = 0; k < tp_json_len(list); k++) {
        APR_ARRAY_PUSH(a, const char *) = tp_json_gets(tp_json_at(list, k),
                                                       NULL);
    }
    return a;
}

tp_ad_rule_t tp_ad_rule_row(apr_pool_t *p, const tp_rows_t *rows, int i)
{
    const char *text = tp_row(rows, i, "ignore_patterns");
    tp_ad_rule_t r;

    r.id = tp_row(rows, i, "id");
    r.repo_url = tp_row(rows, i, "repo_url");
    r.branch = tp_row(rows, i, "branch");
    r.pattern = tp_row(rows, i, "pattern");
    r.name_template = tp_row(rows, i, "name_template");
    r.on_directory_delete = tp_row(rows, i, "on_directory_delete");
    r.ignores = tp_ad_patterns(p, tp_json_parse(p, text, strlen(text),
                                                NULL));
    return r;
}

static tp_err_t *set_lifecycle(tp_db_t *db, apr_pool_t *p, const char *id,
                               const char *state, const char *reason,
                               const char *run_id)
{
    return tp_db_exec(db, p, &SQL_AD_LIFECYCLE, NULL,
                      TP_DB_ARGS(state, reason, run_id, id));
}

/* A workspace whose directory is gone, as its rule says: flagged for an
 * operator; or destroyed by a destroy run (of its newest configuration),
 * whose apply archives it, when it has state, and archived at once when
 * it never had any. */
static tp_err_t *directory_gone(tp_db_t *db, apr_pool_t *p,
                                const tp_ad_rule_t *rule,
                                const tp_ad_walk_t *w, const tp_rows_t *ws,
                                int i)
{
    const char *id = tp_row(ws, i, "id");
    const char *reason = apr_psprintf(p, "directory '%s' removed on '%s'",
                                      tp_row(ws, i, "working_directory"),
                                      w->branch);
    tp_run_spec_t spec;
    const char *run_id;
    tp_err_t *err;

    if (strcmp(rule->on_directory_delete, "destroy") != 0) {
        return set_lifecycle(db, p, id, "pending_deletion", reason, NULL);
    }
    if (!tp_row_bool(ws, i, "has_state")) {
        return set_lifecycle(db, p, id, "archived",
                             apr_pstrcat(p, reason, "; never applied: "
                                         "archived", NULL), NULL);
    }
    memset(&spec, 0, sizeof(spec));
    spec.message = apr_pstrcat(p, "Destroy: ", reason, NULL);
    spec.vcs_ref = "";
    spec.is_destroy = 1;
    spec.refresh = 1;
    spec.target_addrs = spec.replace_addrs = spec.variables = "[]";
    spec.level = TP_LEVEL_ADMIN;
    if ((err = tp_run_create(db, p, id, &spec, NULL, &run_id)) != NULL) {
        /* left for an operator, saying why */
        return err->status >= 500 ? err
               : set_lifecycle(db, p, id, "pending_deletion",
                               apr_pstrcat(p, reason, "; no destroy run: ",
                                           err->detail, NULL), NULL);
    }
    return set_lifecycle(db, p, id, "pending_deletion",
                         apr_pstrcat(p, reason, "; destroy run ", run_id,
                                     " queued", NULL), run_id);
}

/* The directories of ws (rows of SQL_AD_TRACKED) that the walk no longer
 * matches, and the walk's directories bound to no workspace. */
static void differences(apr_pool_t *p, const tp_ad_walk_t *w,
                        const tp_rows_t *ws, apr_array_header_t *gone,
                        apr_array_header_t *appeared)
{
    apr_hash_t *now = apr_hash_make(p);
    const tp_ad_entry_t *e;
    const char *dir;
    int i;

    for (i = 0; i < w->entries->nelts; i++) {
        e = &APR_ARRAY_IDX(w->entries, i, tp_ad_entry_t);
        apr_hash_set(now, e->dir, APR_HASH_KEY_STRING, e);
        if (!e->bound) {
            APR_ARRAY_PUSH(appeared, const char *) = e->dir;
        }
    }
    for (i = 0; i < ws->nrows; i++) {
        dir = tp_row(ws, i, "working_directory");
        if (!apr_hash_get(now, dir, APR_HASH_KEY_STRING)) {
            APR_ARRAY_PUSH(gone, int) = i;
        }
    }
}

/* The entry of the walk for directory dir. */
static tp_ad_entry_t *entry_of(tp_ad_walk_t *w, const char *dir)
{
    int i;

    for (i = 0; i < w->entries->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(w->entries, i, tp_ad_entry_t).dir, dir)
            == 0) {
            return &APR_ARRAY_IDX(w->entries, i, tp_ad_entry_t);
        }
    }
    return NULL;
}

/* Moves the workspaces whose directory was renamed between the commit
 * they last saw and the walk's; the others of gone are left in it. */
static tp_err_t *renames(tp_db_t *db, apr_pool_t *p, tp_vcs_link_t *link,
                         tp_ad_walk_t *w, const tp_rows_t *ws,
                         apr_array_header_t *gone,
                         const apr_array_header_t *appeared, int *changed)
{
    apr_array_header_t *dirs = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *old_files = NULL;
    const char *to, *was, *id, *fetched = "";
    tp_ad_entry_t *e;
    tp_err_t *err;
    int i, k, row, truncated;

    for (i = 0, k = 0; i < gone->nelts; i++) {
        row = APR_ARRAY_IDX(gone, i, int);
        was = tp_row(ws, row, "vcs_last_commit_sha");
        dirs->nelts = 0;
        APR_ARRAY_PUSH(dirs, const char *) = tp_row(ws, row,
                                                    "working_directory");
        to = NULL;
        if (was && tp_is_hex(was) && appeared->nelts > 0) {
            /* the gone workspaces mostly saw the same commit */
            if (strcmp(was, fetched) != 0
                && (err = tp_vcs_tree(p, &link->conn, w->owner, w->name, was,
                                      &old_files, &truncated)) != NULL) {
                return err;
            }
            fetched = was;
            tp_ad_renames(p, old_files, w->files, dirs, appeared, &to);
        }
        if (!to || !(e = entry_of(w, to)) || e->bound) {
            APR_ARRAY_IDX(gone, k++, int) = row;     /* no rename */
            continue;
        }
        id = tp_row(ws, row, "id");
        if ((err = tp_db_exec(db, p, &SQL_AD_MOVE, NULL,
                              TP_DB_ARGS(to, e->name, e->name, id, e->name,
                                         w->sha, id))) != NULL) {
            return err;
        }
        e->collision = e->bound = 1;    /* the moved workspace has it */
        e->workspace_id = id;
        (*changed)++;
    }
    gone->nelts = k;
    return NULL;
}

/* Reconciles the workspaces of one rule with the walk of the new commit. */
static tp_err_t *reconcile_rule(tp_db_t *db, apr_pool_t *p,
                                tp_vcs_link_t *link, const tp_ad_rule_t *rule,
                                tp_ad_walk_t *w, int *changed)
{
    apr_array_header_t *gone = apr_array_make(p, 4, sizeof(int));
    apr_array_header_t *appeared = apr_array_make(p, 4, sizeof(const char *));
    tp_rows_t *ws;
    tp_err_t *err;
    int i, created;

    if ((err = tp_db_exec(db, p, &SQL_AD_TRACKED, &ws,
                          TP_DB_ARGS(rule->id))) != NULL) {
        return err;
    }
    differences(p, w, ws, gone, appeared);
    if ((err = renames(db, p, link, w, ws, gone, appeared, changed)) != NULL
        || (err = tp_ad_create(db, p, rule->id, w, &created)) != NULL) {
        return err;
    }
    *changed += created;
    for (i = 0; i < gone->nelts; i++) {
        if ((err = directory_gone(db, p, rule, w, ws,
                                  APR_ARRAY_IDX(gone, i, int))) != NULL) {
            return err;
        }
        (*changed)++;
    }
    return NULL;
}

/* 1 when rule follows branch of owner/name: its repository URL names it,
 * and its branch is that one, or the default branch (*def, asked of the
 * provider once) is. */
static tp_err_t *follows(apr_pool_t *p, tp_vcs_link_t *link,
                         const tp_ad_rule_t *rule, const char *owner,
                         const char *name, const char *branch,
                         const char **def, int *yes)
{
    const char *o, *n;
    tp_err_t *err;

    *yes = 0;
    if (tp_vcs_repo_parse(p, link->conn.provider, link->server_url,
                          rule->repo_url, &o, &n) != APR_SUCCESS
        || strcasecmp(o, owner) != 0 || strcasecmp(n, name) != 0) {
        return NULL;
    }
    if (*rule->branch) {
        *yes = strcmp(rule->branch, branch) == 0;
        return NULL;
    }
    if (!*def && (err = tp_vcs_default_branch(p, &link->conn, owner, name,
                                              def)) != NULL) {
        return err;
    }
    *yes = strcmp(*def, branch) == 0;
    return NULL;
}

tp_err_t *tp_autodiscovery_reconcile(tp_db_t *db, apr_pool_t *p,
                                     tp_vcs_link_t *link, const char *owner,
                                     const char *name, const char *branch,
                                     const char *sha, int *changed)
{
    const char *def = NULL;
    tp_ad_rule_t rule;
    tp_ad_walk_t w;
    tp_rows_t *rules;
    tp_err_t *err, *first = NULL;
    int i, yes;

    *changed = 0;
    if ((err = tp_db_exec(db, p, &SQL_AD_RULES, &rules,
                          TP_DB_ARGS(link->id))) != NULL) {
        return err;
    }
    for (i = 0; i < rules->nrows; i++) {
        rule = tp_ad_rule_row(p, rules, i);
        if ((err = follows(p, link, &rule, owner, name, branch, &def, &yes))
                != NULL
            || (yes && ((err = tp_ad_walk(db, p, link, &rule, branch, sha,
                                          &w)) != NULL
                        || (err = reconcile_rule(db, p, link, &rule, &w,
                                                 changed)) != NULL))) {
            /* the database failing stops all; a rule the provider
             * refuses (a tree too large, say) leaves the others to go */
            if (err->status >= 500 && err->status != 502) {
                return err;
            }
            first = first ? first : err;
        }
    }
    return first;
}

/* ---- directories that exist only in a request's branch ---- */

static const tp_stmt_t SQL_AD_GRADUATE = {"ad_graduate",
    "UPDATE workspaces SET autodiscovery_pr_number = NULL, updated_at = now()"
    " WHERE id = %s AND autodiscovery_pr_number = %s::integer"
    "   AND lifecycle_state = 'active'"};
static const tp_stmt_t SQL_AD_HAS_STATE = {"ad_has_state",
    "SELECT EXISTS (SELECT 1 FROM state_versions"
    "                WHERE workspace_id = %s AND status = 'finalized')"
    "       AS has_state"};

tp_err_t *tp_ad_branch_rules(tp_db_t *db, apr_pool_t *p, tp_vcs_link_t *link,
                             const char *owner, const char *name,
                             const char *branch, apr_array_header_t **rules)
{
    const char *def = NULL;
    tp_ad_rule_t rule;
    tp_rows_t *rows;
    tp_err_t *err;
    int i, yes;

    *rules = apr_array_make(p, 2, sizeof(tp_ad_rule_t));
    if ((err = tp_db_exec(db, p, &SQL_AD_RULES, &rows,
                          TP_DB_ARGS(link->id))) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        rule = tp_ad_rule_row(p, rows, i);
        if ((err = follows(p, link, &rule, owner, name, branch, &def, &yes))
            != NULL) {
            return err;
        }
        if (yes) {
            APR_ARRAY_PUSH(*rules, tp_ad_rule_t) = rule;
        }
    }
    return NULL;
}

/* 1 when the walk has a directory to create. */
static int has_new(const tp_ad_walk_t *w)
{
    int i;

    for (i = 0; i < w->entries->nelts; i++) {
        if (!APR_ARRAY_IDX(w->entries, i, tp_ad_entry_t).collision) {
            return 1;
        }
    }
    return 0;
}

tp_err_t *tp_autodiscovery_pr_open(tp_db_t *db, apr_pool_t *p,
                                   tp_vcs_link_t *link,
                                   const apr_array_header_t *rules,
                                   const char *branch, const tp_vcs_pr_t *pr,
                                   int *created)
{
    const char *seed = NULL, *etag;
    tp_err_t *err, *first = NULL;
    tp_ad_walk_t w;
    int i, n;

    *created = 0;
    for (i = 0; i < rules->nelts; i++) {
        const tp_ad_rule_t *rule = &APR_ARRAY_IDX(rules, i, tp_ad_rule_t);

        /* the branch's head asked once, when something is to be made */
        if ((err = tp_ad_walk(db, p, link, rule, branch, pr->head_sha, &w))
                != NULL
            || (has_new(&w) && !seed
                && (err = tp_vcs_head(p, &link->conn, w.owner, w.name,
                                      branch, NULL, &seed, &etag)) != NULL)) {
            if (err->status >= 500 && err->status != 502) {
                return err;
            }
            first = first ? first : err;
            continue;
        }
        w.pr_number = pr->number;
        w.seed_sha = seed;
        if ((err = tp_ad_create(db, p, rule->id, &w, &n)) != NULL) {
            return err;
        }
        *created += n;
    }
    return first;
}

tp_err_t *tp_autodiscovery_pr_ended(tp_db_t *db, apr_pool_t *p,
                                    const tp_vcs_link_t *link,
                                    const char *ws_id, int number,
                                    tp_vcs_pr_state_e state)
{
    const char *origin = apr_psprintf(p, "origin %s%d closed unmerged",
                                      link->conn.provider == TP_VCS_GITLAB
                                      ? "MR !" : "PR #", number);
    tp_rows_t *rows;
    tp_err_t *err;

    if (state == TP_VCS_PR_MERGED) {
        return tp_db_exec(db, p, &SQL_AD_GRADUATE, NULL,
                          TP_DB_ARGS(ws_id, apr_itoa(p, number)));
    }
    if (state != TP_VCS_PR_CLOSED) {
        return NULL;
    }
    if ((err = tp_db_exec(db, p, &SQL_AD_HAS_STATE, &rows,
                          TP_DB_ARGS(ws_id))) != NULL) {
        return err;
    }
    /* applied by someone after all: its resources are an operator's */
    if (tp_row_bool(rows, 0, "has_state")) {
        return set_lifecycle(db, p, ws_id, "pending_deletion",
                             apr_pstrcat(p, origin, "; it has state: left "
                                         "for an operator", NULL), NULL);
    }
    return set_lifecycle(db, p, ws_id, "archived",
                         apr_pstrcat(p, origin, "; never applied \xE2\x80\x94 "
                                     "auto-archived", NULL), NULL);
}
