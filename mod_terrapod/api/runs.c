/* Runs, their plan and apply phases, and the phase logs. A workspace runs
 * one non-speculative run at a time, holding its lock; the others wait in
 * "pending" and are promoted in order when it ends. Agents (listeners)
 * move runs through planning and applying; people confirm, discard and
 * cancel them here. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_run.h"
#include "../tp_runs.h"
#include "../tp_log.h"
#include "../tp_drift_check.h"

#define LOG_TTL apr_time_from_sec(24 * 3600)

#define RUN_COLUMNS \
    "r.id, r.plan_id, r.apply_id, r.workspace_id," \
    " r.configuration_version_id, r.status, r.plan_status, r.apply_status," \
    " r.message, r.source, r.trigger_reason, r.terraform_version," \
    " r.is_destroy, r.auto_apply," \
    " r.plan_only, r.is_drift_detection," \
    " r.refresh, r.refresh_only, r.allow_empty_apply, r.save_plan," \
    " r.target_addrs::text AS target_addrs," \
    " r.replace_addrs::text AS replace_addrs, r.vcs_ref, r.has_changes," \
    " r.error_message, r.created_by, r.created_state_version_id," \
    " r.triggered_by_run_id," \
    " r.status_timestamps::text AS status_timestamps," \
    " r.peak_memory_bytes, r.peak_cpu_usec, r.exit_code," \
    " r.plan_additions, r.plan_changes, r.plan_destructions, r.plan_imports," \
    " r.apply_additions, r.apply_changes, r.apply_destructions," \
    " r.apply_imports, r.plan_execution::text AS plan_execution," \
    " r.apply_execution::text AS apply_execution," \
    " tp_ts(r.created_at) AS created_at," \
    " r.artifacts_removed_at IS NOT NULL AS artifacts_removed," \
    " (SELECT u.id FROM users u WHERE u.email = r.created_by)" \
    "   AS created_by_id," \
    " (SELECT u.id FROM users u WHERE u.email = r.confirmed_by)" \
    "   AS confirmed_by_id"
/* runs with the workspace columns include= decides access on */
#define RUN_WITH_WS(column) \
    "SELECT " RUN_COLUMNS "," TP_WS_ACCESS_COLUMNS \
    "  FROM runs r JOIN workspaces w ON w.id = r.workspace_id" \
    " WHERE" TP_AMONG_KEYS(column)

static const tp_stmt_t SQL_RUN_GET = {"run_get",
    "SELECT " RUN_COLUMNS " FROM runs r WHERE r.id = %s"};
static const tp_stmt_t SQL_RUN_BY_PHASE = {"run_by_phase",
    "SELECT " RUN_COLUMNS " FROM runs r WHERE r.plan_id = %s"
    " OR r.apply_id = %s"};
static const tp_stmt_t SQL_RUN_LIST = {"run_list",
    "SELECT " RUN_COLUMNS ", count(*) OVER () AS total FROM runs r"
    " WHERE r.workspace_id = %s ORDER BY r.seq DESC"
    " LIMIT %s::bigint OFFSET %s::bigint"};
/* active runs for the queue view, with what visibility is decided on */
static const tp_stmt_t SQL_RUN_QUEUE = {"run_queue",
    "SELECT " RUN_COLUMNS ", w.name, w.owner_email, w.labels::text AS labels"
    "  FROM runs r JOIN workspaces w ON w.id = r.workspace_id"
    " WHERE r.status IN ('pending', 'plan_queued', 'planning', 'confirmed',"
    "                    'apply_queued', 'applying')"
    " ORDER BY r.seq"};
/* TFE's operation of a run, as filter[operation] names it */
#define RUN_OPERATION \
    "CASE WHEN r.save_plan THEN 'save_plan'" \
    "     WHEN r.refresh_only THEN 'refresh_only'" \
    "     WHEN r.is_destroy THEN 'destroy'" \
    "     WHEN r.plan_only THEN 'plan_only'" \
    "     WHEN r.allow_empty_apply THEN 'empty_apply'" \
    "     ELSE 'plan_and_apply' END"
/* %s::jsonb: NULL, or the list the column must be in */
#define IN_LIST(column) \
    " AND (%s::jsonb IS NULL OR " column \
    "      IN (SELECT jsonb_array_elements_text(%s::jsonb)))"
/* the runs of every workspace the caller may read, newest first */
static const tp_stmt_t SQL_ORG_RUNS = {"org_runs",
    TP_WS_RULES "SELECT " RUN_COLUMNS "," TP_WS_ACCESS_COLUMNS ","
    " count(*) OVER () AS total"
    "  FROM runs r JOIN workspaces w ON w.id = r.workspace_id"
    " WHERE true" IN_LIST("w.name") IN_LIST("r.status") IN_LIST("r.status")
    IN_LIST(RUN_OPERATION) IN_LIST("r.source")
    "   AND (%s::text IS NULL OR strpos(lower(concat_ws(' ', r.id, r.message,"
    "        r.vcs_ref, r.created_by)), lower(%s)) > 0)"
    TP_WS_VISIBLE
    " ORDER BY r.seq DESC LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_RUN_COUNTS = {"run_counts",
    "SELECT count(*) FILTER (WHERE status IN ('pending', 'plan_queued',"
    "                                         'apply_queued')) AS pending,"
    "       count(*) FILTER (WHERE status IN ('planning', 'applying'))"
    "         AS running"
    "  FROM runs WHERE status NOT IN ('planned_and_finished', 'applied',"
    "                                 'discarded', 'errored', 'canceled')"};

static const tp_stmt_t SQL_WS_MODE = {"run_ws_mode",
    "SELECT execution_mode FROM workspaces WHERE id = %s"};

static const tp_stmt_t SQL_RETRY_SOURCE = {"run_retry_source",
    "SELECT workspace_id, configuration_version_id, message, is_destroy,"
    "       auto_apply, plan_only, refresh, refresh_only, allow_empty_apply,"
    "       save_plan, target_addrs::text AS target_addrs,"
    "       replace_addrs::text AS replace_addrs, variables::text AS variables,"
    "       vcs_ref"
    "  FROM runs WHERE id = %s"};

/* ---- rendering ---- */

static const tp_attr_t RUN_ATTRS[] = {
    {"status", "status", TP_ATTR_STRING},
    {"message", "message", TP_ATTR_STRING},
    {"source", "source", TP_ATTR_STRING},
    {"trigger-reason", "trigger_reason", TP_ATTR_STRING},
    {"terraform-version", "terraform_version", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"created-by", "created_by", TP_ATTR_STRING},
    {"vcs-ref", "vcs_ref", TP_ATTR_STRING},
    {"error-message", "error_message", TP_ATTR_STRING},
    {"is-destroy", "is_destroy", TP_ATTR_BOOL},
    {"auto-apply", "auto_apply", TP_ATTR_BOOL},
    {"plan-only", "plan_only", TP_ATTR_BOOL},
    {"refresh", "refresh", TP_ATTR_BOOL},
    {"refresh-only", "refresh_only", TP_ATTR_BOOL},
    {"allow-empty-apply", "allow_empty_apply", TP_ATTR_BOOL},
    {"save-plan", "save_plan", TP_ATTR_BOOL},
    {"is-drift-detection", "is_drift_detection", TP_ATTR_BOOL},
    {"has-changes", "has_changes", TP_ATTR_BOOL},
    {"target-addrs", "target_addrs", TP_ATTR_JSON},
    {"replace-addrs", "replace_addrs", TP_ATTR_JSON},
    {"status-timestamps", "status_timestamps", TP_ATTR_JSON},
    {NULL, NULL, 0}
};

static const tp_rel_t RUN_RELS[] = {
    {"workspace", "workspaces", TP_REL_ONE, "workspace_id"},
    {"configuration-version", "configuration-versions", TP_REL_ONE,
     "configuration_version_id"},
    {"plan", "plans", TP_REL_ONE, "plan_id"},
    {"apply", "applies", TP_REL_ONE, "apply_id"},
    {"created-state-version", "state-versions", TP_REL_ONE,
     "created_state_version_id"},
    {"created-by", "users", TP_REL_ONE, "created_by_id"},
    {"confirmed-by", "users", TP_REL_ONE, "confirmed_by_id"},
    /* the source's run whose apply a run trigger queued this one for */
    {"triggered-by-run", "runs", TP_REL_ONE, "triggered_by_run_id"},
    {"run-events", "run-events", TP_REL_MANY, NULL,
     "/api/v2/runs/%s/run-events"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t RUN_DESC = {
    "runs", NULL, "/api/v2/runs/%s", RUN_ATTRS, RUN_RELS
};

/* What the runner reported about its resources, and the typed outcome
 * the UI keys on: "" until an exit code is known, then clean, killed (by
 * a signal: 128 + its number) or error. */
static void set_profile(tp_json_t *r, const tp_rows_t *rows, int i)
{
    static const char *const ints[][2] = {
        {"peak_memory_bytes", "peak-memory-bytes"},
        {"peak_cpu_usec", "peak-cpu-usec"}, {"exit_code", "runner-exit-code"},
        {NULL, NULL}
    };
    const char *code = tp_row(rows, i, "exit_code");
    int k;

    for (k = 0; ints[k][0]; k++) {
        const char *v = tp_row(rows, i, ints[k][0]);

        if (v) {
            tp_json_seti(r, apr_atoi64(v), "attributes", ints[k][1], NULL);
        }
        else {
            tp_json_setnull(r, "attributes", ints[k][1], NULL);
        }
    }
    tp_json_sets(r, "", "attributes", "runner-exit-reason", NULL);
    tp_json_sets(r, !code ? "" : atoi(code) == 0 ? "clean"
                    : atoi(code) > 128 ? "killed" : "error",
                 "attributes", "runner-exit-status", NULL);
}

static tp_json_t *run_resource(apr_pool_t *p, const tp_rows_t *rows, int i,
                               tp_level_e lvl)
{
    const char *status = tp_row(rows, i, "status");
    tp_json_t *r = tp_resource_render(p, &RUN_DESC, rows, i);
    int plan_only = tp_row_bool(rows, i, "plan_only");

    set_profile(r, rows, i);
    tp_json_setb(r, tp_run_allows(status, TP_RUN_CANCEL), "attributes",
                 "actions", "is-cancelable", NULL);
    tp_json_setb(r, !plan_only && tp_run_allows(status, TP_RUN_APPLY),
                 "attributes", "actions", "is-confirmable", NULL);
    tp_json_setb(r, tp_run_allows(status, TP_RUN_DISCARD), "attributes",
                 "actions", "is-discardable", NULL);
    tp_json_setb(r, tp_run_allows(status, TP_RUN_FORCE_CANCEL), "attributes",
                 "actions", "is-force-cancelable", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_WRITE, "attributes", "permissions",
                 "can-apply", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_PLAN, "attributes", "permissions",
                 "can-cancel", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_WRITE, "attributes", "permissions",
                 "can-discard", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                 "can-force-cancel", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                 "can-force-execute", NULL);
    return r;
}

/* A run for include=, at the caller's level on its workspace. */
static tp_json_t *run_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    tp_level_e lvl = tp_row_ws_level(req, rows, i);

    return lvl < TP_LEVEL_READ ? NULL
                               : run_resource(req->r->pool, rows, i, lvl);
}

static const tp_stmt_t SQL_RUNS_BY_ID = {"runs_by_id", RUN_WITH_WS("r.id")};

const tp_type_t tp_type_runs = {&RUN_DESC, &SQL_RUNS_BY_ID, NULL,
                                run_include};

/* A run and the caller's level on its workspace; 404 when either is
 * missing or unreadable, 403 below need. */
static tp_err_t *load_run(tp_req_t *req, const tp_stmt_t *stmt,
                          const char *key, tp_level_e need, tp_rows_t **rows,
                          tp_ws_t **ws)
{
    /* by phase, the key is matched against the plan id and the apply id */
    const char *args[] = {key, key};
    tp_err_t *err = tp_req_exec(req, stmt, rows,
                                stmt == &SQL_RUN_BY_PHASE ? 2 : 1, args);

    return err ? err : tp_ws_owner(req, *rows, need, "", key, ws);
}

static tp_err_t *send_run(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_run(req, &SQL_RUN_GET, id, TP_LEVEL_READ, &rows,
                             &ws);

    if (err) {
        return err;
    }
    return tp_send_json(req, status,
                        tp_jsonapi_doc(req->r->pool,
                                       run_resource(req->r->pool, rows, 0,
                                                    ws->level)));
}

tp_err_t *tp_api_run_show(tp_req_t *req)
{
    /* include= asks for related documents; unknown ones are ignored, and
     * the relationships carry the ids clients follow */
    return send_run(req, 200, tp_param(&req->params, "id"));
}

static tp_json_t *run_render(tp_req_t *req, const tp_rows_t *rows, int i)
{
    tp_ws_t *ws = req->ctx;

    return run_resource(req->r->pool, rows, i, ws->level);
}

tp_err_t *tp_api_run_list(tp_req_t *req)
{
    tp_ws_t *ws;
    tp_err_t *err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws);

    if (err) {
        return err;
    }
    req->ctx = ws;
    return tp_send_page(req, &SQL_RUN_LIST, TP_DB_ARGS(ws->id), run_render);
}

/* ---- create ---- */


static tp_err_t *string_list(apr_pool_t *p, const tp_json_t *a,
                             const char *name, const char **out)
{
    tp_json_t *list;
    int has;
    tp_err_t *err = tp_attr_strings(p, a, name, 1000, 1000, &list, &has);

    *out = has ? tp_json_dump(list, p) : "[]";
    return err;
}

/* variables: [{"key": "k", "value": "v"}] with HCL values as strings */
static tp_err_t *run_variables(apr_pool_t *p, const tp_json_t *a,
                               const char **out)
{
    tp_json_t *vars = tp_json_get(a, "variables", NULL);
    apr_size_t i;

    *out = "[]";
    if (!vars || tp_json_type(vars, NULL) == TP_JSON_NULL) {
        return NULL;
    }
    if (tp_json_type(vars, NULL) != TP_JSON_ARRAY || tp_json_len(vars) > 500) {
        return tp_err(p, 422, "variables must be a list of at most 500 "
                      "{key, value} objects");
    }
    for (i = 0; i < tp_json_len(vars); i++) {
        tp_json_t *v = tp_json_at(vars, i);

        if (!tp_json_gets(v, "key", NULL) || !tp_json_gets(v, "value", NULL)) {
            return tp_err(p, 422, "each run variable needs a string key and "
                          "value");
        }
    }
    *out = tp_json_dump(vars, p);
    return NULL;
}

static tp_err_t *parse_run(apr_pool_t *p, const tp_json_t *body,
                           tp_run_spec_t *in, const char **ws_id)
{
    tp_json_t *a;
    tp_err_t *err;
    int has;

    memset(in, 0, sizeof(*in));
    in->refresh = 1;
    if ((err = tp_jsonapi_attributes(p, body, "runs", &a)) != NULL
        || (err = tp_attr_string(p, a, "message", 2000, &in->message, &has))
           != NULL
        || (err = tp_attr_string(p, a, "vcs-ref", 255, &in->vcs_ref, &has))
           != NULL
        || (err = tp_attr_bool(p, a, "is-destroy", &in->is_destroy, &has))
           != NULL
        || (err = tp_attr_bool(p, a, "auto-apply", &in->auto_apply,
                               &in->has_auto_apply)) != NULL
        || (err = tp_attr_bool(p, a, "plan-only", &in->plan_only, &has))
           != NULL
        || (err = tp_attr_bool(p, a, "refresh", &in->refresh, &has)) != NULL
        || (err = tp_attr_bool(p, a, "refresh-only", &in->refresh_only, &has))
           != NULL
        || (err = tp_attr_bool(p, a, "allow-empty-apply",
                               &in->allow_empty_apply, &has)) != NULL
        || (err = tp_attr_bool(p, a, "save-plan", &in->save_plan, &has))
           != NULL
        || (err = string_list(p, a, "target-addrs", &in->target_addrs))
           != NULL
        || (err = string_list(p, a, "replace-addrs", &in->replace_addrs))
           != NULL
        || (err = run_variables(p, a, &in->variables)) != NULL) {
        return err;
    }
    *ws_id = tp_json_gets(body, "data", "relationships", "workspace", "data",
                          "id", NULL);
    if (!*ws_id) {
        return tp_err(p, 422, "relationships.workspace.data.id is required");
    }
    in->cv_id = tp_json_gets(body, "data", "relationships",
                             "configuration-version", "data", "id", NULL);
    if (!in->message) in->message = "";
    if (!in->vcs_ref) in->vcs_ref = "";
    return NULL;
}

/* A run asked for without a configuration version runs the workspace's
 * repository when it has one, else its newest upload. */
static tp_err_t *create_run(tp_req_t *req, const char *ws_id,
                            tp_run_spec_t *in, const char **id)
{
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err = tp_ws_require(req, ws_id, TP_LEVEL_READ, &ws);

    if (err || (!in->cv_id && (err = tp_ws_vcs_run_config(req, ws, in))
                              != NULL)
        || (err = tp_req_db(req, &db)) != NULL) {
        return err;
    }
    in->level = ws->level;
    return tp_run_create(db, req->r->pool, ws->id, in,
                         req->who->grants.email, id);
}

tp_err_t *tp_run_queue_for_cv(tp_req_t *req, const char *ws_id,
                              const char *cv_id, const char *created_by)
{
    const char *id;
    tp_run_spec_t in;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err = tp_req_exec(req, &SQL_WS_MODE, &rows, TP_DB_ARGS(ws_id));

    /* nothing would ever run it in a local-execution workspace, where it
     * would only hold the lock */
    if (err || rows->nrows == 0
        || strcmp(tp_row(rows, 0, "execution_mode"), "local") == 0) {
        return err;
    }
    memset(&in, 0, sizeof(in));
    in.refresh = 1;
    in.cv_id = cv_id;
    in.message = "Queued automatically after the configuration upload";
    in.vcs_ref = "";
    in.target_addrs = in.replace_addrs = in.variables = "[]";
    /* whoever created the version had write on the workspace */
    in.level = TP_LEVEL_WRITE;
    return (err = tp_req_db(req, &db)) != NULL
           ? err : tp_run_create(db, req->r->pool, ws_id, &in, created_by,
                                 &id);
}

tp_err_t *tp_api_run_create(tp_req_t *req)
{
    const char *ws_id, *id;
    tp_json_t *body;
    tp_run_spec_t in;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = parse_run(req->r->pool, body, &in, &ws_id)) != NULL
        || (err = create_run(req, ws_id, &in, &id)) != NULL) {
        return err;
    }
    return send_run(req, 201, id);
}

/* A new run with the settings of a finished one. */
tp_err_t *tp_api_run_retry(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id"), *new_id;
    tp_run_spec_t in;
    tp_rows_t *run, *src;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = load_run(req, &SQL_RUN_GET, id, TP_LEVEL_PLAN, &run, &ws))
        != NULL) {
        return err;
    }
    if (!tp_run_final(tp_row(run, 0, "status"))) {
        return tp_err(p, 409, "run %s has not finished", id);
    }
    if ((err = tp_req_exec(req, &SQL_RETRY_SOURCE, &src, TP_DB_ARGS(id)))
        != NULL) {
        return err;
    }
    memset(&in, 0, sizeof(in));
    in.cv_id = tp_row(src, 0, "configuration_version_id");
    in.message = apr_pstrcat(p, "Retry of ", id, NULL);
    in.vcs_ref = tp_row(src, 0, "vcs_ref");
    in.is_destroy = tp_row_bool(src, 0, "is_destroy");
    in.auto_apply = tp_row_bool(src, 0, "auto_apply");
    in.has_auto_apply = 1;
    in.plan_only = tp_row_bool(src, 0, "plan_only");
    in.refresh = tp_row_bool(src, 0, "refresh");
    in.refresh_only = tp_row_bool(src, 0, "refresh_only");
    in.allow_empty_apply = tp_row_bool(src, 0, "allow_empty_apply");
    in.save_plan = tp_row_bool(src, 0, "save_plan");
    in.target_addrs = tp_row(src, 0, "target_addrs");
    in.replace_addrs = tp_row(src, 0, "replace_addrs");
    in.variables = tp_row(src, 0, "variables");
    if ((err = create_run(req, ws->id, &in, &new_id)) != NULL) {
        return err;
    }
    return send_run(req, 201, new_id);
}

/* POST /workspaces/{id}/actions/check-drift: a drift run now, whatever
 * the workspace's interval (admin on it: a check costs a plan). */
tp_err_t *tp_api_workspace_check_drift(tp_req_t *req)
{
    const char *run_id;
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_drift_queue(db, req->r->pool, ws->id,
                                 req->who->grants.email, &run_id)) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02051: %s asked for "
                  "a drift check of workspace %s: run %s",
                  req->who->grants.email, ws->name, run_id);
    return send_run(req, 201, run_id);
}

/* ---- actions ---- */

/* A planned run goes straight to the apply queue (it holds the workspace
 * already); a saved plan is what `terraform apply saved.tfplan` applies. */
static tp_err_t *confirm(tp_db_t *db, apr_pool_t *p, const char *id,
                         const char *ws_id, const char *status,
                         const char *actor)
{
    tp_err_t *err;

    if (strcmp(status, "planned_and_saved") == 0) {
        return tp_run_apply_saved(db, p, id, ws_id, actor);
    }
    if ((err = tp_db_begin(db, p)) != NULL
        || (err = tp_run_move(db, p, id, status, "confirmed", actor)) != NULL
        || (err = tp_run_move(db, p, id, "confirmed", "apply_queued", actor))
           != NULL) {
        tp_db_rollback(db);
        return err;
    }
    return tp_db_commit(db);
}

static tp_err_t *act(tp_req_t *req, tp_run_action_e action, tp_level_e need)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    const char *me = req->who->grants.email;
    const char *status, *ws_id;
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = load_run(req, &SQL_RUN_GET, id, need, &rows, &ws)) != NULL) {
        return err;
    }
    /* the body may be {} or {"comment": "..."}; nothing in it matters */
    if (tp_has_body(req)) {
        tp_json_t *body;

        if ((err = tp_read_json(req, &body)) != NULL) {
            return err;
        }
    }
    status = tp_row(rows, 0, "status");
    ws_id = tp_row(rows, 0, "workspace_id");
    if (!tp_run_allows(status, action)
        || (action == TP_RUN_APPLY && tp_row_bool(rows, 0, "plan_only"))) {
        return tp_err(p, 409, "run %s is %s; that action is not possible now",
                      id, status);
    }
    if ((err = tp_req_db(req, &db)) != NULL) {
        return err;
    }
    if (action == TP_RUN_APPLY) {
        if ((err = confirm(db, p, id, ws_id, status, me)) != NULL) {
            return err;
        }
    }
    else if (action == TP_RUN_CANCEL && (strcmp(status, "planning") == 0
                                         || strcmp(status, "applying") == 0)) {
        /* terraform is running on a listener: it learns of the cancel by
         * polling, interrupts terraform, uploads what it has (a partial
         * apply's state included) and reports the run canceled; the
         * reconciler ends it if the listener is gone. The canceled
         * event the listener's report records names who asked. */
        if ((err = tp_run_stop(db, p, id, ws_id, status, me)) != NULL) {
            return err;
        }
    }
    else if ((err = tp_run_finish(db, p, id, ws_id, status,
                                  tp_run_after(action), me)) != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_ACCEPTED);
}

/* The runs a pending run waits behind in its workspace (plan-only ones
 * and saved plans nobody applied hold nothing), the waiting ones first:
 * ending those cannot hand the workspace to one of them. */
static const tp_stmt_t SQL_RUNS_AHEAD = {"runs_ahead",
    "SELECT r.id, r.status FROM runs r JOIN runs me ON me.id = %s"
    " WHERE r.workspace_id = me.workspace_id AND r.seq < me.seq"
    "   AND NOT r.plan_only AND r.status <> 'planned_and_saved'"
    "   AND r.status IN (SELECT jsonb_array_elements_text(%s::jsonb))"
    " ORDER BY r.status = 'pending' DESC, r.seq"};

/* POST runs/{id}/actions/force-execute: a pending run goes next, the runs
 * ahead of it ended; it starts once the workspace is free. */
tp_err_t *tp_api_run_force_execute(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    const char *const *moving = tp_run_status_group("non_final");
    tp_json_t *statuses = tp_json_array(p);
    tp_rows_t *rows, *ahead;
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err;
    int i;

    if ((err = load_run(req, &SQL_RUN_GET, id, TP_LEVEL_ADMIN, &rows, &ws))
        != NULL) {
        return err;
    }
    if (strcmp(tp_row(rows, 0, "status"), "pending") != 0) {
        return tp_err(p, 409, "run %s is %s; only a pending run can be "
                      "force-executed", id, tp_row(rows, 0, "status"));
    }
    for (; *moving; moving++) {
        tp_json_pushs(statuses, *moving);
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RUNS_AHEAD, &ahead,
                             TP_DB_ARGS(id, tp_json_dump(statuses, p))))
           != NULL) {
        return err;
    }
    for (i = 0; i < ahead->nrows; i++) {
        if ((err = tp_run_stop(db, p, tp_row(ahead, i, "id"), ws->id,
                               tp_row(ahead, i, "status"),
                               req->who->grants.email)) != NULL) {
            return err;
        }
    }
    return tp_send_empty(req, HTTP_ACCEPTED);
}

tp_err_t *tp_api_run_apply(tp_req_t *req)
{
    return act(req, TP_RUN_APPLY, TP_LEVEL_WRITE);
}

tp_err_t *tp_api_run_discard(tp_req_t *req)
{
    return act(req, TP_RUN_DISCARD, TP_LEVEL_WRITE);
}

tp_err_t *tp_api_run_cancel(tp_req_t *req)
{
    return act(req, TP_RUN_CANCEL, TP_LEVEL_PLAN);
}

tp_err_t *tp_api_run_force_cancel(tp_req_t *req)
{
    return act(req, TP_RUN_FORCE_CANCEL, TP_LEVEL_ADMIN);
}

/* ---- what the CLI polls while it waits ---- */

tp_err_t *tp_api_run_task_stages(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_run(req, &SQL_RUN_GET, tp_param(&req->params, "id"),
                             TP_LEVEL_READ, &rows, &ws);

    /* no run tasks run here; an empty list keeps the CLI going */
    return err ? err : tp_send_json(req, 200,
                                    tp_jsonapi_doc(req->r->pool,
                                                   tp_json_array(req->r->pool)));
}

/* A comma-separated filter as a JSON list (NULL when absent); with
 * allowed, every entry must be one of them. */
static tp_err_t *filter_list(tp_req_t *req, const char *name,
                             const char *const *allowed, const char **out)
{
    apr_pool_t *p = req->r->pool;
    const char *v = tp_query_arg(req, name);
    tp_json_t *list = tp_json_array(p);
    char *item, *last;

    *out = NULL;
    if (!v) {
        return NULL;
    }
    for (item = apr_strtok(apr_pstrdup(p, v), ",", &last); item;
         item = apr_strtok(NULL, ",", &last)) {
        const char *const *a = allowed;

        apr_collapse_spaces(item, item);
        while (a && *a && strcmp(*a, item) != 0) {
            a++;
        }
        if (allowed && !*a) {
            return tp_err(p, 400, "%s: unknown value \"%s\"", name, item);
        }
        tp_json_pushs(list, item);
    }
    *out = tp_json_dump(list, p);
    return NULL;
}

/* The statuses of filter[status_group] as a JSON list, NULL without one. */
static tp_err_t *status_group(tp_req_t *req, const char **out)
{
    apr_pool_t *p = req->r->pool;
    const char *group = tp_query_arg(req, "filter[status_group]");
    const char *const *statuses = group ? tp_run_status_group(group) : NULL;
    tp_json_t *list = tp_json_array(p);

    *out = NULL;
    if (!group) {
        return NULL;
    }
    if (!statuses) {
        return tp_err(p, 400, "filter[status_group] must be non_final, "
                      "final or discardable");
    }
    for (; *statuses; statuses++) {
        tp_json_pushs(list, *statuses);
    }
    *out = tp_json_dump(list, p);
    return NULL;
}

static tp_json_t *run_listed(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return run_resource(req->r->pool, rows, i,
                        tp_row_ws_level(req, rows, i));
}

/* GET /organizations/{org}/runs: what the Backstage plugin and other
 * dashboards list, filtered as TFE filters it. */
tp_err_t *tp_api_organization_runs(tp_req_t *req)
{
    static const char *const operations[] = {
        "plan_only", "plan_and_apply", "save_plan", "refresh_only",
        "destroy", "empty_apply", NULL
    };
    const char *names, *statuses, *group, *ops, *sources;
    const char *search = tp_query_arg(req, "search[basic]");
    tp_ws_visibility_t v;
    tp_err_t *err;

    if ((err = filter_list(req, "filter[workspace_names]", NULL, &names))
        || (err = filter_list(req, "filter[status]", NULL, &statuses))
        || (err = status_group(req, &group))
        || (err = filter_list(req, "filter[operation]", operations, &ops))
        || (err = filter_list(req, "filter[source]", NULL, &sources))) {
        return err;
    }
    v = tp_ws_visibility(req);
    return tp_send_page(req, &SQL_ORG_RUNS,
                        TP_DB_ARGS(v.rules, names, names, statuses, statuses,
                                   group, group, ops, ops, sources, sources,
                                   search, search, v.sees_all, v.owner),
                        run_listed);
}

tp_err_t *tp_api_run_queue(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc, *list = tp_json_array(p);
    tp_rows_t *rows;
    tp_page_t pg;
    long long total = 0;
    tp_err_t *err;
    int i;

    if ((err = tp_page_parse(p, tp_query_arg(req, "page[number]"),
                             tp_query_arg(req, "page[size]"), &pg)) != NULL
        || (err = tp_req_exec(req, &SQL_RUN_QUEUE, &rows, 0, NULL)) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        tp_level_e lvl = tp_row_level(req, rows, i, TP_AXIS_WORKSPACE);

        if (lvl < TP_LEVEL_READ) {
            continue;
        }
        if (total >= tp_page_offset(&pg)
            && total < tp_page_offset(&pg) + pg.size) {
            tp_json_push(list, run_resource(p, rows, i, lvl));
        }
        total++;
    }
    doc = tp_jsonapi_doc(p, list);
    tp_paginate(req, doc, &pg, total);
    return tp_send_json(req, 200, doc);
}

tp_err_t *tp_api_organization_capacity(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *c = tp_jsonapi_resource(p, "organization-capacity",
                                       TP_ORGANIZATION);
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_RUN_COUNTS, &rows, 0, NULL);

    if (err) {
        return err;
    }
    tp_json_seti(c, apr_atoi64(tp_row(rows, 0, "pending")), "attributes",
                 "pending", NULL);
    tp_json_seti(c, apr_atoi64(tp_row(rows, 0, "running")), "attributes",
                 "running", NULL);
    return tp_send_json(req, 200, tp_jsonapi_doc(p, c));
}

/* ---- plans, applies and their logs ---- */

/* Plans and applies are phases of a run: they render from its row. The
 * counts are null until known: a plan's once the runner stored its JSON,
 * an apply's once it ended with terraform's summary; execution-details
 * once a listener claimed the phase. */
static const tp_attr_t PLAN_ATTRS[] = {
    {"status", "plan_status", TP_ATTR_STRING},
    {"has-changes", "has_changes", TP_ATTR_BOOL},
    {"resource-additions", "plan_additions", TP_ATTR_INT},
    {"resource-changes", "plan_changes", TP_ATTR_INT},
    {"resource-destructions", "plan_destructions", TP_ATTR_INT},
    {"resource-imports", "plan_imports", TP_ATTR_INT},
    {"execution-details", "plan_execution", TP_ATTR_JSON},
    {NULL, NULL, 0}
};
static const tp_attr_t APPLY_ATTRS[] = {
    {"status", "apply_status", TP_ATTR_STRING},
    {"resource-additions", "apply_additions", TP_ATTR_INT},
    {"resource-changes", "apply_changes", TP_ATTR_INT},
    {"resource-destructions", "apply_destructions", TP_ATTR_INT},
    {"resource-imports", "apply_imports", TP_ATTR_INT},
    {"execution-details", "apply_execution", TP_ATTR_JSON},
    {NULL, NULL, 0}
};
static const tp_rel_t PHASE_RELS[] = {
    {"run", "runs", TP_REL_ONE, "id"},
    {NULL, NULL, 0, NULL}
};
static const tp_rel_t APPLY_RELS[] = {
    {"run", "runs", TP_REL_ONE, "id"},
    {"state-versions", "state-versions", TP_REL_MANY,
     "created_state_version_id", "/api/v2/applies/%s/state-versions"},
    {NULL, NULL, 0, NULL}
};
static const tp_type_desc_t PLAN_DESC = {
    "plans", "plan_id", "/api/v2/plans/%s", PLAN_ATTRS, PHASE_RELS
};
static const tp_type_desc_t APPLY_DESC = {
    "applies", "apply_id", "/api/v2/applies/%s", APPLY_ATTRS, APPLY_RELS
};

static tp_json_t *phase_resource(tp_req_t *req, const tp_rows_t *rows,
                                 int i, int apply)
{
    apr_pool_t *p = req->r->pool;
    const tp_type_desc_t *d = apply ? &APPLY_DESC : &PLAN_DESC;
    tp_json_t *r = tp_resource_render(p, d, rows, i);
    const char *id = tp_resource_id(d, rows, i);

    tp_json_sets(r, tp_capability_path_url(req, tp_resource_link(p,
                     apply ? "/api/v2/applies/%s/logs" : "/api/v2/plans/%s/logs",
                     id), "log", id, LOG_TTL),
                 "attributes", "log-read-url", NULL);
    tp_json_setj(r, tp_run_phase_timestamps(p,
                     tp_row_json(p, rows, i, "status_timestamps"), apply,
                     tp_row(rows, i, apply ? "apply_status" : "plan_status")),
                 "attributes", "status-timestamps", NULL);
    /* the counts are read from the JSON as it is stored */
    if (!apply && tp_row(rows, i, "plan_additions")) {
        tp_json_sets(r, tp_resource_link(p, "/api/v2/plans/%s/json-output",
                                         id), "links", "json-output", NULL);
    }
    return r;
}

static tp_json_t *phase_include(tp_req_t *req, const tp_rows_t *rows, int i,
                                int apply)
{
    return tp_row_ws_level(req, rows, i) < TP_LEVEL_READ
           ? NULL : phase_resource(req, rows, i, apply);
}

static tp_json_t *plan_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return phase_include(req, rows, i, 0);
}

static tp_json_t *apply_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return phase_include(req, rows, i, 1);
}

static const tp_stmt_t SQL_PLANS_BY_ID = {"plans_by_id",
                                          RUN_WITH_WS("r.plan_id")};
static const tp_stmt_t SQL_APPLIES_BY_ID = {"applies_by_id",
                                            RUN_WITH_WS("r.apply_id")};

const tp_type_t tp_type_plans = {&PLAN_DESC, &SQL_PLANS_BY_ID, NULL,
                                 plan_include};
const tp_type_t tp_type_applies = {&APPLY_DESC, &SQL_APPLIES_BY_ID, NULL,
                                   apply_include};

static tp_err_t *send_phase(tp_req_t *req, const char *key, int by_run,
                            int apply)
{
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_run(req, by_run ? &SQL_RUN_GET : &SQL_RUN_BY_PHASE,
                             key, TP_LEVEL_READ, &rows, &ws);

    return err ? err : tp_send_json(req, 200,
                                    tp_jsonapi_doc(req->r->pool,
                                                   phase_resource(req, rows, 0,
                                                                  apply)));
}

/* The run of the phase {id} names, readable by the caller; 404 when
 * the id is the run's other phase. */
static tp_err_t *load_phase(tp_req_t *req, int apply, tp_rows_t **rows)
{
    const char *id = tp_param(&req->params, "id");
    tp_ws_t *ws;
    tp_err_t *err = load_run(req, &SQL_RUN_BY_PHASE, id, TP_LEVEL_READ,
                             rows, &ws);

    if (!err && strcmp(tp_row(*rows, 0, apply ? "apply_id" : "plan_id"),
                       id) != 0) {
        err = tp_err(req->r->pool, 404, "%s %s not found",
                     apply ? "apply" : "plan", id);
    }
    return err;
}

/* GET applies/{id}/state-versions: what the apply stored */
tp_err_t *tp_api_apply_state_versions(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_phase(req, 1, &rows);

    return err ? err : tp_send_children(req, &tp_type_state_versions,
                                        tp_param(&req->params, "id"));
}

tp_err_t *tp_api_plan_show(tp_req_t *req)
{
    return send_phase(req, tp_param(&req->params, "id"), 0, 0);
}

tp_err_t *tp_api_apply_show(tp_req_t *req)
{
    return send_phase(req, tp_param(&req->params, "id"), 0, 1);
}

tp_err_t *tp_api_run_plan(tp_req_t *req)
{
    return send_phase(req, tp_param(&req->params, "id"), 1, 0);
}

tp_err_t *tp_api_run_apply_phase(tp_req_t *req)
{
    return send_phase(req, tp_param(&req->params, "id"), 1, 1);
}

/* 410 once the retention task removed the run's stored artifacts. */
static tp_err_t *artifacts_kept(apr_pool_t *p, const tp_rows_t *rows,
                                const char *what)
{
    return tp_row_bool(rows, 0, "artifacts_removed")
           ? tp_err(p, 410, "the %s of run %s was removed by retention",
                    what, tp_row(rows, 0, "id"))
           : NULL;
}

/* The plan as `terraform show -json` rendered it, once the runner stored
 * it; an apply id names no plan. */
static tp_err_t *send_plan_json(tp_req_t *req, const tp_rows_t *rows)
{
    apr_pool_t *p = req->r->pool;
    tp_err_t *err = artifacts_kept(p, rows, "plan JSON");

    if (err) {
        return err;
    }
    return tp_send_stored(req, tp_run_key(p, tp_row(rows, 0, "id"),
                                          TP_PLAN_JSON), "application/json",
                          tp_err(p, 404, "plan %s has no JSON output",
                                 tp_row(rows, 0, "plan_id")));
}

tp_err_t *tp_api_plan_json_output(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_phase(req, 0, &rows);

    return err ? err : send_plan_json(req, rows);
}

tp_err_t *tp_api_run_plan_json_output(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_run(req, &SQL_RUN_GET, tp_param(&req->params, "id"),
                             TP_LEVEL_READ, &rows, &ws);

    return err ? err : send_plan_json(req, rows);
}

/* GET <log-read-url>&offset=N&limit=M: the signed URL is the authority. */
static tp_err_t *send_log(tp_req_t *req, int apply)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    const char *phase, *offset_s, *limit_s, *key;
    apr_off_t size = 0, offset = 0, limit = 0;
    tp_log_slice_t s;
    tp_rows_t *rows;
    tp_err_t *err;
    char *buf, *out;
    apr_size_t got;
    int final, found;

    if ((err = tp_req_exec(req, &SQL_RUN_BY_PHASE, &rows,
                           TP_DB_ARGS(id, id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "%s not found", id);
    }
    if ((err = artifacts_kept(p, rows, "log")) != NULL) {
        return err;
    }
    offset_s = tp_query_arg(req, "offset");
    limit_s = tp_query_arg(req, "limit");
    if ((offset_s && apr_strtoff(&offset, offset_s, NULL, 10) != APR_SUCCESS)
        || (limit_s && apr_strtoff(&limit, limit_s, NULL, 10) != APR_SUCCESS)) {
        return tp_err(p, 400, "offset and limit must be integers");
    }
    phase = tp_row(rows, 0, apply ? "apply_status" : "plan_status");
    /* ETX only once the phase has ended and its log is stored */
    final = strcmp(phase, "pending") != 0 && strcmp(phase, "queued") != 0
            && strcmp(phase, "running") != 0;
    key = tp_run_log_key(p, tp_row(rows, 0, "id"), apply);
    if ((err = tp_storage_stat(&req->conf->storage, p, key, &found, &size))
        != NULL) {
        return err;
    }
    tp_log_slice(size, final, offset, limit, &s);
    if ((err = tp_storage_read_range(&req->conf->storage, p, key,
                                     s.from, (apr_size_t)s.len, &buf, &got))
        != NULL) {
        return err;
    }
    out = apr_palloc(p, got + 2);
    memcpy(out + s.stx, buf, got);
    if (s.stx) out[0] = TP_LOG_STX;
    if (s.etx && (apr_off_t)got == s.len) out[s.stx + got] = TP_LOG_ETX;
    else s.etx = 0;
    return tp_send_bytes(req, HTTP_OK, "text/plain", out,
                         (apr_size_t)s.stx + got + (apr_size_t)s.etx);
}

tp_err_t *tp_api_plan_logs(tp_req_t *req)
{
    return send_log(req, 0);
}

tp_err_t *tp_api_apply_logs(tp_req_t *req)
{
    return send_log(req, 1);
}
