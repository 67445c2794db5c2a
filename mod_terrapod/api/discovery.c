/* Service discovery and the TFE API handshake: what terraform reads before
 * anything else. */
#include "../mod_terrapod.h"

tp_err_t *tp_api_discovery(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p);
    tp_json_t *ports = tp_json_array(p);
    tp_json_t *grants = tp_json_array(p);

    /* a missing tfe.v2 breaks the cloud block, a missing tfe.v2.2 the
     * tfe provider */
    tp_json_sets(doc, "/api/v2/", "tfe.v2", NULL);
    tp_json_sets(doc, "/api/v2/", "tfe.v2.1", NULL);
    tp_json_sets(doc, "/api/v2/", "tfe.v2.2", NULL);
    tp_json_sets(doc, TP_LOGIN_CLIENT, "login.v1", "client", NULL);
    tp_json_pushs(grants, "authz_code");
    tp_json_setj(doc, grants, "login.v1", "grant_types", NULL);
    tp_json_sets(doc, "/oauth/authorize", "login.v1", "authz", NULL);
    tp_json_sets(doc, "/oauth/token", "login.v1", "token", NULL);
    tp_json_pushi(ports, TP_LOGIN_PORT_MIN);
    tp_json_pushi(ports, TP_LOGIN_PORT_MAX);
    tp_json_setj(doc, ports, "login.v1", "ports", NULL);
    tp_json_sets(doc, "/api/terrapod/v1/registry/modules/", "modules.v1",
                 NULL);
    tp_json_sets(doc, "/api/terrapod/v1/registry/providers/", "providers.v1",
                 NULL);
    return tp_send_json(req, 200, doc);
}

/* The status is ignored by clients; the TFP-* headers every /api/v2
 * response carries are what they read. */
tp_err_t *tp_api_ping(tp_req_t *req)
{
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
