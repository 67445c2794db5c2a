/* The one organization, "default", and its entitlements. The dispatcher
 * has already answered 404 for any other name. */
#include "../mod_terrapod.h"

tp_err_t *tp_api_organization_show(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *o = tp_jsonapi_resource(p, "organizations", TP_ORGANIZATION);
    int admin = req->who->grants.is_admin;

    tp_json_sets(o, TP_ORGANIZATION, "attributes", "name", NULL);
    tp_json_sets(o, "org-" TP_ORGANIZATION, "attributes", "external-id", NULL);
    tp_json_sets(o, "local", "attributes", "default-execution-mode", NULL);
    tp_json_setb(o, 1, "attributes", "permissions", "can-create-workspace",
                 NULL);
    tp_json_setb(o, admin, "attributes", "permissions", "can-update", NULL);
    tp_json_setb(o, 0, "attributes", "permissions", "can-destroy", NULL);
    tp_json_setb(o, admin, "attributes", "permissions", "can-manage-users",
                 NULL);
    tp_jsonapi_relate(o, "entitlement-set", "entitlement-sets",
                      "org-" TP_ORGANIZATION);
    return tp_send_json(req, 200, tp_jsonapi_doc(p, o));
}

tp_err_t *tp_api_entitlement_set(tp_req_t *req)
{
    static const char *const enabled[] = {
        "agents", "audit-logging", "configuration-designer", "global-run-tasks",
        "module-tests-generation", "operations", "private-module-registry",
        "private-policy-agents", "run-tasks", "sso",
        "state-storage", "teams", "vcs-integrations",
        NULL
    };
    static const char *const disabled[] = {
        "cost-estimation", "sentinel", NULL
    };
    apr_pool_t *p = req->r->pool;
    tp_json_t *e = tp_jsonapi_resource(p, "entitlement-sets",
                                       "org-" TP_ORGANIZATION);
    int i;

    /* operations: true lets the CLI run remotely where a workspace's
     * execution mode asks for it */
    for (i = 0; enabled[i]; i++) {
        tp_json_setb(e, 1, "attributes", enabled[i], NULL);
    }
    for (i = 0; disabled[i]; i++) {
        tp_json_setb(e, 0, "attributes", disabled[i], NULL);
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, e));
}
