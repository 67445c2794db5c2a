/* Autodiscovery walks, the workspaces they create, and the reconciliation
 * of a rule's workspaces with a branch's new commit
 * (tp_autodiscovery_store.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "tp_autodiscovery_store.h"
#include "tp_json.h"
#include "tp_token.h"

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
    " autodiscovery_rule_id)"
    " SELECT %s, %s, r.owner_email, tp_default_project(), r.execution_mode,"
    " r.execution_backend, r.agent_pool_id, r.terraform_version,"
    " r.resource_cpu, r.resource_memory, r.auto_apply, r.labels,"
    " r.vcs_connection_id, r.repo_url, r.branch, %s, true, r.id"
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
        e->existing_autodiscovered = tp_row_bool(rows, i, "bound")
                                     && tp_row_bool(rows, i, "own");
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
                              TP_DB_ARGS(id, e->name, e->dir, rule_id)))
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
