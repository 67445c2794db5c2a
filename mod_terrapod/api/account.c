/* The calling user's own account, as go-tfe's Users.ReadCurrent reads it
 * and Users.UpdateCurrent changes it. */
#include <strings.h>
#include <apr_strings.h>
#include "../mod_terrapod.h"

#define MAX_USERNAME 200

static const tp_stmt_t SQL_ACCOUNT_RENAME = {"account_rename",
    "UPDATE users SET display_name = %s, updated_at = now()"
    " WHERE id = %s RETURNING display_name"};

static tp_err_t *send_account(tp_req_t *req, const char *display_name)
{
    apr_pool_t *p = req->r->pool;
    const tp_principal_t *who = req->who;
    tp_json_t *u = tp_jsonapi_resource(p, "users", who->user_id);

    tp_json_sets(u, who->grants.email, "attributes", "username", NULL);
    tp_json_sets(u, who->grants.email, "attributes", "email", NULL);
    tp_json_sets(u, display_name, "attributes", "display-name", NULL);
    tp_json_setb(u, who->is_service_account, "attributes",
                 "is-service-account", NULL);
    /* the same fact under the names other clients read */
    tp_json_setb(u, who->is_service_account, "attributes", "is-service-user",
                 NULL);
    tp_json_setb(u, 0, "attributes", "two-factor", "enabled", NULL);
    tp_json_setb(u, 0, "attributes", "two-factor", "verified", NULL);
    tp_json_setb(u, who->grants.is_admin, "attributes", "is-admin", NULL);
    tp_json_setb(u, who->grants.is_admin, "attributes", "is-site-admin",
                 NULL);
    tp_json_setb(u, who->grants.is_audit, "attributes", "is-audit", NULL);
    /* no UI of TFE's first generation here to opt out of */
    tp_json_setb(u, 1, "attributes", "v2-only", NULL);
    tp_json_setnull(u, "attributes", "avatar-url", NULL);
    tp_json_sets(u, apr_pstrcat(p, "/api/v2/users/", who->user_id, NULL),
                 "links", "self", NULL);
    return tp_send_json(req, 200, tp_jsonapi_doc(p, u));
}

tp_err_t *tp_api_account_details(tp_req_t *req)
{
    return send_account(req, req->who->display_name);
}

/* PATCH /account/update: the display name (TFE's username); the email is
 * the account's identity and stays. */
tp_err_t *tp_api_account_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *username = NULL, *email = NULL;
    tp_json_t *body, *a;
    tp_rows_t *rows;
    tp_err_t *err;
    int has_name, has_email;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "users", &a)) != NULL
        || (err = tp_attr_string(p, a, "username", MAX_USERNAME, &username,
                                 &has_name)) != NULL
        || (err = tp_attr_string(p, a, "email", 254, &email, &has_email))
           != NULL) {
        return err;
    }
    if (has_email && strcasecmp(email, req->who->grants.email) != 0) {
        return tp_err(p, 422, "email cannot be changed: it is the account's "
                      "identity; ask an administrator for a new account");
    }
    if (!has_name) {
        return send_account(req, req->who->display_name);
    }
    if ((err = tp_req_exec(req, &SQL_ACCOUNT_RENAME, &rows,
                           TP_DB_ARGS(username, req->who->user_id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "this principal has no user account to change");
    }
    return send_account(req, tp_row(rows, 0, "display_name"));
}
