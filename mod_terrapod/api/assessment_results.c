/* Assessment results (TFE's health assessments, here drift checks): one
 * per finished drift run, written by the run's end (sql/0032_drift.sql).
 * Read one by one under the TFE path, listed per workspace (newest first)
 * under the native one. Whoever may read the workspace may read them. */
#include "../mod_terrapod.h"

#define ASMT_COLUMNS \
    "a.id, a.workspace_id, a.run_id, a.drift_status," \
    " a.drift_status = 'drifted' AS drifted," \
    " a.drift_status <> 'errored' AS succeeded," \
    " NULLIF(a.error_message, '') AS error_msg," \
    " a.resources_drifted, a.resources_undrifted," \
    " tp_ts(a.created_at) AS created_at"

static const tp_stmt_t SQL_ASMT_BY_ID = {"asmt_by_id",
    "SELECT " ASMT_COLUMNS "," TP_WS_ACCESS_COLUMNS
    "  FROM drift_assessments a JOIN workspaces w ON w.id = a.workspace_id"
    " WHERE" TP_AMONG_KEYS("a.id")};
static const tp_stmt_t SQL_ASMT_LIST = {"asmt_list",
    "SELECT " ASMT_COLUMNS ", count(*) OVER () AS total"
    "  FROM drift_assessments a WHERE a.workspace_id = %s"
    " ORDER BY a.seq DESC LIMIT %s::bigint OFFSET %s::bigint"};

static const tp_attr_t ASMT_ATTRS[] = {
    {"drifted", "drifted", TP_ATTR_BOOL},
    {"succeeded", "succeeded", TP_ATTR_BOOL},
    {"error-msg", "error_msg", TP_ATTR_STRING},
    {"drift-status", "drift_status", TP_ATTR_STRING},
    {"resources-drifted", "resources_drifted", TP_ATTR_INT},
    {"resources-undrifted", "resources_undrifted", TP_ATTR_INT},
    {"created-at", "created_at", TP_ATTR_STRING},
    {NULL, NULL, 0}
};

static const tp_rel_t ASMT_RELS[] = {
    {"workspace", "workspaces", TP_REL_ONE, "workspace_id"},
    /* the drift run whose plan it reads */
    {"run", "runs", TP_REL_ONE, "run_id"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t ASMT_DESC = {
    "assessment-results", NULL, "/api/v2/assessment-results/%s", ASMT_ATTRS,
    ASMT_RELS
};

static tp_json_t *asmt_render(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_resource_render(req->r->pool, &ASMT_DESC, rows, i);
}

static tp_json_t *asmt_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_row_ws_level(req, rows, i) < TP_LEVEL_READ
           ? NULL : asmt_render(req, rows, i);
}

const tp_type_t tp_type_assessment_results = {&ASMT_DESC, &SQL_ASMT_BY_ID,
                                              NULL, asmt_include};

/* GET /assessment-results/{id}: 404 alike for an unknown result and for
 * one of a workspace the caller may not read. */
tp_err_t *tp_api_assessment_result_show(tp_req_t *req)
{
    return tp_type_show(req, &tp_type_assessment_results,
                        tp_param(&req->params, "id"), "assessment result");
}

/* GET /workspaces/{id}/assessment-results: the drift history. */
tp_err_t *tp_api_assessment_result_list(tp_req_t *req)
{
    tp_ws_t *ws;
    tp_err_t *err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws);

    return err ? err : tp_send_page(req, &SQL_ASMT_LIST, TP_DB_ARGS(ws->id),
                                    asmt_render);
}
