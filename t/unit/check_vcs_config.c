/* Unit tests of what configurations from a repository record: the
 * ingress attributes as TFE names them, refs that are SHAs, and what a
 * workspace's vcs-repo names: the service provider and the web root its
 * identifier is under. */
#include <check.h>
#include <string.h>
#include <apr_general.h>

#include "tp_vcs_config.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(ingress_json_names)
{
    tp_vcs_ingress_t ing = {0};
    tp_json_t *j;

    ing.commit_sha = "0123456789abcdef0123456789abcdef01234567";
    ing.branch = "main";
    ing.commit_message = "Add \"vpc\"\n\nbody";
    ing.sender_username = "alice";
    ing.identifier = "org/infra";
    j = tp_vcs_ingress_json(pool, &ing);
    ck_assert_str_eq(tp_json_dump(j, pool),
        "{\"branch\":\"main\",\"clone-url\":null,"
        "\"commit-message\":\"Add \\\"vpc\\\"\\n\\nbody\","
        "\"commit-sha\":\"0123456789abcdef0123456789abcdef01234567\","
        "\"commit-url\":null,\"compare-url\":null,"
        "\"identifier\":\"org/infra\",\"is-pull-request\":false,"
        "\"pull-request-number\":null,\"pull-request-title\":null,"
        "\"pull-request-url\":null,\"sender-username\":\"alice\","
        "\"tag\":null}");
    ing.pull_request_number = 14;
    ing.is_pull_request = 1;
    j = tp_vcs_ingress_json(pool, &ing);
    ck_assert_int_eq(tp_json_geti(j, "pull-request-number", NULL), 14);
    ck_assert_int_eq(tp_json_getb(j, "is-pull-request", NULL), 1);
}
END_TEST

START_TEST(refs_that_are_shas)
{
    ck_assert(tp_vcs_ref_is_sha("abc1234"));
    ck_assert(tp_vcs_ref_is_sha("0123456789ABCDEF0123456789abcdef01234567"));
    ck_assert(!tp_vcs_ref_is_sha("abc123"));            /* too short */
    ck_assert(!tp_vcs_ref_is_sha(
        "0123456789abcdef0123456789abcdef012345678"));    /* 41 */
    ck_assert(!tp_vcs_ref_is_sha("main"));
    ck_assert(!tp_vcs_ref_is_sha("v1.0.0"));
    ck_assert(!tp_vcs_ref_is_sha("deadbeefx"));
    ck_assert(!tp_vcs_ref_is_sha(""));
}
END_TEST

START_TEST(service_providers)
{
    ck_assert_str_eq(tp_vcs_service_provider(TP_VCS_GITHUB, NULL), "github");
    ck_assert_str_eq(tp_vcs_service_provider(TP_VCS_GITHUB,
                                             "https://ghe.example"),
                     "github_enterprise");
    ck_assert_str_eq(tp_vcs_service_provider(TP_VCS_GITLAB, NULL),
                     "gitlab_hosted");
    ck_assert_str_eq(tp_vcs_service_provider(TP_VCS_GITLAB,
                                             "https://git.example"),
                     "gitlab_enterprise");
}
END_TEST

/* where vcs-repo's identifier becomes a repository URL */
START_TEST(web_roots)
{
    ck_assert_str_eq(tp_vcs_web_root(pool, TP_VCS_GITHUB, NULL),
                     "https://github.com");
    ck_assert_str_eq(tp_vcs_web_root(pool, TP_VCS_GITLAB, NULL),
                     "https://gitlab.com");
    ck_assert_str_eq(tp_vcs_web_root(pool, TP_VCS_GITHUB,
                                     "https://ghe.example/api/v3/"),
                     "https://ghe.example");
    ck_assert_str_eq(tp_vcs_web_root(pool, TP_VCS_GITLAB,
                                     "http://127.0.0.1:8080"),
                     "http://127.0.0.1:8080");
}
END_TEST

Suite *vcs_config_suite(void);

Suite *vcs_config_suite(void)
{
    Suite *s = suite_create("vcs_config");
    TCase *tc = tcase_create("vcs_config");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ingress_json_names);
    tcase_add_test(tc, refs_that_are_shas);
    tcase_add_test(tc, service_providers);
    tcase_add_test(tc, web_roots);
    suite_add_tcase(s, tc);
    return s;
}
