/* Users administration (native API). Creating users is for platform
 * admins; reading them for admins and auditors. */
#include <apr_strings.h>
#include "../mod_terrapod.h"

static tp_json_t *user_resource(apr_pool_t *p, const tp_rows_t *row)
{
    tp_json_t *u = tp_jsonapi_resource(p, "users", tp_row(row, 0, "id"));
    const char *email = tp_row(row, 0, "email");

    tp_json_sets(u, email, "attributes", "email", NULL);
    tp_json_sets(u, email, "attributes", "username", NULL);
    tp_json_sets(u, tp_row(row, 0, "display_name"), "attributes",
                 "display-name", NULL);
    tp_json_setb(u, tp_row_bool(row, 0, "is_active"),
                 "attributes", "is-active", NULL);
    tp_json_setb(u, tp_row_bool(row, 0, "is_service_account"),
                 "attributes", "is-service-account", NULL);
    tp_json_sets(u, tp_row(row, 0, "created_at"), "attributes", "created-at",
                 NULL);
    return u;
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
    if (display && strlen(display) > 200) {
        return tp_err(p, 422, "display-name is longer than 200 characters");
    }
    email = tp_str_lower(p, email);
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_user_create(db, p, email, display, password, &row))
           != NULL) {
        return err;
    }
    return tp_send_json(req, 201, tp_jsonapi_doc(p, user_resource(p, row)));
}

tp_err_t *tp_api_user_show(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *email = tp_param(&req->params, "email");
    tp_rows_t *row;
    tp_db_t *db;
    tp_err_t *err;

    if (!req->who->grants.is_admin && !req->who->grants.is_audit
        && strcasecmp(email, req->who->grants.email) != 0) {
        return tp_err(p, 404, "user %s not found", email);
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_user_get(db, p, email, &row)) != NULL) {
        return err;
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, user_resource(p, row)));
}
