/* Unit tests of tp_drift.c: the ignore-rule grammar (what is a rule, what
 * each wildcard matches) and the classification of drift runs' plans
 * (changes, drift outside terraform, silenced wholly or by attribute,
 * counts, malformed plans). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tp_drift.h"

Suite *drift_suite(void);

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static apr_array_header_t *list(const char *const *items)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));

    for (; items && *items; items++) {
        APR_ARRAY_PUSH(a, const char *) = *items;
    }
    return a;
}

static int valid(const char *rule)
{
    const char *items[] = {rule, NULL};

    return tp_drift_rules_check(pool, list(items)) == NULL;
}

START_TEST(rules_grammar)
{
    static const char *const good[] = {
        "aws_instance.web", "aws_iam_role.foo.tags.Environment",
        "aws_autoscaling_group.workers[*].desired_capacity",
        "module.eks*.argocd_cluster.*.config.tls_client_config.ca_data",
        "data.aws_ami.ubuntu", "module.a.module.b.x.y",
        "aws_s3_bucket.b[\"a.b]\"].acl", "*.*", NULL};
    static const char *const bad[] = {
        "", "aws_instance", "module.a.x", "data.x", "a.b[0", "a.b]0",
        "a..b", "a.b.", ".a.b", "a.b c", "a.b\tc", "a.b[[0]]",
        "a.b[\"x]", NULL};
    const char *const *r;
    char *long_rule;

    for (r = good; *r; r++) {
        ck_assert_msg(valid(*r), "%s is a rule", *r);
    }
    for (r = bad; *r; r++) {
        ck_assert_msg(!valid(*r), "%s is no rule", *r);
    }
    long_rule = apr_pstrcat(pool, "a.", NULL);
    while (strlen(long_rule) < 500) {
        long_rule = apr_pstrcat(pool, long_rule, "b", NULL);
    }
    ck_assert(valid(long_rule));
    ck_assert(!valid(apr_pstrcat(pool, long_rule, "c", NULL)));
}
END_TEST

START_TEST(rules_count)
{
    apr_array_header_t *a = apr_array_make(pool, 51, sizeof(const char *));
    tp_err_t *err;
    int i;

    for (i = 0; i < 50; i++) {
        APR_ARRAY_PUSH(a, const char *) = "a.b";
    }
    ck_assert_ptr_null(tp_drift_rules_check(pool, a));
    APR_ARRAY_PUSH(a, const char *) = "a.b";
    err = tp_drift_rules_check(pool, a);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 422);
}
END_TEST

#define M(rule, addr, path) tp_drift_rule_matches(pool, rule, addr, path)

START_TEST(rules_match)
{
    /* bare addresses silence the whole resource only */
    ck_assert(M("aws_instance.web", "aws_instance.web", NULL));
    ck_assert(!M("aws_instance.web", "aws_instance.web", "tags"));
    ck_assert(!M("aws_instance.web", "aws_instance.web[0]", NULL));
    ck_assert(!M("aws_instance.web.tags", "aws_instance.web", NULL));
    /* `*` spans an index but not a dot */
    ck_assert(M("aws_instance.web*", "aws_instance.web[0]", NULL));
    ck_assert(M("aws_instance.*", "aws_instance.web[\"k.v\"]", NULL));
    ck_assert(M("*.*", "aws_instance.web", NULL));
    ck_assert(!M("*.*", "module.m.aws_instance.web", NULL));
    ck_assert(!M("aws_*", "aws_instance.web", NULL));
    ck_assert(M("module.eks*.x.*", "module.eks_prod[1].x.y", NULL));
    ck_assert(!M("module.eks*.x.*", "module.gke.x.y", NULL));
    /* `[*]` is one bracketed index */
    ck_assert(M("a.w[*]", "a.w[3]", NULL));
    ck_assert(M("a.w[*]", "a.w[\"blue\"]", NULL));
    ck_assert(!M("a.w[*]", "a.w", NULL));
    ck_assert(!M("a.w[*]", "a.wx", NULL));
    ck_assert(M("a.w[*].desired_capacity", "a.w[0]", "desired_capacity"));
    /* attribute paths: the attribute or a parent, blocks' [N] optional */
    ck_assert(M("r.x.tags.Environment", "r.x", "tags.Environment"));
    ck_assert(!M("r.x.tags.Environment", "r.x", "tags.Owner"));
    ck_assert(!M("r.x.tags.Environment", "r.x", "tags"));
    ck_assert(M("r.x.tags", "r.x", "tags.Owner"));
    ck_assert(M("r.x.tags.*", "r.x", "tags.Owner"));
    ck_assert(M("r.x.config.tls.ca_data", "r.x", "config[0].tls[0].ca_data"));
    ck_assert(M("r.x.rule[*].cidr", "r.x", "rule[2].cidr"));
    ck_assert(!M("r.x.rule[*].cidr", "r.x", "rule.cidr"));
    ck_assert(M("r.x.*", "r.x", "anything[4]"));
    ck_assert(!M("r.y.tags", "r.x", "tags"));
    ck_assert(!M("data.r.x.tags", "r.x", "tags"));
    /* many stars stay quick and right */
    ck_assert(M("a.*a*a*a*a*a*a*b", "a.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", NULL));
    ck_assert(!M("a.*a*a*a*a*a*a*b", "a.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL));
}
END_TEST

/* A plan with the given resource_changes and resource_drift elements. */
static const char *plan(const char *changes, const char *drift)
{
    return apr_psprintf(pool, "{\"format_version\":\"1.2\","
                        "\"resource_drift\":[%s],"
                        "\"resource_changes\":[%s]}", drift, changes);
}

static const char *rc(const char *address, const char *actions,
                      const char *before, const char *after)
{
    return apr_psprintf(pool, "{\"address\":\"%s\",\"mode\":\"managed\","
                        "\"change\":{\"actions\":%s,\"before\":%s,"
                        "\"after\":%s,\"after_unknown\":{}}}",
                        address, actions, before, after);
}

static tp_drift_result_t classified(const char *json,
                                    const char *const *rules)
{
    tp_drift_result_t r;
    tp_err_t *err = tp_drift_classify(pool, json, strlen(json), list(rules),
                                      &r);

    ck_assert_msg(err == NULL, "%s: %s", json, err ? err->detail : "");
    return r;
}

#define ck_result(r, d, nd, nu) do {                                       \
        ck_assert_int_eq((r).drifted, (d));                                 \
        ck_assert_int_eq((r).resources_drifted, (nd));                      \
        ck_assert_int_eq((r).resources_undrifted, (nu));                    \
    } while (0)

START_TEST(classify_changes)
{
    const char *noop = rc("a.x", "[\"no-op\"]", "{\"v\":1}", "{\"v\":1}");
    const char *upd = rc("a.y", "[\"update\"]", "{\"v\":1,\"t\":{\"k\":1}}",
                         "{\"v\":2,\"t\":{\"k\":1}}");
    const char *del = rc("a.z", "[\"delete\"]", "{\"v\":1}", "null");
    const char *data = "{\"address\":\"data.d.x\",\"mode\":\"data\","
                       "\"change\":{\"actions\":[\"read\"]}}";
    tp_drift_result_t r;

    r = classified(plan(noop, ""), NULL);
    ck_result(r, 0, 0, 1);
    r = classified(plan(apr_pstrcat(pool, noop, ",", data, NULL), ""), NULL);
    ck_result(r, 0, 0, 1);
    r = classified(plan(apr_pstrcat(pool, noop, ",", upd, ",", del, NULL), ""),
                   NULL);
    ck_result(r, 1, 2, 1);
    r = classified("{\"format_version\":\"1.2\"}", NULL);
    ck_result(r, 0, 0, 0);
    r = classified("{\"format_version\":\"1.2\",\"resource_changes\":null}",
                   NULL);
    ck_result(r, 0, 0, 0);
}
END_TEST

START_TEST(classify_outside_changes)
{
    /* changed outside terraform, nothing planned: still drift; the same
     * resource in both lists counts once */
    const char *noop = rc("a.x", "[\"no-op\"]", "{\"v\":2}", "{\"v\":2}");
    const char *drift = rc("a.x", "[\"update\"]", "{\"v\":1}", "{\"v\":2}");
    const char *upd = rc("a.x", "[\"update\"]", "{\"v\":2}", "{\"v\":1}");
    tp_drift_result_t r;

    r = classified(plan(noop, drift), NULL);
    ck_result(r, 1, 1, 0);
    r = classified(plan(upd, drift), NULL);
    ck_result(r, 1, 1, 0);
}
END_TEST

START_TEST(classify_rules)
{
    const char *upd = rc("a.y", "[\"update\"]",
                         "{\"v\":1,\"tags\":{\"Env\":\"a\",\"Own\":\"x\"},"
                         "\"l\":[{\"c\":1}]}",
                         "{\"v\":1,\"tags\":{\"Env\":\"b\",\"Own\":\"x\"},"
                         "\"l\":[{\"c\":2}]}");
    const char *del = rc("a.z[0]", "[\"delete\"]", "{\"v\":1}", "null");
    const char *repl = rc("a.w", "[\"delete\",\"create\"]", "{\"v\":1}",
                          "{\"v\":2}");
    const char *unknown = "{\"address\":\"a.u\",\"mode\":\"managed\","
        "\"change\":{\"actions\":[\"update\"],\"before\":{\"id\":\"1\"},"
        "\"after\":{},\"after_unknown\":{\"id\":true}}}";
    const char *both[] = {"a.y.tags.Env", "a.y.l.c", NULL};
    const char *one[] = {"a.y.tags.Env", NULL};
    const char *parent[] = {"a.y.tags", "a.y.l[*]", NULL};
    const char *bare[] = {"a.z[*]", "a.w", NULL};
    const char *attr_on_del[] = {"a.z[*].v", "a.w.v", NULL};
    const char *unk[] = {"a.u.id", NULL};
    tp_drift_result_t r;

    r = classified(plan(upd, ""), both);
    ck_result(r, 0, 0, 1);
    r = classified(plan(upd, ""), one);
    ck_result(r, 1, 1, 0);
    r = classified(plan(upd, ""), parent);
    ck_result(r, 0, 0, 1);
    r = classified(plan(apr_pstrcat(pool, del, ",", repl, NULL), ""), bare);
    ck_result(r, 0, 0, 2);
    r = classified(plan(apr_pstrcat(pool, del, ",", repl, NULL), ""),
                   attr_on_del);
    ck_result(r, 1, 2, 0);
    r = classified(plan(unknown, ""), unk);
    ck_result(r, 0, 0, 1);
    r = classified(plan(unknown, ""), one);
    ck_result(r, 1, 1, 0);
}
END_TEST

START_TEST(classify_malformed)
{
    static const char *const bad[] = {
        "", "[]", "{}", "{\"format_version\":1}", "{\"format_version\":\"1\"",
        "{\"format_version\":\"1\",\"resource_changes\":{}}",
        "{\"format_version\":\"1\",\"resource_changes\":[1]}",
        "{\"format_version\":\"1\",\"resource_drift\":[{\"address\":\"a.b\"}]}",
        "{\"format_version\":\"1\",\"resource_changes\":[{\"address\":\"a.b\","
        "\"change\":{\"actions\":[1]}}]}",
        "{\"format_version\":\"1\",\"resource_changes\":[{\"address\":\"a[\","
        "\"change\":{\"actions\":[]}}]}", NULL};
    const char *const *b;
    tp_drift_result_t r;
    tp_err_t *err;

    for (b = bad; *b; b++) {
        err = tp_drift_classify(pool, *b, strlen(*b), NULL, &r);
        ck_assert_msg(err && err->status == 422, "%s is refused", *b);
    }
}
END_TEST

Suite *drift_suite(void)
{
    Suite *s = suite_create("drift");
    TCase *tc = tcase_create("drift");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rules_grammar);
    tcase_add_test(tc, rules_count);
    tcase_add_test(tc, rules_match);
    tcase_add_test(tc, classify_changes);
    tcase_add_test(tc, classify_outside_changes);
    tcase_add_test(tc, classify_rules);
    tcase_add_test(tc, classify_malformed);
    suite_add_tcase(s, tc);
    return s;
}
