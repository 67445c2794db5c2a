/* Variable sets: named groups of variables that apply to every workspace
 * (global) or to the workspaces assigned to them. Platform admins manage
 * them, auditors read them; their variables go through the same code as
 * a workspace's own (api/vars.c). */
#include <apr_strings.h>
#include "../mod_terrapod.h"

#define VARSET_COLUMNS \
    "s.id, s.name, s.description, s.global, s.priority," \
    " tp_ts(s.created_at) AS created_at, tp_ts(s.updated_at) AS updated_at," \
    " (SELECT COALESCE(json_agg(a.workspace_id ORDER BY a.workspace_id)," \
    "                  '[]')" \
    "    FROM variable_set_workspaces a WHERE a.varset_id = s.id)::text" \
    "   AS workspaces," \
    " (SELECT COALESCE(json_agg(v.id ORDER BY v.category, v.key), '[]')" \
    "    FROM variables v WHERE v.varset_id = s.id)::text AS vars"

static const tp_stmt_t SQL_VARSET_PAGE = {"varset_page",
    "SELECT " VARSET_COLUMNS ", count(*) OVER () AS total"
    " FROM variable_sets s ORDER BY s.name"
    " LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_VARSET_GET = {"varset_get",
    "SELECT " VARSET_COLUMNS " FROM variable_sets s WHERE s.id = %s"};
static const tp_stmt_t SQL_VARSET_EXISTS = {"varset_exists",
    "SELECT id FROM variable_sets WHERE id = %s"};
static const tp_stmt_t SQL_VARSET_INSERT = {"varset_insert",
    "INSERT INTO variable_sets (id, name) VALUES (%s, %s)"
    " ON CONFLICT (name) DO NOTHING RETURNING id"};
/* NULL for an attribute leaves its column as it is. */
static const tp_stmt_t SQL_VARSET_UPDATE = {"varset_update",
    "UPDATE variable_sets SET name = COALESCE(%s, name),"
    " description = COALESCE(%s, description),"
    " global = COALESCE(%s::boolean, global),"
    " priority = COALESCE(%s::integer, priority),"
    " updated_at = now()"
    " WHERE id = %s RETURNING id"};
static const tp_stmt_t SQL_VARSET_NAME_TAKEN = {"varset_name_taken",
    "SELECT 1 FROM variable_sets WHERE name = %s AND id <> %s"};
static const tp_stmt_t SQL_VARSET_DELETE = {"varset_delete",
    "DELETE FROM variable_sets WHERE id = %s RETURNING id"};

/* Assignments take a JSON list of workspace ids and change nothing when
 * one of them does not exist; the answer is the first such id. */
#define WS_IDS \
    "WITH ids AS (SELECT DISTINCT jsonb_array_elements_text(%s::jsonb)" \
    "               AS id)," \
    " missing AS (SELECT ids.id FROM ids WHERE NOT EXISTS" \
    "              (SELECT 1 FROM workspaces w WHERE w.id = ids.id))"
static const tp_stmt_t SQL_VARSET_ASSIGN = {"varset_assign",
    WS_IDS ","
    " done AS (INSERT INTO variable_set_workspaces (varset_id, workspace_id)"
    "          SELECT %s::text, ids.id FROM ids"
    "           WHERE NOT EXISTS (SELECT 1 FROM missing)"
    "          ON CONFLICT DO NOTHING)"
    " SELECT id FROM missing ORDER BY id LIMIT 1"};
static const tp_stmt_t SQL_VARSET_UNASSIGN = {"varset_unassign",
    WS_IDS ","
    " done AS (DELETE FROM variable_set_workspaces a USING ids"
    "           WHERE a.varset_id = %s AND a.workspace_id = ids.id"
    "             AND NOT EXISTS (SELECT 1 FROM missing))"
    " SELECT id FROM missing ORDER BY id LIMIT 1"};

/* ---- rendering ---- */

/* [{"id", "type"}] from a JSON list of ids. */
static tp_json_t *refs(apr_pool_t *p, const char *ids, const char *type)
{
    tp_json_t *list = tp_json_parse(p, ids, strlen(ids), NULL);
    tp_json_t *out = tp_json_array(p);
    apr_size_t i;

    for (i = 0; i < tp_json_len(list); i++) {
        tp_json_t *ref = tp_json_object(p);

        tp_json_sets(ref, tp_json_gets(tp_json_at(list, i), NULL), "id",
                     NULL);
        tp_json_sets(ref, type, "type", NULL);
        tp_json_push(out, ref);
    }
    return out;
}

static tp_json_t *varset_resource(tp_req_t *req, const tp_rows_t *rows,
                                  int i)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_row(rows, i, "id");
    tp_json_t *s = tp_jsonapi_resource(p, "varsets", id);
    tp_json_t *ws = refs(p, tp_row(rows, i, "workspaces"), "workspaces");
    tp_json_t *vars = refs(p, tp_row(rows, i, "vars"), "vars");

    tp_json_sets(s, tp_row(rows, i, "name"), "attributes", "name", NULL);
    tp_json_sets(s, tp_row(rows, i, "description"), "attributes",
                 "description", NULL);
    tp_json_setb(s, tp_row_bool(rows, i, "global"), "attributes", "global",
                 NULL);
    tp_json_seti(s, apr_atoi64(tp_row(rows, i, "priority")), "attributes",
                 "priority", NULL);
    tp_json_seti(s, (long long)tp_json_len(vars), "attributes", "var-count",
                 NULL);
    tp_json_seti(s, (long long)tp_json_len(ws), "attributes",
                 "workspace-count", NULL);
    tp_json_sets(s, tp_row(rows, i, "created_at"), "attributes",
                 "created-at", NULL);
    tp_json_sets(s, tp_row(rows, i, "updated_at"), "attributes",
                 "updated-at", NULL);
    tp_jsonapi_relate_to(p, s, "organization", "organizations",
                         TP_ORGANIZATION);
    tp_json_setj(s, ws, "relationships", "workspaces", "data", NULL);
    tp_json_setj(s, vars, "relationships", "vars", "data", NULL);
    tp_json_sets(s, apr_pstrcat(p, "/api/v2/varsets/", id, NULL), "links",
                 "self", NULL);
    return s;
}

static tp_err_t *send_varset(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_VARSET_GET, &rows,
                                TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "variable set %s not found", id);
    }
    return tp_send_json(req, status,
                        tp_jsonapi_doc(req->r->pool,
                                       varset_resource(req, rows, 0)));
}

/* The set the route names, as the owner of its variables. */
static tp_err_t *route_varset(tp_req_t *req, tp_var_owner_t *owner)
{
    const char *id = tp_param(&req->params, "varset_id");
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_VARSET_EXISTS, &rows,
                                TP_DB_ARGS(id));

    owner->ws_id = NULL;
    owner->varset_id = id;
    if (err) {
        return err;
    }
    return rows->nrows ? NULL : tp_err(req->r->pool, 404, "variable set %s "
                                       "not found", id);
}

/* ---- the sets ---- */

tp_err_t *tp_api_varset_list(tp_req_t *req)
{
    return tp_send_page(req, &SQL_VARSET_PAGE, 0, NULL, varset_resource);
}

tp_err_t *tp_api_varset_show(tp_req_t *req)
{
    return send_varset(req, 200, tp_param(&req->params, "varset_id"));
}

/* A set's attributes as bound values; NULL leaves a column as it is. */
typedef struct {
    const char *name, *description, *global, *priority;
} varset_input_t;

static tp_err_t *parse_varset(apr_pool_t *p, const tp_json_t *body,
                              varset_input_t *in)
{
    tp_json_t *a;
    tp_err_t *err;
    long long priority;
    int has, global;

    memset(in, 0, sizeof(*in));
    if ((err = tp_jsonapi_attributes(p, body, "varsets", &a)) != NULL
        || (err = tp_attr_string(p, a, "name", 128, &in->name, &has))
           != NULL) {
        return err;
    }
    if (has && !*in->name) {
        return tp_err(p, 422, "name must be 1 to 128 characters");
    }
    if (!has) {
        in->name = NULL;
    }
    if ((err = tp_attr_string(p, a, "description", 2000, &in->description,
                              &has)) != NULL) {
        return err;
    }
    if (!has) {
        in->description = NULL;
    }
    if ((err = tp_attr_bool(p, a, "global", &global, &has)) != NULL) {
        return err;
    }
    in->global = has ? tp_db_bool(global) : NULL;
    if ((err = tp_attr_int(p, a, "priority", APR_INT32_MIN, APR_INT32_MAX,
                           &priority, &has)) != NULL) {
        return err;
    }
    in->priority = has ? apr_psprintf(p, "%" APR_INT64_T_FMT,
                                      (apr_int64_t)priority) : NULL;
    return NULL;
}

static tp_err_t *name_taken(apr_pool_t *p, const char *name)
{
    return tp_err(p, 422, "name \"%s\" has already been taken", name);
}

/* Applies in to the set id inside the caller's transaction. */
static tp_err_t *apply_varset(tp_db_t *db, apr_pool_t *p, const char *id,
                              const varset_input_t *in, int *found)
{
    tp_rows_t *rows;
    tp_err_t *err;

    if (in->name) {
        if ((err = tp_db_exec(db, p, &SQL_VARSET_NAME_TAKEN, &rows,
                              TP_DB_ARGS(in->name, id))) != NULL) {
            return err;
        }
        if (rows->nrows) {
            return name_taken(p, in->name);
        }
    }
    err = tp_db_exec(db, p, &SQL_VARSET_UPDATE, &rows,
                     TP_DB_ARGS(in->name, in->description, in->global,
                                in->priority, id));
    *found = !err && rows->nrows == 1;
    return err;
}

tp_err_t *tp_api_varset_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "varset");
    tp_json_t *body;
    varset_input_t in;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    int found;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = parse_varset(p, body, &in)) != NULL) {
        return err;
    }
    if (!in.name) {
        return tp_err(p, 422, "name is required");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_VARSET_INSERT, &rows,
                             TP_DB_ARGS(id, in.name))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        tp_db_rollback(db);
        return name_taken(p, in.name);
    }
    in.name = NULL;   /* just inserted */
    if ((err = apply_varset(db, p, id, &in, &found)) != NULL
        || (err = tp_db_commit(db)) != NULL) {
        return err;
    }
    return send_varset(req, 201, id);
}

tp_err_t *tp_api_varset_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "varset_id");
    tp_json_t *body;
    varset_input_t in;
    tp_db_t *db;
    tp_err_t *err;
    int found;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = parse_varset(p, body, &in)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = apply_varset(db, p, id, &in, &found)) != NULL) {
        return err;
    }
    return found ? send_varset(req, 200, id)
                 : tp_err(p, 404, "variable set %s not found", id);
}

/* Its variables and assignments go with it. */
tp_err_t *tp_api_varset_delete(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "varset_id");
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_VARSET_DELETE, &rows,
                                TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    return rows->nrows ? tp_send_empty(req, HTTP_NO_CONTENT)
                       : tp_err(req->r->pool, 404, "variable set %s not "
                                "found", id);
}

/* ---- a set's variables ---- */

tp_err_t *tp_api_varset_var_list(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = route_varset(req, &owner);

    return err ? err : tp_vars_api_list(req, &owner);
}

tp_err_t *tp_api_varset_var_show(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = route_varset(req, &owner);

    return err ? err : tp_vars_api_show(req, &owner,
                                        tp_param(&req->params, "var_id"));
}

tp_err_t *tp_api_varset_var_create(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = route_varset(req, &owner);

    return err ? err : tp_vars_api_create(req, &owner);
}

tp_err_t *tp_api_varset_var_update(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = route_varset(req, &owner);

    return err ? err : tp_vars_api_update(req, &owner,
                                          tp_param(&req->params, "var_id"));
}

tp_err_t *tp_api_varset_var_delete(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = route_varset(req, &owner);

    return err ? err : tp_vars_api_delete(req, &owner,
                                          tp_param(&req->params, "var_id"));
}

/* ---- the workspaces a set is assigned to ---- */

/* The ids of {"data": [{"type": "workspaces", "id": "ws-..."}]} as a
 * JSON list. */
static tp_err_t *read_ws_ids(tp_req_t *req, const char **ids)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *data, *list = tp_json_array(p);
    tp_err_t *err;
    apr_size_t i, n;

    if ((err = tp_read_json(req, &body)) != NULL) {
        return err;
    }
    if (tp_json_type(body, "data", NULL) != TP_JSON_ARRAY) {
        return tp_err(p, 400, "request body must be a JSON:API document "
                      "with a data list of workspaces");
    }
    data = tp_json_get(body, "data", NULL);
    n = tp_json_len(data);
    if (n == 0) {
        return tp_err(p, 422, "data must name at least one workspace");
    }
    for (i = 0; i < n; i++) {
        tp_json_t *ref = tp_json_at(data, i);
        const char *type = tp_json_gets(ref, "type", NULL);
        const char *id = tp_json_gets(ref, "id", NULL);

        if (!type || strcmp(type, "workspaces") != 0 || !id || !*id) {
            return tp_err(p, 422, "data[%" APR_SIZE_T_FMT "] must be "
                          "{\"type\": \"workspaces\", \"id\": ...}", i);
        }
        tp_json_pushs(list, id);
    }
    *ids = tp_json_dump(list, p);
    return NULL;
}

static tp_err_t *change_assignments(tp_req_t *req, const tp_stmt_t *stmt)
{
    tp_var_owner_t owner;
    const char *ids = NULL;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = route_varset(req, &owner)) != NULL
        || (err = read_ws_ids(req, &ids)) != NULL
        || (err = tp_req_exec(req, stmt, &rows,
                              TP_DB_ARGS(ids, owner.varset_id))) != NULL) {
        return err;
    }
    if (rows->nrows) {
        return tp_err(req->r->pool, 404, "workspace %s not found",
                      tp_row(rows, 0, "id"));
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

tp_err_t *tp_api_varset_workspaces_add(tp_req_t *req)
{
    return change_assignments(req, &SQL_VARSET_ASSIGN);
}

tp_err_t *tp_api_varset_workspaces_remove(tp_req_t *req)
{
    return change_assignments(req, &SQL_VARSET_UNASSIGN);
}
