/* Unit tests of variables: key shape, the limits of a definition, which
 * definition of a key a run sees, and unsealing for a run. */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tp_vars.h"
#include "tp_crypto.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static tp_json_t *attrs(const char *s)
{
    tp_json_t *j = tp_json_parse(pool, s, strlen(s), NULL);

    ck_assert_ptr_nonnull(j);
    return j;
}

static char *repeat(const char *unit, int n)
{
    apr_size_t len = strlen(unit);
    char *s = apr_palloc(pool, len * (apr_size_t)n + 1);
    int i;

    for (i = 0; i < n; i++) {
        memcpy(s + len * (apr_size_t)i, unit, len);
    }
    s[len * (apr_size_t)n] = '\0';
    return s;
}

/* {"key": "k", "category": "env", name: <string of n units>} */
static tp_json_t *with_string(const char *name, const char *unit, int n)
{
    tp_json_t *a = attrs("{\"key\":\"k\",\"category\":\"env\"}");

    tp_json_sets(a, repeat(unit, n), name, NULL);
    return a;
}

static int parse_status(const tp_json_t *a, int create)
{
    tp_var_input_t in;
    tp_err_t *err = tp_var_parse(pool, a, create, &in);

    return err ? err->status : 0;
}

START_TEST(var_key_shape)
{
    ck_assert(tp_var_key_valid("a"));
    ck_assert(tp_var_key_valid("_"));
    ck_assert(tp_var_key_valid("AWS_REGION"));
    ck_assert(tp_var_key_valid("tf-var_2"));
    ck_assert(tp_var_key_valid(repeat("k", 128)));
    ck_assert(!tp_var_key_valid(repeat("k", 129)));
    ck_assert(!tp_var_key_valid(NULL));
    ck_assert(!tp_var_key_valid(""));
    ck_assert(!tp_var_key_valid("1abc"));
    ck_assert(!tp_var_key_valid("-abc"));
    ck_assert(!tp_var_key_valid("a b"));
    ck_assert(!tp_var_key_valid("a.b"));
    ck_assert(!tp_var_key_valid("a=b"));
    ck_assert(!tp_var_key_valid("\xc3\xa9t\xc3\xa9"));
}
END_TEST

START_TEST(var_parse_create_and_update)
{
    tp_var_input_t in;

    ck_assert_ptr_null(tp_var_parse(pool, attrs(
        "{\"key\":\"AWS_REGION\",\"value\":\"eu-west-1\",\"category\":\"env\","
        "\"hcl\":true,\"sensitive\":true,\"description\":\"d\"}"), 1, &in));
    ck_assert_str_eq(in.key, "AWS_REGION");
    ck_assert_str_eq(in.value, "eu-west-1");
    ck_assert_str_eq(in.category, "env");
    ck_assert_str_eq(in.description, "d");
    ck_assert(in.hcl && in.has_hcl && in.sensitive && in.has_sensitive);

    /* an update may send nothing at all */
    ck_assert_ptr_null(tp_var_parse(pool, attrs("{}"), 0, &in));
    ck_assert_ptr_null(in.key);
    ck_assert_ptr_null(in.value);
    ck_assert_ptr_null(in.category);
    ck_assert_ptr_null(in.description);
    ck_assert(!in.has_hcl && !in.has_sensitive);

    ck_assert_int_eq(parse_status(attrs("{\"category\":\"env\"}"), 1), 422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"k\"}"), 1), 422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"k\"}"), 0), 0);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"k\",\"category\":"
                                        "\"policy-set\"}"), 1), 422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"k\",\"category\":1}"), 1),
                     422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"9k\",\"category\":"
                                        "\"env\"}"), 1), 422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":7,\"category\":\"env\"}"),
                                  1), 422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"\",\"category\":\"env\"}"),
                                  1), 422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"k\",\"category\":\"env\","
                                        "\"value\":3}"), 1), 422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"k\",\"category\":\"env\","
                                        "\"value\":null}"), 1), 422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"k\",\"category\":\"env\","
                                        "\"hcl\":\"yes\"}"), 1), 422);
    ck_assert_int_eq(parse_status(attrs("{\"key\":\"k\",\"category\":\"env\","
                                        "\"sensitive\":1}"), 1), 422);
}
END_TEST

START_TEST(var_parse_limits)
{
    tp_err_t *err;
    tp_var_input_t in;

    ck_assert_int_eq(parse_status(with_string("key", "k", 128), 1), 0);
    ck_assert_int_eq(parse_status(with_string("key", "k", 129), 1), 422);
    /* the value's limit is in bytes, whatever the characters */
    ck_assert_int_eq(parse_status(with_string("value", "v",
                                              TP_VAR_VALUE_MAX), 1), 0);
    ck_assert_int_eq(parse_status(with_string("value", "v",
                                              TP_VAR_VALUE_MAX + 1), 1), 422);
    ck_assert_int_eq(parse_status(with_string("value", "\xc3\xa9",
                                              TP_VAR_VALUE_MAX / 2), 1), 0);
    ck_assert_int_eq(parse_status(with_string("value", "\xc3\xa9",
                                              TP_VAR_VALUE_MAX / 2 + 1), 1),
                     422);
    /* the description's in characters */
    ck_assert_int_eq(parse_status(with_string("description", "\xc3\xa9",
                                              TP_VAR_DESCRIPTION_MAX), 1), 0);
    ck_assert_int_eq(parse_status(with_string("description", "d",
                                              TP_VAR_DESCRIPTION_MAX + 1), 1),
                     422);
    /* a refused value is not repeated in the error */
    err = tp_var_parse(pool, with_string("value", "s3cr3t",
                                         TP_VAR_VALUE_MAX), 1, &in);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(strstr(err->detail, "s3cr3t"));
}
END_TEST

static tp_var_t *add(apr_array_header_t *vars, const char *id,
                     const char *key, const char *category,
                     const char *value, tp_var_source_e source,
                     const char *set_name, int global, long long priority)
{
    tp_var_t *v = apr_array_push(vars);

    memset(v, 0, sizeof(*v));
    v->id = id;
    v->key = key;
    v->category = category;
    v->value = value;
    v->source = source;
    v->source_id = source == TP_VAR_FROM_WORKSPACE ? "ws-1" : id;
    v->set_name = set_name;
    v->global = global;
    v->priority = priority;
    return v;
}

static const tp_var_t *winner(const apr_array_header_t *merged,
                              const char *category, const char *key)
{
    int i;

    for (i = 0; i < merged->nelts; i++) {
        const tp_var_t *v = &APR_ARRAY_IDX(merged, i, tp_var_t);

        if (strcmp(v->category, category) == 0 && strcmp(v->key, key) == 0) {
            return v;
        }
    }
    return NULL;
}

START_TEST(vars_merge_precedence)
{
    apr_array_header_t *vars = apr_array_make(pool, 8, sizeof(tp_var_t));
    apr_array_header_t *merged;
    const tp_var_t *v;

    /* the workspace's own beats every set, whatever its priority */
    add(vars, "s-hi", "region", "env", "from-set", TP_VAR_FROM_VARSET, "a",
        0, 100);
    add(vars, "w-1", "region", "env", "from-ws", TP_VAR_FROM_WORKSPACE, NULL,
        0, 0);
    /* between sets: the higher priority */
    add(vars, "s-lo", "size", "terraform", "small", TP_VAR_FROM_VARSET, "a",
        0, 1);
    add(vars, "s-hi2", "size", "terraform", "large", TP_VAR_FROM_VARSET, "z",
        1, 5);
    /* equal priority: an assigned set beats a global one */
    add(vars, "s-g", "zone", "terraform", "global", TP_VAR_FROM_VARSET, "a",
        1, 3);
    add(vars, "s-a", "zone", "terraform", "assigned", TP_VAR_FROM_VARSET, "z",
        0, 3);
    /* and then the name that sorts first */
    add(vars, "s-y", "owner", "env", "y", TP_VAR_FROM_VARSET, "yy", 0, 0);
    add(vars, "s-b", "owner", "env", "b", TP_VAR_FROM_VARSET, "bb", 0, 0);
    /* a key in both categories is two variables */
    add(vars, "s-c", "region", "terraform", "tf", TP_VAR_FROM_VARSET, "c",
        0, 0);

    merged = tp_vars_merge(pool, vars);
    ck_assert_int_eq(merged->nelts, 5);
    ck_assert_str_eq(winner(merged, "env", "region")->value, "from-ws");
    ck_assert_str_eq(winner(merged, "terraform", "size")->value, "large");
    ck_assert_str_eq(winner(merged, "terraform", "zone")->value, "assigned");
    ck_assert_str_eq(winner(merged, "env", "owner")->value, "b");
    ck_assert_str_eq(winner(merged, "terraform", "region")->value, "tf");

    /* sorted by category, then key */
    v = &APR_ARRAY_IDX(merged, 0, tp_var_t);
    ck_assert_str_eq(v->category, "env");
    ck_assert_str_eq(v->key, "owner");
    v = &APR_ARRAY_IDX(merged, 4, tp_var_t);
    ck_assert_str_eq(v->category, "terraform");
    ck_assert_str_eq(v->key, "zone");

    /* the input is left as it was */
    ck_assert_int_eq(vars->nelts, 9);
    ck_assert_str_eq(APR_ARRAY_IDX(vars, 0, tp_var_t).id, "s-hi");
}
END_TEST

START_TEST(vars_merge_order_independent)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(tp_var_t));
    apr_array_header_t *b = apr_array_make(pool, 4, sizeof(tp_var_t));
    apr_array_header_t *none = apr_array_make(pool, 1, sizeof(tp_var_t));

    add(a, "s-1", "k", "env", "one", TP_VAR_FROM_VARSET, "n", 0, -1);
    add(a, "s-2", "k", "env", "two", TP_VAR_FROM_VARSET, "n", 0, -1);
    add(a, "s-3", "k", "env", "three", TP_VAR_FROM_VARSET, "m", 1, -2);
    add(b, "s-3", "k", "env", "three", TP_VAR_FROM_VARSET, "m", 1, -2);
    add(b, "s-2", "k", "env", "two", TP_VAR_FROM_VARSET, "n", 0, -1);
    add(b, "s-1", "k", "env", "one", TP_VAR_FROM_VARSET, "n", 0, -1);
    /* the same rank in every respect: the smaller id, either way round */
    ck_assert_str_eq(APR_ARRAY_IDX(tp_vars_merge(pool, a), 0, tp_var_t).value,
                     "one");
    ck_assert_str_eq(APR_ARRAY_IDX(tp_vars_merge(pool, b), 0, tp_var_t).value,
                     "one");
    ck_assert_int_eq(tp_vars_merge(pool, none)->nelts, 0);
}
END_TEST

START_TEST(var_from_row_hides_sensitive)
{
    static const char *names[] = {"id", "key", "value", "sealed_value",
                                  "category", "hcl", "sensitive",
                                  "description", "created_at", "workspace_id",
                                  "varset_id", "set_name", "global",
                                  "priority"};
    static const char *cells[] = {
        "var-1", "a", "plain", NULL, "env", "t", "f", "",
        "2026-01-01T00:00:00Z", NULL, "varset-1", "set", "t", "7",
        "var-2", "b", "leaked?", "SEALED", "terraform", "f", "t", "d",
        "2026-01-01T00:00:00Z", "ws-1", NULL, NULL, NULL, NULL};
    tp_rows_t rows = {2, 14, names, cells};
    tp_var_t v;

    tp_var_from_row(&rows, 0, &v);
    ck_assert_str_eq(v.value, "plain");
    ck_assert_ptr_null(v.sealed);
    ck_assert(v.hcl && !v.sensitive && v.global);
    ck_assert_int_eq(v.source, TP_VAR_FROM_VARSET);
    ck_assert_str_eq(v.source_id, "varset-1");
    ck_assert_str_eq(v.set_name, "set");
    ck_assert_int_eq(v.priority, 7);

    tp_var_from_row(&rows, 1, &v);
    ck_assert_ptr_null(v.value);
    ck_assert_str_eq(v.sealed, "SEALED");
    ck_assert(v.sensitive && !v.hcl && !v.global);
    ck_assert_int_eq(v.source, TP_VAR_FROM_WORKSPACE);
    ck_assert_str_eq(v.source_id, "ws-1");
    ck_assert_int_eq(v.priority, 0);
}
END_TEST

START_TEST(vars_unseal_for_a_run)
{
    unsigned char bytes[32], other[32];
    tp_key_t key = {bytes, 32}, wrong = {other, 32};
    apr_array_header_t *vars = apr_array_make(pool, 2, sizeof(tp_var_t));
    tp_var_t *plain = add(vars, "var-1", "a", "env", "visible",
                          TP_VAR_FROM_WORKSPACE, NULL, 0, 0);
    tp_var_t *secret = add(vars, "var-2", "b", "env", NULL,
                           TP_VAR_FROM_WORKSPACE, NULL, 0, 0);
    tp_err_t *err;

    memset(bytes, 'k', sizeof(bytes));
    memset(other, 'o', sizeof(other));
    secret->sensitive = 1;
    secret->sealed = tp_seal(pool, bytes, 32, TP_VAR_SEAL_PURPOSE, "hunter2");
    ck_assert_ptr_null(tp_vars_unseal(pool, &key, vars));
    ck_assert_str_eq(secret->value, "hunter2");
    ck_assert_str_eq(plain->value, "visible");

    secret->value = NULL;
    err = tp_vars_unseal(pool, &wrong, vars);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 500);
    ck_assert_ptr_null(secret->value);

    /* sealed for another purpose is not a variable's */
    secret->sealed = tp_seal(pool, bytes, 32, "other", "hunter2");
    ck_assert_ptr_nonnull(tp_vars_unseal(pool, &key, vars));
    secret->sealed = NULL;
    ck_assert_ptr_nonnull(tp_vars_unseal(pool, &key, vars));
}
END_TEST

Suite *vars_suite(void);

Suite *vars_suite(void)
{
    Suite *s = suite_create("vars");
    TCase *tc = tcase_create("vars");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, var_key_shape);
    tcase_add_test(tc, var_parse_create_and_update);
    tcase_add_test(tc, var_parse_limits);
    tcase_add_test(tc, vars_merge_precedence);
    tcase_add_test(tc, vars_merge_order_independent);
    tcase_add_test(tc, var_from_row_hides_sensitive);
    tcase_add_test(tc, vars_unseal_for_a_run);
    suite_add_tcase(s, tc);
    return s;
}
