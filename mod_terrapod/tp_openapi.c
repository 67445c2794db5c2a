/* The OpenAPI document of the API, built from the route table (one
 * operation per row: path parameters, tag, security, permission) and the
 * described resource types (one schema each, with its document and list).
 * What a route answers is named only where the descriptions say it: a GET
 * of a type's own address, of its collection, or of a relationship's
 * related link. */
#include <string.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include "tp_openapi.h"

#define SCHEMAS "#/components/schemas/"
/* what the API answers with (docs/api.md, Conventions) */
#define MEDIA_TYPE "application/json"

/* What a GET route answers, as the type descriptions say. */
typedef struct answer {
    const char *type;
    int list;
} answer_t;

static tp_json_t *schema_ref(apr_pool_t *p, const char *name)
{
    tp_json_t *r = tp_json_object(p);

    tp_json_sets(r, apr_pstrcat(p, SCHEMAS, name, NULL), "$ref", NULL);
    return r;
}

/* {key: value} */
static tp_json_t *named(apr_pool_t *p, const char *key, const char *value)
{
    tp_json_t *o = tp_json_object(p);

    tp_json_sets(o, value, key, NULL);
    return o;
}

static tp_json_t *typed(apr_pool_t *p, const char *type)
{
    return named(p, "type", type);
}

/* type, or JSON null (OpenAPI 3.1: a JSON Schema type list) */
static tp_json_t *nullable(apr_pool_t *p, const char *type)
{
    tp_json_t *s = tp_json_object(p);
    tp_json_t *types = tp_json_array(p);

    tp_json_pushs(types, type);
    tp_json_pushs(types, "null");
    tp_json_setj(s, types, "type", NULL);
    return s;
}

static tp_json_t *strings(apr_pool_t *p, const char *a, const char *b)
{
    tp_json_t *arr = tp_json_array(p);

    tp_json_pushs(arr, a);
    if (b) {
        tp_json_pushs(arr, b);
    }
    return arr;
}

/* The non-empty segments of a path. */
static apr_array_header_t *segments(apr_pool_t *p, const char *path)
{
    apr_array_header_t *segs = apr_array_make(p, 8, sizeof(const char *));
    char *last;
    char *s = apr_strtok(apr_pstrdup(p, path), "/", &last);

    for (; s; s = apr_strtok(NULL, "/", &last)) {
        APR_ARRAY_PUSH(segs, const char *) = s;
    }
    return segs;
}

static int is_param(const char *seg)
{
    return seg[0] == '{';
}

/* v1, v2, ...: the end of an API's base path */
static int is_version(const char *seg)
{
    return seg[0] == 'v' && apr_isdigit(seg[1]);
}

const char *tp_openapi_tag(apr_pool_t *p, const char *pattern)
{
    apr_array_header_t *segs = segments(p, pattern);
    const char **s = (const char **)segs->elts;
    int n = segs->nelts, i = 0;

    if (n == 0) {
        return "/";
    }
    if (n > 1 && strcmp(s[0], "api") == 0) {
        for (i = 1; i < n && !is_version(s[i]); i++) {
        }
        i = i < n - 1 ? i + 1 : 1;
    }
    /* there is one organization: what lies under it is the resource */
    if (i + 2 < n && strcmp(s[i], "organizations") == 0
        && is_param(s[i + 1])) {
        i += 2;
    }
    if (i + 1 < n && strcmp(s[i], "admin") == 0) {
        i++;
    }
    return s[i][0] == '.' ? s[i] + 1 : s[i];
}

const char *tp_openapi_operation_id(apr_pool_t *p, const char *method,
                                    const char *pattern)
{
    const char *src = apr_pstrcat(p, method, "/", pattern, NULL);
    char *out = apr_palloc(p, strlen(src) + 1);
    char *o = out;
    int gap = 0;

    for (; *src; src++) {
        if (!apr_isalnum(*src)) {
            gap = 1;
            continue;
        }
        if (gap && o > out) {
            *o++ = '_';
        }
        *o++ = apr_tolower(*src);
        gap = 0;
    }
    *o = '\0';
    return out;
}

/* A path with every placeholder ({name}, or a link's %s) made "{}", so
 * that route patterns and link patterns compare. */
static const char *normalized(apr_pool_t *p, const char *path)
{
    apr_array_header_t *segs = segments(p, path);
    const char **s = (const char **)segs->elts;
    const char *out = "";
    int i;

    for (i = 0; i < segs->nelts; i++) {
        int placeholder = is_param(s[i]) || strcmp(s[i], "%s") == 0;

        out = apr_pstrcat(p, out, "/", placeholder ? "{}" : s[i], NULL);
    }
    return out;
}

static int described(const tp_type_desc_t *const *types, const char *type)
{
    for (; type && *types; types++) {
        if (strcmp((*types)->type, type) == 0) {
            return 1;
        }
    }
    return 0;
}

static void map_answer(apr_pool_t *p, apr_hash_t *map, const char *path,
                       const char *type, int list)
{
    const char *key = normalized(p, path);
    answer_t *a;

    if (apr_hash_get(map, key, APR_HASH_KEY_STRING)) {
        return;
    }
    a = apr_palloc(p, sizeof(*a));
    a->type = type;
    a->list = list;
    apr_hash_set(map, key, APR_HASH_KEY_STRING, a);
}

/* Normalized path -> what a GET of it answers: a type's own address its
 * document, the address without the id its list, a relationship's
 * related link the related type's list (to-many) or document (to-one). */
static apr_hash_t *answers(apr_pool_t *p, const tp_type_desc_t *const *types)
{
    apr_hash_t *map = apr_hash_make(p);
    const tp_type_desc_t *const *t;
    const tp_rel_t *rel;

    for (t = types; *t; t++) {
        const char *self = (*t)->self;
        apr_size_t n = self ? strlen(self) : 0;

        if (self) {
            map_answer(p, map, self, (*t)->type, 0);
        }
        if (n > 3 && strcmp(self + n - 3, "/%s") == 0) {
            map_answer(p, map, apr_pstrndup(p, self, n - 3), (*t)->type, 1);
        }
        for (rel = (*t)->rels; rel && rel->name; rel++) {
            if (rel->related && *rel->related && described(types, rel->type)) {
                map_answer(p, map, rel->related, rel->type,
                           rel->kind == TP_REL_MANY);
            }
        }
    }
    return map;
}

/* ---- the schemas ---- */

static tp_json_t *attribute_schema(apr_pool_t *p, tp_attr_kind_e kind)
{
    switch (kind) {
    case TP_ATTR_STRING:
        return nullable(p, "string");
    case TP_ATTR_BOOL:
        return nullable(p, "boolean");
    case TP_ATTR_INT:
        return nullable(p, "integer");
    default:
        return tp_json_object(p);   /* any JSON value */
    }
}

/* A resource of type d: the described attributes and relationships;
 * handlers may add computed attributes (permissions, actions, URLs). */
static tp_json_t *type_schema(apr_pool_t *p, const tp_type_desc_t *d)
{
    tp_json_t *s = typed(p, "object");
    const tp_attr_t *a;
    const tp_rel_t *rel;

    tp_json_setj(s, strings(p, "id", "type"), "required", NULL);
    tp_json_setj(s, typed(p, "string"), "properties", "id", NULL);
    tp_json_sets(s, d->type, "properties", "type", "const", NULL);
    tp_json_sets(s, "object", "properties", "attributes", "type", NULL);
    for (a = d->attrs; a && a->name; a++) {
        tp_json_setj(s, attribute_schema(p, a->kind), "properties",
                     "attributes", "properties", a->name, NULL);
    }
    tp_json_sets(s, "object", "properties", "relationships", "type", NULL);
    for (rel = d->rels; rel && rel->name; rel++) {
        tp_json_setj(s, schema_ref(p, rel->kind == TP_REL_MANY
                                      ? "relationship-to-many"
                                      : "relationship-to-one"),
                     "properties", "relationships", "properties", rel->name,
                     NULL);
    }
    tp_json_setj(s, typed(p, "string"), "properties", "links", "properties",
                 "self", NULL);
    return s;
}

/* {data: item or [item], included: [resource]} and, for a list, its page
 * links and meta.pagination: not every list is paged, and which are the
 * descriptions do not say, so neither is required */
static tp_json_t *document_schema(apr_pool_t *p, const char *type, int list)
{
    tp_json_t *s = typed(p, "object");
    tp_json_t *data = schema_ref(p, type);
    tp_json_t *included = typed(p, "array");

    tp_json_setj(s, strings(p, "data", NULL), "required", NULL);
    if (list) {
        tp_json_t *items = typed(p, "array");

        tp_json_setj(items, data, "items", NULL);
        data = items;
        tp_json_sets(s, "A list. A paged one has links and meta.pagination "
                     "and takes the query parameters page[number] and "
                     "page[size] (docs/api.md).", "description", NULL);
        tp_json_setj(s, schema_ref(p, "pagination-links"),
                     "properties", "links", NULL);
        tp_json_sets(s, "object", "properties", "meta", "type", NULL);
        tp_json_setj(s, schema_ref(p, "pagination"), "properties",
                     "meta", "properties", "pagination", NULL);
    }
    tp_json_setj(s, data, "properties", "data", NULL);
    tp_json_setj(included, schema_ref(p, "resource"), "items", NULL);
    tp_json_setj(s, included, "properties", "included", NULL);
    return s;
}

static const char *document_name(apr_pool_t *p, const char *type, int list)
{
    return apr_pstrcat(p, type, list ? "-list" : "-document", NULL);
}

/* The JSON:API shapes every document shares. */
static void add_common_schemas(apr_pool_t *p, tp_json_t *schemas)
{
    static const char *const page_links[] = {
        "self", "first", "prev", "next", "last", NULL
    };
    static const char *const page_numbers[] = {
        "current-page", "prev-page", "next-page", "total-pages",
        "total-count", NULL
    };
    tp_json_t *id = typed(p, "object");
    tp_json_t *error = typed(p, "object");
    tp_json_t *errors = typed(p, "array");
    tp_json_t *many = typed(p, "array");
    tp_json_t *one = tp_json_array(p);
    const char *const *name;

    tp_json_setj(id, strings(p, "id", "type"), "required", NULL);
    tp_json_setj(id, typed(p, "string"), "properties", "id", NULL);
    tp_json_setj(id, typed(p, "string"), "properties", "type", NULL);
    tp_json_setj(schemas, id, "resource-identifier", NULL);

    tp_json_setj(schemas, typed(p, "object"), "resource", NULL);
    tp_json_setj(schemas, strings(p, "id", "type"), "resource", "required",
                 NULL);
    tp_json_setj(schemas, typed(p, "string"), "resource", "properties", "id",
                 NULL);
    tp_json_setj(schemas, typed(p, "string"), "resource", "properties",
                 "type", NULL);

    tp_json_push(one, schema_ref(p, "resource-identifier"));
    tp_json_push(one, typed(p, "null"));
    tp_json_sets(schemas, "object", "relationship-to-one", "type", NULL);
    tp_json_setj(schemas, one, "relationship-to-one", "properties", "data",
                 "oneOf", NULL);
    tp_json_setj(schemas, typed(p, "string"), "relationship-to-one",
                 "properties", "links", "properties", "related", NULL);
    tp_json_setj(many, schema_ref(p, "resource-identifier"), "items", NULL);
    tp_json_sets(schemas, "object", "relationship-to-many", "type", NULL);
    tp_json_setj(schemas, many, "relationship-to-many", "properties", "data",
                 NULL);
    tp_json_setj(schemas, typed(p, "string"), "relationship-to-many",
                 "properties", "links", "properties", "related", NULL);

    tp_json_sets(schemas, "object", "pagination-links", "type", NULL);
    for (name = page_links; *name; name++) {
        tp_json_setj(schemas, nullable(p, "string"), "pagination-links",
                     "properties", *name, NULL);
    }
    tp_json_sets(schemas, "object", "pagination", "type", NULL);
    for (name = page_numbers; *name; name++) {
        tp_json_setj(schemas, nullable(p, "integer"), "pagination",
                     "properties", *name, NULL);
    }

    tp_json_setj(error, strings(p, "status", "title"), "required", NULL);
    tp_json_setj(error, typed(p, "string"), "properties", "status", NULL);
    tp_json_setj(error, typed(p, "string"), "properties", "title", NULL);
    tp_json_setj(error, typed(p, "string"), "properties", "detail", NULL);
    tp_json_setj(errors, error, "items", NULL);
    tp_json_sets(schemas, "object", "error-document", "type", NULL);
    tp_json_setj(schemas, strings(p, "errors", NULL), "error-document",
                 "required", NULL);
    tp_json_setj(schemas, errors, "error-document", "properties", "errors",
                 NULL);
}

static tp_json_t *schemas_of(apr_pool_t *p,
                             const tp_type_desc_t *const *types)
{
    tp_json_t *schemas = tp_json_object(p);

    add_common_schemas(p, schemas);
    for (; *types; types++) {
        const char *type = (*types)->type;

        tp_json_setj(schemas, type_schema(p, *types), type, NULL);
        tp_json_setj(schemas, document_schema(p, type, 0),
                     document_name(p, type, 0), NULL);
        tp_json_setj(schemas, document_schema(p, type, 1),
                     document_name(p, type, 1), NULL);
    }
    return schemas;
}

/* ---- security ---- */

static void scheme(tp_json_t *schemes, const char *name, const char *type,
                   const char *description)
{
    tp_json_sets(schemes, type, name, "type", NULL);
    tp_json_sets(schemes, description, name, "description", NULL);
}

static void api_key(tp_json_t *schemes, const char *name, const char *in,
                    const char *key, const char *description)
{
    scheme(schemes, name, "apiKey", description);
    tp_json_sets(schemes, in, name, "in", NULL);
    tp_json_sets(schemes, key, name, "name", NULL);
}

static tp_json_t *security_schemes(apr_pool_t *p)
{
    tp_json_t *s = tp_json_object(p);

    scheme(s, "apiToken", "http", "An API token (docs/tokens.md), or a "
           "session secret, as Authorization: Bearer.");
    tp_json_sets(s, "bearer", "apiToken", "scheme", NULL);
    api_key(s, "session", "cookie", "terrapod_session", "The session "
            "cookie of a browser signed in on this origin.");
    api_key(s, "csrf", "header", "X-CSRF-Token", "The value of the "
            "terrapod_csrf cookie: sent with the session cookie on requests "
            "that change something.");
    api_key(s, "signedUrl", "query", "signature", "A URL the API handed "
            "out, signed for one object until its expires parameter (log "
            "URLs carry the signature as their last path segment).");
    scheme(s, "listenerCertificate", "mutualTLS", "The client certificate "
           "issued to listener {id} when it joined.");
    scheme(s, "runnerToken", "http", "The runner token a listener obtained "
           "for run {run_id}, as Authorization: Bearer runtok:...");
    tp_json_sets(s, "bearer", "runnerToken", "scheme", NULL);
    tp_json_sets(s, "runtok", "runnerToken", "bearerFormat", NULL);
    return s;
}

/* One way to authenticate: all of the named schemes (none: anonymous). */
static void alternative(apr_pool_t *p, tp_json_t *security, const char *a,
                        const char *b)
{
    tp_json_t *req = tp_json_object(p);

    if (a) {
        tp_json_setj(req, tp_json_array(p), a, NULL);
    }
    if (b) {
        tp_json_setj(req, tp_json_array(p), b, NULL);
    }
    tp_json_push(security, req);
}

static int is_safe(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0
           || strcmp(method, "OPTIONS") == 0;
}

/* The ways a caller of r authenticates (an empty list: none needed). */
static tp_json_t *security_of(apr_pool_t *p, const tp_route_t *r)
{
    tp_json_t *s = tp_json_array(p);

    switch (r->auth) {
    case TP_AUTH_NONE:
        break;
    case TP_AUTH_OPTIONAL:
        alternative(p, s, NULL, NULL);
        alternative(p, s, "apiToken", NULL);
        break;
    case TP_AUTH_CAPABILITY:
        alternative(p, s, "signedUrl", NULL);
        break;
    case TP_AUTH_LISTENER:
        alternative(p, s, "listenerCertificate", NULL);
        break;
    case TP_AUTH_RUNNER:
        alternative(p, s, "runnerToken", NULL);
        break;
    case TP_AUTH_USER:
        alternative(p, s, "apiToken", NULL);
        alternative(p, s, "session", is_safe(r->method) ? NULL : "csrf");
        if (r->remote_state) {
            alternative(p, s, "runnerToken", NULL);
        }
        break;
    }
    return s;
}

/* How a caller authenticates and what it needs, as docs/api.md's index
 * says it. */
static const char *permission(apr_pool_t *p, const tp_route_t *r)
{
    static const char *const roles[] = {
        "", "", ", platform admin", ", platform admin or audit"
    };
    static const char *const axes[] = {"workspace", "pool", "registry"};
    const char *text;

    switch (r->auth) {
    case TP_AUTH_NONE:
        return "none";
    case TP_AUTH_OPTIONAL:
        return r->perm == TP_PERM_NONE
               ? "none; an API token, if sent, makes the request its owner's"
               : apr_pstrcat(p, "none from the addresses the server trusts; "
                             "elsewhere API token", roles[r->perm], NULL);
    case TP_AUTH_CAPABILITY:
        return apr_pstrcat(p, "signed URL (no token) (",
                           r->capability ? r->capability : "", ")", NULL);
    case TP_AUTH_LISTENER:
        return "listener client certificate";
    case TP_AUTH_RUNNER:
        return "runner token for the run (no API token)";
    case TP_AUTH_USER:
        break;
    }
    text = apr_pstrcat(p, "API token", roles[r->perm], NULL);
    if (r->level > TP_LEVEL_NONE) {
        text = apr_pstrcat(p, text, ", ", tp_level_name(r->level), " on the ",
                           axes[r->axis], NULL);
    }
    if (r->remote_state) {
        text = apr_pstrcat(p, text, "; or a run's runner token, for a "
                           "workspace that shares its state with the run's",
                           NULL);
    }
    return text;
}

/* ---- the operations ---- */

static tp_json_t *parameters_of(apr_pool_t *p, const char *pattern)
{
    apr_array_header_t *segs = segments(p, pattern);
    tp_json_t *params = tp_json_array(p);
    int i;

    for (i = 0; i < segs->nelts; i++) {
        const char *seg = APR_ARRAY_IDX(segs, i, const char *);
        tp_json_t *param;

        if (!is_param(seg)) {
            continue;
        }
        param = tp_json_object(p);
        tp_json_sets(param, apr_pstrndup(p, seg + 1, strlen(seg) - 2), "name",
                     NULL);
        tp_json_sets(param, "path", "in", NULL);
        tp_json_setb(param, 1, "required", NULL);
        tp_json_setj(param, typed(p, "string"), "schema", NULL);
        tp_json_push(params, param);
    }
    return params;
}

static tp_json_t *responses_of(apr_pool_t *p, const answer_t *a)
{
    tp_json_t *rs = tp_json_object(p);

    if (a) {
        tp_json_sets(rs, apr_pstrcat(p, a->list ? "a list of " : "one of ",
                                     a->type, NULL), "200", "description",
                     NULL);
        tp_json_setj(rs, schema_ref(p, document_name(p, a->type, a->list)),
                     "200", "content", MEDIA_TYPE, "schema", NULL);
    }
    else {
        tp_json_sets(rs, "success", "2XX", "description", NULL);
    }
    tp_json_sets(rs, "a JSON:API error document", "default", "description",
                 NULL);
    tp_json_setj(rs, schema_ref(p, "error-document"), "default",
                 "content", MEDIA_TYPE, "schema", NULL);
    return rs;
}

static tp_json_t *operation(apr_pool_t *p, const tp_route_t *r,
                            const answer_t *a)
{
    tp_json_t *op = tp_json_object(p);

    tp_json_sets(op, tp_openapi_operation_id(p, r->method, r->pattern),
                 "operationId", NULL);
    tp_json_setj(op, strings(p, tp_openapi_tag(p, r->pattern), NULL), "tags",
                 NULL);
    if (r->summary) {
        tp_json_sets(op, r->summary, "summary", NULL);
    }
    tp_json_sets(op, apr_pstrcat(p, "Authentication and permission: ",
                                 permission(p, r), ".", NULL),
                 "description", NULL);
    tp_json_setj(op, parameters_of(p, r->pattern), "parameters", NULL);
    tp_json_setj(op, security_of(p, r), "security", NULL);
    tp_json_setj(op, responses_of(p, a), "responses", NULL);
    return op;
}

static char *lower(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s);
    char *c;

    for (c = out; *c; c++) {
        *c = apr_tolower(*c);
    }
    return out;
}

tp_json_t *tp_openapi(apr_pool_t *p, const tp_route_t *routes,
                      const tp_type_desc_t *const *types,
                      const char *server_url, const char *version)
{
    tp_json_t *doc = tp_json_object(p);
    tp_json_t *servers = tp_json_array(p);
    tp_json_t *tags = tp_json_array(p);
    apr_hash_t *seen = apr_hash_make(p);
    apr_hash_t *map = answers(p, types);
    const tp_route_t *r;

    tp_json_sets(doc, "3.1.0", "openapi", NULL);
    tp_json_sets(doc, "Terrapod API", "info", "title", NULL);
    tp_json_sets(doc, version, "info", "version", NULL);
    tp_json_sets(doc, "The Terraform Enterprise V2 subset under /api/v2 and "
                 "the native API under /api/terrapod/v1, generated from the "
                 "route table: conventions, pagination and errors are in "
                 "docs/api.md.", "info", "description", NULL);
    tp_json_push(servers, named(p, "url", server_url));
    tp_json_setj(doc, servers, "servers", NULL);
    tp_json_setj(doc, tags, "tags", NULL);
    tp_json_setj(doc, tp_json_object(p), "paths", NULL);
    for (r = routes; r->method; r++) {
        const char *tag = tp_openapi_tag(p, r->pattern);
        const answer_t *a = strcmp(r->method, "GET") != 0 ? NULL
            : apr_hash_get(map, normalized(p, r->pattern),
                           APR_HASH_KEY_STRING);

        if (!apr_hash_get(seen, tag, APR_HASH_KEY_STRING)) {
            apr_hash_set(seen, tag, APR_HASH_KEY_STRING, tag);
            tp_json_push(tags, named(p, "name", tag));
        }
        tp_json_setj(doc, operation(p, r, a), "paths", r->pattern,
                     lower(p, r->method), NULL);
    }
    tp_json_setj(doc, security_schemes(p), "components", "securitySchemes",
                 NULL);
    tp_json_setj(doc, schemas_of(p, types), "components", "schemas", NULL);
    return doc;
}
