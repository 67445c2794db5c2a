/* The calling user's own account, as go-tfe's Users.ReadCurrent reads it. */
#include "../mod_terrapod.h"

tp_err_t *tp_api_account_details(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const tp_principal_t *who = req->who;
    tp_json_t *u = tp_jsonapi_resource(p, "users", who->user_id);

    tp_json_sets(u, who->grants.email, "attributes", "username", NULL);
    tp_json_sets(u, who->grants.email, "attributes", "email", NULL);
    tp_json_sets(u, who->display_name, "attributes", "display-name", NULL);
    tp_json_setb(u, who->is_service_account, "attributes",
                 "is-service-account", NULL);
    tp_json_setb(u, 0, "attributes", "two-factor", "enabled", NULL);
    tp_json_setb(u, 0, "attributes", "two-factor", "verified", NULL);
    tp_json_setb(u, who->grants.is_admin, "attributes", "is-admin", NULL);
    tp_json_setb(u, who->grants.is_audit, "attributes", "is-audit", NULL);
    return tp_send_json(req, 200, tp_jsonapi_doc(p, u));
}
