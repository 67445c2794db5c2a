/* Workspaces: the TFE V2 and native paths for listing, showing, creating,
 * updating and deleting them, their project, and their lock. Every read is
 * filtered by the caller's level; writes need the level the route names. */
#include <apr_strings.h>
#include <apr_lib.h>
#include "../mod_terrapod.h"
#include "../tp_backup.h"
#include "../tp_vcs_config.h"
#include "../tp_drift.h"

#define WS_COLUMNS \
    "w.id, w.name, w.description, w.owner_email, w.execution_mode," \
    " w.auto_apply, w.terraform_version, w.execution_backend," \
    " w.working_directory, w.resource_cpu, w.resource_memory," \
    " w.labels::text AS labels, w.vcs_connection_id, w.vcs_repo_url," \
    " w.vcs_branch, w.agent_pool_id, w.project_id," \
    " w.drift_detection_enabled," \
    " w.drift_detection_interval_seconds," \
    " w.drift_ignore_rules::text AS drift_ignore_rules," \
    " tp_ts(w.drift_last_checked_at) AS drift_last_checked_at," \
    " w.drift_status, w.drift_latest_run_id, w.ai_summary_mode," \
    " w.ai_summary_context, w.lifecycle_state, w.lifecycle_reason," \
    " w.autodiscovery_pr_number, w.autodiscovery_rule_id," \
    " w.state_diverged, w.lock_holder," \
    " w.lock_reason, tp_ts(w.locked_at) AS locked_at," \
    " w.allow_destroy_plan, w.file_triggers_enabled, w.queue_all_runs," \
    " w.speculative_enabled, w.global_remote_state," \
    " w.trigger_prefixes::text AS trigger_prefixes," \
    " vc.provider AS vcs_provider, vc.server_url AS vcs_server_url," \
    " tp_ts(w.created_at) AS created_at, tp_ts(w.updated_at) AS updated_at," \
    " cur.id AS current_state_version_id," \
    " COALESCE(cur.resource_count, 0) AS resource_count," \
    " w.current_run_id, '" TP_ORGANIZATION "' AS organization_name," \
    " (SELECT r.id FROM runs r WHERE r.workspace_id = w.id" \
    "   ORDER BY r.seq DESC LIMIT 1) AS latest_run_id," \
    " (SELECT a.id FROM drift_assessments a WHERE a.workspace_id = w.id" \
    "   ORDER BY a.seq DESC LIMIT 1) AS current_assessment_result_id," \
    " CASE WHEN w.lock_run_id IS NOT NULL THEN 'runs'" \
    "      WHEN w.lock_holder IS NOT NULL THEN 'users' END AS locked_by_type," \
    " COALESCE(w.lock_run_id, (SELECT u.id FROM users u" \
    "                           WHERE u.email = w.lock_holder)) AS locked_by_id"

#define WS_CURRENT \
    " LEFT JOIN LATERAL (" \
    "   SELECT sv.id, sv.resource_count FROM state_versions sv" \
    "    WHERE sv.workspace_id = w.id AND sv.status = 'finalized'" \
    "    ORDER BY sv.seq DESC LIMIT 1) cur ON true" \
    " LEFT JOIN vcs_connections vc ON vc.id = w.vcs_connection_id"
#define WS_FROM " FROM workspaces w" WS_CURRENT

static const tp_stmt_t SQL_WS_BY_ID = {"ws_by_id",
    "SELECT " WS_COLUMNS WS_FROM " WHERE w.id = %s"};
static const tp_stmt_t SQL_WS_BY_NAME = {"ws_by_name",
    "SELECT " WS_COLUMNS WS_FROM " WHERE w.name = %s"};
static const tp_stmt_t SQL_WS_BY_IDS = {"ws_by_ids",
    "SELECT " WS_COLUMNS WS_FROM " WHERE" TP_AMONG_KEYS("w.id")};

/* Filters of the list: name substring, keys that must all be present
 * (?&), key/value pairs that must all match (@>), and the project. */
#define WS_FILTER \
    " WHERE (%s::text IS NULL OR strpos(lower(w.name), lower(%s)) > 0)" \
    "   AND (%s::text[] IS NULL OR w.labels ?& %s::text[])" \
    "   AND (%s::jsonb IS NULL OR w.labels @> %s::jsonb)" \
    "   AND (%s::text IS NULL OR w.project_id = %s)"

/* The page is chosen first, so the current state version is looked up
 * for its rows only. */
static const tp_stmt_t SQL_WS_PAGE = {"ws_page",
    TP_WS_RULES "SELECT " WS_COLUMNS ", page.total"
    " FROM (SELECT w.id, count(*) OVER () AS total FROM workspaces w"
    WS_FILTER TP_WS_VISIBLE
    "        ORDER BY w.name LIMIT %s::bigint OFFSET %s::bigint) page"
    " JOIN workspaces w ON w.id = page.id" WS_CURRENT
    " ORDER BY w.name"};

/* In the project named (held by the transaction, so it exists) or the
 * default one, with the project's execution mode until the request sets
 * its own: no row back means the name is taken. */
static const tp_stmt_t SQL_WS_INSERT = {"ws_insert",
    "INSERT INTO workspaces (id, name, owner_email, project_id,"
    "                        execution_mode)"
    " SELECT %s, %s, %s, p.id, p.default_execution_mode FROM projects p"
    "  WHERE p.id = COALESCE(%s, tp_default_project())"
    " ON CONFLICT (name) DO NOTHING RETURNING id"};

/* NULL for an attribute leaves its column as it is. */
static const tp_stmt_t SQL_WS_UPDATE = {"ws_update",
    "UPDATE workspaces SET"
    " name = COALESCE(%s, name),"
    " description = COALESCE(%s, description),"
    " execution_mode = COALESCE(%s, execution_mode),"
    " auto_apply = COALESCE(%s::boolean, auto_apply),"
    " terraform_version = COALESCE(%s, terraform_version),"
    " execution_backend = COALESCE(%s, execution_backend),"
    " working_directory = COALESCE(%s, working_directory),"
    " resource_cpu = COALESCE(%s, resource_cpu),"
    " resource_memory = COALESCE(%s, resource_memory),"
    " labels = COALESCE(%s::jsonb, labels),"
    " vcs_repo_url = COALESCE(%s, vcs_repo_url),"
    " vcs_branch = COALESCE(%s, vcs_branch),"
    " vcs_connection_id = CASE WHEN %s::boolean THEN %s"
    "                          ELSE vcs_connection_id END,"
    " agent_pool_id = CASE WHEN %s::boolean THEN %s ELSE agent_pool_id END,"
    " project_id = COALESCE(%s, project_id),"
    " drift_detection_enabled = COALESCE(%s::boolean,"
    "                                    drift_detection_enabled),"
    " drift_detection_interval_seconds = COALESCE(%s::integer,"
    "                                    drift_detection_interval_seconds),"
    " drift_ignore_rules = COALESCE(%s::jsonb, drift_ignore_rules),"
    " ai_summary_mode = COALESCE(%s, ai_summary_mode),"
    " ai_summary_context = COALESCE(%s, ai_summary_context),"
    " allow_destroy_plan = COALESCE(%s::boolean, allow_destroy_plan),"
    " file_triggers_enabled = COALESCE(%s::boolean, file_triggers_enabled),"
    " queue_all_runs = COALESCE(%s::boolean, queue_all_runs),"
    " speculative_enabled = COALESCE(%s::boolean, speculative_enabled),"
    " global_remote_state = COALESCE(%s::boolean, global_remote_state),"
    " trigger_prefixes = COALESCE(%s::jsonb, trigger_prefixes),"
    " updated_at = now()"
    " WHERE id = %s RETURNING id"};

static const tp_stmt_t SQL_WS_NAME_TAKEN = {"ws_name_taken",
    "SELECT 1 FROM workspaces WHERE name = %s AND id <> %s"};

static const tp_stmt_t SQL_WS_DELETE = {"ws_delete",
    "DELETE FROM workspaces WHERE id = %s RETURNING id"};

/* The locked row comes back as a read shows it: no second round trip. */
static const tp_stmt_t SQL_WS_LOCK = {"ws_lock",
    "WITH w AS (UPDATE workspaces SET lock_holder = %s, lock_reason = %s,"
    " locked_at = now() WHERE id = %s AND lock_holder IS NULL RETURNING *)"
    " SELECT " WS_COLUMNS " FROM w" WS_CURRENT};
static const tp_stmt_t SQL_WS_UNLOCK = {"ws_unlock",
    "WITH w AS (UPDATE workspaces SET lock_holder = NULL, lock_reason = '',"
    " locked_at = NULL, lock_run_id = NULL"
    " WHERE id = %s AND lock_holder IS NOT NULL"
    "   AND (%s::text IS NULL OR lock_holder = %s) RETURNING *)"
    " SELECT " WS_COLUMNS " FROM w" WS_CURRENT};

/* ---- rendering ---- */

static void set_permissions(tp_json_t *w, tp_level_e lvl)
{
    static const struct { const char *name; tp_level_e need; } perms[] = {
        {"can-read-settings", TP_LEVEL_READ},
        {"can-read-state-versions", TP_LEVEL_READ},
        {"can-read-variable", TP_LEVEL_READ},
        {"can-queue-run", TP_LEVEL_PLAN},
        {"can-lock", TP_LEVEL_PLAN},
        {"can-unlock", TP_LEVEL_PLAN},
        {"can-create-state-versions", TP_LEVEL_WRITE},
        {"can-update-variable", TP_LEVEL_WRITE},
        {"can-queue-apply", TP_LEVEL_WRITE},
        {"can-queue-destroy", TP_LEVEL_WRITE},
        {"can-queue-destroy-plan", TP_LEVEL_PLAN},
        {"can-update", TP_LEVEL_ADMIN},
        {"can-destroy", TP_LEVEL_ADMIN},
        {"can-force-unlock", TP_LEVEL_ADMIN},
        {"can-force-delete", TP_LEVEL_ADMIN},
        {NULL, TP_LEVEL_NONE}
    };
    int i;

    for (i = 0; perms[i].name; i++) {
        tp_json_setb(w, lvl >= perms[i].need, "attributes", "permissions",
                     perms[i].name, NULL);
    }
}

/* Tags without a value are TFE's plain tags; all labels are tag bindings. */
static int collect_tag_name(void *baton, const char *key, tp_json_t *val)
{
    const char *v = tp_json_gets(val, NULL);

    if (v && !*v) {
        tp_json_pushs(baton, key);
    }
    return 0;
}

static const tp_attr_t WS_ATTRS[] = {
    {"name", "name", TP_ATTR_STRING},
    {"description", "description", TP_ATTR_STRING},
    {"execution-mode", "execution_mode", TP_ATTR_STRING},
    {"terraform-version", "terraform_version", TP_ATTR_STRING},
    {"execution-backend", "execution_backend", TP_ATTR_STRING},
    {"working-directory", "working_directory", TP_ATTR_STRING},
    {"resource-cpu", "resource_cpu", TP_ATTR_STRING},
    {"resource-memory", "resource_memory", TP_ATTR_STRING},
    {"vcs-repo-url", "vcs_repo_url", TP_ATTR_STRING},
    {"vcs-branch", "vcs_branch", TP_ATTR_STRING},
    {"agent-pool-id", "agent_pool_id", TP_ATTR_STRING},
    {"drift-last-checked-at", "drift_last_checked_at", TP_ATTR_STRING},
    {"drift-status", "drift_status", TP_ATTR_STRING},
    {"drift-latest-run-id", "drift_latest_run_id", TP_ATTR_STRING},
    {"ai-summary-mode", "ai_summary_mode", TP_ATTR_STRING},
    {"ai-summary-context", "ai_summary_context", TP_ATTR_STRING},
    {"lifecycle-state", "lifecycle_state", TP_ATTR_STRING},
    {"lifecycle-reason", "lifecycle_reason", TP_ATTR_STRING},
    {"owner-email", "owner_email", TP_ATTR_STRING},
    {"locked-by", "lock_holder", TP_ATTR_STRING},
    {"lock-reason", "lock_reason", TP_ATTR_STRING},
    {"locked-at", "locked_at", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"updated-at", "updated_at", TP_ATTR_STRING},
    {"auto-apply", "auto_apply", TP_ATTR_BOOL},
    {"drift-detection-enabled", "drift_detection_enabled", TP_ATTR_BOOL},
    /* TFE's name for the same: health assessments are drift checks */
    {"assessments-enabled", "drift_detection_enabled", TP_ATTR_BOOL},
    {"state-diverged", "state_diverged", TP_ATTR_BOOL},
    {"drift-detection-interval-seconds", "drift_detection_interval_seconds",
     TP_ATTR_INT},
    {"autodiscovery-pr-number", "autodiscovery_pr_number", TP_ATTR_INT},
    {"resource-count", "resource_count", TP_ATTR_INT},
    {"labels", "labels", TP_ATTR_JSON},
    {"drift-ignore-rules", "drift_ignore_rules", TP_ATTR_JSON},
    {"allow-destroy-plan", "allow_destroy_plan", TP_ATTR_BOOL},
    {"file-triggers-enabled", "file_triggers_enabled", TP_ATTR_BOOL},
    {"queue-all-runs", "queue_all_runs", TP_ATTR_BOOL},
    {"speculative-enabled", "speculative_enabled", TP_ATTR_BOOL},
    {"global-remote-state", "global_remote_state", TP_ATTR_BOOL},
    {"trigger-prefixes", "trigger_prefixes", TP_ATTR_JSON},
    {NULL, NULL, 0}
};

static const tp_rel_t WS_RELS[] = {
    {"organization", "organizations", TP_REL_ONE, "organization_name"},
    {"current-run", "runs", TP_REL_ONE, "current_run_id"},
    {"latest-run", "runs", TP_REL_ONE, "latest_run_id"},
    {"current-state-version", "state-versions", TP_REL_ONE,
     "current_state_version_id",
     "/api/v2/workspaces/%s/current-state-version"},
    {"outputs", "state-version-outputs", TP_REL_MANY, NULL,
     "/api/v2/workspaces/%s/current-state-version-outputs", NULL,
     "current-state-version"},
    {"locked-by", NULL, TP_REL_ONE, "locked_by_id", NULL, "locked_by_type"},
    /* served under the native API only, so no TFE link */
    {"vcs-connection", "vcs-connections", TP_REL_ONE, "vcs_connection_id",
     ""},
    {"agent-pool", "agent-pools", TP_REL_ONE, "agent_pool_id", ""},
    {"autodiscovery-rule", "autodiscovery-rules", TP_REL_ONE,
     "autodiscovery_rule_id", "/api/terrapod/v1/autodiscovery-rules/%s"},
    {"project", "projects", TP_REL_ONE, "project_id"},
    {"current-assessment-result", "assessment-results", TP_REL_ONE,
     "current_assessment_result_id"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t WS_DESC = {
    "workspaces", NULL, "/api/v2/workspaces/%s", WS_ATTRS, WS_RELS
};

/* TFE's vcs-repo of a workspace bound to a repository, else NULL. */
static tp_json_t *vcs_repo(apr_pool_t *p, const tp_rows_t *rows, int i)
{
    const char *conn = tp_row(rows, i, "vcs_connection_id");
    const char *url = tp_row(rows, i, "vcs_repo_url");
    const char *server = tp_row(rows, i, "vcs_server_url");
    const char *owner, *name, *branch = tp_row(rows, i, "vcs_branch");
    const char *identifier = NULL;
    int provider = conn ? tp_vcs_provider_named(tp_row(rows, i,
                                                       "vcs_provider")) : -1;
    tp_json_t *v;

    if (provider < 0) {
        return NULL;
    }
    if (tp_vcs_repo_parse(p, provider, server, url, &owner, &name)
        == APR_SUCCESS) {
        identifier = apr_pstrcat(p, owner, "/", name, NULL);
    }
    v = tp_json_object(p);
    tp_json_sets(v, identifier, "identifier", NULL);
    tp_json_sets(v, identifier, "display-identifier", NULL);
    tp_json_sets(v, branch, "branch", NULL);
    tp_json_sets(v, *url ? url : NULL, "repository-http-url", NULL);
    tp_json_sets(v, tp_vcs_service_provider(provider, server),
                 "service-provider", NULL);
    tp_json_sets(v, conn, "oauth-token-id", NULL);
    tp_json_sets(v, provider == TP_VCS_GITHUB ? conn : NULL,
                 "github-app-installation-id", NULL);
    tp_json_setb(v, 0, "ingress-submodules", NULL);
    tp_json_setnull(v, "tags-regex", NULL);
    return v;
}

static tp_json_t *ws_resource(apr_pool_t *p, const tp_rows_t *rows, int i,
                              tp_level_e lvl)
{
    tp_json_t *w = tp_resource_render(p, &WS_DESC, rows, i);
    tp_json_t *labels = tp_row_json(p, rows, i, "labels");
    tp_json_t *tags = tp_json_array(p);
    const char *resources = tp_row(rows, i, "resource_count");
    const char *sv = tp_row(rows, i, "current_state_version_id");

    tp_json_setb(w, tp_row(rows, i, "lock_holder") != NULL, "attributes",
                 "locked", NULL);
    /* remote operations happen for every mode but local (older clients
     * read this instead of execution-mode) */
    tp_json_setb(w, strcmp(tp_row(rows, i, "execution_mode"), "local") != 0,
                 "attributes", "operations", NULL);
    tp_json_each(labels, collect_tag_name, tags);
    tp_json_setj(w, tags, "attributes", "tag-names", NULL);
    tp_json_setj(w, vcs_repo(p, rows, i), "attributes", "vcs-repo", NULL);
    tp_json_setb(w, 0, "attributes", "structured-run-output-enabled", NULL);
    tp_json_sets(w, "default", "attributes", "source", NULL);
    /* TFE's one environment */
    tp_json_sets(w, "default", "attributes", "environment", NULL);
    /* destroyable when no state version holds managed resources */
    tp_json_setb(w, !sv || (resources && apr_atoi64(resources) == 0),
                 "attributes", "actions", "is-destroyable", NULL);
    set_permissions(w, lvl);
    return w;
}

/* A workspace for include=, at the caller's level on it. */
static tp_json_t *ws_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    tp_level_e lvl = tp_row_level(req, rows, i, TP_AXIS_WORKSPACE);

    return lvl < TP_LEVEL_READ ? NULL
                               : ws_resource(req->r->pool, rows, i, lvl);
}

const tp_type_t tp_type_workspaces = {&WS_DESC, &SQL_WS_BY_IDS, NULL,
                                      ws_include};

/* ---- loading with access checks ---- */

/* The workspace of a row selecting WS_COLUMNS. */
static tp_ws_t *ws_of(tp_req_t *req, tp_rows_t *rows)
{
    tp_ws_t *ws = apr_pcalloc(req->r->pool, sizeof(*ws));

    ws->level = tp_row_level(req, rows, 0, TP_AXIS_WORKSPACE);
    ws->row = rows;
    ws->id = tp_row(rows, 0, "id");
    ws->name = tp_row(rows, 0, "name");
    return ws;
}

/* The workspace row and the caller's level on it, without a verdict. */
static tp_err_t *load_row(tp_req_t *req, const char *key, int by_name,
                          tp_ws_t **out)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_exec(db, p, by_name ? &SQL_WS_BY_NAME : &SQL_WS_BY_ID,
                             &rows, TP_DB_ARGS(key))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "workspace %s not found", key);
    }
    *out = ws_of(req, rows);
    return NULL;
}

static tp_err_t *load(tp_req_t *req, const char *key, int by_name,
                      tp_level_e need, tp_ws_t **out)
{
    apr_pool_t *p = req->r->pool;
    tp_err_t *err = load_row(req, key, by_name, out);

    if (err) {
        return err;
    }
    if (req->reader_ws) {
        return tp_remote_state_admit(req, *out, need);
    }
    /* what the caller cannot read does not exist for it */
    if ((*out)->level < TP_LEVEL_READ) {
        return tp_err(p, 404, "workspace %s not found", key);
    }
    if ((*out)->level < need) {
        return tp_err(p, 403, "this needs %s on workspace %s; you have %s",
                      tp_level_name(need), (*out)->name,
                      tp_level_name((*out)->level));
    }
    return NULL;
}

tp_err_t *tp_ws_load(tp_req_t *req, const char *key, int by_name,
                     tp_ws_t **out)
{
    return load(req, key, by_name, req->route->level, out);
}

tp_err_t *tp_ws_require(tp_req_t *req, const char *ws_id, tp_level_e need,
                        tp_ws_t **out)
{
    return load(req, ws_id, 0, need, out);
}

tp_err_t *tp_ws_owner(tp_req_t *req, const tp_rows_t *rows, tp_level_e need,
                      const char *what, const char *id, tp_ws_t **out)
{
    tp_err_t *err = rows->nrows == 0 ? NULL
                    : load(req, tp_row(rows, 0, "workspace_id"), 0, need, out);

    if (rows->nrows == 0 || (err && err->status == 404)) {
        return tp_err(req->r->pool, 404, "%s%s%s not found", what,
                      *what ? " " : "", id);
    }
    return err;
}

/* The workspace a route names: {id}, or {name} under organizations. */
static tp_err_t *route_ws(tp_req_t *req, tp_ws_t **out)
{
    const char *name = tp_param(&req->params, "name");

    return name ? tp_ws_load(req, name, 1, out)
                : tp_ws_load(req, tp_param(&req->params, "id"), 0, out);
}

static tp_err_t *send_ws(tp_req_t *req, int status, tp_ws_t *ws)
{
    apr_pool_t *p = req->r->pool;

    return tp_send_json(req, status,
                        tp_jsonapi_doc(p, ws_resource(p, ws->row, 0,
                                                      ws->level)));
}

/* Reloads after a change, so the answer shows what is stored; the caller
 * sees the result of its own change even when (forced) it lowered its
 * access below read. */
static tp_err_t *send_fresh(tp_req_t *req, int status, const char *id)
{
    tp_ws_t *ws = NULL;     /* set whenever load_row succeeds */
    tp_err_t *err = load_row(req, id, 0, &ws);

    return err ? err : send_ws(req, status, ws);
}

tp_err_t *tp_api_workspace_show(tp_req_t *req)
{
    tp_ws_t *ws;
    tp_err_t *err = route_ws(req, &ws);

    return err ? err : send_ws(req, 200, ws);
}

/* ---- list ---- */

/* The tag filters of a list: keys that must be present (search[tags]=a,b
 * and filter[tagged][i][key] without a value) and key/value pairs that
 * must match (filter[tagged][i][key] with [value]). */
typedef struct {
    const char *keys;    /* text[] literal, or NULL */
    const char *pairs;   /* JSON object, or NULL */
} tag_filter_t;

static void add_key(tp_json_t *keys, const char *key)
{
    while (apr_isspace(*key)) key++;
    if (*key) {
        tp_json_pushs(keys, key);
    }
}

/* ["a","b"] -> {"a","b"}: a JSON string is a valid quoted array element */
static const char *pg_array(apr_pool_t *p, const tp_json_t *list)
{
    char *s;

    if (tp_json_len(list) == 0) {
        return NULL;
    }
    s = tp_json_dump(list, p);
    s[0] = '{';
    s[strlen(s) - 1] = '}';
    return s;
}

static tag_filter_t tag_filters(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *csv = tp_query_arg(req, "search[tags]");
    tp_json_t *keys = tp_json_array(p), *pairs = tp_json_object(p);
    tag_filter_t f = {NULL, NULL};
    int i, npairs = 0;

    if (csv) {
        char *copy = apr_pstrdup(p, csv), *tok, *last;

        for (tok = apr_strtok(copy, ",", &last); tok;
             tok = apr_strtok(NULL, ",", &last)) {
            add_key(keys, tok);
        }
    }
    for (i = 0; i < 64; i++) {
        const char *k = tp_query_arg(req, apr_psprintf(p,
                                     "filter[tagged][%d][key]", i));
        const char *v = tp_query_arg(req, apr_psprintf(p,
                                     "filter[tagged][%d][value]", i));

        if (!k) {
            break;
        }
        if (v) {
            tp_json_sets(pairs, v, k, NULL);
            npairs++;
        }
        else {
            add_key(keys, k);
        }
    }
    f.keys = pg_array(p, keys);
    f.pairs = npairs ? tp_json_dump(pairs, p) : NULL;
    return f;
}

static tp_json_t *ws_render(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return ws_resource(req->r->pool, rows, i, tp_row_level(req, rows, i, TP_AXIS_WORKSPACE));
}

tp_ws_visibility_t tp_ws_visibility(tp_req_t *req)
{
    const tp_grants_t *g = &req->who->grants;
    tp_ws_visibility_t v;

    v.rules = tp_json_dump(tp_rbac_read_rules(req->r->pool, g,
                                              TP_AXIS_WORKSPACE),
                           req->r->pool);
    v.sees_all = tp_db_bool(g->is_admin || g->is_audit);
    v.owner = g->scoped ? NULL : g->email;
    return v;
}

tp_err_t *tp_api_workspace_list(tp_req_t *req)
{
    const char *name = tp_query_arg(req, "search[name]");
    const char *project = tp_query_arg(req, "filter[project][id]");
    tag_filter_t tf = tag_filters(req);
    tp_ws_visibility_t v = tp_ws_visibility(req);

    return tp_send_page(req, &SQL_WS_PAGE,
                        TP_DB_ARGS(v.rules, name, name, tf.keys, tf.keys,
                                   tf.pairs, tf.pairs, project, project,
                                   v.sees_all, v.owner),
                        ws_render);
}

/* ---- create and update ---- */

/* Boolean settings stored as sent, each in the column of its name. */
static const char *const WS_FLAGS[] = {
    "allow-destroy-plan", "file-triggers-enabled", "queue-all-runs",
    "speculative-enabled", "global-remote-state"
};
#define WS_NFLAGS (int)(sizeof(WS_FLAGS) / sizeof(WS_FLAGS[0]))

/* Column values parsed from a request: NULL leaves a column unchanged. */
typedef struct {
    const char *name, *description, *execution_mode, *auto_apply;
    const char *terraform_version, *execution_backend, *working_directory;
    const char *resource_cpu, *resource_memory, *labels, *vcs_repo_url;
    const char *vcs_branch, *vcs_set, *vcs_connection_id;
    const char *pool_set, *agent_pool_id, *project_id;
    const char *drift_enabled, *drift_interval, *drift_ignore_rules;
    const char *ai_mode, *ai_context;
    const char *flags[WS_NFLAGS];      /* WS_FLAGS, in order */
    const char *trigger_prefixes;
    const char *vcs_identifier;        /* TFE's vcs-repo: owner/name */
    int force;
    tp_json_t *labels_json;
} ws_input_t;

static int matches_charset(const char *s, const char *extra)
{
    for (; *s; s++) {
        if (!apr_isalnum(*s) && !strchr(extra, *s)) {
            return 0;
        }
    }
    return 1;
}

static tp_err_t *check_name(apr_pool_t *p, const char *name)
{
    if (!*name || strlen(name) > 90 || !matches_charset(name, "-_")) {
        return tp_err(p, 422, "name must be 1 to 90 letters, digits, '-' or "
                      "'_'");
    }
    return NULL;
}

/* Kubernetes-style quantities: "1", "500m", "2Gi", "1.5". */
static int quantity(const char *s, const char *const *units)
{
    char *end;
    int i;

    if (!apr_isdigit(*s)) {
        return 0;
    }
    strtod(s, &end);
    if (!*end) {
        return 1;
    }
    for (i = 0; units[i]; i++) {
        if (strcmp(end, units[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static tp_err_t *check_strings(apr_pool_t *p, ws_input_t *in,
                               const tp_json_t *a)
{
    static const char *const modes[] = {"local", "agent", "remote", NULL};
    static const char *const backends[] = {"terraform", "tofu", NULL};
    static const char *const ai_modes[] = {"default", "enabled", "disabled",
                                           NULL};
    static const char *const cpu_units[] = {"m", NULL};
    static const char *const mem_units[] = {"Ki", "Mi", "Gi", "Ti", "K", "M",
                                            "G", "T", NULL};
    tp_err_t *err;
    int has;

    if ((err = tp_attr_string(p, a, "name", 1000, &in->name, &has)) != NULL
        || (has && (err = check_name(p, in->name)) != NULL)
        || (err = tp_attr_string(p, a, "description", 2000, &in->description,
                                 &has)) != NULL
        || (err = tp_attr_enum(p, a, "execution-mode", modes,
                               &in->execution_mode, &has)) != NULL
        || (err = tp_attr_enum(p, a, "execution-backend", backends,
                               &in->execution_backend, &has)) != NULL
        || (err = tp_attr_enum(p, a, "ai-summary-mode", ai_modes,
                               &in->ai_mode, &has)) != NULL
        || (err = tp_attr_string(p, a, "ai-summary-context", 4000,
                                 &in->ai_context, &has)) != NULL
        || (err = tp_attr_string(p, a, "vcs-repo-url", 2048,
                                 &in->vcs_repo_url, &has)) != NULL
        || (err = tp_attr_string(p, a, "vcs-branch", 255, &in->vcs_branch,
                                 &has)) != NULL) {
        return err;
    }
    /* TFE's "remote" runs on agents here */
    if (in->execution_mode && strcmp(in->execution_mode, "remote") == 0) {
        in->execution_mode = "agent";
    }
    if ((err = tp_attr_string(p, a, "terraform-version", 32,
                              &in->terraform_version, &has)) != NULL) {
        return err;
    }
    if (has && (!*in->terraform_version
                || !matches_charset(in->terraform_version, ".-~>=< +"))) {
        return tp_err(p, 422, "terraform-version must be a version, a "
                      "constraint such as ~> 1.9, or latest");
    }
    if ((err = tp_attr_string(p, a, "working-directory", 500,
                              &in->working_directory, &has)) != NULL) {
        return err;
    }
    if (has && (in->working_directory[0] == '/'
                || ap_strstr_c(in->working_directory, ".."))) {
        return tp_err(p, 422, "working-directory must be a relative path "
                      "inside the configuration");
    }
    if ((err = tp_attr_string(p, a, "resource-cpu", 16, &in->resource_cpu,
                              &has)) != NULL) {
        return err;
    }
    if (has && !quantity(in->resource_cpu, cpu_units)) {
        return tp_err(p, 422, "resource-cpu must be a CPU quantity such as "
                      "1 or 500m");
    }
    if ((err = tp_attr_string(p, a, "resource-memory", 16,
                              &in->resource_memory, &has)) != NULL) {
        return err;
    }
    if (has && !quantity(in->resource_memory, mem_units)) {
        return tp_err(p, 422, "resource-memory must be a memory quantity "
                      "such as 2Gi or 512Mi");
    }
    return NULL;
}

tp_err_t *tp_ws_settings_check(apr_pool_t *p, const tp_json_t *a)
{
    static const char *const settings[] = {
        "execution-mode", "execution-backend", "terraform-version",
        "resource-cpu", "resource-memory", NULL
    };
    tp_json_t *only = tp_json_object(p);
    ws_input_t in;
    int i;

    for (i = 0; settings[i]; i++) {
        if (tp_json_type(a, settings[i], NULL) != TP_JSON_ABSENT) {
            tp_json_setj(only, tp_json_get(a, settings[i], NULL),
                         settings[i], NULL);
        }
    }
    memset(&in, 0, sizeof(in));
    return check_strings(p, &in, only);
}

/* The agent pool, as TFE clients send it: the agent-pool-id attribute or
 * the agent-pool relationship; null clears it. */
static tp_err_t *parse_pool(apr_pool_t *p, const tp_json_t *body,
                            const tp_json_t *a, ws_input_t *in)
{
    const tp_json_t *rel = tp_json_get(body, "data", "relationships",
                                       "agent-pool", "data", NULL);
    tp_json_type_e t = tp_json_type(a, "agent-pool-id", NULL);

    in->pool_set = "false";
    if (t == TP_JSON_ABSENT) {
        t = tp_json_type(body, "data", "relationships", "agent-pool", "data",
                         NULL);
        a = rel;
    }
    if (t == TP_JSON_ABSENT) {
        return NULL;
    }
    in->pool_set = "true";
    if (t == TP_JSON_NULL) {
        return NULL;
    }
    in->agent_pool_id = a == rel ? tp_json_gets(rel, "id", NULL)
                                 : tp_json_gets(a, "agent-pool-id", NULL);
    if (!in->agent_pool_id || !*in->agent_pool_id) {
        return tp_err(p, 422, "agent-pool-id must be the id of an agent "
                      "pool, or null");
    }
    return NULL;
}

/* The project, as go-tfe sends it: the project relationship by id. A
 * workspace always belongs to one, so null is no answer. */
static tp_err_t *parse_project(apr_pool_t *p, const tp_json_t *body,
                               ws_input_t *in)
{
    switch (tp_json_type(body, "data", "relationships", "project", "data",
                         NULL)) {
    case TP_JSON_ABSENT:
        return NULL;
    case TP_JSON_OBJECT:
        in->project_id = tp_json_gets(body, "data", "relationships",
                                      "project", "data", "id", NULL);
        if (in->project_id && *in->project_id) {
            return NULL;
        }
        /* fall through */
    default:
        return tp_err(p, 422, "relationships.project must name a project "
                      "by its id");
    }
}

static tp_err_t *parse_settings(apr_pool_t *p, const tp_json_t *a,
                                ws_input_t *in)
{
    tp_json_t *prefixes;
    tp_err_t *err;
    int k, b, has;

    for (k = 0; k < WS_NFLAGS; k++) {
        if ((err = tp_attr_bool(p, a, WS_FLAGS[k], &b, &has)) != NULL) {
            return err;
        }
        in->flags[k] = has ? tp_db_bool(b) : NULL;
    }
    if ((err = tp_attr_strings(p, a, "trigger-prefixes", 100, 1024,
                               &prefixes, &has)) != NULL) {
        return err;
    }
    in->trigger_prefixes = has ? tp_json_dump(prefixes, p) : NULL;
    return NULL;
}

static void bind_connection(ws_input_t *in, const char *id)
{
    in->vcs_set = "true";
    in->vcs_connection_id = id;
    /* drift detection follows a VCS connection unless said otherwise */
    if (!in->drift_enabled) {
        in->drift_enabled = "true";
    }
}

/* TFE's vcs-repo: the repository as owner/name on the connection's host,
 * its branch, and the connection, which TFE names by oauth-token-id or
 * github-app-installation-id (either takes the connection's id here);
 * null unbinds the workspace. */
static tp_err_t *parse_vcs_repo(apr_pool_t *p, const tp_json_t *a,
                                ws_input_t *in)
{
    tp_json_t *v = tp_json_get(a, "vcs-repo", NULL);
    const char *oauth = NULL, *app = NULL, *branch = NULL, *conn;
    tp_err_t *err;
    int has;

    switch (tp_json_type(a, "vcs-repo", NULL)) {
    case TP_JSON_ABSENT:
        return NULL;
    case TP_JSON_NULL:
        in->vcs_set = "true";
        in->vcs_connection_id = NULL;
        in->vcs_repo_url = in->vcs_branch = "";
        return NULL;
    case TP_JSON_OBJECT:
        break;
    default:
        return tp_err(p, 422, "vcs-repo must be an object or null");
    }
    if ((err = tp_attr_string(p, v, "identifier", 500, &in->vcs_identifier,
                              &has)) != NULL
        || (err = tp_attr_string(p, v, "branch", 255, &branch, &has)) != NULL
        || (err = tp_attr_string(p, v, "oauth-token-id", 100, &oauth, &has))
           != NULL
        || (err = tp_attr_string(p, v, "github-app-installation-id", 100,
                                 &app, &has)) != NULL) {
        return err;
    }
    if (oauth && app && strcmp(oauth, app) != 0) {
        return tp_err(p, 422, "vcs-repo names two VCS connections: "
                      "oauth-token-id %s and github-app-installation-id %s",
                      oauth, app);
    }
    conn = oauth ? oauth : app;
    if (conn && in->vcs_connection_id
        && strcmp(conn, in->vcs_connection_id) != 0) {
        return tp_err(p, 422, "vcs-repo names VCS connection %s, "
                      "relationships.vcs-connection %s", conn,
                      in->vcs_connection_id);
    }
    if (conn) {
        bind_connection(in, conn);
    }
    if (branch) {
        in->vcs_branch = branch;
    }
    if (in->vcs_identifier && !strchr(in->vcs_identifier, '/')) {
        return tp_err(p, 422, "vcs-repo.identifier must be owner/name");
    }
    return NULL;
}

static tp_err_t *parse_input(apr_pool_t *p, const tp_json_t *body,
                             ws_input_t *in)
{
    tp_json_t *a, *rules;
    tp_err_t *err;
    long long interval;
    int has, b;

    memset(in, 0, sizeof(*in));
    if ((err = tp_jsonapi_attributes(p, body, "workspaces", &a)) != NULL
        || (err = check_strings(p, in, a)) != NULL) {
        return err;
    }
    if ((err = tp_attr_bool(p, a, "auto-apply", &b, &has)) != NULL) {
        return err;
    }
    in->auto_apply = has ? tp_db_bool(b) : NULL;
    if ((err = tp_attr_bool(p, a, "drift-detection-enabled", &b, &has))
        != NULL
        || (!has && (err = tp_attr_bool(p, a, "assessments-enabled", &b,
                                        &has)) != NULL)) {
        return err;
    }
    in->drift_enabled = has ? tp_db_bool(b) : NULL;
    if (tp_json_type(a, "drift-detection-interval-seconds", NULL)
        == TP_JSON_INTEGER
        && tp_json_geti(a, "drift-detection-interval-seconds", NULL) < 3600) {
        return tp_err(p, 422, "drift-detection-interval-seconds must be at "
                      "least 3600");
    }
    if ((err = tp_attr_int(p, a, "drift-detection-interval-seconds", 3600,
                           31536000, &interval, &has)) != NULL) {
        return err;
    }
    in->drift_interval = has ? apr_psprintf(p, "%" APR_INT64_T_FMT,
                                            (apr_int64_t)interval) : NULL;
    if ((err = tp_attr_strings(p, a, "drift-ignore-rules", 50, 500, &rules,
                               &has)) != NULL) {
        return err;
    }
    in->drift_ignore_rules = has ? tp_json_dump(rules, p) : NULL;
    if (has && (err = tp_drift_rules_check(p, tp_json_text_strings(
                          p, in->drift_ignore_rules))) != NULL) {
        return err;
    }
    if (tp_json_type(a, "labels", NULL) != TP_JSON_ABSENT) {
        in->labels_json = tp_json_get(a, "labels", NULL);
        if ((err = tp_labels_check(p, in->labels_json, "labels", 1)) != NULL) {
            return err;
        }
        in->labels = tp_json_dump(in->labels_json, p);
    }
    if ((err = tp_attr_bool(p, a, "force", &in->force, &has)) != NULL
        || (err = parse_settings(p, a, in)) != NULL) {
        return err;
    }
    in->vcs_set = "false";
    switch (tp_json_type(body, "data", "relationships", "vcs-connection",
                         "data", NULL)) {
    case TP_JSON_NULL:
        in->vcs_set = "true";
        break;
    case TP_JSON_OBJECT:
        bind_connection(in, tp_json_gets(body, "data", "relationships",
                                         "vcs-connection", "data", "id",
                                         NULL));
        if (!in->vcs_connection_id) {
            return tp_err(p, 422, "vcs-connection needs an id");
        }
        break;
    default:
        break;
    }
    if ((err = parse_vcs_repo(p, a, in)) != NULL
        || (err = parse_project(p, body, in)) != NULL) {
        return err;
    }
    return parse_pool(p, body, a, in);
}

static tp_err_t *apply_input(tp_db_t *db, apr_pool_t *p, const char *id,
                             const ws_input_t *in)
{
    tp_rows_t *rows;
    tp_err_t *err;

    if (in->name) {
        err = tp_db_exec(db, p, &SQL_WS_NAME_TAKEN, &rows,
                         TP_DB_ARGS(in->name, id));
        if (err) {
            return err;
        }
        if (rows->nrows) {
            return tp_err(p, 422, "name \"%s\" has already been taken",
                          in->name);
        }
    }
    return tp_db_exec(db, p, &SQL_WS_UPDATE, NULL,
        TP_DB_ARGS(in->name, in->description, in->execution_mode,
                   in->auto_apply, in->terraform_version,
                   in->execution_backend, in->working_directory,
                   in->resource_cpu, in->resource_memory, in->labels,
                   in->vcs_repo_url, in->vcs_branch, in->vcs_set,
                   in->vcs_connection_id, in->pool_set, in->agent_pool_id,
                   in->project_id, in->drift_enabled,
                   in->drift_interval, in->drift_ignore_rules, in->ai_mode,
                   in->ai_context, in->flags[0], in->flags[1], in->flags[2],
                   in->flags[3], in->flags[4], in->trigger_prefixes, id));
}

/* A workspace's repository must be one of its connection's host: checked
 * when either changes (the identifier of a vcs-repo becomes the URL on
 * that host). An unbound workspace keeps what it is sent. ws is NULL on
 * create. */
static tp_err_t *check_vcs(tp_db_t *db, apr_pool_t *p, const tp_ws_t *ws,
                           ws_input_t *in)
{
    int setting = strcmp(in->vcs_set, "true") == 0;
    const char *conn = setting ? in->vcs_connection_id
                       : ws ? tp_row(ws->row, 0, "vcs_connection_id") : NULL;
    const char *url, *server, *owner, *name;
    tp_err_t *err;
    int provider;

    if (!conn) {
        return in->vcs_identifier
               ? tp_err(p, 422, "vcs-repo.identifier needs a VCS connection: "
                        "oauth-token-id, github-app-installation-id or "
                        "relationships.vcs-connection")
               : NULL;
    }
    if ((err = tp_vcs_connection_kind(db, p, conn, &provider, &server))
        != NULL) {
        return err;
    }
    if (in->vcs_identifier) {
        in->vcs_repo_url = apr_pstrcat(p, tp_vcs_web_root(p, provider,
                                                          server),
                                       "/", in->vcs_identifier, NULL);
    }
    url = in->vcs_repo_url ? in->vcs_repo_url
          : ws ? tp_row(ws->row, 0, "vcs_repo_url") : "";
    if (*url && (setting || in->vcs_repo_url)
        && tp_vcs_repo_parse(p, provider, server, url, &owner, &name)
           != APR_SUCCESS) {
        return tp_err(p, 422, "vcs-repo-url %s is not a repository of VCS "
                      "connection %s: it must be %s/OWNER/NAME", url, conn,
                      tp_vcs_web_root(p, provider, server));
    }
    return NULL;
}

/* Tags sent the TFE way: relationships.tags (names) and
 * relationships.tag-bindings (key/value), merged into the labels. */
static tp_err_t *merge_tags(apr_pool_t *p, const tp_json_t *body,
                            ws_input_t *in)
{
    tp_json_t *tags = tp_json_get(body, "data", "relationships", "tags",
                                  "data", NULL);
    tp_json_t *bindings = tp_json_get(body, "data", "relationships",
                                      "tag-bindings", "data", NULL);
    tp_json_t *labels = in->labels_json ? in->labels_json : tp_json_object(p);
    apr_size_t i;
    int any = 0;

    for (i = 0; i < tp_json_len(tags); i++) {
        tp_json_t *t = tp_json_at(tags, i);
        const char *n = tp_json_gets(t, "attributes", "name", NULL);

        if (!n) {
            n = tp_json_gets(t, "id", NULL);
        }
        if (n) {
            tp_json_sets(labels, "", n, NULL);
            any = 1;
        }
    }
    for (i = 0; i < tp_json_len(bindings); i++) {
        tp_json_t *t = tp_json_at(bindings, i);
        const char *k = tp_json_gets(t, "attributes", "key", NULL);
        const char *v = tp_json_gets(t, "attributes", "value", NULL);

        if (k) {
            tp_json_sets(labels, v ? v : "", k, NULL);
            any = 1;
        }
    }
    if (any) {
        tp_err_t *err = tp_labels_check(p, labels, "labels", 1);

        if (err) {
            return err;
        }
        in->labels_json = labels;
        in->labels = tp_json_dump(labels, p);
    }
    return NULL;
}

/* A transaction in which the project the request names, if any, cannot
 * be deleted before the workspace is stored in it. */
static tp_err_t *begin_with_project(tp_db_t *db, apr_pool_t *p,
                                    const ws_input_t *in)
{
    tp_err_t *err = tp_db_begin(db, p);

    if (!err && in->project_id
        && (err = tp_project_hold(db, p, in->project_id)) != NULL) {
        tp_db_rollback(db);
    }
    return err;
}

/* Sending a workspace's runs to a pool needs write on that pool; a pool
 * the caller cannot see is no pool at all. */
static tp_err_t *check_pool(tp_req_t *req, const ws_input_t *in)
{
    tp_rows_t *rows;
    tp_err_t *err;

    if (!in->agent_pool_id) {
        return NULL;
    }
    err = tp_pool_require(req, in->agent_pool_id, TP_LEVEL_WRITE, &rows);
    if (err && err->status == 404) {
        return tp_err(req->r->pool, 422, "agent pool %s not found",
                      in->agent_pool_id);
    }
    return err;
}

tp_err_t *tp_api_workspace_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "ws");
    tp_json_t *body;
    ws_input_t in;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(p, body, &in)) != NULL
        || (err = merge_tags(p, body, &in)) != NULL
        || (err = check_pool(req, &in)) != NULL) {
        return err;
    }
    if (!in.name) {
        return tp_err(p, 422, "name is required");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = check_vcs(db, p, NULL, &in)) != NULL
        || (err = begin_with_project(db, p, &in)) != NULL
        || (err = tp_db_exec(db, p, &SQL_WS_INSERT, &rows,
                             TP_DB_ARGS(id, in.name, req->who->grants.email,
                                        in.project_id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        tp_db_rollback(db);
        return tp_err(p, 422, "name \"%s\" has already been taken", in.name);
    }
    in.name = in.project_id = NULL;   /* just inserted */
    if ((err = apply_input(db, p, id, &in)) != NULL
        || (err = tp_db_commit(db)) != NULL) {
        return err;
    }
    return send_fresh(req, 201, id);
}

/* Self-lockout protection: a label change that would lower the caller's
 * own level needs "force". Owners and admins keep admin whatever the
 * labels say, so they never trip it. */
static tp_err_t *check_lockout(tp_req_t *req, const tp_ws_t *ws,
                               const ws_input_t *in)
{
    tp_resource_t res;
    tp_level_e after;

    if (!in->labels_json || in->force) {
        return NULL;
    }
    res.name = in->name ? in->name : ws->name;
    res.owner_email = tp_row(ws->row, 0, "owner_email");
    res.labels = in->labels_json;
    after = tp_rbac_level(&req->who->grants, TP_AXIS_WORKSPACE, &res);
    if (after < ws->level) {
        return tp_err(req->r->pool, 409, "this label change would lower your "
                      "access to workspace %s from %s to %s; send it again "
                      "with \"force\": true to confirm", ws->name,
                      tp_level_name(ws->level), tp_level_name(after));
    }
    return NULL;
}

tp_err_t *tp_api_workspace_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body;
    ws_input_t in;
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = route_ws(req, &ws)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(p, body, &in)) != NULL
        || (err = check_lockout(req, ws, &in)) != NULL
        || (err = check_pool(req, &in)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = check_vcs(db, p, ws, &in)) != NULL
        || (err = begin_with_project(db, p, &in)) != NULL
        || (err = apply_input(db, p, ws->id, &in)) != NULL
        || (err = tp_db_commit(db)) != NULL) {
        return err;
    }
    return send_fresh(req, 200, ws->id);
}

static tp_err_t *delete_ws(tp_req_t *req, tp_ws_t *ws)
{
    tp_db_t *db;
    tp_err_t *err;
    int remove;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_backup_delete(db, req->r->pool, &SQL_WS_DELETE,
                                   TP_DB_ARGS(ws->id), &remove)) != NULL) {
        return err;
    }
    if (remove) {
        /* stored objects go with it; the rows are already gone */
        tp_storage_remove_tree(&req->conf->storage, req->r->pool,
                               apr_pstrcat(req->r->pool, "state/", ws->id,
                                           NULL));
        tp_storage_remove_tree(&req->conf->storage, req->r->pool,
                               apr_pstrcat(req->r->pool, "config/", ws->id,
                                           NULL));
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP01501: "
                      "workspace %s deleted while a backup runs: its files "
                      "stay in storage", ws->id);
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

tp_err_t *tp_api_workspace_delete(tp_req_t *req)
{
    tp_ws_t *ws;
    tp_err_t *err = route_ws(req, &ws);

    return err ? err : delete_ws(req, ws);
}

/* Refuses a workspace whose current state manages resources; a state too
 * large to have been counted counts as managing some. */
tp_err_t *tp_api_workspace_safe_delete(tp_req_t *req)
{
    tp_ws_t *ws;
    tp_err_t *err = route_ws(req, &ws);
    const char *sv, *count;

    if (err) {
        return err;
    }
    sv = tp_row(ws->row, 0, "current_state_version_id");
    count = tp_row(ws->row, 0, "resource_count");
    if (sv && (!count || apr_atoi64(count) > 0)) {
        return tp_err(req->r->pool, 409, "workspace %s has state with "
                      "resources; destroy them first, or delete without "
                      "safe-delete", ws->name);
    }
    return delete_ws(req, ws);
}

/* ---- locks ---- */

tp_err_t *tp_api_workspace_lock(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *reason = "";
    tp_json_t *body = NULL;
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err;
    int has;

    if ((err = route_ws(req, &ws)) != NULL) {
        return err;
    }
    /* the body is optional: {"reason": "..."}, plain or as attributes */
    if (tp_has_body(req)) {
        tp_json_t *a;

        if ((err = tp_read_json(req, &body)) != NULL) {
            return err;
        }
        a = tp_json_type(body, "data", NULL) == TP_JSON_OBJECT
            ? tp_json_get(body, "data", "attributes", NULL) : body;
        if ((err = tp_attr_string(p, a, "reason", 1000, &reason, &has))
            != NULL) {
            return err;
        }
        if (!has) {
            reason = "";
        }
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_exec(db, p, &SQL_WS_LOCK, &rows,
                             TP_DB_ARGS(req->who->grants.email, reason,
                                        ws->id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "workspace %s is already locked by %s",
                      ws->name, tp_row(ws->row, 0, "lock_holder")
                                ? tp_row(ws->row, 0, "lock_holder")
                                : "another holder");
    }
    return send_ws(req, 200, ws_of(req, rows));
}

/* Unlock by the holder (holder != NULL) or by force (holder NULL). */
static tp_err_t *unlock(tp_req_t *req, int force)
{
    apr_pool_t *p = req->r->pool;
    const char *me = req->who->grants.email;
    const char *held_by;
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err;
    int promoted = 0;

    if ((err = route_ws(req, &ws)) != NULL
        || (err = tp_req_db(req, &db)) != NULL) {
        return err;
    }
    if ((err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_WS_UNLOCK, &rows,
                             TP_DB_ARGS(ws->id, force ? NULL : me,
                                        force ? NULL : me))) != NULL
        /* a run waiting for the workspace takes it at once */
        || (rows->nrows && (err = tp_run_promote_next(db, p, ws->id,
                                                      &promoted)) != NULL)
        || (err = tp_db_commit(db)) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if (rows->nrows == 0) {
        held_by = tp_row(ws->row, 0, "lock_holder");
        if (!held_by) {
            return tp_err(p, 409, "workspace %s is not locked", ws->name);
        }
        return tp_err(p, 409, "workspace %s is locked by %s; only the holder "
                      "can unlock it (or force-unlock it as an admin)",
                      ws->name, held_by);
    }
    /* the unlocked row, unless a run has taken the lock since */
    return promoted ? send_fresh(req, 200, ws->id)
                    : send_ws(req, 200, ws_of(req, rows));
}

tp_err_t *tp_api_workspace_unlock(tp_req_t *req)
{
    return unlock(req, 0);
}

tp_err_t *tp_api_workspace_force_unlock(tp_req_t *req)
{
    return unlock(req, 1);
}
