/* Unit tests of tp_web.c: form and cookie parsing, escaping, and the checks
 * of the login flow (loopback redirect URIs, PKCE S256, return paths) and
 * of password strength. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tp_web.h"
#include "tp_route.h"
#include "tp_auth.h"

Suite *web_suite(void);

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static apr_table_t *form(const char *s)
{
    return tp_form_parse(pool, s, strlen(s));
}

START_TEST(form_decoding)
{
    apr_table_t *t = form("a=1&b=x+y%2Bz&empty=&flag&c=%C3%A9&=lost");

    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(apr_table_get(t, "a"), "1");
    ck_assert_str_eq(apr_table_get(t, "b"), "x y+z");
    ck_assert_str_eq(apr_table_get(t, "empty"), "");
    ck_assert_str_eq(apr_table_get(t, "flag"), "");
    ck_assert_str_eq(apr_table_get(t, "c"), "\xc3\xa9");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 5);
    ck_assert_ptr_null(form("a=%zz"));
    ck_assert_ptr_null(form("a=%4"));
    ck_assert_ptr_null(form("a=%00"));
    ck_assert_ptr_nonnull(form(""));
}
END_TEST

START_TEST(cookies)
{
    const char *h = "other=1; terrapod_session=tps1.abc; x_terrapod_csrf=no";

    ck_assert_str_eq(tp_cookie_get(pool, h, "terrapod_session"), "tps1.abc");
    ck_assert_str_eq(tp_cookie_get(pool, h, "other"), "1");
    ck_assert_ptr_null(tp_cookie_get(pool, h, "terrapod_csrf"));
    ck_assert_ptr_null(tp_cookie_get(pool, NULL, "other"));
    ck_assert_ptr_null(tp_cookie_get(pool, "otherx=1", "other"));
}
END_TEST

START_TEST(escaping)
{
    ck_assert_str_eq(tp_html_escape(pool, "<a href=\"x\">'&'</a>"),
                     "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    ck_assert_str_eq(tp_url_encode(pool, "/a b?c=d&e~f"),
                     "%2Fa%20b%3Fc%3Dd%26e~f");
}
END_TEST

START_TEST(loopback_redirects)
{
    ck_assert(tp_loopback_redirect_ok("http://localhost:10000/login",
                                      10000, 10010));
    ck_assert(tp_loopback_redirect_ok("http://127.0.0.1:10010/x?y=1",
                                      10000, 10010));
    ck_assert(!tp_loopback_redirect_ok("http://localhost:10011/login",
                                       10000, 10010));
    ck_assert(!tp_loopback_redirect_ok("http://localhost:9999/login",
                                       10000, 10010));
    ck_assert(!tp_loopback_redirect_ok("https://localhost:10000/login",
                                       10000, 10010));
    ck_assert(!tp_loopback_redirect_ok("http://localhost:10000",
                                       10000, 10010));
    ck_assert(!tp_loopback_redirect_ok("http://localhost:10000@evil/",
                                       10000, 10010));
    ck_assert(!tp_loopback_redirect_ok("http://localhost.evil:10000/",
                                       10000, 10010));
    ck_assert(!tp_loopback_redirect_ok("http://localhost:10000/a b",
                                       10000, 10010));
    ck_assert(!tp_loopback_redirect_ok("http://localhost:10000/#frag",
                                       10000, 10010));
    ck_assert(!tp_loopback_redirect_ok(NULL, 10000, 10010));
}
END_TEST

START_TEST(pkce_s256)
{
    /* the example of RFC 7636 appendix B */
    const char *v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char *c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    ck_assert(tp_pkce_s256_ok(pool, v, c));
    ck_assert(!tp_pkce_s256_ok(pool, v, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
    ck_assert(!tp_pkce_s256_ok(pool, "short", c));
    ck_assert(!tp_pkce_s256_ok(pool, NULL, c));
    ck_assert(!tp_pkce_s256_ok(pool, v, NULL));
}
END_TEST

START_TEST(return_paths)
{
    ck_assert(tp_local_path_ok("/"));
    ck_assert(tp_local_path_ok("/oauth/authorize?x=1"));
    ck_assert(!tp_local_path_ok("//evil.example/"));
    ck_assert(!tp_local_path_ok("/\\evil.example/"));
    ck_assert(!tp_local_path_ok("https://evil.example/"));
    ck_assert(!tp_local_path_ok("/a\r\nSet-Cookie: x=1"));
    ck_assert(!tp_local_path_ok(NULL));
}
END_TEST

START_TEST(password_strength)
{
    ck_assert_ptr_null(tp_password_weakness("abcdefghijk1"));
    ck_assert_ptr_null(tp_password_weakness("Correct horse"));
    ck_assert_ptr_nonnull(tp_password_weakness("abcdefghijkl"));
    ck_assert_ptr_nonnull(tp_password_weakness("Ab1-short"));
    ck_assert_ptr_nonnull(tp_password_weakness("123456789012345"));
    /* characters, not bytes: eleven accented letters and a digit pass,
     * eleven characters do not */
    ck_assert_ptr_null(tp_password_weakness(
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9" "1"));
    ck_assert_ptr_nonnull(tp_password_weakness(
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9" "1"));
}
END_TEST

Suite *web_suite(void)
{
    Suite *s = suite_create("web");
    TCase *tc = tcase_create("web");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, form_decoding);
    tcase_add_test(tc, cookies);
    tcase_add_test(tc, escaping);
    tcase_add_test(tc, loopback_redirects);
    tcase_add_test(tc, pkce_s256);
    tcase_add_test(tc, return_paths);
    tcase_add_test(tc, password_strength);
    suite_add_tcase(s, tc);
    return s;
}
