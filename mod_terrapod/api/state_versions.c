/* State versions: the TFE V2 create/upload/download flow the CLI uses,
 * outputs, and the native management actions. A version is pending until
 * its bytes are stored and their MD5 verified; only then can it become
 * current (the newest finalized version of its workspace). */
#include <apr_strings.h>
#include <apr_lib.h>
#include "../mod_terrapod.h"
#include "../tp_backup.h"
#include "../tp_crypto.h"
#include "../tp_state.h"
#include "../tp_plan.h"

#define UPLOAD_TTL apr_time_from_sec(3600)

#define SV_COLUMNS \
    "sv.id, sv.workspace_id, sv.serial, sv.lineage, sv.md5, sv.size," \
    " sv.status, sv.resource_count, sv.terraform_version," \
    " sv.has_json_state, sv.created_by, sv.run_id," \
    " tp_ts(sv.created_at) AS created_at," \
    " (SELECT u.id FROM users u WHERE u.email = sv.created_by)" \
    "   AS created_by_id," \
    " (sv.id = (SELECT c.id FROM state_versions c" \
    "            WHERE c.workspace_id = sv.workspace_id" \
    "              AND c.status = 'finalized'" \
    "            ORDER BY c.seq DESC LIMIT 1)) AS is_current"

/* A single version is shown with the ids of its outputs (rows o of
 * from), read in the same statement (ids are alphanumeric, so a comma list
 * is unambiguous). */
#define OUTPUT_IDS_FROM(from) \
    " (SELECT string_agg(o.id, ',' ORDER BY o.name) FROM " from \
    ") AS output_ids"
#define SV_OUTPUT_IDS \
    OUTPUT_IDS_FROM("state_version_outputs o" \
                    " WHERE o.state_version_id = sv.id")

static const tp_stmt_t SQL_SV_GET = {"sv_get",
    "SELECT " SV_COLUMNS "," SV_OUTPUT_IDS " FROM state_versions sv"
    " WHERE sv.id = %s AND sv.status <> 'discarded'"};
static const tp_stmt_t SQL_SV_BY_IDS = {"sv_by_ids",
    "SELECT " SV_COLUMNS "," SV_OUTPUT_IDS "," TP_WS_ACCESS_COLUMNS
    " FROM state_versions sv JOIN workspaces w ON w.id = sv.workspace_id"
    " WHERE" TP_AMONG_KEYS("sv.id") " AND sv.status <> 'discarded'"};
/* the version an apply created, its apply's id the key */
static const tp_stmt_t SQL_SV_BY_APPLY = {"sv_by_apply",
    "SELECT " SV_COLUMNS "," SV_OUTPUT_IDS "," TP_WS_ACCESS_COLUMNS ","
    " r.apply_id AS key"
    " FROM runs r JOIN state_versions sv ON sv.id = r.created_state_version_id"
    " JOIN workspaces w ON w.id = sv.workspace_id"
    " WHERE" TP_AMONG_KEYS("r.apply_id") " AND sv.status <> 'discarded'"};
static const tp_stmt_t SQL_SV_CURRENT = {"sv_current",
    "SELECT " SV_COLUMNS "," SV_OUTPUT_IDS " FROM state_versions sv"
    " WHERE sv.workspace_id = %s AND sv.status = 'finalized'"
    " ORDER BY sv.seq DESC LIMIT 1"};
static const tp_stmt_t SQL_SV_LIST = {"sv_list",
    "SELECT " SV_COLUMNS ", count(*) OVER () AS total"
    " FROM state_versions sv"
    " WHERE sv.workspace_id = %s AND sv.status = 'finalized'"
    " ORDER BY sv.seq DESC LIMIT %s::bigint OFFSET %s::bigint"};

/* Serialises state writes to one workspace for the checks below. */
static const tp_stmt_t SQL_WS_FOR_UPDATE = {"sv_ws_for_update",
    "SELECT lock_holder FROM workspaces WHERE id = %s FOR UPDATE"};
/* Read in a statement of its own once the workspace row is claimed, so it
 * sees every version committed before the claim. */
static const tp_stmt_t SQL_SV_SEQUENCE = {"sv_sequence",
    "SELECT cur.serial, cur.lineage, pend.id AS pending_id,"
    "       pend.md5 AS pending_md5, pend.created_by AS pending_by"
    "  FROM (SELECT 1) one"
    "  LEFT JOIN LATERAL (SELECT serial, lineage FROM state_versions"
    "                      WHERE workspace_id = %s AND status = 'finalized'"
    "                      ORDER BY seq DESC LIMIT 1) cur ON true"
    "  LEFT JOIN LATERAL (SELECT id, md5, created_by FROM state_versions"
    "                      WHERE workspace_id = %s AND serial = %s::bigint"
    "                        AND status = 'pending') pend ON true"};

/* Outputs arrive as one JSON array of {id, name, sensitive, value, type}
 * and are inserted by one statement, whatever their number; "sv" is the
 * version they belong to. */
#define OUT_INSERT_FROM(sv, json) \
    "INSERT INTO state_version_outputs (id, state_version_id, name," \
    "                                   sensitive, value, detailed_type)" \
    " SELECT x.id, " sv ", x.name, COALESCE(x.sensitive, false)," \
    "        COALESCE(x.value, 'null'), x.type" \
    "   FROM jsonb_to_recordset(" json ") AS x(id text, name text," \
    "        sensitive boolean, value jsonb, type jsonb)"

/* The pending version and the outputs the client declared with it,
 * answered as SQL_SV_GET shows it (the new rows are seen through the
 * CTEs: the tables show them only to the next statement). */
static const tp_stmt_t SQL_SV_INSERT = {"sv_insert",
    "WITH v AS ("
    " INSERT INTO state_versions (id, workspace_id, serial, lineage, md5,"
    "                             forced, created_by)"
    " VALUES (%s, %s, %s::bigint, %s, %s, %s::boolean, %s)"
    " ON CONFLICT (workspace_id, serial) WHERE status = 'pending'"
    " DO NOTHING RETURNING *),"
    " o AS (" OUT_INSERT_FROM("v.id", "%s::jsonb") ", v"
    "  ON CONFLICT (state_version_id, name) DO NOTHING RETURNING id, name)"
    " SELECT " SV_COLUMNS "," OUTPUT_IDS_FROM("o") " FROM v sv"};

/* Finalizes a pending version; outputs read from the state are stored
 * when the client declared none, and the workspace's state no longer
 * diverges from what an apply did (api/listener_runs.c sets the flag).
 * One statement, so one round trip. */
static const tp_stmt_t SQL_SV_FINALIZE = {"sv_finalize",
    "WITH f AS ("
    " UPDATE state_versions SET status = 'finalized', size = %s::bigint,"
    " resource_count = %s::integer,"
    " terraform_version = COALESCE(%s, terraform_version),"
    " lineage = CASE WHEN lineage = '' THEN COALESCE(%s, '') ELSE lineage END,"
    " finalized_at = now()"
    " WHERE id = %s AND status = 'pending' RETURNING id, workspace_id),"
    " o AS (" OUT_INSERT_FROM("f.id", "%s::jsonb") ", f"
    "  WHERE NOT EXISTS (SELECT 1 FROM state_version_outputs d"
    "                     WHERE d.state_version_id = f.id)"
    "  ON CONFLICT (state_version_id, name) DO NOTHING),"
    " c AS (UPDATE workspaces w SET state_diverged = false FROM f"
    "  WHERE w.id = f.workspace_id AND w.state_diverged)"
    " SELECT id FROM f"};
/* The JSON rendering is taken once per version, before or after the
 * state (go-tfe sends the two at once): this claims the flag in the
 * transaction that puts the bytes in place, so of two racing uploads one
 * wins, and a replay of the URL replaces nothing. */
static const tp_stmt_t SQL_SV_JSON_CLAIM = {"sv_json_claim",
    "UPDATE state_versions SET has_json_state = true"
    " WHERE id = %s AND NOT has_json_state AND status <> 'discarded'"
    " RETURNING id"};
static const tp_stmt_t SQL_SV_OF_RUN = {"sv_of_run",
    "UPDATE state_versions SET run_id = %s WHERE id = %s"};
static const tp_stmt_t SQL_SV_DELETE = {"sv_delete",
    "DELETE FROM state_versions WHERE id = %s RETURNING id"};
static const tp_stmt_t SQL_SV_NEXT_SERIAL = {"sv_next_serial",
    "SELECT COALESCE(max(serial), -1) + 1 AS serial,"
    "       (SELECT lineage FROM state_versions"
    "         WHERE workspace_id = %s AND status = 'finalized'"
    "         ORDER BY seq DESC LIMIT 1) AS lineage"
    "  FROM state_versions WHERE workspace_id = %s AND status <> 'discarded'"};

#define OUT_COLUMNS \
    "o.id, o.name, o.sensitive, o.value::text AS value," \
    " o.detailed_type::text AS detailed_type"
static const tp_stmt_t SQL_OUT_LIST = {"sv_output_list",
    "SELECT " OUT_COLUMNS " FROM state_version_outputs o"
    " WHERE o.state_version_id = %s ORDER BY o.name"};
/* outputs for include=, by their version ("key") or their own id */
#define OUT_WITH_WS(column) \
    "SELECT " OUT_COLUMNS ", o.state_version_id AS key," TP_WS_ACCESS_COLUMNS \
    " FROM state_version_outputs o" \
    " JOIN state_versions sv ON sv.id = o.state_version_id" \
    " JOIN workspaces w ON w.id = sv.workspace_id" \
    " WHERE" TP_AMONG_KEYS(column) " AND sv.status = 'finalized'" \
    " ORDER BY o.name"
static const tp_stmt_t SQL_OUT_BY_SV = {"sv_outputs_by_sv",
                                        OUT_WITH_WS("o.state_version_id")};
static const tp_stmt_t SQL_OUT_BY_IDS = {"sv_outputs_by_ids",
                                         OUT_WITH_WS("o.id")};
static const tp_stmt_t SQL_OUT_GET = {"sv_output_get",
    "SELECT " OUT_COLUMNS ", sv.workspace_id"
    " FROM state_version_outputs o"
    " JOIN state_versions sv ON sv.id = o.state_version_id"
    " WHERE o.id = %s AND sv.status = 'finalized'"};

static const char *state_key(apr_pool_t *p, const char *ws, const char *sv,
                             int json)
{
    return apr_pstrcat(p, "state/", ws, "/", sv, json ? ".json" : ".tfstate",
                       NULL);
}

static const char *ll(apr_pool_t *p, long long v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

/* ---- rendering ---- */

static const tp_attr_t OUT_ATTRS[] = {
    {"name", "name", TP_ATTR_STRING},
    {"sensitive", "sensitive", TP_ATTR_BOOL},
    {NULL, NULL, 0}
};

static const tp_type_desc_t OUT_DESC = {
    "state-version-outputs", NULL, "/api/v2/state-version-outputs/%s",
    OUT_ATTRS, NULL
};

static tp_json_t *output_resource(apr_pool_t *p, const tp_rows_t *rows,
                                  int i)
{
    tp_json_t *o = tp_resource_render(p, &OUT_DESC, rows, i);
    const char *v = tp_row(rows, i, "value");
    const char *t = tp_row(rows, i, "detailed_type");
    tp_json_t *value = v ? tp_json_parse(p, v, strlen(v), NULL) : NULL;
    tp_json_t *type = t ? tp_json_parse(p, t, strlen(t), NULL) : NULL;
    int sensitive = tp_row_bool(rows, i, "sensitive");

    tp_json_sets(o, tp_output_type(type, value), "attributes", "type", NULL);
    /* sensitive values never leave the server through the API */
    tp_json_setj(o, sensitive ? NULL : value, "attributes", "value", NULL);
    tp_json_setj(o, type, "attributes", "detailed-type", NULL);
    return o;
}

static const tp_attr_t SV_ATTRS[] = {
    {"serial", "serial", TP_ATTR_INT},
    {"lineage", "lineage", TP_ATTR_STRING},
    {"md5", "md5", TP_ATTR_STRING},
    {"size", "size", TP_ATTR_INT},
    {"status", "status", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"created-by", "created_by", TP_ATTR_STRING},
    {"terraform-version", "terraform_version", TP_ATTR_STRING},
    {"is-current", "is_current", TP_ATTR_BOOL},
    {NULL, NULL, 0}
};

static const tp_rel_t SV_RELS[] = {
    {"outputs", "state-version-outputs", TP_REL_MANY, "output_ids",
     "/api/v2/state-versions/%s/outputs"},
    {"workspace", "workspaces", TP_REL_ONE, "workspace_id"},
    {"run", "runs", TP_REL_ONE, "run_id"},
    {"created-by", "users", TP_REL_ONE, "created_by_id"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t SV_DESC = {
    "state-versions", NULL, "/api/v2/state-versions/%s", SV_ATTRS, SV_RELS
};

/* Rows without an output_ids column (lists) show no output references
 * unless include=outputs asks for them. */
static tp_json_t *sv_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_row(rows, i, "id");
    const char *status = tp_row(rows, i, "status");
    const char *base = apr_pstrcat(p, "/api/v2/state-versions/", id, NULL);
    tp_json_t *s = tp_resource_render(p, &SV_DESC, rows, i);
    int finalized = strcmp(status, "finalized") == 0;

    tp_json_seti(s, 4, "attributes", "state-version", NULL);
    tp_json_setb(s, finalized, "attributes", "resources-processed", NULL);
    tp_json_setnull(s, "attributes", "vcs-commit-url", NULL);
    if (finalized) {
        tp_json_sets(s, apr_pstrcat(p, tp_base_url(req), base, "/download",
                                    NULL),
                     "attributes", "hosted-state-download-url", NULL);
        tp_json_sets(s, tp_row_bool(rows, i, "has_json_state")
                        ? apr_pstrcat(p, tp_base_url(req), base,
                                      "/json-download", NULL) : NULL,
                     "attributes", "hosted-json-state-download-url", NULL);
    }
    else {
        tp_json_sets(s, tp_capability_url(req, apr_pstrcat(p, base,
                                          "/content", NULL),
                                          "state-content", id, UPLOAD_TTL),
                     "attributes", "hosted-state-upload-url", NULL);
        tp_json_sets(s, tp_capability_url(req, apr_pstrcat(p, base,
                                          "/json-content", NULL),
                                          "state-json", id, UPLOAD_TTL),
                     "attributes", "hosted-json-state-upload-url", NULL);
    }
    return s;
}

static tp_json_t *sv_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_row_ws_level(req, rows, i) < TP_LEVEL_READ
           ? NULL : sv_resource(req, rows, i);
}

static tp_json_t *output_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_row_ws_level(req, rows, i) < TP_LEVEL_READ
           ? NULL : output_resource(req->r->pool, rows, i);
}

const tp_type_t tp_type_state_versions = {&SV_DESC, &SQL_SV_BY_IDS,
                                          &SQL_SV_BY_APPLY, sv_include};
const tp_type_t tp_type_state_version_outputs = {&OUT_DESC, &SQL_OUT_BY_IDS,
                                                 &SQL_OUT_BY_SV,
                                                 output_include};

/* rows: SQL_SV_GET or SQL_SV_CURRENT, which carry the output ids */
static tp_err_t *send_sv(tp_req_t *req, int status, tp_rows_t *rows)
{
    return tp_send_json(req, status,
                        tp_jsonapi_doc(req->r->pool,
                                       sv_resource(req, rows, 0)));
}

/* A state version and the caller's access to its workspace. */
static tp_err_t *load_sv(tp_req_t *req, const char *id, tp_level_e need,
                         tp_rows_t **rows, tp_ws_t **ws)
{
    tp_err_t *err = tp_req_exec(req, &SQL_SV_GET, rows, TP_DB_ARGS(id));

    return err ? err : tp_ws_owner(req, *rows, need, "state version", id, ws);
}

/* ---- reads ---- */

tp_err_t *tp_api_state_version_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_sv(req, tp_param(&req->params, "id"),
                            req->route->level, &rows, &ws);

    return err ? err : send_sv(req, 200, rows);
}

/* The workspace of the route and its current version; 404 without one. */
static tp_err_t *load_current(tp_req_t *req, tp_rows_t **rows)
{
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws)) != NULL
        || (err = tp_req_exec(req, &SQL_SV_CURRENT, rows,
                              TP_DB_ARGS(ws->id))) != NULL) {
        return err;
    }
    if ((*rows)->nrows == 0) {
        return tp_err(req->r->pool, 404, "workspace %s has no state yet",
                      ws->name);
    }
    return NULL;
}

tp_err_t *tp_api_state_version_current(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_current(req, &rows);

    return err ? err : send_sv(req, 200, rows);
}

static tp_json_t *sv_render(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return sv_resource(req, rows, i);
}

static tp_err_t *list_for(tp_req_t *req, tp_ws_t *ws)
{
    return tp_send_page(req, &SQL_SV_LIST, TP_DB_ARGS(ws->id), sv_render);
}

tp_err_t *tp_api_state_version_list(tp_req_t *req)
{
    tp_ws_t *ws;
    tp_err_t *err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws);

    return err ? err : list_for(req, ws);
}

/* GET /api/v2/state-versions?filter[workspace][name]=..&filter[organization][name]=default */
tp_err_t *tp_api_state_version_list_filtered(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *name = tp_query_arg(req, "filter[workspace][name]");
    const char *org = tp_query_arg(req, "filter[organization][name]");
    tp_ws_t *ws;
    tp_err_t *err;

    if (!name || !org) {
        return tp_err(p, 400, "filter[workspace][name] and "
                      "filter[organization][name] are required");
    }
    if (strcmp(org, TP_ORGANIZATION) != 0) {
        return tp_err(p, 404, "organization \"%s\" not found", org);
    }
    err = tp_ws_load(req, name, 1, &ws);
    return err ? err : list_for(req, ws);
}

static tp_err_t *download(tp_req_t *req, int json)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_sv(req, id, req->route->level, &rows, &ws);

    if (err) {
        return err;
    }
    if (strcmp(tp_row(rows, 0, "status"), "finalized") != 0) {
        return tp_err(p, 409, "state version %s has no content yet", id);
    }
    return tp_send_stored(req, state_key(p, ws->id, id, json),
                          "application/json",
                          tp_err(p, 404, "state version %s has no %s content",
                                 id, json ? "JSON" : "raw"));
}

tp_err_t *tp_api_state_version_download(tp_req_t *req)
{
    return download(req, 0);
}

tp_err_t *tp_api_state_version_json_download(tp_req_t *req)
{
    return download(req, 1);
}

/* ---- outputs ---- */

static tp_err_t *send_outputs(tp_req_t *req, const char *sv_id)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *list = tp_json_array(p);
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    int i;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_exec(db, p, &SQL_OUT_LIST, &rows, TP_DB_ARGS(sv_id)))
           != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        tp_json_push(list, output_resource(p, rows, i));
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, list));
}

tp_err_t *tp_api_state_version_outputs(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_sv(req, tp_param(&req->params, "id"),
                            req->route->level, &rows, &ws);

    return err ? err : send_outputs(req, tp_row(rows, 0, "id"));
}

tp_err_t *tp_api_current_state_version_outputs(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_current(req, &rows);

    return err ? err : send_outputs(req, tp_row(rows, 0, "id"));
}

tp_err_t *tp_api_state_version_output_show(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_OUT_GET, &rows, TP_DB_ARGS(id))) != NULL
        || (err = tp_ws_owner(req, rows, req->route->level,
                              "state version output", id, &ws)) != NULL) {
        return err;
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, output_resource(p, rows,
                                                                    0)));
}

/* Outputs given as {"name": {"value", "type", "sensitive"}} as the JSON
 * array OUT_INSERT_FROM reads, each with a new id; NULL for none. */
typedef struct {
    apr_pool_t *p;
    tp_json_t *rows;
} out_rows_t;

static int output_row(void *baton, const char *name, tp_json_t *o)
{
    out_rows_t *s = baton;
    tp_json_t *row = tp_json_object(s->p);

    tp_json_sets(row, tp_id_generate(s->p, "wsout"), "id", NULL);
    tp_json_sets(row, name, "name", NULL);
    tp_json_setb(row, tp_json_getb(o, "sensitive", NULL), "sensitive", NULL);
    tp_json_setj(row, tp_json_get(o, "value", NULL), "value", NULL);
    tp_json_setj(row, tp_json_get(o, "type", NULL), "type", NULL);
    tp_json_push(s->rows, row);
    return 0;
}

static tp_err_t *outputs_json(apr_pool_t *p, const tp_json_t *outputs,
                              const char **json)
{
    out_rows_t s = {p, NULL};

    *json = NULL;
    if (!outputs) {
        return NULL;
    }
    if (tp_json_type(outputs, NULL) != TP_JSON_OBJECT) {
        return tp_err(p, 422, "state outputs must be a JSON object");
    }
    s.rows = tp_json_array(p);
    tp_json_each(outputs, output_row, &s);
    *json = tp_json_dump(s.rows, p);
    return NULL;
}

/* ---- writes ---- */

/* Marks a pending version finalized once its bytes are stored, reading
 * what it can out of the state (small ones; large ones are kept as is). */
static tp_err_t *finalize(tp_req_t *req, tp_db_t *db, const char *ws_id,
                          const char *sv_id, apr_off_t size)
{
    apr_pool_t *p = req->r->pool;
    tp_state_info_t info = {0};
    const char *resources = NULL, *outputs = NULL;
    tp_rows_t *rows;
    tp_err_t *err;
    char *buf;
    apr_size_t len;

    if (size <= TP_STATE_INSPECT_MAX
        && !tp_storage_read(&req->conf->storage, p,
                            state_key(p, ws_id, sv_id, 0), size, &buf, &len)
        && !tp_state_inspect(p, buf, len, &info)) {
        resources = apr_itoa(p, info.resources);
        /* inspect gives an object; anything else would store none */
        if (outputs_json(p, info.outputs, &outputs) != NULL) {
            outputs = NULL;
        }
    }
    if ((err = tp_db_exec(db, p, &SQL_SV_FINALIZE, &rows,
                          TP_DB_ARGS(ll(p, size), resources,
                                     info.terraform_version, info.lineage,
                                     sv_id, outputs))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "state version %s is not pending", sv_id);
    }
    /* saved plans of the state this replaced can no longer be applied;
     * the state is stored whatever happens here, and a saved plan is
     * checked again when someone applies it */
    if ((err = tp_run_discard_stale(db, p, ws_id, NULL, NULL)) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP00723: "
                      "saved plans of workspace %s not checked after state "
                      "version %s: %s", ws_id, sv_id,
                      err->log ? err->log : err->detail);
    }
    return NULL;
}

typedef struct {
    long long serial;
    const char *md5;
    const char *lineage;
    int force;
    const unsigned char *state;      /* inline, legacy clients */
    apr_size_t state_len;
    tp_json_t *outputs;              /* from json-state-outputs */
} sv_input_t;

static tp_err_t *decode_b64_json(apr_pool_t *p, const tp_json_t *a,
                                 const char *name, tp_json_t **out)
{
    const char *s;
    unsigned char *raw;
    apr_size_t len;
    tp_err_t *err;
    int has;

    *out = NULL;
    if ((err = tp_attr_string(p, a, name, 64 * 1024 * 1024, &s, &has))
        != NULL || !has) {
        return err;
    }
    raw = tp_base64_decode(p, s, &len);
    if (!raw || !(*out = tp_json_parse(p, (const char *)raw, len, NULL))) {
        return tp_err(p, 422, "%s must be base64-encoded JSON", name);
    }
    return NULL;
}

static tp_err_t *parse_create(apr_pool_t *p, const tp_json_t *body,
                              sv_input_t *in)
{
    tp_json_t *a;
    const char *state;
    tp_err_t *err;
    int has;

    memset(in, 0, sizeof(*in));
    if ((err = tp_jsonapi_attributes(p, body, "state-versions", &a)) != NULL
        || (err = tp_attr_int(p, a, "serial", 0, APR_INT64_MAX, &in->serial,
                              &has)) != NULL) {
        return err;
    }
    if (!has) {
        return tp_err(p, 422, "serial is required");
    }
    if ((err = tp_attr_string(p, a, "md5", 32, &in->md5, &has)) != NULL
        || (err = tp_attr_string(p, a, "lineage", 200, &in->lineage, &has))
           != NULL
        || (err = tp_attr_bool(p, a, "force", &in->force, &has)) != NULL
        || (err = decode_b64_json(p, a, "json-state-outputs", &in->outputs))
           != NULL
        || (err = tp_attr_string(p, a, "state", 512 * 1024 * 1024, &state,
                                 &has)) != NULL) {
        return err;
    }
    if (has) {
        in->state = tp_base64_decode(p, state, &in->state_len);
        if (!in->state) {
            return tp_err(p, 422, "state must be base64");
        }
        if (!in->md5) {
            in->md5 = tp_md5_hex(p, in->state, in->state_len);
        }
    }
    if (!in->md5 || strlen(in->md5) != 32 || !tp_is_hex(in->md5)) {
        return tp_err(p, 422, "md5 must be the 32 hex digits of the state's "
                      "MD5");
    }
    if (!in->lineage) {
        in->lineage = "";
    }
    return NULL;
}

/* Takes the workspace row for the rest of the transaction, so state
 * writes to one workspace happen one at a time; 409 when someone else
 * holds its lock. */
static tp_err_t *claim_workspace(tp_req_t *req, tp_db_t *db, const char *ws_id)
{
    apr_pool_t *p = req->r->pool;
    const char *holder;
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_WS_FOR_UPDATE, &rows,
                               TP_DB_ARGS(ws_id));

    if (err) {
        return err;
    }
    holder = tp_row(rows, 0, "lock_holder");
    if (holder && strcmp(holder, req->who->grants.email) != 0) {
        return tp_err(p, 409, "the workspace is locked by %s", holder);
    }
    return NULL;
}

/* The serial and lineage rules, checked with the workspace row claimed. */
static tp_err_t *check_sequence(tp_req_t *req, tp_db_t *db, const char *ws_id,
                                const sv_input_t *in, const char **existing)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err;

    *existing = NULL;
    if ((err = claim_workspace(req, db, ws_id)) != NULL) {
        return err;
    }
    if ((err = tp_db_exec(db, p, &SQL_SV_SEQUENCE, &rows,
                          TP_DB_ARGS(ws_id, ws_id, ll(p, in->serial))))
        != NULL) {
        return err;
    }
    if (tp_row(rows, 0, "serial") && !in->force) {
        long long cur = apr_atoi64(tp_row(rows, 0, "serial"));
        const char *lineage = tp_row(rows, 0, "lineage");

        if (in->serial <= cur) {
            return tp_err(p, 409, "serial %" APR_INT64_T_FMT " is not greater "
                          "than the current serial %" APR_INT64_T_FMT
                          " (use force to overwrite)",
                          (apr_int64_t)in->serial, (apr_int64_t)cur);
        }
        if (*lineage && *in->lineage && strcmp(lineage, in->lineage) != 0) {
            return tp_err(p, 409, "lineage %s does not match the current "
                          "lineage %s (use force to replace)", in->lineage,
                          lineage);
        }
    }
    if (tp_row(rows, 0, "pending_id")) {
        /* the same client retrying the same create gets the same version */
        const char *by = tp_row(rows, 0, "pending_by");

        if (strcmp(tp_row(rows, 0, "pending_md5"), in->md5) == 0 && by
            && strcmp(by, req->who->grants.email) == 0) {
            *existing = tp_row(rows, 0, "pending_id");
            return NULL;
        }
        return tp_err(p, 409, "a state version with serial %" APR_INT64_T_FMT
                      " is already being uploaded", (apr_int64_t)in->serial);
    }
    return NULL;
}

/* Inserts the pending version and its outputs inside the caller's
 * transaction; 409 when a parallel create won the serial. *row (when
 * asked for) is the version as a read shows it. */
static tp_err_t *insert_pending(tp_req_t *req, tp_db_t *db, const char *ws_id,
                                const char *id, const sv_input_t *in,
                                tp_rows_t **row)
{
    apr_pool_t *p = req->r->pool;
    const char *outputs;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = outputs_json(p, in->outputs, &outputs)) != NULL) {
        return err;
    }
    err = tp_db_exec(db, p, &SQL_SV_INSERT, &rows,
                     TP_DB_ARGS(id, ws_id, ll(p, in->serial), in->lineage,
                                in->md5, tp_db_bool(in->force),
                                req->who ? req->who->grants.email : NULL,
                                outputs));
    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "a state version with serial %" APR_INT64_T_FMT
                      " is already being uploaded", (apr_int64_t)in->serial);
    }
    if (row) {
        *row = rows;
    }
    return NULL;
}

static tp_err_t *respond_with(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_exec(db, req->r->pool, &SQL_SV_GET, &rows,
                             TP_DB_ARGS(id))) != NULL) {
        return err;
    }
    return send_sv(req, status, rows);
}

tp_err_t *tp_api_state_version_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "sv"), *existing;
    tp_json_t *body;
    sv_input_t in;
    tp_rows_t *row;
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = parse_create(p, body, &in)) != NULL) {
        return err;
    }
    if (in.state && strcmp(tp_md5_hex(p, in.state, in.state_len), in.md5)) {
        return tp_err(p, 422, "md5 does not match the state sent");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = check_sequence(req, db, ws->id, &in, &existing)) != NULL) {
        return err;
    }
    if (existing) {
        tp_db_rollback(db);
        return respond_with(req, 201, existing);
    }
    if ((err = insert_pending(req, db, ws->id, id, &in, &row)) != NULL
        || (err = tp_db_commit(db)) != NULL) {
        return err;
    }
    if (!in.state) {
        return send_sv(req, 201, row);
    }
    /* legacy clients send the bytes inline: store and finalize now */
    if ((err = tp_storage_put(&req->conf->storage, p,
                              state_key(p, ws->id, id, 0),
                              (const char *)in.state, in.state_len)) != NULL
        || (err = finalize(req, db, ws->id, id, (apr_off_t)in.state_len))
           != NULL) {
        return err;
    }
    return respond_with(req, 201, id);
}

static tp_err_t *json_taken(apr_pool_t *p, const char *id)
{
    return tp_err(p, 409, "the JSON state of version %s has already been "
                  "uploaded", id);
}

/* Streams a signed-URL upload for the version {id} into storage (raw
 * state, or its JSON rendering); the signed URL is the authority. */
static tp_err_t *receive(tp_req_t *req, int json, tp_rows_t **rows,
                         tp_upload_t **up)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_err_t *err = tp_req_exec(req, &SQL_SV_GET, rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    if ((*rows)->nrows == 0) {
        return tp_err(p, 404, "state version %s not found", id);
    }
    if (!json && strcmp(tp_row(*rows, 0, "status"), "pending") != 0) {
        return tp_err(p, 409, "state version %s has already been uploaded",
                      id);
    }
    /* checked again when the upload is committed; this spares the body */
    if (json && tp_row_bool(*rows, 0, "has_json_state")) {
        return json_taken(p, id);
    }
    if ((err = tp_storage_begin(&req->conf->storage, p,
                                state_key(p, tp_row(*rows, 0, "workspace_id"),
                                          id, json),
                                req->conf->max_upload, up)) != NULL) {
        return err;
    }
    return tp_receive_upload(req, *up);
}

/* PUT <hosted-state-upload-url>: verified against the declared MD5, then
 * finalized. */
tp_err_t *tp_api_state_version_upload(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_upload_t *up;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = receive(req, 0, &rows, &up)) != NULL) {
        return err;
    }
    if (strcmp(tp_upload_md5(up), tp_row(rows, 0, "md5")) != 0) {
        tp_upload_abort(up);
        return tp_err(p, 422, "the uploaded state's MD5 %s does not match "
                      "the declared %s", tp_upload_md5(up),
                      tp_row(rows, 0, "md5"));
    }
    if ((err = tp_upload_commit(up)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = finalize(req, db, tp_row(rows, 0, "workspace_id"),
                           tp_row(rows, 0, "id"), tp_upload_size(up)))
           != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_OK);
}

/* PUT <hosted-json-state-upload-url>: the JSON rendering, kept to serve;
 * once per version, and only a state as terraform show -json renders it
 * (a refused one uses nothing up). */
tp_err_t *tp_api_state_version_json_upload(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_upload_t *up;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = receive(req, 1, &rows, &up)) != NULL
        || (err = tp_state_json_check_file(p, tp_upload_path(up),
                                           req->conf->max_upload)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_SV_JSON_CLAIM, &rows,
                             TP_DB_ARGS(id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        tp_db_rollback(db);
        return json_taken(p, id);
    }
    /* a failed commit of the bytes takes the claim back with it */
    if ((err = tp_upload_commit(up)) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_OK);
}

/* ---- native management ---- */

tp_err_t *tp_api_state_version_delete(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err;
    int remove;

    if ((err = load_sv(req, id, req->route->level, &rows, &ws)) != NULL) {
        return err;
    }
    if (tp_row_bool(rows, 0, "is_current")) {
        return tp_err(p, 409, "state version %s is the current one and "
                      "cannot be deleted", id);
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_backup_delete(db, p, &SQL_SV_DELETE, TP_DB_ARGS(id),
                                   &remove)) != NULL) {
        return err;
    }
    if (remove) {
        tp_storage_remove(&req->conf->storage, p,
                          state_key(p, ws->id, id, 0));
        tp_storage_remove(&req->conf->storage, p,
                          state_key(p, ws->id, id, 1));
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP01500: state "
                      "version %s deleted while a backup runs: its files "
                      "stay in storage", id);
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* Stores buf as a new finalized version with the next serial. */
static tp_err_t *store_as_next(tp_req_t *req, tp_ws_t *ws, const char *buf,
                               apr_size_t len)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "sv");
    tp_state_info_t info;
    sv_input_t in = {0};
    char *restated;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_state_inspect(p, buf, len, &info)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = claim_workspace(req, db, ws->id)) != NULL
        || (err = tp_db_exec(db, p, &SQL_SV_NEXT_SERIAL, &rows,
                             TP_DB_ARGS(ws->id, ws->id))) != NULL) {
        return err;
    }
    in.serial = apr_atoi64(tp_row(rows, 0, "serial"));
    in.lineage = info.lineage ? info.lineage : "";
    /* the content carries the serial it is stored under */
    if ((err = tp_state_reserial(p, buf, len, in.serial,
                                 tp_row(rows, 0, "lineage"), &restated))
        != NULL) {
        return err;
    }
    in.md5 = tp_md5_hex(p, restated, strlen(restated));
    in.force = 1;
    in.outputs = info.outputs;
    if ((err = insert_pending(req, db, ws->id, id, &in, NULL)) != NULL
        || (err = tp_db_commit(db)) != NULL
        || (err = tp_storage_put(&req->conf->storage, p,
                                 state_key(p, ws->id, id, 0), restated,
                                 strlen(restated))) != NULL
        || (err = finalize(req, db, ws->id, id, (apr_off_t)strlen(restated)))
           != NULL) {
        return err;
    }
    return respond_with(req, 201, id);
}

tp_err_t *tp_api_state_version_rollback(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err;
    char *buf;
    apr_size_t len;

    if ((err = load_sv(req, id, req->route->level, &rows, &ws)) != NULL) {
        return err;
    }
    if (strcmp(tp_row(rows, 0, "status"), "finalized") != 0) {
        return tp_err(p, 409, "state version %s has no content to roll back "
                      "to", id);
    }
    if ((err = tp_storage_read(&req->conf->storage, p,
                               state_key(p, ws->id, id, 0),
                               req->conf->max_upload, &buf, &len)) != NULL) {
        return err;
    }
    return store_as_next(req, ws, buf, len);
}

/* One resource instance of the current state, as TFE's workspace
 * resources show it; its id is stable while its address is. */
static tp_json_t *ws_resource_of(apr_pool_t *p, const tp_rows_t *sv,
                                 const tp_state_resource_t *res)
{
    const char *ws = tp_row(sv, 0, "workspace_id");
    const char *hash = tp_md5_hex(p, apr_pstrcat(p, ws, " ", res->address,
                                                 NULL),
                                  strlen(ws) + 1 + strlen(res->address));
    tp_json_t *r = tp_jsonapi_resource(p, "workspace-resources",
                                       apr_pstrcat(p, "wsr-",
                                                   apr_pstrndup(p, hash, 16),
                                                   NULL));

    tp_json_sets(r, res->address, "attributes", "address", NULL);
    tp_json_sets(r, res->name, "attributes", "name", NULL);
    tp_json_sets(r, res->module, "attributes", "module", NULL);
    tp_json_sets(r, res->provider, "attributes", "provider", NULL);
    tp_json_sets(r, res->type, "attributes", "provider-type", NULL);
    tp_json_sets(r, res->index, "attributes", "name-index", NULL);
    tp_json_sets(r, tp_row(sv, 0, "id"), "attributes",
                 "modified-by-state-version-id", NULL);
    tp_json_sets(r, tp_row(sv, 0, "created_at"), "attributes", "created-at",
                 NULL);
    tp_json_sets(r, tp_row(sv, 0, "created_at"), "attributes", "updated-at",
                 NULL);
    return r;
}

/* GET workspaces/{id}/resources: the managed resource instances of the
 * current state version, read from its file. */
tp_err_t *tp_api_workspace_resources(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    apr_array_header_t *all = NULL;
    tp_json_t *doc, *list = tp_json_array(p);
    tp_rows_t *sv;
    tp_page_t pg;
    tp_ws_t *ws;
    tp_err_t *err;
    long long i;
    char *buf;
    apr_size_t len;

    if ((err = tp_page_parse(p, tp_query_arg(req, "page[number]"),
                             tp_query_arg(req, "page[size]"), &pg)) != NULL
        || (err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws))
           != NULL
        || (err = tp_req_exec(req, &SQL_SV_CURRENT, &sv, TP_DB_ARGS(ws->id)))
           != NULL) {
        return err;
    }
    if (sv->nrows
        && ((err = tp_storage_read(&req->conf->storage, p,
                                   state_key(p, ws->id, tp_row(sv, 0, "id"),
                                             0),
                                   TP_STATE_INSPECT_MAX, &buf, &len)) != NULL
            || (err = tp_state_resources(p, buf, len, &all)) != NULL)) {
        return err;
    }
    for (i = tp_page_offset(&pg);
         all && i < all->nelts && i < tp_page_offset(&pg) + pg.size; i++) {
        tp_json_push(list, ws_resource_of(p, sv, &APR_ARRAY_IDX(all, i,
                                              tp_state_resource_t)));
    }
    doc = tp_jsonapi_doc(p, list);
    tp_paginate(req, doc, &pg, all ? all->nelts : 0);
    return tp_send_json(req, 200, doc);
}

/* POST .../state-versions/actions/upload: a raw state, serial assigned. */
tp_err_t *tp_api_state_version_raw_upload(tp_req_t *req)
{
    tp_ws_t *ws;
    tp_err_t *err;
    char *buf;
    apr_size_t len;

    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws)) != NULL
        || (err = tp_read_raw(req, req->conf->max_body, &buf, &len)) != NULL) {
        return err;
    }
    return store_as_next(req, ws, buf, len);
}

/* ---- for the runner of a run (api/listener_runs.c) ---- */

tp_err_t *tp_sv_current_file(tp_req_t *req, const char *ws_id,
                             const char **sv_id, const char **path,
                             apr_off_t *size)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_SV_CURRENT, &rows,
                                TP_DB_ARGS(ws_id));

    *sv_id = *path = NULL;
    if (err || rows->nrows == 0) {
        return err;
    }
    *sv_id = tp_row(rows, 0, "id");
    return tp_storage_fetch(&req->conf->storage, p,
                            state_key(p, ws_id, *sv_id, 0), path, size);
}

tp_err_t *tp_sv_store_for_run(tp_req_t *req, const char *ws_id,
                              const char *run_id, const char *buf,
                              apr_size_t len, const char **sv_id)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "sv"), *holder;
    const char *content = buf;
    tp_state_info_t info;
    sv_input_t in = {0};
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    long long next;

    if ((err = tp_state_inspect(p, buf, len, &info)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_WS_FOR_UPDATE, &rows,
                             TP_DB_ARGS(ws_id))) != NULL) {
        return err;
    }
    /* the run holds the lock while it applies; nobody else may */
    holder = rows->nrows ? tp_row(rows, 0, "lock_holder") : NULL;
    if (holder && strcmp(holder, run_id) != 0) {
        tp_db_rollback(db);
        return tp_err(p, 409, "the workspace is locked by %s", holder);
    }
    if ((err = tp_db_exec(db, p, &SQL_SV_NEXT_SERIAL, &rows,
                          TP_DB_ARGS(ws_id, ws_id))) != NULL) {
        return err;
    }
    next = apr_atoi64(tp_row(rows, 0, "serial"));
    in.serial = info.serial;
    if (info.serial < next) {
        /* the serial is taken: the content carries the one it gets */
        char *restated;

        if ((err = tp_state_reserial(p, buf, len, next,
                                     tp_row(rows, 0, "lineage"), &restated))
            != NULL) {
            return err;
        }
        content = restated;
        len = strlen(restated);
        in.serial = next;
    }
    in.lineage = info.lineage ? info.lineage : "";
    in.md5 = tp_md5_hex(p, content, len);
    in.force = 1;
    in.outputs = info.outputs;
    if ((err = insert_pending(req, db, ws_id, id, &in, NULL)) != NULL
        || (err = tp_db_exec(db, p, &SQL_SV_OF_RUN, NULL,
                             TP_DB_ARGS(run_id, id))) != NULL
        || (err = tp_db_commit(db)) != NULL
        || (err = tp_storage_put(&req->conf->storage, p,
                                 state_key(p, ws_id, id, 0), content, len))
           != NULL
        || (err = finalize(req, db, ws_id, id, (apr_off_t)len)) != NULL) {
        return err;
    }
    *sv_id = id;
    return NULL;
}
