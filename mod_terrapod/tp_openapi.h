/* The API described as an OpenAPI 3.1 document, generated from the route
 * table and the described resource types: nothing about an endpoint is
 * written down twice. */
#ifndef TP_OPENAPI_H
#define TP_OPENAPI_H

#include "tp_json.h"
#include "tp_route.h"
#include "tp_resource.h"

/* The document of routes (ending with a row whose method is NULL) and
 * types (ending with NULL): one operation per route, one schema per type
 * plus its document and list, servers naming server_url (the instance's
 * public URL) and info.version the module's version. */
tp_json_t *tp_openapi(apr_pool_t *p, const tp_route_t *routes,
                      const tp_type_desc_t *const *types,
                      const char *server_url, const char *version);

/* The tag a path is grouped under: its first segment after the API's
 * base (/api/<...>/vN) and the single organization, or after admin/. */
const char *tp_openapi_tag(apr_pool_t *p, const char *pattern);

/* The operationId of a route: method and path, lower case, every run of
 * other characters than letters and digits made one "_". */
const char *tp_openapi_operation_id(apr_pool_t *p, const char *method,
                                    const char *pattern);

#endif
