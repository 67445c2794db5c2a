/* Sign-in through an OpenID Connect provider: authorize?provider=<name>
 * sends the browser to the provider, the callback verifies where it comes
 * back with. Until sign-in sessions exist the callback answers with the
 * verified identity and the roles it now holds. */
#include <apr_strings.h>
#include "../mod_terrapod.h"

#define RETURN_TO_MAX 2048

/* Only a path on this server, so the sign-in cannot redirect elsewhere. */
static int return_to_ok(const char *s)
{
    return s[0] == '/' && s[1] != '/' && strlen(s) <= RETURN_TO_MAX
           && !strpbrk(s, "\r\n\\");
}

tp_err_t *tp_api_auth_authorize(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *provider = tp_query_arg(req, "provider");
    const char *return_to = tp_query_arg(req, "return_to");
    const char *location;
    tp_err_t *err;

    if (!provider || !*provider) {
        return tp_err(p, 400, "provider is required: the name of a single "
                      "sign-on provider");
    }
    if (!return_to) {
        return_to = "/";
    }
    if (!return_to_ok(return_to)) {
        return tp_err(p, 400, "return_to must be a path on this server");
    }
    if ((err = tp_sso_begin(req, provider, return_to, &location)) != NULL) {
        return err;
    }
    apr_table_setn(req->r->headers_out, "Location", location);
    apr_table_setn(req->r->headers_out, "Cache-Control", "no-store");
    return tp_send_empty(req, HTTP_MOVED_TEMPORARILY);
}

static tp_json_t *identity_doc(tp_req_t *req, const tp_sso_result_t *res,
                               int local_password_allowed)
{
    apr_pool_t *p = req->r->pool;
    const tp_identity_t *id = res->identity;
    tp_json_t *r = tp_jsonapi_resource(p, "sso-identities",
                                       apr_pstrcat(p, res->provider->name,
                                                   "/", id->email, NULL));
    tp_json_sets(r, res->provider->name, "attributes", "provider-name", NULL);
    tp_json_sets(r, id->email, "attributes", "email", NULL);
    tp_json_sets(r, id->name, "attributes", "name", NULL);
    tp_json_setj(r, tp_json_strings(p, id->groups), "attributes", "groups",
                 NULL);
    tp_json_setj(r, tp_json_strings(p, res->roles), "attributes", "roles",
                 NULL);
    tp_json_sets(r, res->return_to, "attributes", "return-to", NULL);
    tp_json_setb(r, local_password_allowed, "attributes",
                 "local-password-allowed", NULL);
    tp_json_sets(r, "users", "relationships", "user", "data", "type", NULL);
    tp_json_sets(r, res->user_id, "relationships", "user", "data", "id",
                 NULL);
    return tp_jsonapi_doc(p, r);
}

tp_err_t *tp_api_auth_callback(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *code = tp_query_arg(req, "code");
    const char *state = tp_query_arg(req, "state");
    const char *refusal = tp_query_arg(req, "error");
    tp_sso_result_t *res;
    tp_err_t *err, *local;

    if (!state || !*state) {
        return tp_err(p, 400, "state is required");
    }
    if (!refusal && (!code || !*code)) {
        err = tp_err(p, 400, "code is required");
    }
    else {
        err = tp_sso_finish(req, state, code, refusal, &res);
    }
    if (err) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01102: "
                      "single sign-on refused: %s", err->detail);
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01101: %s signed "
                  "in through %s (%d mapped role(s))", res->identity->email,
                  res->provider->name, res->roles->nelts);
    local = tp_sso_local_password_check(req, res->identity->email);
    if (local && local->status != 403) {
        return local;
    }
    return tp_send_json(req, 200, identity_doc(req, res, local == NULL));
}
