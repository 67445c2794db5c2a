/* Roles: the built-in admin, audit and everyone, and custom roles whose
 * allow/deny rules on labels and names grant a level per axis. */
#include <apr_strings.h>
#include "../mod_terrapod.h"

#define ROLE_COLUMNS \
    "name, description, built_in, workspace_permission, pool_permission," \
    " registry_permission, allow_labels::text AS allow_labels," \
    " allow_names::text AS allow_names, deny_labels::text AS deny_labels," \
    " deny_names::text AS deny_names, tp_ts(created_at) AS created_at," \
    " tp_ts(updated_at) AS updated_at"

static const tp_stmt_t SQL_ROLE_LIST = {"role_list",
    "SELECT " ROLE_COLUMNS ", count(*) OVER () AS total FROM roles"
    " ORDER BY built_in DESC, name LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_ROLE_GET = {"role_get",
    "SELECT " ROLE_COLUMNS " FROM roles WHERE name = %s"};
static const tp_stmt_t SQL_ROLE_INSERT = {"role_insert",
    "INSERT INTO roles (name) VALUES (%s) ON CONFLICT DO NOTHING"
    " RETURNING name"};
static const tp_stmt_t SQL_ROLE_UPDATE = {"role_update",
    "UPDATE roles SET description = COALESCE(%s, description),"
    " workspace_permission = COALESCE(%s, workspace_permission),"
    " pool_permission = COALESCE(%s, pool_permission),"
    " registry_permission = COALESCE(%s, registry_permission),"
    " allow_labels = COALESCE(%s::jsonb, allow_labels),"
    " allow_names = COALESCE(%s::jsonb, allow_names),"
    " deny_labels = COALESCE(%s::jsonb, deny_labels),"
    " deny_names = COALESCE(%s::jsonb, deny_names),"
    " updated_at = now()"
    " WHERE name = %s AND NOT built_in RETURNING name"};
static const tp_stmt_t SQL_ROLE_DELETE = {"role_delete",
    "DELETE FROM roles WHERE name = %s AND NOT built_in RETURNING name"};


static tp_json_t *role_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    static const char *const strs[][2] = {
        {"name", "name"}, {"description", "description"},
        {"workspace_permission", "workspace-permission"},
        {"pool_permission", "pool-permission"},
        {"registry_permission", "registry-permission"},
        {"created_at", "created-at"}, {"updated_at", "updated-at"},
        {NULL, NULL}
    };
    static const char *const jsons[][2] = {
        {"allow_labels", "allow-labels"}, {"allow_names", "allow-names"},
        {"deny_labels", "deny-labels"}, {"deny_names", "deny-names"},
        {NULL, NULL}
    };
    tp_json_t *r = tp_jsonapi_resource(p, "roles", tp_row(rows, i, "name"));
    int k;

    for (k = 0; strs[k][0]; k++) {
        tp_json_sets(r, tp_row(rows, i, strs[k][0]), "attributes",
                     strs[k][1], NULL);
    }
    for (k = 0; jsons[k][0]; k++) {
        tp_json_setj(r, tp_row_json(p, rows, i, jsons[k][0]), "attributes",
                     jsons[k][1], NULL);
    }
    tp_json_setb(r, tp_row_bool(rows, i, "built_in"), "attributes",
                 "built-in", NULL);
    return r;
}

static tp_err_t *send_role(tp_req_t *req, int status, const char *name)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_ROLE_GET, &rows, TP_DB_ARGS(name));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "role %s not found", name);
    }
    return tp_send_json(req, status,
                        tp_jsonapi_doc(req->r->pool,
                                       role_resource(req, rows, 0)));
}

tp_err_t *tp_api_role_list(tp_req_t *req)
{
    return tp_send_page(req, &SQL_ROLE_LIST, 0, NULL, role_resource);
}

tp_err_t *tp_api_role_show(tp_req_t *req)
{
    return send_role(req, 200, tp_param(&req->params, "name"));
}

/* Role attributes as bound values; NULL leaves a column as it is. */
typedef struct {
    const char *description, *ws, *pool, *registry;
    const char *allow_labels, *allow_names, *deny_labels, *deny_names;
} role_input_t;

static tp_err_t *labels_attr(apr_pool_t *p, const tp_json_t *a,
                             const char *name, const char **out)
{
    tp_json_t *labels;
    tp_err_t *err;

    *out = NULL;
    if (tp_json_type(a, name, NULL) == TP_JSON_ABSENT) {
        return NULL;
    }
    labels = tp_json_get(a, name, NULL);
    if (tp_json_type(labels, NULL) != TP_JSON_OBJECT) {
        return tp_err(p, 422, "%s must be an object of label values", name);
    }
    /* the same shape rules as the labels they are matched against, minus
     * the reserved keys (a rule may name any key) */
    if ((err = tp_labels_check(p, labels, name, 0)) != NULL) {
        return err;
    }
    *out = tp_json_dump(labels, p);
    return NULL;
}

static tp_err_t *level_attr(apr_pool_t *p, const tp_json_t *a,
                            const char *name, tp_axis_e axis,
                            const char **out)
{
    static const char *const ws_levels[] = {"read", "plan", "write", "admin",
                                            NULL};
    static const char *const levels[] = {"read", "write", "admin", NULL};
    int has;
    tp_err_t *err = tp_attr_enum(p, a, name, axis == TP_AXIS_WORKSPACE
                                             ? ws_levels : levels, out, &has);

    if (!has) {
        *out = NULL;
    }
    return err;
}

static tp_err_t *names_attr(apr_pool_t *p, const tp_json_t *a,
                            const char *name, const char **out)
{
    tp_json_t *names;
    int has;
    tp_err_t *err = tp_attr_strings(p, a, name, 1000, 90, &names, &has);

    *out = has ? tp_json_dump(names, p) : NULL;
    return err;
}

static tp_err_t *parse_role(apr_pool_t *p, const tp_json_t *a,
                            role_input_t *in)
{
    tp_err_t *err;
    int has;

    memset(in, 0, sizeof(*in));
    if ((err = tp_attr_string(p, a, "description", 1000, &in->description,
                              &has)) != NULL
        || (err = level_attr(p, a, "workspace-permission", TP_AXIS_WORKSPACE,
                             &in->ws)) != NULL
        || (err = level_attr(p, a, "pool-permission", TP_AXIS_POOL,
                             &in->pool)) != NULL
        || (err = level_attr(p, a, "registry-permission", TP_AXIS_REGISTRY,
                             &in->registry)) != NULL
        || (err = labels_attr(p, a, "allow-labels", &in->allow_labels))
           != NULL
        || (err = labels_attr(p, a, "deny-labels", &in->deny_labels)) != NULL
        || (err = names_attr(p, a, "allow-names", &in->allow_names)) != NULL
        || (err = names_attr(p, a, "deny-names", &in->deny_names)) != NULL) {
        return err;
    }
    if (!has) {
        in->description = NULL;
    }
    return NULL;
}

static tp_err_t *update_role(tp_db_t *db, apr_pool_t *p, const char *name,
                             const role_input_t *in, int *found)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_ROLE_UPDATE, &rows,
        TP_DB_ARGS(in->description, in->ws, in->pool, in->registry,
                   in->allow_labels, in->allow_names, in->deny_labels,
                   in->deny_names, name));

    *found = !err && rows->nrows == 1;
    return err;
}

tp_err_t *tp_api_role_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *a;
    const char *name;
    role_input_t in;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    int has, found;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "roles", &a)) != NULL
        || (err = tp_attr_string(p, a, "name", 63, &name, &has)) != NULL
        || (err = parse_role(p, a, &in)) != NULL) {
        return err;
    }
    if (!has || !tp_role_name_valid(name)) {
        return tp_err(p, 422, "name must be 1 to 63 lower-case letters, "
                      "digits, '-' or '_', starting with a letter or digit");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_ROLE_INSERT, &rows,
                             TP_DB_ARGS(name))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        tp_db_rollback(db);
        return tp_err(p, 409, "role %s already exists", name);
    }
    if ((err = update_role(db, p, name, &in, &found)) != NULL
        || (err = tp_db_commit(db)) != NULL) {
        return err;
    }
    return send_role(req, 201, name);
}

static tp_err_t *builtin_or_missing(tp_req_t *req, const char *name)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_ROLE_GET, &rows, TP_DB_ARGS(name));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "role %s not found", name);
    }
    return tp_err(req->r->pool, 409, "built-in role %s cannot be changed or "
                  "deleted", name);
}

tp_err_t *tp_api_role_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *name = tp_param(&req->params, "name");
    tp_json_t *body, *a;
    role_input_t in;
    tp_db_t *db;
    tp_err_t *err;
    int found;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "roles", &a)) != NULL
        || (err = parse_role(p, a, &in)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = update_role(db, p, name, &in, &found)) != NULL) {
        return err;
    }
    return found ? send_role(req, 200, name) : builtin_or_missing(req, name);
}

tp_err_t *tp_api_role_delete(tp_req_t *req)
{
    const char *name = tp_param(&req->params, "name");
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_ROLE_DELETE, &rows,
                                TP_DB_ARGS(name));

    if (err) {
        return err;
    }
    return rows->nrows ? tp_send_empty(req, HTTP_NO_CONTENT)
                       : builtin_or_missing(req, name);
}
