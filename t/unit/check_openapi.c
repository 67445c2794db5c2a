/* Unit tests of tp_openapi.c: the OpenAPI document of a small route table
 * and described types (operations, path parameters, security for every
 * kind of authentication, permissions, answers named from the type
 * descriptions, schemas), tags and operation ids. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "tp_openapi.h"

Suite *openapi_suite(void);

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static tp_err_t *handler(tp_req_t *req)
{
    (void)req;
    return NULL;
}

static const tp_attr_t ATTRS[] = {
    {"title", "title", TP_ATTR_STRING},
    {"enabled", "enabled", TP_ATTR_BOOL},
    {"size", "size", TP_ATTR_INT},
    {"labels", "labels", TP_ATTR_JSON},
    {NULL, NULL, 0}
};

static const tp_rel_t RELS[] = {
    {"owner", "users", TP_REL_ONE, "owner_id"},
    {"parts", "parts", TP_REL_MANY, "part_ids", "/api/v2/things/%s/parts"},
    {"latest-part", "parts", TP_REL_ONE, "part_id",
     "/api/v2/things/%s/latest-part"},
    /* a type not described: its link answers nothing named */
    {"secrets", "secrets", TP_REL_MANY, NULL, "/api/v2/things/%s/secrets"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t THINGS = {
    "things", NULL, "/api/v2/things/%s", ATTRS, RELS
};
static const tp_type_desc_t PARTS = {
    "parts", NULL, "/api/v2/parts/%s", NULL, NULL
};
static const tp_type_desc_t *const TYPES[] = {&THINGS, &PARTS, NULL};

#define RUNNER_PATH "/api/terrapod/v1/runs/{run_id}/artifacts/state"

static const tp_route_t ROUTES[] = {
    {"GET", "/health", TP_AUTH_NONE, TP_PERM_NONE, handler},
    {"GET", "/api/v2/ping", TP_AUTH_OPTIONAL, TP_PERM_NONE, handler},
    {"GET", "/api/v2/things", TP_AUTH_USER, TP_PERM_AUTHENTICATED, handler,
     .summary = "List things"},
    {"GET", "/api/v2/things/{id}", TP_AUTH_USER, TP_PERM_AUTHENTICATED,
     handler, NULL, TP_LEVEL_READ},
    {"PATCH", "/api/v2/things/{id}", TP_AUTH_USER, TP_PERM_ADMIN, handler},
    {"GET", "/api/v2/things/{thing_id}/parts", TP_AUTH_USER,
     TP_PERM_AUTHENTICATED, handler},
    {"GET", "/api/v2/things/{id}/latest-part", TP_AUTH_USER,
     TP_PERM_AUTHENTICATED, handler},
    {"GET", "/api/v2/things/{id}/secrets", TP_AUTH_USER, TP_PERM_AUDIT,
     handler},
    {"DELETE", "/api/terrapod/v1/pools/{id}", TP_AUTH_USER,
     TP_PERM_AUTHENTICATED, handler, NULL, TP_LEVEL_ADMIN, 0, 0,
     TP_AXIS_POOL},
    {"PUT", "/api/v2/things/{id}/content", TP_AUTH_CAPABILITY, TP_PERM_NONE,
     handler, "thing-content"},
    {"POST", "/api/terrapod/v1/listeners/{id}/heartbeat", TP_AUTH_LISTENER,
     TP_PERM_NONE, handler},
    {"PUT", RUNNER_PATH, TP_AUTH_RUNNER, TP_PERM_NONE, handler},
    {NULL, NULL, 0, 0, NULL}
};

static tp_json_t *document(void)
{
    return tp_openapi(pool, ROUTES, TYPES, "https://tp.example", "1.2.3");
}

static tp_json_t *op(tp_json_t *doc, const char *path, const char *method)
{
    tp_json_t *o = tp_json_get(doc, "paths", path, method, NULL);

    ck_assert_msg(o != NULL, "%s %s is described", method, path);
    return o;
}

static const char *dump(tp_json_t *doc, const char *path, const char *method,
                        const char *member)
{
    return tp_json_dump(tp_json_get(op(doc, path, method), member, NULL),
                        pool);
}

START_TEST(header_servers_and_version)
{
    tp_json_t *doc = document();

    ck_assert_str_eq(tp_json_gets(doc, "openapi", NULL), "3.1.0");
    ck_assert_str_eq(tp_json_gets(doc, "info", "version", NULL), "1.2.3");
    ck_assert_str_eq(tp_json_dump(tp_json_get(doc, "servers", NULL), pool),
                     "[{\"url\":\"https://tp.example\"}]");
    ck_assert_str_eq(tp_json_dump(tp_json_get(doc, "tags", NULL), pool),
                     "[{\"name\":\"health\"},{\"name\":\"ping\"},"
                     "{\"name\":\"things\"},{\"name\":\"pools\"},"
                     "{\"name\":\"listeners\"},{\"name\":\"runs\"}]");
}
END_TEST

START_TEST(every_route_is_one_operation)
{
    tp_json_t *doc = document();
    const tp_route_t *r;
    int n = 0;

    for (r = ROUTES; r->method; r++) {
        char *m = apr_pstrdup(pool, r->method);
        char *c;

        for (c = m; *c; c++) {
            *c = apr_tolower(*c);
        }
        ck_assert_str_eq(tp_json_gets(op(doc, r->pattern, m), "operationId",
                                      NULL),
                         tp_openapi_operation_id(pool, r->method, r->pattern));
        n++;
    }
    ck_assert_int_eq(n, 12);
    ck_assert_str_eq(dump(doc, "/api/v2/things", "get", "summary"),
                     "\"List things\"");
    ck_assert_ptr_null(tp_json_get(op(doc, "/health", "get"), "summary",
                                   NULL));
}
END_TEST

START_TEST(path_parameters_declared)
{
    tp_json_t *doc = document();

    ck_assert_str_eq(dump(doc, "/api/v2/things/{id}", "patch", "parameters"),
                     "[{\"name\":\"id\",\"in\":\"path\",\"required\":true,"
                     "\"schema\":{\"type\":\"string\"}}]");
    ck_assert_str_eq(dump(doc, RUNNER_PATH, "put", "parameters"),
                     "[{\"name\":\"run_id\",\"in\":\"path\",\"required\":true,"
                     "\"schema\":{\"type\":\"string\"}}]");
    ck_assert_str_eq(dump(doc, "/health", "get", "parameters"), "[]");
}
END_TEST

START_TEST(security_of_every_kind)
{
    tp_json_t *doc = document();

    ck_assert_str_eq(dump(doc, "/health", "get", "security"), "[]");
    ck_assert_str_eq(dump(doc, "/api/v2/ping", "get", "security"),
                     "[{},{\"apiToken\":[]}]");
    ck_assert_str_eq(dump(doc, "/api/v2/things/{id}", "get", "security"),
                     "[{\"apiToken\":[]},{\"session\":[]}]");
    /* a change through the session cookie also echoes the CSRF token */
    ck_assert_str_eq(dump(doc, "/api/v2/things/{id}", "patch", "security"),
                     "[{\"apiToken\":[]},{\"session\":[],\"csrf\":[]}]");
    ck_assert_str_eq(dump(doc, "/api/v2/things/{id}/content", "put",
                          "security"), "[{\"signedUrl\":[]}]");
    ck_assert_str_eq(dump(doc, "/api/terrapod/v1/listeners/{id}/heartbeat",
                          "post", "security"),
                     "[{\"listenerCertificate\":[]}]");
    ck_assert_str_eq(dump(doc, RUNNER_PATH, "put", "security"),
                     "[{\"runnerToken\":[]}]");
    ck_assert_str_eq(tp_json_gets(doc, "components", "securitySchemes",
                                  "listenerCertificate", "type", NULL),
                     "mutualTLS");
    ck_assert_str_eq(tp_json_gets(doc, "components", "securitySchemes",
                                  "session", "name", NULL),
                     "terrapod_session");
    ck_assert_str_eq(tp_json_gets(doc, "components", "securitySchemes",
                                  "csrf", "name", NULL), "X-CSRF-Token");
}
END_TEST

START_TEST(permissions_in_descriptions)
{
    tp_json_t *doc = document();

    ck_assert_str_eq(dump(doc, "/health", "get", "description"),
                     "\"Authentication and permission: none.\"");
    ck_assert_str_eq(dump(doc, "/api/v2/things/{id}", "get", "description"),
                     "\"Authentication and permission: API token, read on "
                     "the workspace.\"");
    ck_assert_str_eq(dump(doc, "/api/v2/things/{id}", "patch", "description"),
                     "\"Authentication and permission: API token, platform "
                     "admin.\"");
    ck_assert_str_eq(dump(doc, "/api/v2/things/{id}/secrets", "get",
                          "description"),
                     "\"Authentication and permission: API token, platform "
                     "admin or audit.\"");
    ck_assert_str_eq(dump(doc, "/api/terrapod/v1/pools/{id}", "delete",
                          "description"),
                     "\"Authentication and permission: API token, admin on "
                     "the pool.\"");
    ck_assert_str_eq(dump(doc, "/api/v2/things/{id}/content", "put",
                          "description"),
                     "\"Authentication and permission: signed URL (no token) "
                     "(thing-content).\"");
}
END_TEST

static const char *answer(tp_json_t *doc, const char *path,
                          const char *method)
{
    return tp_json_gets(op(doc, path, method), "responses", "200", "content",
                        "application/json", "schema", "$ref", NULL);
}

START_TEST(answers_from_the_descriptions)
{
    tp_json_t *doc = document();

    ck_assert_str_eq(answer(doc, "/api/v2/things/{id}", "get"),
                     "#/components/schemas/things-document");
    ck_assert_str_eq(answer(doc, "/api/v2/things", "get"),
                     "#/components/schemas/things-list");
    /* a to-many related link, whatever its placeholder is called */
    ck_assert_str_eq(answer(doc, "/api/v2/things/{thing_id}/parts", "get"),
                     "#/components/schemas/parts-list");
    ck_assert_str_eq(answer(doc, "/api/v2/things/{id}/latest-part", "get"),
                     "#/components/schemas/parts-document");
    /* what the descriptions do not say is not guessed */
    ck_assert_ptr_null(answer(doc, "/api/v2/things/{id}", "patch"));
    ck_assert_ptr_null(answer(doc, "/api/v2/things/{id}/secrets", "get"));
    ck_assert_str_eq(tp_json_gets(op(doc, "/api/v2/things/{id}", "patch"),
                                  "responses", "2XX", "description", NULL),
                     "success");
    ck_assert_str_eq(tp_json_gets(op(doc, "/health", "get"), "responses",
                                  "default", "content", "application/json",
                                  "schema", "$ref", NULL),
                     "#/components/schemas/error-document");
}
END_TEST

START_TEST(schemas_of_the_types)
{
    tp_json_t *doc = document();
    tp_json_t *things = tp_json_get(doc, "components", "schemas", "things",
                                    NULL);

    ck_assert_str_eq(tp_json_gets(things, "properties", "type", "const",
                                  NULL), "things");
    ck_assert_str_eq(tp_json_dump(tp_json_get(things, "properties",
                                              "attributes", "properties",
                                              NULL), pool),
                     "{\"title\":{\"type\":[\"string\",\"null\"]},"
                     "\"enabled\":{\"type\":[\"boolean\",\"null\"]},"
                     "\"size\":{\"type\":[\"integer\",\"null\"]},"
                     "\"labels\":{}}");
    ck_assert_str_eq(tp_json_gets(things, "properties", "relationships",
                                  "properties", "owner", "$ref", NULL),
                     "#/components/schemas/relationship-to-one");
    ck_assert_str_eq(tp_json_gets(things, "properties", "relationships",
                                  "properties", "parts", "$ref", NULL),
                     "#/components/schemas/relationship-to-many");
    ck_assert_str_eq(tp_json_gets(doc, "components", "schemas", "parts-list",
                                  "properties", "meta", "properties",
                                  "pagination", "$ref", NULL),
                     "#/components/schemas/pagination");
    ck_assert_str_eq(tp_json_gets(doc, "components", "schemas",
                                  "parts-document", "properties", "data",
                                  "$ref", NULL),
                     "#/components/schemas/parts");
    ck_assert_str_eq(tp_json_dump(tp_json_get(doc, "components", "schemas",
                                              "error-document", "required",
                                              NULL), pool), "[\"errors\"]");
}
END_TEST

START_TEST(tags_and_operation_ids)
{
    ck_assert_str_eq(tp_openapi_tag(pool, "/health"), "health");
    ck_assert_str_eq(tp_openapi_tag(pool, "/.well-known/terraform.json"),
                     "well-known");
    ck_assert_str_eq(tp_openapi_tag(pool, "/api/v2/workspaces/{id}/runs"),
                     "workspaces");
    ck_assert_str_eq(tp_openapi_tag(pool, "/api/terrapod/v1/runs/{id}"),
                     "runs");
    /* under the one organization, the resource names the group */
    ck_assert_str_eq(tp_openapi_tag(pool,
                                    "/api/v2/organizations/{org}/workspaces"),
                     "workspaces");
    ck_assert_str_eq(tp_openapi_tag(pool, "/api/v2/organizations/{org}"),
                     "organizations");
    ck_assert_str_eq(tp_openapi_tag(pool, "/api/terrapod/v1/admin/audit-log"),
                     "audit-log");
    ck_assert_str_eq(tp_openapi_operation_id(pool, "GET",
                                             "/api/v2/workspaces/{id}"),
                     "get_api_v2_workspaces_id");
    ck_assert_str_eq(tp_openapi_operation_id(pool, "POST",
                                             "/.well-known/terraform.json"),
                     "post_well_known_terraform_json");
}
END_TEST

Suite *openapi_suite(void)
{
    Suite *s = suite_create("openapi");
    TCase *tc = tcase_create("openapi");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, header_servers_and_version);
    tcase_add_test(tc, every_route_is_one_operation);
    tcase_add_test(tc, path_parameters_declared);
    tcase_add_test(tc, security_of_every_kind);
    tcase_add_test(tc, permissions_in_descriptions);
    tcase_add_test(tc, answers_from_the_descriptions);
    tcase_add_test(tc, schemas_of_the_types);
    tcase_add_test(tc, tags_and_operation_ids);
    suite_add_tcase(s, tc);
    return s;
}
