/* Users administration (native API): listed and read by platform admins
 * and auditors (a user may read itself), created, changed and deleted by
 * admins. */
#include <apr_strings.h>
#include "../mod_terrapod.h"

#define MAX_DISPLAY_NAME 200

static const tp_stmt_t SQL_USER_LIST = {"user_list",
    "SELECT " TP_USER_COLUMNS ", count(*) OVER () AS total FROM users"
    " WHERE %s::text IS NULL OR strpos(email, lower(%s)) > 0"
    " ORDER BY email LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_USER_UPDATE = {"user_update",
    "UPDATE users SET is_active = COALESCE(%s::boolean, is_active),"
    "       display_name = COALESCE(%s, display_name), updated_at = now()"
    " WHERE email = %s RETURNING " TP_USER_COLUMNS};
/* role_assignments.email is no foreign key (assignments may name people
 * who have not signed in yet), so they go explicitly; tokens cascade */
static const tp_stmt_t SQL_USER_UNASSIGN = {"user_unassign",
    "DELETE FROM role_assignments WHERE email = %s"};
static const tp_stmt_t SQL_USER_DELETE = {"user_delete",
    "DELETE FROM users WHERE email = %s RETURNING email"};

static tp_json_t *user_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *u = tp_jsonapi_resource(p, "users", tp_row(rows, i, "id"));
    const char *email = tp_row(rows, i, "email");

    tp_json_sets(u, email, "attributes", "email", NULL);
    tp_json_sets(u, email, "attributes", "username", NULL);
    tp_json_sets(u, tp_row(rows, i, "display_name"), "attributes",
                 "display-name", NULL);
    tp_json_setb(u, tp_row_bool(rows, i, "is_active"),
                 "attributes", "is-active", NULL);
    tp_json_setb(u, tp_row_bool(rows, i, "is_service_account"),
                 "attributes", "is-service-account", NULL);
    tp_json_sets(u, tp_row(rows, i, "created_at"), "attributes", "created-at",
                 NULL);
    tp_json_sets(u, tp_row(rows, i, "last_login_at"), "attributes",
                 "last-login-at", NULL);
    return u;
}

/* ---- the TFE view: any signed-in user may read another ---- */

static const tp_stmt_t SQL_USER_BY_IDS = {"user_by_ids",
    "SELECT " TP_USER_COLUMNS " FROM users WHERE" TP_AMONG_KEYS("id")};

static const tp_attr_t TFE_USER_ATTRS[] = {
    {"is-service-account", "is_service_account", TP_ATTR_BOOL},
    {NULL, NULL, 0}
};

static const tp_type_desc_t TFE_USER_DESC = {
    "users", NULL, "/api/v2/users/%s", TFE_USER_ATTRS, NULL
};

/* A user as the people it works with see it: the email only to itself
 * and to platform admins and auditors, a username that does not give it
 * away to others (the display name, or the address's local part), and no
 * avatar, since the server asks no outside service for one. */
static tp_json_t *tfe_user(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *u = tp_resource_render(p, &TFE_USER_DESC, rows, i);
    const char *email = tp_row(rows, i, "email");
    const char *display = tp_row(rows, i, "display_name");
    const tp_grants_t *g = &req->who->grants;
    int own = strcmp(email, g->email) == 0;

    tp_json_sets(u, display && *display ? display
                    : apr_pstrmemdup(p, email, strcspn(email, "@")),
                 "attributes", "username", NULL);
    if (own || g->is_admin || g->is_audit) {
        tp_json_sets(u, email, "attributes", "email", NULL);
    }
    tp_json_setnull(u, "attributes", "avatar-url", NULL);
    return u;
}

const tp_type_t tp_type_users = {&TFE_USER_DESC, &SQL_USER_BY_IDS, NULL,
                                 tfe_user};

tp_err_t *tp_api_user_read(tp_req_t *req)
{
    return tp_type_show(req, &tp_type_users, tp_param(&req->params, "id"),
                        "user");
}

static tp_err_t *send_user(tp_req_t *req, int status, const tp_rows_t *row)
{
    return tp_send_json(req, status,
                        tp_jsonapi_doc(req->r->pool,
                                       user_resource(req, row, 0)));
}

/* Reads an optional string attribute; 422 when present with another type. */
static tp_err_t *optional_string(apr_pool_t *p, const tp_json_t *attrs,
                                 const char *name, const char **out)
{
    switch (tp_json_type(attrs, name, NULL)) {
    case TP_JSON_ABSENT:
    case TP_JSON_NULL:
        *out = NULL;
        return NULL;
    case TP_JSON_STRING:
        *out = tp_json_gets(attrs, name, NULL);
        return NULL;
    default:
        return tp_err(p, 422, "%s must be a string", name);
    }
}

tp_err_t *tp_api_user_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *attrs;
    const char *email, *display, *password;
    tp_rows_t *row;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "users", &attrs)) != NULL
        || (err = optional_string(p, attrs, "email", &email)) != NULL
        || (err = optional_string(p, attrs, "display-name", &display)) != NULL
        || (err = optional_string(p, attrs, "password", &password)) != NULL) {
        return err;
    }
    if (!tp_email_valid(email)) {
        return tp_err(p, 422, "email must be an address like user@example.com");
    }
    if (display && strlen(display) > MAX_DISPLAY_NAME) {
        return tp_err(p, 422, "display-name is longer than %d characters",
                      MAX_DISPLAY_NAME);
    }
    email = tp_str_lower(p, email);
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_user_create(db, p, email, display, password, &row))
           != NULL) {
        return err;
    }
    return send_user(req, 201, row);
}

tp_err_t *tp_api_user_show(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *email = tp_str_lower(p, tp_param(&req->params, "email"));
    tp_rows_t *row;
    tp_db_t *db;
    tp_err_t *err;

    if (!req->who->grants.is_admin && !req->who->grants.is_audit
        && strcmp(email, req->who->grants.email) != 0) {
        return tp_err(p, 404, "user %s not found", email);
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_user_get(db, p, email, &row)) != NULL) {
        return err;
    }
    return send_user(req, 200, row);
}

tp_err_t *tp_api_user_list(tp_req_t *req)
{
    const char *filter = tp_query_arg(req, "filter[email]");

    return tp_send_page(req, &SQL_USER_LIST, TP_DB_ARGS(filter, filter),
                        user_resource);
}

/* The {email} of the path, unless it is the caller's own: an admin who
 * deactivates or deletes itself could lock everyone out. */
static tp_err_t *other_user(tp_req_t *req, const char *what,
                            const char **email)
{
    *email = tp_str_lower(req->r->pool, tp_param(&req->params, "email"));
    if (strcmp(*email, req->who->grants.email) == 0) {
        return tp_err(req->r->pool, 409, "you cannot %s your own account",
                      what);
    }
    return NULL;
}

tp_err_t *tp_api_user_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *email = tp_str_lower(p, tp_param(&req->params, "email"));
    const char *display;
    tp_json_t *body, *a;
    tp_rows_t *row;
    tp_err_t *err;
    int active, has_active, has;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "users", &a)) != NULL
        || (err = tp_attr_bool(p, a, "is-active", &active, &has_active))
           != NULL
        || (err = tp_attr_string(p, a, "display-name", MAX_DISPLAY_NAME,
                                 &display, &has)) != NULL) {
        return err;
    }
    if (has_active && !active
        && (err = other_user(req, "deactivate", &email)) != NULL) {
        return err;
    }
    if ((err = tp_req_exec(req, &SQL_USER_UPDATE, &row,
                           TP_DB_ARGS(has_active ? tp_db_bool(active) : NULL,
                                      has ? display : NULL, email)))
        != NULL) {
        return err;
    }
    if (row->nrows == 0) {
        return tp_err(p, 404, "user %s not found", email);
    }
    if (has_active && !active) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01202: user "
                      "%s deactivated by %s; their tokens stop working",
                      email, req->who->grants.email);
    }
    return send_user(req, 200, row);
}

tp_err_t *tp_api_user_delete(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *email;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = other_user(req, "delete", &email)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_USER_UNASSIGN, NULL,
                             TP_DB_ARGS(email))) != NULL
        || (err = tp_db_exec(db, p, &SQL_USER_DELETE, &rows,
                             TP_DB_ARGS(email))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        tp_db_rollback(db);
        return tp_err(p, 404, "user %s not found", email);
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01203: user %s "
                  "deleted by %s with their tokens and role assignments",
                  email, req->who->grants.email);
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
