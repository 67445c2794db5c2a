/* Unit tests of what pull and merge requests are told:
 * commit states and descriptions per run status,
 * their cut at 140 characters, the comment, the run page's URL,
 * repository identifiers, the states GitLab refuses again, and what
 * became of a request as each provider answers it. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tp_vcs_pr.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static tp_vcs_run_view_t view(const char *status, int counted, int a, int c,
                              int d)
{
    tp_vcs_run_view_t v;

    memset(&v, 0, sizeof(v));
    v.status = status;
    v.counted = counted;
    v.counts.additions = a;
    v.counts.changes = c;
    v.counts.destructions = d;
    return v;
}

static tp_vcs_state_e state_of(const char *status, const char **desc)
{
    tp_vcs_run_view_t v = view(status, 1, 2, 1, 0);
    tp_vcs_state_e s;

    ck_assert_int_eq(tp_vcs_status_of(pool, &v, &s, desc), 0);
    return s;
}

START_TEST(states_per_run_status)
{
    const char *d;

    ck_assert_int_eq(state_of("pending", &d), TP_VCS_STATE_PENDING);
    ck_assert_int_eq(state_of("plan_queued", &d), TP_VCS_STATE_PENDING);
    ck_assert_str_eq(d, "Plan queued");
    ck_assert_int_eq(state_of("planning", &d), TP_VCS_STATE_RUNNING);
    ck_assert_int_eq(state_of("planned_and_finished", &d),
                     TP_VCS_STATE_SUCCESS);
    ck_assert_str_eq(d, "Planned: +2 ~1 -0");
    ck_assert_int_eq(state_of("planned", &d), TP_VCS_STATE_SUCCESS);
    ck_assert_str_eq(d, "Planned, waiting for confirmation: +2 ~1 -0");
    ck_assert_int_eq(state_of("applying", &d), TP_VCS_STATE_RUNNING);
    ck_assert_int_eq(state_of("applied", &d), TP_VCS_STATE_SUCCESS);
    ck_assert_str_eq(d, "Applied: +2 ~1 -0");
    ck_assert_int_eq(state_of("errored", &d), TP_VCS_STATE_FAILURE);
    ck_assert_int_eq(state_of("canceled", &d), TP_VCS_STATE_ERROR);
    ck_assert_int_eq(state_of("discarded", &d), TP_VCS_STATE_ERROR);
}
END_TEST

START_TEST(unknown_status_and_counts)
{
    tp_vcs_run_view_t v = view("planned_and_finished", 0, 0, 0, 0);
    tp_vcs_state_e s;
    const char *d;

    ck_assert_int_eq(tp_vcs_status_of(pool, &v, &s, &d), 0);
    ck_assert_str_eq(d, "Planned");
    v.status = "policy_checked";
    ck_assert_int_eq(tp_vcs_status_of(pool, &v, &s, &d), -1);
}
END_TEST

START_TEST(descriptions_cut)
{
    char *long_ascii = apr_palloc(pool, 201);
    const char *cut;

    memset(long_ascii, 'x', 200);
    long_ascii[200] = '\0';
    cut = tp_vcs_cut(pool, long_ascii, TP_VCS_DESCRIPTION_MAX);
    ck_assert_uint_eq(tp_utf8_len(cut), TP_VCS_DESCRIPTION_MAX);
    ck_assert_str_eq(cut + 139, "\xE2\x80\xA6");
    /* a character of several bytes is never split */
    cut = tp_vcs_cut(pool, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 3);
    ck_assert_str_eq(cut, "\xC3\xA9\xC3\xA9\xE2\x80\xA6");
    ck_assert_str_eq(tp_vcs_cut(pool, "short", 140), "short");
    ck_assert_str_eq(tp_vcs_cut(pool, "12345", 5), "12345");
}
END_TEST

START_TEST(comment_rendering)
{
    tp_vcs_run_view_t v = view("planned_and_finished", 1, 3, 0, 1);
    const char *c = tp_vcs_comment_render(pool, "prod",
        "0123456789abcdef0123456789abcdef01234567", &v,
        "https://tp.example/app/default/workspaces/prod/runs/run-1");

    ck_assert_str_eq(c, "### Terraform plan: workspace `prod`\n\n"
        "Commit `0123456789ab`: **Plan: 3 to add, 0 to change, 1 to "
        "destroy.** (+3 ~0 -1)\n\n"
        "[View the run](https://tp.example/app/default/workspaces/prod/"
        "runs/run-1)\n");
    v = view("planned_and_finished", 1, 0, 0, 0);
    ck_assert_ptr_nonnull(strstr(tp_vcs_comment_render(pool, "w", "ab", &v,
                                                       NULL),
                                 "No changes."));
    ck_assert_ptr_null(strstr(tp_vcs_comment_render(pool, "w", "ab", &v,
                                                    NULL), "View the run"));
    v = view("errored", 0, 0, 0, 0);
    ck_assert_ptr_nonnull(strstr(tp_vcs_comment_render(pool, "w", "ab", &v,
                                                       "u"),
                                 "The plan failed."));
    ck_assert_int_eq(tp_vcs_comment_due("planned_and_finished"), 1);
    ck_assert_int_eq(tp_vcs_comment_due("errored"), 1);
    ck_assert_int_eq(tp_vcs_comment_due("planning"), 0);
    ck_assert_int_eq(tp_vcs_comment_due("canceled"), 0);
}
END_TEST

START_TEST(run_url_and_context)
{
    ck_assert_str_eq(tp_vcs_run_url(pool, "https://tp.example//", "prod",
                                    "run-abc"),
                     "https://tp.example/app/default/workspaces/prod/runs/"
                     "run-abc");
    ck_assert_ptr_null(tp_vcs_run_url(pool, NULL, "prod", "run-abc"));
    ck_assert_str_eq(tp_vcs_status_context(pool, "prod"), "terrapod/prod");
}
END_TEST

START_TEST(identifiers)
{
    const char *o, *n;

    ck_assert_int_eq(tp_vcs_identifier_split(pool, "acme/infra", &o, &n),
                     APR_SUCCESS);
    ck_assert_str_eq(o, "acme");
    ck_assert_str_eq(n, "infra");
    ck_assert_int_eq(tp_vcs_identifier_split(pool, "group/sub/infra", &o,
                                             &n), APR_SUCCESS);
    ck_assert_str_eq(o, "group/sub");
    ck_assert_str_eq(n, "infra");
    ck_assert_int_eq(tp_vcs_identifier_split(pool, "infra", &o, &n),
                     APR_EINVAL);
    ck_assert_int_eq(tp_vcs_identifier_split(pool, "acme/", &o, &n),
                     APR_EINVAL);
    ck_assert_int_eq(tp_vcs_identifier_split(pool, "/infra", &o, &n),
                     APR_EINVAL);
    ck_assert_int_eq(tp_vcs_identifier_split(pool, NULL, &o, &n),
                     APR_EINVAL);
}
END_TEST

START_TEST(states_refused_again)
{
    tp_vcs_conn_t gh = {0}, gl = {0};

    gh.provider = TP_VCS_GITHUB;
    gl.provider = TP_VCS_GITLAB;
    /* GitHub takes any; GitLab not the state it is in */
    ck_assert_int_eq(tp_vcs_status_refused(&gh, TP_VCS_STATE_PENDING,
                                           TP_VCS_STATE_RUNNING), 0);
    ck_assert_int_eq(tp_vcs_status_refused(&gh, TP_VCS_STATE_PENDING,
                                           TP_VCS_STATE_PENDING), 0);
    ck_assert_int_eq(tp_vcs_status_refused(&gl, TP_VCS_STATE_PENDING,
                                           TP_VCS_STATE_PENDING), 1);
    ck_assert_int_eq(tp_vcs_status_refused(&gl, TP_VCS_STATE_PENDING,
                                           TP_VCS_STATE_RUNNING), 0);
    ck_assert_int_eq(tp_vcs_status_refused(&gl, TP_VCS_STATE_RUNNING,
                                           TP_VCS_STATE_SUCCESS), 0);
}
END_TEST

static int pr_state(const tp_vcs_ops_t *ops, const char *answer)
{
    return ops->pr_state(tp_json_parse(pool, answer, strlen(answer), NULL));
}

START_TEST(request_states)
{
    const tp_vcs_ops_t *gh = &tp_vcs_github_ops, *gl = &tp_vcs_gitlab_ops;

    /* GitHub: closed is merged only with a merged_at */
    ck_assert_int_eq(pr_state(gh, "{\"state\":\"open\"}"), TP_VCS_PR_OPEN);
    ck_assert_int_eq(pr_state(gh, "{\"state\":\"closed\","
                                  "\"merged_at\":\"2026-01-01T00:00:00Z\"}"),
                     TP_VCS_PR_MERGED);
    ck_assert_int_eq(pr_state(gh, "{\"state\":\"closed\","
                                  "\"merged_at\":null}"), TP_VCS_PR_CLOSED);
    ck_assert_int_eq(pr_state(gh, "{\"number\":3}"), -1);
    /* GitLab: a locked request is being merged, not yet merged */
    ck_assert_int_eq(pr_state(gl, "{\"state\":\"opened\"}"), TP_VCS_PR_OPEN);
    ck_assert_int_eq(pr_state(gl, "{\"state\":\"locked\"}"), TP_VCS_PR_OPEN);
    ck_assert_int_eq(pr_state(gl, "{\"state\":\"merged\"}"),
                     TP_VCS_PR_MERGED);
    ck_assert_int_eq(pr_state(gl, "{\"state\":\"closed\"}"),
                     TP_VCS_PR_CLOSED);
    ck_assert_int_eq(pr_state(gl, "{}"), -1);
    ck_assert_str_eq(apr_psprintf(pool, gh->pr_one, 7), "/pulls/7");
    ck_assert_str_eq(apr_psprintf(pool, gl->pr_one, 7), "/merge_requests/7");
}
END_TEST

Suite *vcs_pr_suite(void);

Suite *vcs_pr_suite(void)
{
    Suite *s = suite_create("vcs_pr");
    TCase *tc = tcase_create("vcs_pr");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, states_per_run_status);
    tcase_add_test(tc, unknown_status_and_counts);
    tcase_add_test(tc, descriptions_cut);
    tcase_add_test(tc, comment_rendering);
    tcase_add_test(tc, run_url_and_context);
    tcase_add_test(tc, identifiers);
    tcase_add_test(tc, states_refused_again);
    tcase_add_test(tc, request_states);
    suite_add_tcase(s, tc);
    return s;
}
