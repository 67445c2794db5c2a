/* Unit tests of the httpd-free core: JSON and JSON:API documents, error
 * values, path matching, tokens and crypto. No server, no database. */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "tp_crypto.h"
#include "tp_error.h"
#include "tp_json.h"
#include "tp_jsonapi.h"
#include "tp_route.h"
#include "tp_token.h"
#include "tp_rbac.h"
#include "tp_capability.h"
#include "tp_state.h"
#include "tp_log.h"
#include "tp_run.h"
#include "tp_auth.h"
#include "tp_storage.h"
#include "tp_retention.h"

Suite *archive_suite(void);
Suite *vars_suite(void);
Suite *listener_suite(void);
Suite *runtok_suite(void);
Suite *diff_suite(void);
Suite *jwt_suite(void);
Suite *web_suite(void);
Suite *audit_suite(void);
Suite *cache_suite(void);
Suite *resource_suite(void);
Suite *s3_suite(void);
Suite *plan_suite(void);
Suite *drift_suite(void);
Suite *metrics_suite(void);
Suite *openapi_suite(void);
Suite *events_suite(void);
Suite *vcs_suite(void);
Suite *vcs_config_suite(void);
Suite *autodiscovery_suite(void);
Suite *vcs_pr_suite(void);
Suite *notify_suite(void);
Suite *module_suite(void);
Suite *gpg_suite(void);
Suite *zip_suite(void);
/* check_archive.c */
int entries_in(apr_pool_t *p, const char *dir);
const char *temp_dir(apr_pool_t *p);

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static tp_json_t *parse(const char *s, const char **why)
{
    return tp_json_parse(pool, s, strlen(s), why);
}

/* ---- tp_json ---- */

START_TEST(json_roundtrip_and_paths)
{
    const char *why = NULL;
    tp_json_t *j = parse("{\"data\":{\"type\":\"workspaces\","
                         "\"attributes\":{\"name\":\"x\",\"n\":7,"
                         "\"b\":true}}}", &why);

    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(tp_json_gets(j, "data", "type", NULL), "workspaces");
    ck_assert_str_eq(tp_json_gets(j, "data", "attributes", "name", NULL), "x");
    ck_assert_int_eq(tp_json_geti(j, "data", "attributes", "n", NULL), 7);
    ck_assert_int_eq(tp_json_getb(j, "data", "attributes", "b", NULL), 1);
    ck_assert_int_eq(tp_json_type(j, "data", "nope", NULL), TP_JSON_ABSENT);
    ck_assert_int_eq(tp_json_type(j, "data", "attributes", "n", NULL),
                     TP_JSON_INTEGER);
    ck_assert_ptr_null(tp_json_gets(j, "data", "attributes", "n", NULL));
}
END_TEST

START_TEST(json_setters_build_nested_objects)
{
    tp_json_t *j = tp_json_object(pool);
    tp_json_t *arr = tp_json_array(pool);

    tp_json_sets(j, "v", "a", "b", "c", NULL);
    tp_json_seti(j, 42, "a", "n", NULL);
    tp_json_setb(j, 0, "f", NULL);
    tp_json_setnull(j, "z", NULL);
    tp_json_pushs(arr, "x");
    tp_json_pushi(arr, 3);
    tp_json_setj(j, arr, "list", NULL);
    ck_assert_str_eq(tp_json_dump(j, pool),
                     "{\"a\":{\"b\":{\"c\":\"v\"},\"n\":42},\"f\":false,"
                     "\"z\":null,\"list\":[\"x\",3]}");
    ck_assert_uint_eq(tp_json_len(arr), 2);
    ck_assert_str_eq(tp_json_dump(tp_json_at(arr, 0), pool), "\"x\"");
}
END_TEST

START_TEST(utf8_lengths_count_characters)
{
    ck_assert_uint_eq(tp_utf8_len(""), 0);
    ck_assert_uint_eq(tp_utf8_len("abc"), 3);
    ck_assert_uint_eq(tp_utf8_len("\xc3\xa9t\xc3\xa9"), 3);       /* été */
    ck_assert_uint_eq(tp_utf8_len("\xf0\x9f\x98\x80"), 1);        /* emoji */
}
END_TEST

START_TEST(json_rejects_malformed_and_duplicates)
{
    const char *why = NULL;

    ck_assert_ptr_null(parse("{\"a\":", &why));
    ck_assert_ptr_nonnull(why);
    why = NULL;
    ck_assert_ptr_null(parse("{\"a\":1,\"a\":2}", &why));
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_null(parse("", &why));
}
END_TEST

START_TEST(json_text_strings)
{
    apr_array_header_t *a = tp_json_text_strings(pool,
                                                 "[\"a\", 1, \"b/\", null]");

    ck_assert_int_eq(a->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 0, const char *), "a");
    ck_assert_str_eq(APR_ARRAY_IDX(a, 1, const char *), "b/");
    ck_assert_int_eq(tp_json_text_strings(pool, "{\"a\":\"b\"}")->nelts, 0);
    ck_assert_int_eq(tp_json_text_strings(pool, "[")->nelts, 0);
    ck_assert_int_eq(tp_json_text_strings(pool, NULL)->nelts, 0);
}
END_TEST

/* ---- tp_error and tp_jsonapi ---- */

START_TEST(error_document_shape)
{
    tp_err_t *e = tp_err(pool, 409, "workspace %s is locked", "w1");
    tp_json_t *doc = tp_jsonapi_errors(pool, e);

    ck_assert_str_eq(tp_json_dump(doc, pool),
                     "{\"errors\":[{\"status\":\"409\",\"title\":\"Conflict\","
                     "\"detail\":\"workspace w1 is locked\"}]}");
}
END_TEST

START_TEST(error_internal_cause_is_not_in_document)
{
    tp_err_t *e = tp_err_internal(pool, 503, "database unavailable",
                                  "connection refused on /secret/path");
    char *body = tp_json_dump(tp_jsonapi_errors(pool, e), pool);

    ck_assert_ptr_null(strstr(body, "/secret/path"));
    ck_assert_str_eq(e->title, "Service Unavailable");
}
END_TEST

START_TEST(status_titles)
{
    ck_assert_str_eq(tp_status_title(401), "Unauthorized");
    ck_assert_str_eq(tp_status_title(405), "Method Not Allowed");
    ck_assert_str_eq(tp_status_title(413), "Payload Too Large");
    ck_assert_str_eq(tp_status_title(422), "Unprocessable Entity");
}
END_TEST

START_TEST(resource_and_relationships)
{
    tp_json_t *r = tp_jsonapi_resource(pool, "runs", "run-1");

    tp_jsonapi_relate(r, "workspace", "workspaces", "ws-1");
    tp_jsonapi_relate(r, "plan", "plans", NULL);
    ck_assert_str_eq(tp_json_dump(tp_jsonapi_doc(pool, r), pool),
                     "{\"data\":{\"id\":\"run-1\",\"type\":\"runs\","
                     "\"attributes\":{},\"relationships\":{\"workspace\":"
                     "{\"data\":{\"id\":\"ws-1\",\"type\":\"workspaces\"}},"
                     "\"plan\":{\"data\":null}}}}");
}
END_TEST

START_TEST(page_parse_defaults_clamp_and_errors)
{
    tp_page_t pg;

    ck_assert_ptr_null(tp_page_parse(pool, NULL, NULL, &pg));
    ck_assert_int_eq(pg.number, 1);
    ck_assert_int_eq(pg.size, 20);
    ck_assert_ptr_null(tp_page_parse(pool, "3", "500", &pg));
    ck_assert_int_eq(pg.number, 3);
    ck_assert_int_eq(pg.size, 100);
    ck_assert_int_eq(tp_page_offset(&pg), 200);
    ck_assert_int_eq(tp_page_parse(pool, "0", NULL, &pg)->status, 400);
    ck_assert_int_eq(tp_page_parse(pool, "x", NULL, &pg)->status, 400);
    ck_assert_int_eq(tp_page_parse(pool, "1", "-5", &pg)->status, 400);
    ck_assert_int_eq(tp_page_parse(pool, "2abc", NULL, &pg)->status, 400);
}
END_TEST

static const char *paginate(long long number, long long size, long long total)
{
    tp_page_t pg = {number, size};
    tp_json_t *doc = tp_json_object(pool);

    tp_jsonapi_paginate(pool, doc, &pg, total, NULL);
    ck_assert_ptr_null(tp_json_get(doc, "links", NULL));
    return tp_json_dump(tp_json_get(doc, "meta", "pagination", NULL), pool);
}

START_TEST(pagination_links)
{
    tp_page_t pg = {2, 10};
    tp_json_t *doc = tp_json_object(pool);

    tp_jsonapi_paginate(pool, doc, &pg, 25, "https://h/api/v2/x?q=a&");
    ck_assert_str_eq(tp_json_dump(tp_json_get(doc, "links", NULL), pool),
                     "{\"self\":\"https://h/api/v2/x?q=a&page%5Bnumber%5D=2"
                     "&page%5Bsize%5D=10\","
                     "\"first\":\"https://h/api/v2/x?q=a&page%5Bnumber%5D=1"
                     "&page%5Bsize%5D=10\","
                     "\"prev\":\"https://h/api/v2/x?q=a&page%5Bnumber%5D=1"
                     "&page%5Bsize%5D=10\","
                     "\"next\":\"https://h/api/v2/x?q=a&page%5Bnumber%5D=3"
                     "&page%5Bsize%5D=10\","
                     "\"last\":\"https://h/api/v2/x?q=a&page%5Bnumber%5D=3"
                     "&page%5Bsize%5D=10\"}");
    pg.number = 3;
    tp_jsonapi_paginate(pool, doc, &pg, 25, "https://h/x?");
    ck_assert_int_eq(tp_json_type(doc, "links", "next", NULL), TP_JSON_NULL);
    pg.number = 1;
    tp_jsonapi_paginate(pool, doc, &pg, 0, "https://h/x?");
    ck_assert_int_eq(tp_json_type(doc, "links", "prev", NULL), TP_JSON_NULL);
    ck_assert_str_eq(tp_json_gets(doc, "links", "last", NULL),
                     "https://h/x?page%5Bnumber%5D=1&page%5Bsize%5D=10");
}
END_TEST

START_TEST(pagination_meta)
{
    ck_assert_str_eq(paginate(1, 20, 0),
                     "{\"current-page\":1,\"prev-page\":null,\"next-page\":null,"
                     "\"total-pages\":1,\"total-count\":0}");
    ck_assert_str_eq(paginate(1, 20, 41),
                     "{\"current-page\":1,\"prev-page\":null,\"next-page\":2,"
                     "\"total-pages\":3,\"total-count\":41}");
    ck_assert_str_eq(paginate(3, 20, 41),
                     "{\"current-page\":3,\"prev-page\":2,\"next-page\":null,"
                     "\"total-pages\":3,\"total-count\":41}");
    ck_assert_str_eq(paginate(2, 20, 40),
                     "{\"current-page\":2,\"prev-page\":1,\"next-page\":null,"
                     "\"total-pages\":2,\"total-count\":40}");
}
END_TEST

START_TEST(attributes_extraction)
{
    tp_json_t *attrs = NULL;
    tp_json_t *ok = parse("{\"data\":{\"type\":\"users\","
                          "\"attributes\":{\"email\":\"a@b\"}}}", NULL);
    tp_json_t *wrong = parse("{\"data\":{\"type\":\"runs\"}}", NULL);
    tp_json_t *nodata = parse("{\"x\":1}", NULL);

    ck_assert_ptr_null(tp_jsonapi_attributes(pool, ok, "users", &attrs));
    ck_assert_str_eq(tp_json_gets(attrs, "email", NULL), "a@b");
    ck_assert_int_eq(tp_jsonapi_attributes(pool, wrong, "users",
                                           &attrs)->status, 409);
    ck_assert_int_eq(tp_jsonapi_attributes(pool, nodata, "users",
                                           &attrs)->status, 400);
}
END_TEST

START_TEST(attributes_type_singular_or_none)
{
    tp_json_t *attrs = NULL;
    tp_json_t *one = parse("{\"data\":{\"type\":\"configuration-version\"}}",
                           NULL);
    tp_json_t *none = parse("{\"data\":{}}", NULL);
    tp_json_t *other = parse("{\"data\":{\"type\":\"configuration\"}}",
                             NULL);
    tp_json_t *more = parse("{\"data\":{\"type\":\"configuration-versionss\"}}",
                            NULL);

    ck_assert_ptr_null(tp_jsonapi_attributes(pool, one,
                                             "configuration-versions", &attrs));
    ck_assert_ptr_null(tp_jsonapi_attributes(pool, none,
                                             "configuration-versions", &attrs));
    ck_assert_int_eq(tp_jsonapi_attributes(pool, other,
                                           "configuration-versions",
                                           &attrs)->status, 409);
    ck_assert_int_eq(tp_jsonapi_attributes(pool, more,
                                           "configuration-versions",
                                           &attrs)->status, 409);
}
END_TEST

START_TEST(kebab_case_names)
{
    ck_assert_str_eq(tp_kebab(pool, "auto-queue-runs"), "auto-queue-runs");
    ck_assert_str_eq(tp_kebab(pool, "autoQueueRuns"), "auto-queue-runs");
    ck_assert_str_eq(tp_kebab(pool, "auto_queue_runs"), "auto-queue-runs");
    ck_assert_str_eq(tp_kebab(pool, "isDestroy"), "is-destroy");
    ck_assert_str_eq(tp_kebab(pool, "vcsRepoURL"), "vcs-repo-url");
    ck_assert_str_eq(tp_kebab(pool, "URLPath"), "url-path");
    ck_assert_str_eq(tp_kebab(pool, "resource2Count"), "resource2-count");
    ck_assert_str_eq(tp_kebab(pool, "Name"), "name");
    ck_assert_str_eq(tp_kebab(pool, ""), "");
}
END_TEST

START_TEST(normalize_attribute_and_relationship_names)
{
    tp_json_t *b = parse("{\"data\":{\"type\":\"runs\",\"attributes\":"
                         "{\"isDestroy\":true,\"plan_only\":true,"
                         "\"autoApply\":false,\"auto-apply\":true,"
                         "\"variables\":[{\"key\":\"myVar\"}]},"
                         "\"relationships\":{\"configurationVersion\":"
                         "{\"data\":{\"id\":\"cv-1\"}}}}}", NULL);
    tp_json_t *list = parse("{\"data\":[{\"type\":\"tags\",\"attributes\":"
                            "{\"someName\":1}}]}", NULL);

    tp_jsonapi_normalize(pool, b);
    ck_assert_str_eq(tp_json_dump(tp_json_get(b, "data", "attributes", NULL),
                                  pool),
                     "{\"auto-apply\":true,\"variables\":[{\"key\":\"myVar\"}],"
                     "\"is-destroy\":true,\"plan-only\":true}");
    ck_assert_str_eq(tp_json_gets(b, "data", "relationships",
                                  "configuration-version", "data", "id", NULL),
                     "cv-1");
    /* lists of resources are left as they are */
    tp_jsonapi_normalize(pool, list);
    ck_assert_int_eq(tp_json_geti(tp_json_at(tp_json_get(list, "data", NULL), 0),
                                  "attributes", "someName", NULL), 1);
}
END_TEST

/* ---- tp_route ---- */

START_TEST(route_literal_and_params)
{
    tp_params_t ps;

    ck_assert(tp_route_match(pool, "/api/v2/ping", "/api/v2/ping", &ps));
    ck_assert_int_eq(ps.n, 0);
    ck_assert(tp_route_match(pool, "/api/v2/organizations/{org}/workspaces/{name}",
                             "/api/v2/organizations/default/workspaces/my-ws",
                             &ps));
    ck_assert_int_eq(ps.n, 2);
    ck_assert_str_eq(tp_param(&ps, "org"), "default");
    ck_assert_str_eq(tp_param(&ps, "name"), "my-ws");
    ck_assert_ptr_null(tp_param(&ps, "id"));
}
END_TEST

START_TEST(route_mismatches)
{
    tp_params_t ps;

    ck_assert(!tp_route_match(pool, "/api/v2/ping", "/api/v2/pin", &ps));
    ck_assert(!tp_route_match(pool, "/api/v2/ping", "/api/v2/ping/x", &ps));
    ck_assert(!tp_route_match(pool, "/api/v2/ping/x", "/api/v2/ping", &ps));
    ck_assert(!tp_route_match(pool, "/w/{id}", "/w/", &ps));
    ck_assert(!tp_route_match(pool, "/w/{id}", "/w//", &ps));
    ck_assert(!tp_route_match(pool, "/w/{id}/x", "/w/a/b/x", &ps));
    ck_assert(!tp_route_match(pool, "/health", "/healthz", &ps));
}
END_TEST

START_TEST(route_trailing_slash_and_decoding)
{
    tp_params_t ps;

    ck_assert(tp_route_match(pool, "/api/v2/ping", "/api/v2/ping/", &ps));
    ck_assert(tp_route_match(pool, "/u/{email}", "/u/a%40b.c", &ps));
    ck_assert_str_eq(tp_param(&ps, "email"), "a@b.c");
    /* an encoded slash or NUL never reaches a handler */
    ck_assert(!tp_route_match(pool, "/u/{email}", "/u/a%2Fb", &ps));
    ck_assert(!tp_route_match(pool, "/u/{email}", "/u/a%00b", &ps));
    ck_assert(!tp_route_match(pool, "/u/{email}", "/u/a%4", &ps));
    ck_assert(!tp_route_match(pool, "/u/{email}", "/u/a%zz", &ps));
}
END_TEST

/* ---- tp_token ---- */

START_TEST(token_shape_and_hash)
{
    char *t1 = tp_token_generate(pool), *t2 = tp_token_generate(pool);

    ck_assert(tp_token_wellformed(t1));
    ck_assert_str_ne(t1, t2);
    ck_assert_uint_eq(strlen(tp_token_hash(pool, t1)), 64);
    ck_assert_str_eq(tp_token_hash(pool, t1), tp_token_hash(pool, t1));
    ck_assert_str_ne(tp_token_hash(pool, t1), tp_token_hash(pool, t2));
    ck_assert(!tp_token_wellformed("tpv1.short"));
    ck_assert(!tp_token_wellformed(NULL));
    ck_assert(!tp_token_wellformed(
        "xxxx.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    ck_assert(!tp_token_wellformed(
        "tpv1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"));
}
END_TEST

START_TEST(bearer_header_parsing)
{
    ck_assert_str_eq(tp_bearer("Bearer abc"), "abc");
    ck_assert_str_eq(tp_bearer("bearer   abc"), "abc");
    ck_assert_ptr_null(tp_bearer("Basic abc"));
    ck_assert_ptr_null(tp_bearer("Bearer"));
    ck_assert_ptr_null(tp_bearer("Bearer "));
    ck_assert_ptr_null(tp_bearer("Bearerabc"));
    ck_assert_ptr_null(tp_bearer(NULL));
}
END_TEST

START_TEST(ids_have_prefix_and_alphabet)
{
    char *id = tp_id_generate(pool, "ws");
    int i;

    ck_assert_uint_eq(strlen(id), 19);
    ck_assert_int_eq(strncmp(id, "ws-", 3), 0);
    for (i = 3; id[i]; i++) {
        ck_assert(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789", id[i]) != NULL);
    }
}
END_TEST

/* ---- tp_crypto ---- */

START_TEST(digests_known_vectors)
{
    ck_assert_str_eq(tp_sha256_hex(pool, "abc", 3),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(tp_md5_hex(pool, "", 0),
                     "d41d8cd98f00b204e9800998ecf8427e");
}
END_TEST

START_TEST(hmac_rfc4231_case2)
{
    /* RFC 4231 test case 2, base64url of the hex result */
    ck_assert_str_eq(tp_hmac_b64url(pool, (const unsigned char *)"Jefe", 4,
                                    "what do ya want for nothing?", 28),
                     "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM");
}
END_TEST

/* two self-signed certificates, as a proxy's old and new one */
static const char *const CERT_A =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBezCCASGgAwIBAgIULLC0xJlRJspSvCUMj5dtG/Me2GYwCgYIKoZIzj0EAwIw\n"
    "EjEQMA4GA1UEAwwHcHJveHktYTAgFw0yNjEyMDcxNzIxNDZaGA8yMTI2MTExMzE3\n"
    "MjE0NlowEjEQMA4GA1UEAwwHcHJveHktYTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABKvZzcdRJSU7IMb/gV8brJ2RJ7Qf66HvRstt5kElKYEqPUv/B+YYftD8gow1\n"
    "s4y5MT40Ip7VfAjf6xI76YKtwcyjUzBRMB0GA1UdDgQWBBRpZfZa2gAL+evYa+Cx\n"
    "Ay0zQ2E97zAfBgNVHSMEGDAWgBRpZfZa2gAL+evYa+CxAy0zQ2E97zAPBgNVHRMB\n"
    "Af8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQDBDq3v4a4/RVAJpWKI9KBT3UuT\n"
    "yegEQ2LLa5ITSuEILgIgeNdnTUA1z0d8w/MYh2/0NSOEtZatVnuOwk4j77c34G0=\n"
    "-----END CERTIFICATE-----\n";
static const char *const CERT_B =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBezCCASGgAwIBAgIUbbkCpXexgsdV2PvpB3FumocJFv8wCgYIKoZIzj0EAwIw\n"
    "EjEQMA4GA1UEAwwHcHJveHktYjAgFw0yNjEyMDcxNzIxNDZaGA8yMTI2MTExMzE3\n"
    "MjE0NlowEjEQMA4GA1UEAwwHcHJveHktYjBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABJZXIcSYP83VCK8ttM+dkjciPvDjQGGRwS07Q79fg1uCqCUh3Ud+U34Acw0x\n"
    "rlSYbB4j63oHhVkGxJ6ZCWTdvMajUzBRMB0GA1UdDgQWBBRexP6iqYq6yUP7xBh/\n"
    "2MhCyqwTZzAfBgNVHSMEGDAWgBRexP6iqYq6yUP7xBh/2MhCyqwTZzAPBgNVHRMB\n"
    "Af8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCdOSCDcxcGYWG80JVg5B2/9EVR\n"
    "Auzun+b44heEtpXqQgIgFE/G5nP5ITNBP5ne0HGuRNTYCjEOF6GcKuUhOLaiTLY=\n"
    "-----END CERTIFICATE-----\n";

START_TEST(x509_fingerprints_of_a_bundle)
{
    const char *fa = "045871576f3a6d128fb472cbfb498aed54ae339ecbd54e3355f4ef60c767ec84";
    const char *fb = "9b93c4915397658fe93901f359a7d246b279e43af1a9f3d3cb15d0be61169546";
    apr_array_header_t *fps;
    tp_x509_t one;

    ck_assert_int_eq(tp_x509_fingerprints(pool, apr_pstrcat(pool, "# rotated\n",
                     CERT_A, "\n", CERT_B, NULL), &fps), APR_SUCCESS);
    ck_assert_int_eq(fps->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(fps, 0, const char *), fa);
    ck_assert_str_eq(APR_ARRAY_IDX(fps, 1, const char *), fb);
    /* the same fingerprint as a presented certificate's */
    ck_assert_int_eq(tp_x509_inspect(pool, CERT_B, &one), APR_SUCCESS);
    ck_assert_str_eq(one.fingerprint, fb);
    ck_assert_int_eq(tp_x509_fingerprints(pool, "no certificate", &fps),
                     APR_EINVAL);
    ck_assert_int_eq(fps->nelts, 0);
}
END_TEST

/* A PEM certificate as reverse proxies forward it. Apache's mod_headers:
 * "%{SSL_CLIENT_CERT}s" turns line breaks into spaces; with
 * "expr=%{escape:...}" every byte but alphanumerics and keep becomes %xx
 * in lower-case hex. nginx's $ssl_client_escaped_cert: upper case, and
 * only unreserved characters kept. */
static char *unfolded(const char *pem)
{
    char *s = apr_pstrdup(pool, pem), *c;

    for (c = s; *c; c++) {
        if (*c == '\n') {
            *c = ' ';
        }
    }
    return s;
}

/* HAProxy's %[ssl_c_der,base64]: the base64 alone, on one line */
static char *bare(const char *pem)
{
    const char *body = strchr(pem, '\n') + 1;
    const char *end = strstr(body, "-----END");
    char *s = apr_palloc(pool, (apr_size_t)(end - body) + 1), *o = s;

    for (; body < end; body++) {
        if (*body != '\n') {
            *o++ = *body;
        }
    }
    *o = '\0';
    return s;
}

static char *escaped(const char *pem, const char *keep, const char *hex)
{
    char *s = apr_palloc(pool, 3 * strlen(pem) + 1), *o = s;

    for (; *pem; pem++) {
        if (apr_isalnum(*pem) || strchr(keep, *pem)) {
            *o++ = *pem;
            continue;
        }
        *o++ = '%';
        *o++ = hex[(unsigned char)*pem >> 4];
        *o++ = hex[*pem & 15];
    }
    *o = '\0';
    return s;
}

START_TEST(x509_forwarded_forms)
{
    const char *fa = "045871576f3a6d128fb472cbfb498aed54ae339ecbd54e3355f4ef60c767ec84";
    const char *forms[] = {
        escaped(CERT_A, "-._~", "0123456789ABCDEF"),
        escaped(CERT_A, "$-_.+!*'(),:;@&=/~", "0123456789abcdef"),
        unfolded(CERT_A),
        apr_pstrcat(pool, unfolded(CERT_A), unfolded(CERT_B), NULL),
        CERT_A,
        bare(CERT_A),
    };
    const char *refused[] = {
        "(null)", "", "%zz",
        "-----BEGIN CERTIFICATE----- -----END CERTIFICATE-----",
        "-----BEGIN CERTIFICATE----- MIIB*ezCC -----END CERTIFICATE-----",
        apr_pstrndup(pool, unfolded(CERT_A), 200),     /* no end */
    };
    tp_x509_t one;
    size_t i;

    for (i = 0; i < sizeof(forms) / sizeof(*forms); i++) {
        const char *pem = tp_x509_forwarded(pool, forms[i]);

        ck_assert_msg(pem, "form %zu read", i);
        ck_assert_int_eq(tp_x509_inspect(pool, pem, &one), APR_SUCCESS);
        ck_assert_str_eq(one.fingerprint, fa);
    }
    ck_assert_str_eq(tp_x509_forwarded(pool, unfolded(CERT_A)), CERT_A);
    for (i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
        ck_assert_msg(!tp_x509_forwarded(pool, refused[i]), "refused %zu", i);
    }
    /* base64 of something else: no certificate to read */
    ck_assert_int_ne(tp_x509_inspect(pool, tp_x509_forwarded(
                     pool, "bm90IGEgY2VydGlmaWNhdGU="), &one), APR_SUCCESS);
}
END_TEST

START_TEST(b64url_padding_free)
{
    ck_assert_str_eq(tp_b64url(pool, (const unsigned char *)"f", 1), "Zg");
    ck_assert_str_eq(tp_b64url(pool, (const unsigned char *)"fo", 2), "Zm8");
    ck_assert_str_eq(tp_b64url(pool, (const unsigned char *)"foo", 3), "Zm9v");
    ck_assert_str_eq(tp_b64url(pool, (const unsigned char *)"\xfb\xff", 2),
                     "-_8");
}
END_TEST

START_TEST(secure_equals)
{
    ck_assert(tp_secure_equals("abc", "abc"));
    ck_assert(!tp_secure_equals("abc", "abd"));
    ck_assert(!tp_secure_equals("abc", "abcd"));
}
END_TEST

START_TEST(password_hash_verify)
{
    char *h = tp_password_hash(pool, "correct horse");

    ck_assert_int_eq(strncmp(h, "pbkdf2-sha256$600000$", 21), 0);
    ck_assert(tp_password_verify(pool, "correct horse", h));
    ck_assert(!tp_password_verify(pool, "correct horsE", h));
    ck_assert(!tp_password_verify(pool, "x", "md5$1$a$b"));
    ck_assert(!tp_password_verify(pool, "x", "pbkdf2-sha256$0$a$b"));
    ck_assert(!tp_password_verify(pool, "x", NULL));
}
END_TEST


/* ---- tp_rbac ---- */

static tp_role_t role(const char *name, tp_level_e ws, const char *allow_l,
                      const char *allow_n, const char *deny_l,
                      const char *deny_n)
{
    tp_role_t r = {0};

    r.name = name;
    r.level[TP_AXIS_WORKSPACE] = ws;
    r.allow_labels = parse(allow_l, NULL);
    r.allow_names = parse(allow_n, NULL);
    r.deny_labels = parse(deny_l, NULL);
    r.deny_names = parse(deny_n, NULL);
    return r;
}

static tp_level_e level_for(const tp_grants_t *g, const char *name,
                            const char *owner, const char *labels)
{
    tp_resource_t res = {name, owner, parse(labels, NULL)};

    return tp_rbac_level(g, TP_AXIS_WORKSPACE, &res);
}

START_TEST(rbac_allow_deny_and_max)
{
    apr_array_header_t *roles = apr_array_make(pool, 4, sizeof(tp_role_t));
    tp_grants_t g = {"dev@x", 0, 0, roles};

    *(tp_role_t *)apr_array_push(roles) =
        role("dev", TP_LEVEL_WRITE, "{\"env\":\"dev\"}", "[]", "{}",
             "[\"secret\"]");
    *(tp_role_t *)apr_array_push(roles) =
        role("reader", TP_LEVEL_READ, "{\"team\":\"a\"}", "[\"named\"]",
             "{\"frozen\":\"yes\"}", "[]");

    ck_assert_int_eq(level_for(&g, "w", NULL, "{\"env\":\"dev\"}"),
                     TP_LEVEL_WRITE);
    /* deny by name wins within the role */
    ck_assert_int_eq(level_for(&g, "secret", NULL, "{\"env\":\"dev\"}"),
                     TP_LEVEL_NONE);
    /* but another role still applies */
    ck_assert_int_eq(level_for(&g, "secret", NULL,
                               "{\"env\":\"dev\",\"team\":\"a\"}"),
                     TP_LEVEL_READ);
    /* highest matching level wins */
    ck_assert_int_eq(level_for(&g, "w", NULL,
                               "{\"env\":\"dev\",\"team\":\"a\"}"),
                     TP_LEVEL_WRITE);
    /* allow by name; deny by label */
    ck_assert_int_eq(level_for(&g, "named", NULL, "{}"), TP_LEVEL_READ);
    ck_assert_int_eq(level_for(&g, "named", NULL, "{\"frozen\":\"yes\"}"),
                     TP_LEVEL_NONE);
    /* values must match exactly */
    ck_assert_int_eq(level_for(&g, "w", NULL, "{\"env\":\"dev2\"}"),
                     TP_LEVEL_NONE);
}
END_TEST

START_TEST(rbac_builtins_and_owner)
{
    tp_grants_t admin = {"a@x", 1, 0, NULL};
    tp_grants_t audit = {"b@x", 0, 1, NULL};
    tp_grants_t plain = {"c@x", 0, 0, NULL};
    tp_grants_t service = {"c@x", 0, 0, NULL, 1};

    ck_assert_int_eq(level_for(&admin, "w", NULL, "{}"), TP_LEVEL_ADMIN);
    ck_assert_int_eq(level_for(&audit, "w", NULL, "{}"), TP_LEVEL_READ);
    ck_assert_int_eq(level_for(&plain, "w", NULL, "{}"), TP_LEVEL_NONE);
    ck_assert_int_eq(level_for(&plain, "w", "c@x", "{}"), TP_LEVEL_ADMIN);
    /* a service token of the owner gets nothing from ownership */
    ck_assert_int_eq(level_for(&service, "w", "c@x", "{}"), TP_LEVEL_NONE);
    ck_assert_int_eq(level_for(&service, "w", "c@x",
                               "{\"access\":\"everyone\"}"), TP_LEVEL_READ);
    ck_assert_int_eq(level_for(&plain, "w", NULL,
                               "{\"access\":\"everyone\"}"), TP_LEVEL_READ);
    ck_assert_int_eq(tp_rbac_level(NULL, TP_AXIS_WORKSPACE, NULL),
                     TP_LEVEL_NONE);
}
END_TEST

START_TEST(rbac_grants_hold)
{
    apr_array_header_t *roles = apr_array_make(pool, 1, sizeof(tp_role_t));
    tp_grants_t audit = {"b@x", 0, 1, roles};

    *(tp_role_t *)apr_array_push(roles) =
        role("dev", TP_LEVEL_WRITE, "{}", "[]", "{}", "[]");
    ck_assert(tp_grants_hold(&audit, "audit"));
    ck_assert(!tp_grants_hold(&audit, "admin"));
    ck_assert(tp_grants_hold(&audit, "everyone"));
    ck_assert(tp_grants_hold(&audit, "dev"));
    ck_assert(!tp_grants_hold(&audit, "dev2"));
}
END_TEST

/* interactive tokens may never expire; service tokens always do */
START_TEST(token_lifespan_caps)
{
    long long h = -1;

    ck_assert_ptr_null(tp_token_lifespan(pool, TP_TOKEN_INTERACTIVE, 0, 100,
                                         &h));
    ck_assert_int_eq(h, 0);
    ck_assert_ptr_null(tp_token_lifespan(pool, TP_TOKEN_INTERACTIVE,
                                         TP_INTERACTIVE_TTL_HOURS_MAX, 100,
                                         &h));
    ck_assert_int_eq(h, TP_INTERACTIVE_TTL_HOURS_MAX);
    ck_assert_int_eq(tp_token_lifespan(pool, TP_TOKEN_INTERACTIVE,
                                       TP_INTERACTIVE_TTL_HOURS_MAX + 1, 100,
                                       &h)->status, 422);
    ck_assert_ptr_null(tp_token_lifespan(pool, TP_TOKEN_BOUND, 0, 100, &h));
    ck_assert_int_eq(h, 100);
    ck_assert_ptr_null(tp_token_lifespan(pool, TP_TOKEN_DETACHED, 5, 100,
                                         &h));
    ck_assert_int_eq(h, 5);
    ck_assert_int_eq(tp_token_lifespan(pool, TP_TOKEN_DETACHED, 101, 100,
                                       &h)->status, 422);
    ck_assert_int_eq(tp_token_lifespan(pool, TP_TOKEN_BOUND, -1, 100,
                                       &h)->status, 422);
}
END_TEST

START_TEST(rbac_read_rules)
{
    apr_array_header_t *roles = apr_array_make(pool, 4, sizeof(tp_role_t));
    tp_grants_t g = {"dev@x", 0, 0, roles};
    tp_role_t partial = role("partial", TP_LEVEL_PLAN, "{\"a\":\"b\"}",
                             "[]", "{}", "[]");

    *(tp_role_t *)apr_array_push(roles) =
        role("dev", TP_LEVEL_WRITE, "{\"env\":\"dev\"}", "[\"n\"]",
             "{\"t\":\"s\"}", "[\"secret\"]");
    /* a rule never stored is left out, not sent as null */
    partial.allow_names = NULL;
    partial.deny_labels = NULL;
    *(tp_role_t *)apr_array_push(roles) = partial;

    ck_assert_str_eq(tp_json_dump(tp_rbac_read_rules(pool, &g,
                                                     TP_AXIS_WORKSPACE), pool),
                     "[{\"allow_labels\":{\"env\":\"dev\"},"
                     "\"allow_names\":[\"n\"],\"deny_labels\":{\"t\":\"s\"},"
                     "\"deny_names\":[\"secret\"]},"
                     "{\"allow_labels\":{\"a\":\"b\"},\"deny_names\":[]}]");
    /* roles granting nothing on the axis give no rules */
    ck_assert_str_eq(tp_json_dump(tp_rbac_read_rules(pool, &g, TP_AXIS_POOL),
                                  pool), "[]");
}
END_TEST

START_TEST(rbac_level_names)
{
    ck_assert_int_eq(tp_level_parse("plan", TP_AXIS_WORKSPACE), TP_LEVEL_PLAN);
    ck_assert_int_eq(tp_level_parse("plan", TP_AXIS_POOL), TP_LEVEL_NONE);
    ck_assert_int_eq(tp_level_parse("admin", TP_AXIS_REGISTRY),
                     TP_LEVEL_ADMIN);
    ck_assert_int_eq(tp_level_parse("root", TP_AXIS_WORKSPACE), TP_LEVEL_NONE);
    ck_assert_str_eq(tp_level_name(TP_LEVEL_WRITE), "write");
}
END_TEST

START_TEST(labels_rules)
{
    ck_assert_ptr_null(tp_labels_check(pool, parse("{\"env\":\"dev\","
                       "\"team/x\":\"\"}", NULL), "labels", 1));
    ck_assert_int_eq(tp_labels_check(pool, parse("{\"owner\":\"me\"}", NULL),
                                     "labels", 1)->status, 422);
    ck_assert_ptr_null(tp_labels_check(pool, parse("{\"owner\":\"me\"}",
                                                   NULL), "rule", 0));
    ck_assert_int_eq(tp_labels_check(pool, parse("{\"env\":1}", NULL),
                                     "labels", 1)->status, 422);
    ck_assert_int_eq(tp_labels_check(pool, parse("{\"-x\":\"a\"}", NULL),
                                     "labels", 1)->status, 422);
    ck_assert_int_eq(tp_labels_check(pool, parse("[]", NULL), "labels",
                                     1)->status, 422);
    ck_assert(tp_role_name_valid("dev-team_1"));
    ck_assert(!tp_role_name_valid("Dev"));
    ck_assert(!tp_role_name_valid("-x"));
    ck_assert(!tp_role_name_valid(""));
}
END_TEST

/* ---- tp_capability ---- */

START_TEST(capability_sign_and_verify)
{
    tp_key_t key = {(const unsigned char *)"0123456789abcdef0123456789abcdef",
                    32};
    apr_time_t now = apr_time_from_sec(1700000000);
    char *q = tp_cap_query(pool, &key, "state-content", "sv-1",
                           now + apr_time_from_sec(60));
    char *exp = apr_pstrdup(pool, strstr(q, "expires=") + 8);
    char *sig = strstr(exp, "&signature=");

    *sig = '\0';
    sig += 11;
    ck_assert_ptr_null(tp_cap_verify(pool, &key, "state-content", "sv-1",
                                     exp, sig, now));
    /* bound to kind and id */
    ck_assert_int_eq(tp_cap_verify(pool, &key, "state-json", "sv-1", exp,
                                   sig, now)->status, 401);
    ck_assert_int_eq(tp_cap_verify(pool, &key, "state-content", "sv-2", exp,
                                   sig, now)->status, 401);
    /* expires */
    ck_assert_int_eq(tp_cap_verify(pool, &key, "state-content", "sv-1", exp,
                                   sig, now + apr_time_from_sec(61))->status,
                     401);
    /* the expiry is signed */
    ck_assert_int_eq(tp_cap_verify(pool, &key, "state-content", "sv-1",
                                   "1900000000", sig, now)->status, 401);
    ck_assert_int_eq(tp_cap_verify(pool, &key, "state-content", "sv-1", exp,
                                   NULL, now)->status, 401);
    ck_assert_int_eq(tp_cap_verify(pool, &key, "state-content", "sv-1", "x",
                                   sig, now)->status, 401);
}
END_TEST

/* ---- tp_state ---- */

static const char *STATE =
    "{\"version\":4,\"terraform_version\":\"1.11.4\",\"serial\":3,"
    "\"lineage\":\"l-1\",\"outputs\":{\"o\":{\"value\":\"v\","
    "\"type\":\"string\"}},\"resources\":[{\"mode\":\"managed\"},"
    "{\"mode\":\"data\"},{\"mode\":\"managed\"}]}";

START_TEST(state_inspect_and_reserial)
{
    tp_state_info_t info;
    char *out;

    ck_assert_ptr_null(tp_state_inspect(pool, STATE, strlen(STATE), &info));
    ck_assert_int_eq(info.serial, 3);
    ck_assert_str_eq(info.lineage, "l-1");
    ck_assert_str_eq(info.terraform_version, "1.11.4");
    ck_assert_int_eq(info.resources, 2);
    ck_assert_str_eq(tp_json_gets(info.outputs, "o", "value", NULL), "v");
    ck_assert_ptr_null(tp_state_reserial(pool, STATE, strlen(STATE), 9, "x",
                                         &out));
    ck_assert_ptr_null(tp_state_inspect(pool, out, strlen(out), &info));
    ck_assert_int_eq(info.serial, 9);
    ck_assert_str_eq(info.lineage, "l-1");
    ck_assert_int_eq(tp_state_inspect(pool, "{\"version\":3,\"serial\":1}",
                                      26, &info)->status, 422);
    ck_assert_int_eq(tp_state_inspect(pool, "[1]", 3, &info)->status, 422);
    ck_assert_int_eq(tp_state_inspect(pool, "nope", 4, &info)->status, 422);
}
END_TEST

START_TEST(output_types)
{
    ck_assert_str_eq(tp_output_type(parse("\"string\"", NULL), NULL),
                     "string");
    ck_assert_str_eq(tp_output_type(parse("\"bool\"", NULL), NULL),
                     "boolean");
    ck_assert_str_eq(tp_output_type(parse("[\"list\",\"string\"]", NULL),
                                    NULL), "array");
    ck_assert_str_eq(tp_output_type(parse("[\"object\",{}]", NULL), NULL),
                     "object");
    ck_assert_str_eq(tp_output_type(parse("\"dynamic\"", NULL),
                                    parse("12", NULL)), "number");
    ck_assert_str_eq(tp_output_type(NULL, parse("{}", NULL)), "object");
}
END_TEST

/* ---- request attribute helpers ---- */

START_TEST(attribute_readers)
{
    tp_json_t *a = parse("{\"s\":\"abc\",\"b\":true,\"i\":5,\"n\":null,"
                         "\"l\":[\"x\",\"y\"],\"bad\":[1]}", NULL);
    const char *s;
    int b, has;
    long long i;
    tp_json_t *l;
    static const char *const modes[] = {"abc", "def", NULL};

    ck_assert_ptr_null(tp_attr_string(pool, a, "s", 3, &s, &has));
    ck_assert(has);
    ck_assert_str_eq(s, "abc");
    ck_assert_int_eq(tp_attr_string(pool, a, "s", 2, &s, &has)->status, 422);
    ck_assert_int_eq(tp_attr_string(pool, a, "b", 9, &s, &has)->status, 422);
    ck_assert_ptr_null(tp_attr_string(pool, a, "zz", 9, &s, &has));
    ck_assert(!has);
    ck_assert_ptr_null(tp_attr_bool(pool, a, "b", &b, &has));
    ck_assert(b && has);
    ck_assert_int_eq(tp_attr_bool(pool, a, "i", &b, &has)->status, 422);
    ck_assert_ptr_null(tp_attr_int(pool, a, "i", 1, 9, &i, &has));
    ck_assert_int_eq(i, 5);
    ck_assert_int_eq(tp_attr_int(pool, a, "i", 6, 9, &i, &has)->status, 422);
    ck_assert_ptr_null(tp_attr_enum(pool, a, "s", modes, &s, &has));
    ck_assert_ptr_null(tp_attr_strings(pool, a, "l", 2, 1, &l, &has));
    ck_assert_uint_eq(tp_json_len(l), 2);
    ck_assert_int_eq(tp_attr_strings(pool, a, "l", 1, 1, &l, &has)->status,
                     422);
    ck_assert_int_eq(tp_attr_strings(pool, a, "bad", 9, 9, &l, &has)->status,
                     422);
}
END_TEST

START_TEST(base64_and_md5_stream)
{
    apr_size_t len;
    unsigned char *d = tp_base64_decode(pool, "aGVsbG8=", &len);
    tp_digest_t *md5 = tp_md5_begin(pool);

    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(memcmp(d, "hello", 5), 0);
    ck_assert_ptr_null(tp_base64_decode(pool, "abc", &len));
    tp_digest_update(md5, "hel", 3);
    tp_digest_update(md5, "lo", 2);
    ck_assert_str_eq(tp_digest_hex(md5, pool), tp_md5_hex(pool, "hello", 5));
    ck_assert(tp_is_hex("0a9f"));
    ck_assert(!tp_is_hex("0A9F"));
    ck_assert(!tp_is_hex(""));
}
END_TEST

START_TEST(seal_roundtrip_and_tamper)
{
    const unsigned char *key = (const unsigned char *)"k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y!";
    char *sealed = tp_seal(pool, key, 32, "vars", "hunter2");
    char *again = tp_seal(pool, key, 32, "vars", "hunter2");
    char *bad;

    ck_assert_ptr_nonnull(sealed);
    ck_assert_ptr_null(strstr(sealed, "hunter2"));
    ck_assert_str_ne(sealed, again);      /* fresh nonce each time */
    ck_assert_str_eq(tp_unseal(pool, key, 32, "vars", sealed), "hunter2");
    ck_assert_ptr_null(tp_unseal(pool, key, 32, "other", sealed));
    ck_assert_ptr_null(tp_unseal(pool, (const unsigned char *)"x", 1, "vars",
                                 sealed));
    bad = apr_pstrdup(pool, sealed);
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    ck_assert_ptr_null(tp_unseal(pool, key, 32, "vars", bad));
    ck_assert_ptr_null(tp_unseal(pool, key, 32, "vars", "short"));
    ck_assert_str_eq(tp_unseal(pool, key, 32, "vars",
                               tp_seal(pool, key, 32, "vars", "")), "");
}
END_TEST

/* ---- tp_log ---- */

static const char *render(apr_off_t log_len, int final, apr_off_t offset,
                          apr_off_t limit)
{
    static const char log[] = "hello";
    tp_log_slice_t s;

    tp_log_slice(log_len, final, offset, limit, &s);
    return apr_psprintf(pool, "%s%.*s%s", s.stx ? "<" : "", (int)s.len,
                        log + s.from, s.etx ? ">" : "");
}

START_TEST(log_slices_at_every_boundary)
{
    /* the stream of a finished 5-byte log is "<hello>" */
    ck_assert_str_eq(render(5, 1, 0, 100), "<hello>");
    ck_assert_str_eq(render(5, 1, 0, 1), "<");
    ck_assert_str_eq(render(5, 1, 0, 2), "<h");
    ck_assert_str_eq(render(5, 1, 1, 2), "he");
    ck_assert_str_eq(render(5, 1, 3, 100), "llo>");
    ck_assert_str_eq(render(5, 1, 5, 1), "o");
    ck_assert_str_eq(render(5, 1, 5, 2), "o>");
    ck_assert_str_eq(render(5, 1, 6, 10), ">");
    ck_assert_str_eq(render(5, 1, 7, 10), "");
    ck_assert_str_eq(render(5, 1, 70, 10), "");
    /* while the phase runs there is no ETX yet */
    ck_assert_str_eq(render(5, 0, 0, 100), "<hello");
    ck_assert_str_eq(render(5, 0, 6, 100), "");
    ck_assert_str_eq(render(3, 0, 2, 100), "el");
    /* nothing logged yet */
    ck_assert_str_eq(render(0, 0, 0, 100), "<");
    ck_assert_str_eq(render(0, 1, 0, 100), "<>");
    ck_assert_str_eq(render(0, 1, 1, 100), ">");
    /* limits: default and cap, negative offset */
    ck_assert_str_eq(render(5, 1, 0, 0), "<hello>");
    ck_assert_str_eq(render(5, 1, -4, 3), "<he");
    /* offsets near the largest apr_off_t (any query string can say so)
     * must not overflow on the way to "nothing there" */
    ck_assert_str_eq(render(5, 1, APR_INT64_MAX, 100), "");
    ck_assert_str_eq(render(5, 1, APR_INT64_MAX - 1, TP_LOG_LIMIT_MAX), "");
}
END_TEST

/* ---- tp_storage ---- */

/* Writes total bytes to up in chunks whose ends fall anywhere in the
 * upload's staging buffers, each chunk its own letter; want digests the
 * same bytes. */
static void write_pattern(tp_upload_t *up, apr_size_t total,
                          tp_digest_t *want)
{
    apr_size_t chunk = 65537, i;
    char *buf = apr_palloc(pool, chunk);

    for (i = 0; i < total; i += chunk) {
        apr_size_t n = total - i < chunk ? total - i : chunk;

        memset(buf, 'a' + (int)(i / chunk % 26), n);
        tp_digest_update(want, buf, n);
        ck_assert_ptr_null(tp_upload_write(up, buf, n));
    }
}

/* The MD5 of the object at key. */
static const char *stored_md5(const tp_storage_t *st, const char *key)
{
    char *back;
    apr_size_t len;

    ck_assert_ptr_null(tp_storage_read(st, pool, key, APR_INT32_MAX, &back,
                                       &len));
    return tp_md5_hex(pool, back, len);
}

/* How many files the tests' workspace directory "state/w" holds. */
static int files_in_w(const tp_storage_t *st)
{
    return entries_in(pool, apr_pstrcat(pool, st->root, "/state/w", NULL));
}

/* An upload of several writeback steps (its writeback starts while it
 * arrives, and a thread digests it) commits exactly the bytes written, and
 * leaves no temp file. */
START_TEST(storage_upload_across_writeback_steps)
{
    tp_storage_t st = {temp_dir(pool)};
    apr_size_t total = 20 * 1024 * 1024 + 123;
    tp_digest_t *want = tp_md5_begin(pool);
    const char *want_hex;
    tp_upload_t *up;

    ck_assert_ptr_null(tp_storage_begin(&st, pool, "state/w/v.tfstate",
                                        total, &up));
    write_pattern(up, total, want);
    want_hex = tp_digest_hex(want, pool);
    ck_assert_ptr_null(tp_upload_md5(up));
    ck_assert_ptr_null(tp_upload_end(up));
    ck_assert_str_eq(tp_upload_md5(up), want_hex);
    ck_assert_int_eq(tp_upload_size(up), total);
    ck_assert_ptr_null(tp_upload_commit(up));
    ck_assert_str_eq(stored_md5(&st, "state/w/v.tfstate"), want_hex);
    ck_assert_int_eq(files_in_w(&st), 1);
}
END_TEST

/* Empty, small, and whole and split staging buffers (256 KiB): the digest
 * and the stored bytes agree, whether the commit ends the upload or not. */
START_TEST(storage_upload_sizes)
{
    static const apr_size_t sizes[] = {0, 100, 262144, 524288, 524289,
                                       786431};
    tp_storage_t st = {temp_dir(pool)};
    apr_size_t i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        const char *key = apr_psprintf(pool, "state/w/v%d.tfstate", (int)i);
        tp_digest_t *want = tp_md5_begin(pool);
        const char *want_hex;
        tp_upload_t *up;

        ck_assert_ptr_null(tp_storage_begin(&st, pool, key, 1 << 20, &up));
        write_pattern(up, sizes[i], want);
        want_hex = tp_digest_hex(want, pool);
        if (i % 2) {
            ck_assert_ptr_null(tp_upload_end(up));
        }
        ck_assert_ptr_null(tp_upload_commit(up));
        ck_assert_str_eq(tp_upload_md5(up), want_hex);
        ck_assert_str_eq(stored_md5(&st, key), want_hex);
    }
    ck_assert_int_eq(files_in_w(&st), (int)i);
}
END_TEST

/* An upload given up while its digest thread runs, by abort or by its pool
 * going away, leaves nothing behind (and under ASan or valgrind, nothing
 * touched after it was freed). */
START_TEST(storage_upload_given_up)
{
    tp_storage_t st = {temp_dir(pool)};
    apr_size_t total = 3 * 1024 * 1024 + 5;
    tp_upload_t *up;
    apr_pool_t *sub;

    ck_assert_ptr_null(tp_storage_begin(&st, pool, "state/w/a.tfstate",
                                        total, &up));
    write_pattern(up, total, tp_md5_begin(pool));
    tp_upload_abort(up);
    ck_assert_ptr_null(tp_upload_md5(up));
    ck_assert_int_eq(files_in_w(&st), 0);

    apr_pool_create(&sub, pool);
    ck_assert_ptr_null(tp_storage_begin(&st, sub, "state/w/b.tfstate",
                                        total, &up));
    write_pattern(up, total, tp_md5_begin(pool));
    apr_pool_destroy(sub);
    ck_assert_int_eq(files_in_w(&st), 0);
}
END_TEST

/* A write the file system refuses (here the file size limit) fails the
 * upload with a 503, whether it comes while the body arrives or at its
 * end, and nothing can commit what was written. */
/* Whether key is stored. */
static int stored(const tp_storage_t *st, const char *key)
{
    apr_off_t size;

    return tp_storage_file(st, pool, key, &size) != NULL;
}

/* Retention removes every artifact of the run it is given, under the keys
 * the API stores them at, and nothing of another run or any state; a run
 * whose files are already gone is no error (a batch cut short is swept
 * again). */
START_TEST(storage_retention_removes_run_artifacts)
{
    tp_storage_t st = {temp_dir(pool)};
    const char *keys[] = {
        tp_run_key(pool, "run-a", TP_PLAN_FILE),
        tp_run_key(pool, "run-a", TP_PLAN_JSON),
        tp_run_key(pool, "run-a", "plan-artifacts.tar"),
        tp_run_log_key(pool, "run-a", 0), tp_run_log_key(pool, "run-a", 1),
    };
    const char *kept[] = {
        tp_run_key(pool, "run-ab", TP_PLAN_JSON),
        tp_run_log_key(pool, "run-b", 1), "state/ws-a/sv-a.tfstate",
        tp_cv_key(pool, "ws-a", "cv-a"),
    };
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        ck_assert_ptr_null(tp_storage_put(&st, pool, keys[i], "x", 1));
    }
    for (i = 0; i < sizeof(kept) / sizeof(*kept); i++) {
        ck_assert_ptr_null(tp_storage_put(&st, pool, kept[i], "x", 1));
    }
    tp_retention_remove_run(&st, pool, "run-a");
    for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        ck_assert_msg(!stored(&st, keys[i]), "%s removed", keys[i]);
    }
    for (i = 0; i < sizeof(kept) / sizeof(*kept); i++) {
        ck_assert_msg(stored(&st, kept[i]), "%s kept", kept[i]);
    }
    tp_retention_remove_run(&st, pool, "run-a");
    ck_assert(stored(&st, kept[0]));
}
END_TEST

START_TEST(storage_upload_write_refused)
{
    tp_storage_t st = {temp_dir(pool)};
    struct rlimit small = {64 * 1024, 0}, before;
    tp_upload_t *up;
    tp_err_t *err;

    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &before), 0);
    small.rlim_max = before.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    /* within one staging buffer: the write comes at the end */
    ck_assert_ptr_null(tp_storage_begin(&st, pool, "state/w/a.tfstate",
                                        1 << 20, &up));
    write_pattern(up, 100 * 1024, tp_md5_begin(pool));
    err = tp_upload_end(up);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 503);
    ck_assert_ptr_null(tp_upload_md5(up));
    ck_assert_ptr_nonnull(err = tp_upload_commit(up));
    ck_assert_int_eq(err->status, 503);
    ck_assert_int_eq(files_in_w(&st), 0);
    /* across buffers: the write of the first full one fails */
    ck_assert_ptr_null(tp_storage_begin(&st, pool, "state/w/b.tfstate",
                                        1 << 20, &up));
    err = tp_upload_write(up, apr_pcalloc(pool, 512 * 1024), 512 * 1024);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 503);
    tp_upload_abort(up);
    ck_assert_int_eq(files_in_w(&st), 0);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &before), 0);
}
END_TEST

/* ---- tp_run ---- */

START_TEST(state_resource_instances)
{
    const char *state =
        "{\"version\":4,\"serial\":1,\"resources\":["
        "{\"mode\":\"managed\",\"type\":\"t\",\"name\":\"a\","
        "\"provider\":\"provider[\\\"registry.terraform.io/h/p\\\"]\","
        "\"instances\":[{\"index_key\":3},{\"index_key\":\"k\\\"\"}]},"
        "{\"module\":\"module.m\",\"mode\":\"managed\",\"type\":\"u\","
        "\"name\":\"b\",\"provider\":\"provider[\\\"example.com/x/y\\\"]\","
        "\"instances\":[{}]},"
        "{\"mode\":\"data\",\"type\":\"d\",\"name\":\"c\",\"instances\":[{}]},"
        "{\"mode\":\"managed\",\"type\":\"t\",\"name\":\"none\","
        "\"instances\":[]}]}";
    apr_array_header_t *all = NULL;
    const tp_state_resource_t *r;

    ck_assert_ptr_null(tp_state_resources(pool, state, strlen(state), &all));
    ck_assert_int_eq(all->nelts, 3);
    r = &APR_ARRAY_IDX(all, 0, tp_state_resource_t);
    ck_assert_str_eq(r->address, "t.a[3]");
    ck_assert_str_eq(r->index, "3");
    ck_assert_str_eq(r->module, "root");
    ck_assert_str_eq(r->provider, "h/p");
    r = &APR_ARRAY_IDX(all, 1, tp_state_resource_t);
    ck_assert_str_eq(r->address, "t.a[\"k\\\"\"]");
    r = &APR_ARRAY_IDX(all, 2, tp_state_resource_t);
    ck_assert_str_eq(r->address, "module.m.u.b");
    ck_assert_ptr_null(r->index);
    ck_assert_str_eq(r->provider, "example.com/x/y");
    ck_assert_int_eq(tp_state_resources(pool, "[]", 2, &all)->status, 422);
}
END_TEST

START_TEST(run_status_groups)
{
    const char *const *g;
    int n;

    ck_assert_ptr_null(tp_run_status_group("finished"));
    for (g = tp_run_status_group("final"), n = 0; *g; g++, n++) {
        ck_assert(tp_run_final(*g));
    }
    ck_assert_int_gt(n, 0);
    for (g = tp_run_status_group("non_final"), n = 0; *g; g++, n++) {
        ck_assert(!tp_run_final(*g));
    }
    ck_assert_int_gt(n, 0);
    for (g = tp_run_status_group("discardable"), n = 0; *g; g++, n++) {
        ck_assert(tp_run_allows(*g, TP_RUN_DISCARD));
    }
    ck_assert_int_gt(n, 0);
}
END_TEST

START_TEST(run_state_machine)
{
    const char *plan, *apply;

    ck_assert(tp_run_allows("planned", TP_RUN_APPLY));
    ck_assert(tp_run_allows("planned", TP_RUN_DISCARD));
    ck_assert(!tp_run_allows("planning", TP_RUN_APPLY));
    ck_assert(!tp_run_allows("applied", TP_RUN_DISCARD));
    ck_assert(tp_run_allows("planning", TP_RUN_CANCEL));
    ck_assert(tp_run_allows("pending", TP_RUN_CANCEL));
    ck_assert(!tp_run_allows("planned", TP_RUN_CANCEL));
    ck_assert(!tp_run_allows("errored", TP_RUN_CANCEL));
    ck_assert(tp_run_allows("planned", TP_RUN_FORCE_CANCEL));
    ck_assert(!tp_run_allows("canceled", TP_RUN_FORCE_CANCEL));
    ck_assert_str_eq(tp_run_after(TP_RUN_APPLY), "confirmed");
    ck_assert_str_eq(tp_run_after(TP_RUN_DISCARD), "discarded");
    ck_assert_str_eq(tp_run_after(TP_RUN_FORCE_CANCEL), "canceled");
    ck_assert(tp_run_final("planned_and_finished"));
    ck_assert(!tp_run_final("planned"));
    ck_assert_str_eq(tp_run_after_plan(TP_RUN_PLAN_ONLY | TP_RUN_HAS_CHANGES
                                       | TP_RUN_AUTO_APPLY),
                     "planned_and_finished");
    ck_assert_str_eq(tp_run_after_plan(0), "planned_and_finished");
    ck_assert_str_eq(tp_run_after_plan(TP_RUN_EMPTY_APPLY), "planned");
    ck_assert_str_eq(tp_run_after_plan(TP_RUN_HAS_CHANGES | TP_RUN_AUTO_APPLY),
                     "confirmed");
    ck_assert_str_eq(tp_run_after_plan(TP_RUN_HAS_CHANGES), "planned");
    tp_run_phases("planning", "errored", &plan, &apply);
    ck_assert_str_eq(plan, "errored");
    ck_assert_str_eq(apply, "unreachable");
    tp_run_phases("applying", "canceled", &plan, &apply);
    ck_assert_ptr_null(plan);
    ck_assert_str_eq(apply, "canceled");
    tp_run_phases("plan_queued", "planning", &plan, &apply);
    ck_assert_str_eq(plan, "running");
    ck_assert_str_eq(apply, "pending");
}
END_TEST

/* Every status a run can reach has its event, in TFE's vocabulary; both
 * queues are "queued", and a plan that ends the run is still "planned". */
START_TEST(run_events_of_statuses)
{
    static const char *const moves[][2] = {
        {"pending", "created"}, {"plan_queued", "queued"},
        {"planning", "planning"}, {"planned", "planned"},
        {"planned_and_finished", "planned"},
        {"planned_and_saved", "planned"}, {"confirmed", "confirmed"},
        {"apply_queued", "queued"}, {"applying", "applying"},
        {"applied", "applied"}, {"discarded", "discarded"},
        {"canceled", "canceled"}, {"errored", "errored"}, {NULL, NULL}
    };
    const char *action, *description, *plan_queued, *apply_queued;
    int i;

    for (i = 0; moves[i][0]; i++) {
        tp_run_event(moves[i][0], &action, &description);
        ck_assert_str_eq(action, moves[i][1]);
        ck_assert_int_gt((int)strlen(description), 0);
    }
    tp_run_event("plan_queued", &action, &plan_queued);
    tp_run_event("apply_queued", &action, &apply_queued);
    ck_assert_str_ne(plan_queued, apply_queued);
}
END_TEST

/* terraform plan -out: the run waits, planned_and_saved, for
 * `terraform apply saved.tfplan` */
START_TEST(run_saved_plans)
{
    const char *plan, *apply;

    ck_assert_str_eq(tp_run_after_plan(TP_RUN_SAVE_PLAN | TP_RUN_HAS_CHANGES),
                     "planned_and_saved");
    /* never applied by itself, whatever the workspace's auto-apply */
    ck_assert_str_eq(tp_run_after_plan(TP_RUN_SAVE_PLAN | TP_RUN_HAS_CHANGES
                                       | TP_RUN_AUTO_APPLY),
                     "planned_and_saved");
    ck_assert_str_eq(tp_run_after_plan(TP_RUN_SAVE_PLAN | TP_RUN_EMPTY_APPLY),
                     "planned_and_saved");
    /* nothing to apply: the CLI says "Saved plan has no changes" */
    ck_assert_str_eq(tp_run_after_plan(TP_RUN_SAVE_PLAN),
                     "planned_and_finished");
    ck_assert_str_eq(tp_run_after_plan(TP_RUN_SAVE_PLAN | TP_RUN_PLAN_ONLY
                                       | TP_RUN_HAS_CHANGES),
                     "planned_and_finished");
    ck_assert(!tp_run_final("planned_and_saved"));
    ck_assert(tp_run_allows("planned_and_saved", TP_RUN_APPLY));
    ck_assert(tp_run_allows("planned_and_saved", TP_RUN_DISCARD));
    ck_assert(!tp_run_allows("planned_and_saved", TP_RUN_CANCEL));
    ck_assert(tp_run_allows("planned_and_saved", TP_RUN_FORCE_CANCEL));
    /* applied, it may wait for the workspace, confirmed and cancelable */
    ck_assert(tp_run_allows("confirmed", TP_RUN_CANCEL));
    ck_assert(!tp_run_allows("confirmed", TP_RUN_APPLY));
    tp_run_phases("planning", "planned_and_saved", &plan, &apply);
    ck_assert_str_eq(plan, "finished");
    ck_assert_str_eq(apply, "pending");
    tp_run_phases("planned_and_saved", "confirmed", &plan, &apply);
    ck_assert_str_eq(plan, "finished");
    ck_assert_str_eq(apply, "queued");
    /* stale or thrown away */
    tp_run_phases("planned_and_saved", "discarded", &plan, &apply);
    ck_assert_str_eq(plan, "finished");
    ck_assert_str_eq(apply, "unreachable");
    tp_run_phases("confirmed", "discarded", &plan, &apply);
    ck_assert_str_eq(apply, "unreachable");
    tp_run_phases("confirmed", "canceled", &plan, &apply);
    ck_assert_ptr_null(plan);
    ck_assert_str_eq(apply, "canceled");
}
END_TEST

/* ---- listener CA ---- */

START_TEST(ca_create_signs_listener_certificates)
{
    tp_x509_t ca, other, leaf, seen;
    apr_time_t nb, na;
    const char *why;

    ck_assert_int_eq(tp_x509_ca_create(pool, "unit CA", 30, &ca, &why),
                     APR_SUCCESS);
    ck_assert_ptr_null(why);
    ck_assert_ptr_nonnull(strstr(ca.cert_pem, "BEGIN CERTIFICATE"));
    ck_assert_ptr_nonnull(strstr(ca.key_pem, "PRIVATE KEY"));
    ck_assert_str_eq(ca.common_name, "unit CA");
    ck_assert_int_eq(strlen(ca.serial), 32);
    /* what mod_terrapod checks of TerrapodListenerCACert / Key */
    ck_assert_int_eq(tp_x509_ca_check(pool, ca.cert_pem, ca.key_pem, &why),
                     APR_SUCCESS);
    ck_assert_int_eq(tp_x509_validity(ca.cert_pem, &nb, &na), APR_SUCCESS);
    ck_assert(nb <= apr_time_now());
    ck_assert(na - apr_time_now() > apr_time_from_sec(29 * 86400));
    ck_assert(na - apr_time_now() < apr_time_from_sec(31 * 86400));
    /* it issues listener certificates */
    ck_assert_int_eq(tp_x509_issue(pool, ca.cert_pem, ca.key_pem, "l1", 7,
                                   &leaf, &why), APR_SUCCESS);
    ck_assert_int_eq(tp_x509_inspect(pool, leaf.cert_pem, &seen),
                     APR_SUCCESS);
    ck_assert_str_eq(seen.common_name, "l1");
    /* every CA has a key of its own: keys of two do not pair */
    ck_assert_int_eq(tp_x509_ca_create(pool, "other", 30, &other, &why),
                     APR_SUCCESS);
    ck_assert_str_ne(ca.key_pem, other.key_pem);
    ck_assert_int_eq(tp_x509_ca_check(pool, ca.cert_pem, other.key_pem,
                                      &why), APR_EINVAL);
    ck_assert_str_eq(why, "the CA key does not belong to the CA certificate");
    /* a listener certificate is no CA */
    ck_assert_int_eq(tp_x509_ca_check(pool, leaf.cert_pem, leaf.key_pem,
                                      &why), APR_EINVAL);
    ck_assert_str_eq(why, "the CA certificate may not sign certificates");
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, json_roundtrip_and_paths);
    tcase_add_test(tc, json_setters_build_nested_objects);
    tcase_add_test(tc, json_rejects_malformed_and_duplicates);
    tcase_add_test(tc, json_text_strings);
    tcase_add_test(tc, utf8_lengths_count_characters);
    tcase_add_test(tc, error_document_shape);
    tcase_add_test(tc, error_internal_cause_is_not_in_document);
    tcase_add_test(tc, status_titles);
    tcase_add_test(tc, resource_and_relationships);
    tcase_add_test(tc, page_parse_defaults_clamp_and_errors);
    tcase_add_test(tc, pagination_meta);
    tcase_add_test(tc, pagination_links);
    tcase_add_test(tc, attributes_extraction);
    tcase_add_test(tc, attributes_type_singular_or_none);
    tcase_add_test(tc, kebab_case_names);
    tcase_add_test(tc, normalize_attribute_and_relationship_names);
    tcase_add_test(tc, route_literal_and_params);
    tcase_add_test(tc, route_mismatches);
    tcase_add_test(tc, route_trailing_slash_and_decoding);
    tcase_add_test(tc, token_shape_and_hash);
    tcase_add_test(tc, bearer_header_parsing);
    tcase_add_test(tc, ids_have_prefix_and_alphabet);
    tcase_add_test(tc, digests_known_vectors);
    tcase_add_test(tc, hmac_rfc4231_case2);
    tcase_add_test(tc, b64url_padding_free);
    tcase_add_test(tc, x509_fingerprints_of_a_bundle);
    tcase_add_test(tc, x509_forwarded_forms);
    tcase_add_test(tc, secure_equals);
    tcase_add_test(tc, password_hash_verify);
    tcase_add_test(tc, rbac_allow_deny_and_max);
    tcase_add_test(tc, rbac_builtins_and_owner);
    tcase_add_test(tc, rbac_read_rules);
    tcase_add_test(tc, storage_upload_across_writeback_steps);
    tcase_add_test(tc, storage_upload_sizes);
    tcase_add_test(tc, storage_upload_given_up);
    tcase_add_test(tc, storage_upload_write_refused);
    tcase_add_test(tc, storage_retention_removes_run_artifacts);
    tcase_add_test(tc, rbac_level_names);
    tcase_add_test(tc, rbac_grants_hold);
    tcase_add_test(tc, token_lifespan_caps);
    tcase_add_test(tc, labels_rules);
    tcase_add_test(tc, capability_sign_and_verify);
    tcase_add_test(tc, state_inspect_and_reserial);
    tcase_add_test(tc, output_types);
    tcase_add_test(tc, attribute_readers);
    tcase_add_test(tc, base64_and_md5_stream);
    tcase_add_test(tc, seal_roundtrip_and_tamper);
    tcase_add_test(tc, log_slices_at_every_boundary);
    tcase_add_test(tc, run_state_machine);
    tcase_add_test(tc, run_status_groups);
    tcase_add_test(tc, state_resource_instances);
    tcase_add_test(tc, run_events_of_statuses);
    tcase_add_test(tc, run_saved_plans);
    tcase_add_test(tc, ca_create_signs_listener_certificates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(core_suite());
    srunner_add_suite(sr, archive_suite());
    srunner_add_suite(sr, s3_suite());
    srunner_add_suite(sr, vars_suite());
    srunner_add_suite(sr, listener_suite());
    srunner_add_suite(sr, runtok_suite());
    srunner_add_suite(sr, diff_suite());
    srunner_add_suite(sr, jwt_suite());
    srunner_add_suite(sr, web_suite());
    srunner_add_suite(sr, audit_suite());
    srunner_add_suite(sr, events_suite());
    srunner_add_suite(sr, cache_suite());
    srunner_add_suite(sr, resource_suite());
    srunner_add_suite(sr, plan_suite());
    srunner_add_suite(sr, drift_suite());
    srunner_add_suite(sr, metrics_suite());
    srunner_add_suite(sr, openapi_suite());
    srunner_add_suite(sr, vcs_suite());
    srunner_add_suite(sr, vcs_config_suite());
    srunner_add_suite(sr, autodiscovery_suite());
    srunner_add_suite(sr, vcs_pr_suite());
    srunner_add_suite(sr, notify_suite());
    srunner_add_suite(sr, module_suite());
    srunner_add_suite(sr, gpg_suite());
    srunner_add_suite(sr, zip_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
