/* The API's OpenAPI document, generated from the route table and the
 * described types (tp_openapi.c) for the instance's public URL. */
#include "../mod_terrapod.h"
#include "../tp_openapi.h"

tp_err_t *tp_api_openapi(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const tp_type_desc_t **descs;
    int n, i;

    for (n = 0; tp_types[n]; n++) {
    }
    descs = apr_pcalloc(p, (n + 1) * sizeof(*descs));
    for (i = 0; i < n; i++) {
        descs[i] = tp_types[i]->desc;
    }
    return tp_send_json(req, 200, tp_openapi(p, tp_routes, descs,
                                             tp_base_url(req), TP_VERSION));
}
