/* Variables: a workspace's own (the TFE V2 /vars paths), the list, create,
 * update and delete that workspaces and variable sets share, and the
 * merged set a workspace's runs see. Sensitive values are sealed on the
 * way in and never leave through the API again. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_crypto.h"
#include "../tp_vars.h"

#define VAR_COLUMNS \
    "v.id, v.key, v.value, v.category, v.hcl, v.sensitive, v.description," \
    " v.workspace_id, v.varset_id, tp_ts(v.created_at) AS created_at," \
    " " TP_VAR_VERSION_ID

/* both of the owner's ids are bound; the one it lacks is NULL and
 * matches nothing */
#define VAR_OWNER " (v.workspace_id = %s OR v.varset_id = %s)"

static const tp_stmt_t SQL_VAR_PAGE = {"var_page",
    "SELECT " VAR_COLUMNS ", count(*) OVER () AS total FROM variables v"
    " WHERE" VAR_OWNER " ORDER BY v.category, v.key COLLATE \"C\""
    " LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_VAR_GET = {"var_get",
    "SELECT " VAR_COLUMNS " FROM variables v WHERE v.id = %s AND" VAR_OWNER};
/* what an update starts from, held until it commits */
static const tp_stmt_t SQL_VAR_LOCK = {"var_lock",
    "SELECT " VAR_COLUMNS ", v.sealed_value FROM variables v"
    " WHERE v.id = %s AND" VAR_OWNER " FOR UPDATE"};
static const tp_stmt_t SQL_VAR_INSERT = {"var_insert",
    "INSERT INTO variables (id, workspace_id, varset_id, key, value,"
    "                       sealed_value, category, hcl, sensitive,"
    "                       description)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::boolean, %s::boolean, %s)"
    " ON CONFLICT DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_VAR_TAKEN = {"var_taken",
    "SELECT 1 FROM variables v WHERE" VAR_OWNER
    " AND v.key = %s AND v.category = %s AND v.id <> %s"};
static const tp_stmt_t SQL_VAR_UPDATE = {"var_update",
    "UPDATE variables SET key = %s, value = %s, sealed_value = %s,"
    " category = %s, hcl = %s::boolean, sensitive = %s::boolean,"
    " description = %s, updated_at = now()"
    " WHERE id = %s"};
static const tp_stmt_t SQL_VAR_DELETE = {"var_delete",
    "DELETE FROM variables v WHERE v.id = %s AND" VAR_OWNER
    " RETURNING v.id"};

/* ---- rendering ---- */

static tp_json_t *var_resource(apr_pool_t *p, const tp_var_t *v)
{
    int of_ws = v->source == TP_VAR_FROM_WORKSPACE;
    tp_json_t *r = tp_jsonapi_resource(p, "vars", v->id);

    tp_json_sets(r, v->key, "attributes", "key", NULL);
    /* sensitive values are write-only */
    tp_json_sets(r, v->sensitive ? NULL : v->value, "attributes", "value",
                 NULL);
    tp_json_sets(r, v->category, "attributes", "category", NULL);
    tp_json_setb(r, v->hcl, "attributes", "hcl", NULL);
    tp_json_setb(r, v->sensitive, "attributes", "sensitive", NULL);
    tp_json_sets(r, v->description, "attributes", "description", NULL);
    tp_json_sets(r, v->created_at, "attributes", "created-at", NULL);
    tp_json_sets(r, v->version_id, "attributes", "version-id", NULL);
    tp_jsonapi_relate_to(p, r, "configurable",
                         of_ws ? "workspaces" : "varsets", v->source_id);
    if (!of_ws) {
        /* go-tfe reads a set's variables through "varset" */
        tp_jsonapi_relate_to(p, r, "varset", "varsets", v->source_id);
    }

    tp_json_sets(r, of_ws
                    ? apr_pstrcat(p, "/api/v2/workspaces/", v->source_id,
                                  "/vars/", v->id, NULL)
                    : apr_pstrcat(p, "/api/v2/varsets/", v->source_id,
                                  "/relationships/vars/", v->id, NULL),
                 "links", "self", NULL);
    return r;
}

static tp_json_t *var_render(tp_req_t *req, const tp_rows_t *rows, int i)
{
    tp_var_t v;

    tp_var_from_row(rows, i, &v);
    return var_resource(req->r->pool, &v);
}

static tp_err_t *send_var(tp_req_t *req, int status,
                          const tp_var_owner_t *owner, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_VAR_GET, &rows,
                                TP_DB_ARGS(id, owner->ws_id,
                                           owner->varset_id));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "variable %s not found", id);
    }
    return tp_send_json(req, status,
                        tp_jsonapi_doc(req->r->pool,
                                       var_render(req, rows, 0)));
}

/* ---- shared by workspaces and variable sets ---- */

static const char *seal(tp_req_t *req, const char *plain)
{
    return tp_seal(req->r->pool, req->conf->hmac.bytes, req->conf->hmac.len,
                   TP_VAR_SEAL_PURPOSE, plain);
}

static tp_err_t *not_sealed(tp_req_t *req)
{
    return tp_err_internal(req->r->pool, 500, "the value could not be "
                           "sealed", "tp_seal failed");
}

/* body: the request's, already read; NULL reads it */
static tp_err_t *read_input(tp_req_t *req, tp_json_t *body, int create,
                            tp_var_input_t *in)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *a;
    tp_err_t *err;

    if ((!body && (err = tp_read_json(req, &body)) != NULL)
        || (err = tp_jsonapi_attributes(p, body, "vars", &a)) != NULL) {
        return err;
    }
    return tp_var_parse(p, a, create, in);
}

static tp_err_t *taken(apr_pool_t *p, const char *key, const char *category)
{
    return tp_err(p, 422, "key \"%s\" has already been taken (category %s)",
                  key, category);
}

tp_err_t *tp_vars_api_list(tp_req_t *req, const tp_var_owner_t *owner)
{
    return tp_send_page(req, &SQL_VAR_PAGE,
                        TP_DB_ARGS(owner->ws_id, owner->varset_id),
                        var_render);
}

tp_err_t *tp_vars_api_show(tp_req_t *req, const tp_var_owner_t *owner,
                           const char *var_id)
{
    return send_var(req, 200, owner, var_id);
}

static tp_err_t *create_var(tp_req_t *req, const tp_var_owner_t *owner,
                            tp_json_t *body)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "var");
    const char *value, *sealed = NULL;
    tp_var_input_t in;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = read_input(req, body, 1, &in)) != NULL) {
        return err;
    }
    value = in.value ? in.value : "";
    if (in.sensitive) {
        if (!(sealed = seal(req, value))) {
            return not_sealed(req);
        }
        value = "";
    }
    if ((err = tp_req_exec(req, &SQL_VAR_INSERT, &rows,
            TP_DB_ARGS(id, owner->ws_id, owner->varset_id, in.key, value,
                       sealed, in.category, tp_db_bool(in.hcl),
                       tp_db_bool(in.sensitive),
                       in.description ? in.description : ""))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return taken(p, in.key, in.category);
    }
    return send_var(req, 201, owner, id);
}

tp_err_t *tp_vars_api_create(tp_req_t *req, const tp_var_owner_t *owner)
{
    return create_var(req, owner, NULL);
}

/* A variable's stored columns as bound values. */
typedef struct {
    const char *key, *value, *sealed, *category, *hcl, *sensitive;
    const char *description;
} var_cols_t;

/* What an update stores: what the request sends over what is there. A
 * value stays sealed once sensitive; one turning sensitive is sealed now. */
static tp_err_t *merge_update(tp_req_t *req, const tp_var_input_t *in,
                              const tp_rows_t *rows, var_cols_t *c)
{
    apr_pool_t *p = req->r->pool;
    int was_sensitive = tp_row_bool(rows, 0, "sensitive");
    int sensitive = in->has_sensitive ? in->sensitive : was_sensitive;
    int hcl = in->has_hcl ? in->hcl : tp_row_bool(rows, 0, "hcl");
    const char *value = in->value;

    if (was_sensitive && !sensitive) {
        return tp_err(p, 422, "a sensitive variable cannot be made "
                      "non-sensitive; delete it and create it again");
    }
    if (!value && !was_sensitive) {
        value = tp_row(rows, 0, "value");
    }
    c->key = in->key ? in->key : tp_row(rows, 0, "key");
    c->category = in->category ? in->category : tp_row(rows, 0, "category");
    c->description = in->description ? in->description
                                     : tp_row(rows, 0, "description");
    c->hcl = tp_db_bool(hcl);
    c->sensitive = tp_db_bool(sensitive);
    c->value = sensitive ? "" : value;
    c->sealed = NULL;
    if (sensitive) {
        c->sealed = value ? seal(req, value)
                          : tp_row(rows, 0, "sealed_value");
        if (!c->sealed) {
            return not_sealed(req);
        }
    }
    return NULL;
}

tp_err_t *tp_vars_api_update(tp_req_t *req, const tp_var_owner_t *owner,
                             const char *var_id)
{
    apr_pool_t *p = req->r->pool;
    var_cols_t c = {0};
    tp_var_input_t in;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = read_input(req, NULL, 0, &in)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_VAR_LOCK, &rows,
                             TP_DB_ARGS(var_id, owner->ws_id,
                                        owner->varset_id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        tp_db_rollback(db);
        return tp_err(p, 404, "variable %s not found", var_id);
    }
    if ((err = merge_update(req, &in, rows, &c)) != NULL
        || (err = tp_db_exec(db, p, &SQL_VAR_TAKEN, &rows,
                             TP_DB_ARGS(owner->ws_id, owner->varset_id,
                                        c.key, c.category, var_id)))
           != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if (rows->nrows) {
        tp_db_rollback(db);
        return taken(p, c.key, c.category);
    }
    if ((err = tp_db_exec(db, p, &SQL_VAR_UPDATE, NULL,
                          TP_DB_ARGS(c.key, c.value, c.sealed, c.category,
                                     c.hcl, c.sensitive, c.description,
                                     var_id))) != NULL
        || (err = tp_db_commit(db)) != NULL) {
        return err;
    }
    return send_var(req, 200, owner, var_id);
}

tp_err_t *tp_vars_api_delete(tp_req_t *req, const tp_var_owner_t *owner,
                             const char *var_id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_VAR_DELETE, &rows,
                                TP_DB_ARGS(var_id, owner->ws_id,
                                           owner->varset_id));

    if (err) {
        return err;
    }
    return rows->nrows ? tp_send_empty(req, HTTP_NO_CONTENT)
                       : tp_err(req->r->pool, 404, "variable %s not found",
                                var_id);
}

/* ---- a workspace's variables ---- */

/* The workspace of the route, at the route's level. */
static tp_err_t *ws_owner(tp_req_t *req, tp_var_owner_t *owner)
{
    tp_ws_t *ws;
    tp_err_t *err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws);

    owner->ws_id = err ? NULL : ws->id;
    owner->varset_id = NULL;
    return err;
}

tp_err_t *tp_api_var_list(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = ws_owner(req, &owner);

    return err ? err : tp_vars_api_list(req, &owner);
}

tp_err_t *tp_api_var_show(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = ws_owner(req, &owner);

    return err ? err : tp_vars_api_show(req, &owner,
                                        tp_param(&req->params, "var_id"));
}

tp_err_t *tp_api_var_create(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = ws_owner(req, &owner);

    return err ? err : tp_vars_api_create(req, &owner);
}

tp_err_t *tp_api_var_update(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = ws_owner(req, &owner);

    return err ? err : tp_vars_api_update(req, &owner,
                                          tp_param(&req->params, "var_id"));
}

tp_err_t *tp_api_var_delete(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = ws_owner(req, &owner);

    return err ? err : tp_vars_api_delete(req, &owner,
                                          tp_param(&req->params, "var_id"));
}

/* ---- TFE's older /vars paths: the workspace named by a filter, the
 * body or the variable ---- */

static const tp_stmt_t SQL_VAR_WORKSPACE = {"var_workspace",
    "SELECT workspace_id FROM variables"
    " WHERE id = %s AND workspace_id IS NOT NULL"};

/* GET /vars?filter[organization][name]=...&filter[workspace][name]=... */
tp_err_t *tp_api_vars_legacy_list(tp_req_t *req)
{
    const char *org = tp_query_arg(req, "filter[organization][name]");
    const char *name = tp_query_arg(req, "filter[workspace][name]");
    tp_var_owner_t owner = {NULL, NULL};
    tp_ws_t *ws;
    tp_err_t *err;

    if (!name) {
        return tp_err(req->r->pool, 422, "filter[workspace][name] is "
                      "required");
    }
    if (org && strcmp(org, TP_ORGANIZATION) != 0) {
        return tp_err(req->r->pool, 404, "organization %s not found", org);
    }
    if ((err = tp_ws_load(req, name, 1, &ws)) != NULL) {
        return err;
    }
    owner.ws_id = ws->id;
    return tp_vars_api_list(req, &owner);
}

/* POST /vars with relationships.workspace */
tp_err_t *tp_api_vars_legacy_create(tp_req_t *req)
{
    tp_var_owner_t owner = {NULL, NULL};
    const char *ws_id;
    tp_json_t *body;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL) {
        return err;
    }
    ws_id = tp_json_gets(body, "data", "relationships", "workspace", "data",
                         "id", NULL);
    if (!ws_id) {
        return tp_err(req->r->pool, 422, "relationships.workspace.data.id "
                      "is required");
    }
    if ((err = tp_ws_load(req, ws_id, 0, &ws)) != NULL) {
        return err;
    }
    owner.ws_id = ws->id;
    return create_var(req, &owner, body);
}

/* The workspace of /vars/{var_id}, at the route's level. */
static tp_err_t *var_owner(tp_req_t *req, tp_var_owner_t *owner)
{
    const char *id = tp_param(&req->params, "var_id");
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = tp_req_exec(req, &SQL_VAR_WORKSPACE, &rows,
                                TP_DB_ARGS(id));

    if (!err) {
        err = tp_ws_owner(req, rows, req->route->level, "variable", id, &ws);
    }
    owner->ws_id = err ? NULL : ws->id;
    owner->varset_id = NULL;
    return err;
}

tp_err_t *tp_api_vars_legacy_update(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = var_owner(req, &owner);

    return err ? err : tp_vars_api_update(req, &owner,
                                          tp_param(&req->params, "var_id"));
}

tp_err_t *tp_api_vars_legacy_delete(tp_req_t *req)
{
    tp_var_owner_t owner;
    tp_err_t *err = var_owner(req, &owner);

    return err ? err : tp_vars_api_delete(req, &owner,
                                          tp_param(&req->params, "var_id"));
}

/* GET /api/v2/workspaces/{id}/all-vars: what the workspace's runs see,
 * each winner related to the workspace or set it comes from. */
tp_err_t *tp_api_var_effective_list(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *list = tp_json_array(p);
    apr_array_header_t *vars;
    tp_var_owner_t owner;
    tp_db_t *db;
    tp_err_t *err;
    int i;

    if ((err = ws_owner(req, &owner)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_vars_effective(db, p, owner.ws_id, &vars)) != NULL) {
        return err;
    }
    for (i = 0; i < vars->nelts; i++) {
        tp_json_push(list, var_resource(p, &APR_ARRAY_IDX(vars, i,
                                                          tp_var_t)));
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, list));
}
