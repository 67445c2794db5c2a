/* Role assignments: which roles a (provider, email) identity holds. A PUT
 * replaces the whole set for that identity in one transaction. */
#include <apr_strings.h>
#include "../mod_terrapod.h"

static const tp_stmt_t SQL_RA_LIST = {"ra_list",
    "SELECT provider_name, email, json_agg(role_name ORDER BY role_name)::text"
    "       AS roles, count(*) OVER () AS total"
    "  FROM role_assignments GROUP BY provider_name, email"
    " ORDER BY email, provider_name LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_RA_GET = {"ra_get",
    "SELECT %s::text AS provider_name, %s::text AS email,"
    "       COALESCE(json_agg(role_name ORDER BY role_name), '[]')::text"
    "       AS roles"
    "  FROM role_assignments WHERE provider_name = %s AND email = %s"};
static const tp_stmt_t SQL_RA_CLEAR = {"ra_clear",
    "DELETE FROM role_assignments WHERE provider_name = %s AND email = %s"};
static const tp_stmt_t SQL_RA_ADD = {"ra_add",
    "INSERT INTO role_assignments (provider_name, email, role_name)"
    " SELECT %s, %s, name FROM roles WHERE name = %s RETURNING role_name"};
static const tp_stmt_t SQL_RA_DELETE = {"ra_delete",
    "DELETE FROM role_assignments"
    " WHERE provider_name = %s AND email = %s AND role_name = %s"
    " RETURNING role_name"};

static tp_json_t *ra_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    const char *provider = tp_row(rows, i, "provider_name");
    const char *email = tp_row(rows, i, "email");
    const char *roles = tp_row(rows, i, "roles");
    tp_json_t *r = tp_jsonapi_resource(p, "role-assignments",
                                       apr_pstrcat(p, provider, "/", email,
                                                   NULL));

    tp_json_sets(r, provider, "attributes", "provider-name", NULL);
    tp_json_sets(r, email, "attributes", "email", NULL);
    tp_json_setj(r, tp_json_parse(p, roles, strlen(roles), NULL),
                 "attributes", "roles", NULL);
    return r;
}

tp_err_t *tp_api_role_assignment_list(tp_req_t *req)
{
    return tp_send_page(req, &SQL_RA_LIST, 0, NULL, ra_resource);
}

tp_err_t *tp_api_role_assignment_put(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *provider, *email;
    tp_json_t *body, *a, *roles;
    tp_rows_t *rows;
    apr_size_t i;
    tp_db_t *db;
    tp_err_t *err;
    int has;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "role-assignments", &a))
           != NULL
        || (err = tp_attr_string(p, a, "provider-name", 63, &provider, &has))
           != NULL) {
        return err;
    }
    if (!has) {
        provider = "local";
    }
    if ((err = tp_attr_string(p, a, "email", 254, &email, &has)) != NULL
        || (err = tp_attr_strings(p, a, "roles", 100, 63, &roles, &has))
           != NULL) {
        return err;
    }
    if (!email || !tp_email_valid(email)) {
        return tp_err(p, 422, "email must be an address");
    }
    if (!has) {
        return tp_err(p, 422, "roles is required (a list of role names)");
    }
    email = tp_str_lower(p, email);
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RA_CLEAR, NULL,
                             TP_DB_ARGS(provider, email))) != NULL) {
        return err;
    }
    for (i = 0; i < tp_json_len(roles); i++) {
        const char *role = tp_json_gets(tp_json_at(roles, i), NULL);

        if ((err = tp_db_exec(db, p, &SQL_RA_ADD, &rows,
                              TP_DB_ARGS(provider, email, role))) != NULL) {
            return err;
        }
        if (rows->nrows == 0) {
            tp_db_rollback(db);
            return tp_err(p, 422, "role %s does not exist", role);
        }
    }
    if ((err = tp_db_commit(db)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RA_GET, &rows,
                             TP_DB_ARGS(provider, email, provider, email)))
           != NULL) {
        return err;
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, ra_resource(req, rows, 0)));
}

tp_err_t *tp_api_role_assignment_delete(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *provider = tp_param(&req->params, "provider");
    const char *email = tp_str_lower(p, tp_param(&req->params, "email"));
    const char *role = tp_param(&req->params, "role");
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_RA_DELETE, &rows,
                                TP_DB_ARGS(provider, email, role));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "%s/%s does not hold role %s", provider, email,
                      role);
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
