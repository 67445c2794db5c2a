/* Unit tests of the audit log's and the rate limiter's pure parts: which
 * resource an entry names, how credentials are masked in its path and in
 * the query the access log shows, the
 * RFC 3339 parser behind the time filters, and rate-limit classes,
 * windows, verdicts and the parsing of limits. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tp_audit.h"
#include "tp_jsonapi.h"
#include "tp_ratelimit.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* "type/id" of the resource path names under pattern ("-" for none). */
static const char *resource(const char *pattern, const char *path)
{
    tp_params_t params;
    const char *type, *id;

    ck_assert(tp_route_match(pool, pattern, path, &params));
    tp_audit_resource(pool, pattern, &params, &type, &id);
    return apr_pstrcat(pool, type ? type : "-", "/", id ? id : "-", NULL);
}

START_TEST(audit_resource_of_routes)
{
    ck_assert_str_eq(resource("/api/v2/workspaces/{id}", "/api/v2/workspaces/ws-1"),
                     "workspaces/ws-1");
    ck_assert_str_eq(resource("/api/v2/workspaces/{id}/actions/lock",
                              "/api/v2/workspaces/ws-2/actions/lock"),
                     "workspaces/ws-2");
    ck_assert_str_eq(resource("/api/v2/workspaces/{id}/vars/{var_id}",
                              "/api/v2/workspaces/ws-3/vars/var-9"),
                     "vars/var-9");
    ck_assert_str_eq(resource("/api/v2/runs", "/api/v2/runs"), "runs/-");
    ck_assert_str_eq(resource("/api/terrapod/v1/role-assignments/{provider}/"
                              "{email}/{role}",
                              "/api/terrapod/v1/role-assignments/local/a%40b/dev"),
                     "role-assignments/dev");
    /* a signature is never an id */
    ck_assert_str_eq(resource("/api/v2/plans/{id}/logs/{cap}",
                              "/api/v2/plans/plan-1/logs/123.abc"),
                     "plans/plan-1");
    ck_assert_str_eq(resource("/download-by-ticket/{ticket}",
                              "/download-by-ticket/secret"),
                     "download-by-ticket/-");
}
END_TEST

START_TEST(audit_path_masks_credentials)
{
    ck_assert_str_eq(tp_audit_path(pool, "/api/v2/plans/{id}/logs/{cap}",
                                   "/api/v2/plans/plan-1/logs/123.sig"),
                     "/api/v2/plans/plan-1/logs/{cap}");
    ck_assert_str_eq(tp_audit_path(pool, "/cv/download-by-ticket/{ticket}",
                                   "/cv/download-by-ticket/t0ps3cret"),
                     "/cv/download-by-ticket/{ticket}");
    ck_assert_str_eq(tp_audit_path(pool, "/api/v2/workspaces/{id}",
                                   "/api/v2/workspaces/ws-1"),
                     "/api/v2/workspaces/ws-1");
    ck_assert_str_eq(tp_audit_path(pool, NULL, "/api/v2/nothing/here"),
                     "/api/v2/nothing/here");
}
END_TEST

START_TEST(audit_query_masks_credentials)
{
    const char *plain = "page%5Bnumber%5D=2&q=x";

    ck_assert_str_eq(tp_audit_query(pool, "expires=1700000000&signature=c2ln"),
                     "expires=1700000000&signature={signature}");
    ck_assert_str_eq(tp_audit_query(pool, "code=abc&state=def&x=1"),
                     "code={code}&state={state}&x=1");
    /* however the name is written, as the server decodes it */
    ck_assert_str_eq(tp_audit_query(pool, "sig%6Eature=c2ln&si+gnature=1"),
                     "sig%6Eature={sig%6Eature}&si+gnature=1");
    ck_assert_str_eq(tp_audit_query(pool, "signature&&signature=x=y"),
                     "signature={signature}&&signature={signature}");
    /* nothing to mask: the same string */
    ck_assert_ptr_eq(tp_audit_query(pool, plain), plain);
    ck_assert_ptr_null(tp_audit_query(pool, NULL));
    ck_assert_str_eq(tp_audit_query(pool, "signatures=1&xsignature=2"),
                     "signatures=1&xsignature=2");
}
END_TEST

START_TEST(rfc3339_parse_forms)
{
    apr_time_t t;

    ck_assert_int_eq(tp_rfc3339_parse("2026-01-31T12:00:00Z", &t), APR_SUCCESS);
    ck_assert_str_eq(tp_rfc3339(pool, t), "2026-01-31T12:00:00Z");
    ck_assert_int_eq(tp_rfc3339_parse("2026-01-31T14:30:00+02:30", &t),
                     APR_SUCCESS);
    ck_assert_str_eq(tp_rfc3339(pool, t), "2026-01-31T12:00:00Z");
    ck_assert_int_eq(tp_rfc3339_parse("2026-01-31T11:00:00.250-01:00", &t),
                     APR_SUCCESS);
    ck_assert_str_eq(tp_rfc3339(pool, t), "2026-01-31T12:00:00Z");
    ck_assert_int_eq(t % APR_USEC_PER_SEC, 250000);
    ck_assert_int_eq(tp_rfc3339_parse("2024-02-29T00:00:00Z", &t), APR_SUCCESS);
    ck_assert_int_eq(tp_rfc3339_parse("2026-02-29T00:00:00Z", &t), APR_EINVAL);
    ck_assert_int_eq(tp_rfc3339_parse("2026-13-01T00:00:00Z", &t), APR_EINVAL);
    ck_assert_int_eq(tp_rfc3339_parse("2026-01-01T24:00:00Z", &t), APR_EINVAL);
    ck_assert_int_eq(tp_rfc3339_parse("2026-01-01T00:00:00", &t), APR_EINVAL);
    ck_assert_int_eq(tp_rfc3339_parse("2026-01-01T00:00:00Zjunk", &t),
                     APR_EINVAL);
    ck_assert_int_eq(tp_rfc3339_parse("yesterday", &t), APR_EINVAL);
    ck_assert_int_eq(tp_rfc3339_parse("2026-1-01T00:00:00Z", &t), APR_EINVAL);
}
END_TEST

START_TEST(ratelimit_classes)
{
    ck_assert_int_eq(tp_rl_classify("POST", "/oauth/token", TP_RL_ANONYMOUS),
                     TP_RL_SIGN_IN);
    ck_assert_int_eq(tp_rl_classify("GET", "/oauth/token/x",
                                    TP_RL_ANONYMOUS), TP_RL_SIGN_IN);
    ck_assert_int_eq(tp_rl_classify("POST", "/oauth/authorize",
                                    TP_RL_ANONYMOUS), TP_RL_SIGN_IN);
    /* the browser's GET of the login page is an ordinary request */
    ck_assert_int_eq(tp_rl_classify("GET", "/oauth/authorize",
                                    TP_RL_ANONYMOUS), TP_RL_UNAUTHENTICATED);
    ck_assert_int_eq(tp_rl_classify("POST", "/api/terrapod/v1/auth/callback",
                                    TP_RL_ANONYMOUS), TP_RL_SIGN_IN);
    ck_assert_int_eq(tp_rl_classify("GET", "/oauth/tokens", TP_RL_ANONYMOUS),
                     TP_RL_UNAUTHENTICATED);
    /* a signed-in user's sessions and sign-out spend the user's budget */
    ck_assert_int_eq(tp_rl_classify("GET", "/api/terrapod/v1/auth/sessions",
                                    TP_RL_USER), TP_RL_AUTHENTICATED);
    ck_assert_int_eq(tp_rl_classify("GET", "/api/terrapod/v1/auth/sessions",
                                    TP_RL_ANONYMOUS), TP_RL_SIGN_IN);
    ck_assert_int_eq(tp_rl_classify("GET", "/api/v2/ping", TP_RL_USER),
                     TP_RL_AUTHENTICATED);
    ck_assert_int_eq(tp_rl_classify("GET", "/api/terrapod/v1/listeners/l/runs/next",
                                    TP_RL_RUNNER), TP_RL_EXEMPT);
    ck_assert_str_eq(tp_rl_class_name(TP_RL_SIGN_IN), "sign-in");
    ck_assert_int_eq(tp_rl_class_named("authenticated"), TP_RL_AUTHENTICATED);
    ck_assert_int_eq(tp_rl_class_named("anonymous"), -1);
    /* a user's budget is per second, as go-tfe reads X-RateLimit-Limit */
    ck_assert_int_eq(tp_rl_window(TP_RL_AUTHENTICATED), 1);
    ck_assert_str_eq(tp_rl_window_name(TP_RL_AUTHENTICATED), "second");
    ck_assert_int_eq(tp_rl_window(TP_RL_UNAUTHENTICATED), 60);
    ck_assert_str_eq(tp_rl_window_name(TP_RL_SIGN_IN), "minute");
}
END_TEST

START_TEST(ratelimit_windows_and_verdicts)
{
    apr_time_t now = apr_time_from_sec(1800000015) + 250000;   /* :15.25 */
    apr_time_t end = tp_rl_window_end(TP_RL_SIGN_IN, now);
    apr_time_t second = tp_rl_window_end(TP_RL_AUTHENTICATED, now);
    tp_rl_verdict_t v;

    ck_assert(end == apr_time_from_sec(1800000060));
    ck_assert(second == apr_time_from_sec(1800000016));
    ck_assert_str_eq(tp_rl_key(pool, TP_RL_AUTHENTICATED, "user u-1", now),
                     tp_rl_key(pool, TP_RL_AUTHENTICATED, "user u-1",
                               second - 1));
    ck_assert_str_ne(tp_rl_key(pool, TP_RL_AUTHENTICATED, "user u-1", now),
                     tp_rl_key(pool, TP_RL_AUTHENTICATED, "user u-1",
                               second));
    ck_assert_str_ne(tp_rl_key(pool, TP_RL_AUTHENTICATED, "user u-1", now),
                     tp_rl_key(pool, TP_RL_AUTHENTICATED, "user u-2", now));
    ck_assert_str_eq(tp_rl_key(pool, TP_RL_SIGN_IN, "10.0.0.1", now),
                     tp_rl_key(pool, TP_RL_SIGN_IN, "10.0.0.1",
                               end - 1));
    ck_assert_str_ne(tp_rl_key(pool, TP_RL_SIGN_IN, "10.0.0.1", now),
                     tp_rl_key(pool, TP_RL_SIGN_IN, "10.0.0.1", end));
    ck_assert_str_ne(tp_rl_key(pool, TP_RL_SIGN_IN, "10.0.0.1", now),
                     tp_rl_key(pool, TP_RL_AUTHENTICATED, "10.0.0.1", now));
    tp_rl_judge(3, 1, now, end, &v);
    ck_assert(v.allowed && v.remaining == 2 && v.limit == 3);
    ck_assert(v.reset == apr_time_from_sec(45) - 250000);
    tp_rl_judge(3, 3, now, end, &v);
    ck_assert(v.allowed && v.remaining == 0);
    tp_rl_judge(3, 4, now, end, &v);
    ck_assert(!v.allowed && v.remaining == 0);
    tp_rl_judge(30, 30, now, second, &v);
    ck_assert(v.allowed && v.remaining == 0 && v.reset == 750000);
}
END_TEST

START_TEST(ratelimit_limit_parsing)
{
    int v = -1;

    ck_assert_ptr_null(tp_rl_parse_limit("0", &v));
    ck_assert_int_eq(v, 0);
    ck_assert_ptr_null(tp_rl_parse_limit("100", &v));
    ck_assert_int_eq(v, 100);
    ck_assert_ptr_nonnull(tp_rl_parse_limit("-1", &v));
    ck_assert_ptr_nonnull(tp_rl_parse_limit("ten", &v));
    ck_assert_ptr_nonnull(tp_rl_parse_limit("10/min", &v));
    ck_assert_ptr_nonnull(tp_rl_parse_limit("", &v));
    ck_assert_int_eq(v, 100);
    /* the documented defaults */
    ck_assert_int_eq(TP_RL_DEFAULT_UNAUTHENTICATED, 100);
    ck_assert_int_eq(TP_RL_DEFAULT_AUTHENTICATED, 30);
    ck_assert_int_eq(TP_RL_DEFAULT_SIGN_IN, 10);
}
END_TEST

Suite *audit_suite(void);

Suite *audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("audit");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, audit_resource_of_routes);
    tcase_add_test(tc, audit_path_masks_credentials);
    tcase_add_test(tc, audit_query_masks_credentials);
    tcase_add_test(tc, rfc3339_parse_forms);
    tcase_add_test(tc, ratelimit_classes);
    tcase_add_test(tc, ratelimit_windows_and_verdicts);
    tcase_add_test(tc, ratelimit_limit_parsing);
    suite_add_tcase(s, tc);
    return s;
}
