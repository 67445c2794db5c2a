/* Unit tests of tp_resource.c: documents rendered from described types
 * (attribute kinds, to-one and to-many relationships, their links) and the
 * parsing of include=. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tp_resource.h"

Suite *resource_suite(void);

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const tp_attr_t ATTRS[] = {
    {"name", "name", TP_ATTR_STRING},
    {"is-on", "on", TP_ATTR_BOOL},
    {"count", "n", TP_ATTR_INT},
    {"tags", "tags", TP_ATTR_JSON},
    {NULL, NULL, 0}
};

static const tp_rel_t RELS[] = {
    {"owner", "users", TP_REL_ONE, "owner_id"},
    {"parent", "things", TP_REL_ONE, "parent_id",
     "/api/v2/things/%s/parent"},
    {"held-by", NULL, TP_REL_ONE, "holder_id", NULL, "holder_type"},
    {"hidden", "secrets", TP_REL_ONE, "owner_id", ""},
    {"parts", "parts", TP_REL_MANY, "part_ids", "/api/v2/things/%s/parts"},
    {"extras", "extras", TP_REL_MANY, NULL, NULL, NULL, "parent"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t THINGS = {
    "things", NULL, "/api/v2/things/%s", ATTRS, RELS
};

static tp_rows_t *one_row(const char **names, const char **cells, int n)
{
    tp_rows_t *rows = apr_pcalloc(pool, sizeof(*rows));

    rows->nrows = 1;
    rows->ncols = n;
    rows->names = names;
    rows->cells = cells;
    return rows;
}

START_TEST(render_attributes_relationships_links)
{
    const char *names[] = {"id", "name", "on", "n", "tags", "owner_id",
                           "parent_id", "holder_id", "holder_type",
                           "part_ids"};
    const char *cells[] = {"t-1", "one", "t", "42", "[\"a\"]", "user-1",
                           NULL, "run-9", "runs", "p-1,p-2"};
    tp_json_t *r = tp_resource_render(pool, &THINGS,
                                      one_row(names, cells, 10), 0);

    ck_assert_str_eq(tp_json_dump(r, pool),
        "{\"id\":\"t-1\",\"type\":\"things\","
        "\"attributes\":{\"name\":\"one\",\"is-on\":true,\"count\":42,"
        "\"tags\":[\"a\"]},"
        "\"relationships\":{"
        "\"owner\":{\"data\":{\"id\":\"user-1\",\"type\":\"users\"},"
        "\"links\":{\"related\":\"/api/v2/users/user-1\"}},"
        "\"parent\":{\"data\":null,"
        "\"links\":{\"related\":\"/api/v2/things/t-1/parent\"}},"
        "\"held-by\":{\"data\":{\"id\":\"run-9\",\"type\":\"runs\"},"
        "\"links\":{\"related\":\"/api/v2/runs/run-9\"}},"
        "\"hidden\":{\"data\":{\"id\":\"user-1\",\"type\":\"secrets\"}},"
        "\"parts\":{\"data\":[{\"id\":\"p-1\",\"type\":\"parts\"},"
        "{\"id\":\"p-2\",\"type\":\"parts\"}],"
        "\"links\":{\"related\":\"/api/v2/things/t-1/parts\"}}},"
        "\"links\":{\"self\":\"/api/v2/things/t-1\"}}");
}
END_TEST

START_TEST(render_nulls_and_absent_columns)
{
    const char *names[] = {"id", "name", "on", "n", "tags", "part_ids"};
    const char *cells[] = {"t-2", NULL, NULL, NULL, NULL, NULL};
    tp_json_t *r = tp_resource_render(pool, &THINGS,
                                      one_row(names, cells, 6), 0);

    /* SQL NULL is JSON null for every kind */
    ck_assert_str_eq(tp_json_dump(tp_json_get(r, "attributes", NULL), pool),
                     "{\"name\":null,\"is-on\":null,\"count\":null,"
                     "\"tags\":null}");
    /* an empty to-many list, and none where the row lacks its column */
    ck_assert_int_eq(tp_json_len(tp_json_get(r, "relationships", "parts",
                                             "data", NULL)), 0);
    ck_assert_int_eq(tp_json_type(r, "relationships", "extras", "data", NULL),
                     TP_JSON_ABSENT);
    ck_assert_int_eq(tp_json_type(r, "relationships", "extras", NULL),
                     TP_JSON_ABSENT);
    /* a to-one without an id has no link to follow */
    ck_assert_int_eq(tp_json_type(r, "relationships", "owner", "links", NULL),
                     TP_JSON_ABSENT);
    ck_assert_int_eq(tp_json_type(r, "relationships", "held-by", "data", NULL),
                     TP_JSON_NULL);
}
END_TEST

START_TEST(id_column_and_lookup)
{
    static const tp_type_desc_t PHASES = {
        "plans", "plan_id", "/api/v2/plans/%s", NULL, RELS
    };
    const char *names[] = {"id", "plan_id"};
    const char *cells[] = {"run-1", "plan-1"};
    tp_rows_t *rows = one_row(names, cells, 2);

    ck_assert_str_eq(tp_resource_id(&PHASES, rows, 0), "plan-1");
    ck_assert_str_eq(tp_json_gets(tp_resource_render(pool, &PHASES, rows, 0),
                                  "links", "self", NULL), "/api/v2/plans/plan-1");
    ck_assert_ptr_eq(tp_resource_rel(&THINGS, "parts"), &RELS[4]);
    ck_assert_ptr_null(tp_resource_rel(&THINGS, "part"));
    ck_assert_str_eq(tp_resource_link(pool, "/a/%s/b", "x"), "/a/x/b");
    ck_assert_str_eq(tp_resource_link(pool, "/a", "x"), "/a");
}
END_TEST

static const char *path_text(apr_array_header_t *paths)
{
    const char *out = "";
    int i, k;

    for (i = 0; i < paths->nelts; i++) {
        apr_array_header_t *path = APR_ARRAY_IDX(paths, i,
                                                 apr_array_header_t *);

        for (k = 0; k < path->nelts; k++) {
            out = apr_pstrcat(pool, out, k ? "." : (i ? "|" : ""),
                              APR_ARRAY_IDX(path, k, const char *), NULL);
        }
    }
    return out;
}

START_TEST(include_paths)
{
    ck_assert_str_eq(path_text(tp_include_paths(pool, NULL, 16)), "");
    ck_assert_str_eq(path_text(tp_include_paths(pool,
        "current_run.plan,outputs, created_by ,,", 16)),
        "current-run.plan|outputs|created-by");
    ck_assert_str_eq(path_text(tp_include_paths(pool, "a.b.c.d.e.f", 16)),
                     "a.b.c.d");
    ck_assert_str_eq(path_text(tp_include_paths(pool, "a,b,c", 2)), "a|b");
    ck_assert_str_eq(path_text(tp_include_paths(pool, ".,..", 16)), "");
}
END_TEST

Suite *resource_suite(void)
{
    Suite *s = suite_create("resource");
    TCase *tc = tcase_create("resource");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, render_attributes_relationships_links);
    tcase_add_test(tc, render_nulls_and_absent_columns);
    tcase_add_test(tc, id_column_and_lookup);
    tcase_add_test(tc, include_paths);
    suite_add_tcase(s, tc);
    return s;
}
