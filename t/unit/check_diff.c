/* Unit tests of tp_diff: unified hunks as diff -u prints them, the
 * bounded fallback, and what counts as binary. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tp_diff.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *diff(const char *a, const char *b)
{
    return tp_diff_unified(pool, a, strlen(a), b, strlen(b));
}

/* "1\n2\n...n\n" */
static const char *numbers(int from, int to)
{
    const char *s = "";
    int i;

    for (i = from; i <= to; i++) {
        s = apr_psprintf(pool, "%s%d\n", s, i);
    }
    return s;
}

START_TEST(diff_identical)
{
    ck_assert_str_eq(diff("", ""), "");
    ck_assert_str_eq(diff("a\nb\n", "a\nb\n"), "");
    ck_assert_str_eq(diff("no newline", "no newline"), "");
}
END_TEST

START_TEST(diff_insertion)
{
    ck_assert_str_eq(diff("1\n2\n3\n4\n5\n6\n", "1\n2\n3\nnew\n4\n5\n6\n"),
                     "@@ -1,6 +1,7 @@\n 1\n 2\n 3\n+new\n 4\n 5\n 6\n");
}
END_TEST

START_TEST(diff_deletion)
{
    ck_assert_str_eq(diff(numbers(1, 10), "1\n2\n3\n4\n6\n7\n8\n9\n10\n"),
                     "@@ -2,7 +2,6 @@\n 2\n 3\n 4\n-5\n 6\n 7\n 8\n");
}
END_TEST

START_TEST(diff_change_at_start_and_end)
{
    ck_assert_str_eq(diff(numbers(1, 10), apr_pstrcat(pool, "one\n",
                                                      numbers(2, 10), NULL)),
                     "@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n");
    ck_assert_str_eq(diff(numbers(1, 10), apr_pstrcat(pool, numbers(1, 9),
                                                      "ten\n", NULL)),
                     "@@ -7,4 +7,4 @@\n 7\n 8\n 9\n-10\n+ten\n");
}
END_TEST

START_TEST(diff_no_trailing_newline)
{
    /* the last line changes when only its newline does */
    ck_assert_str_eq(diff("a\nb\n", "a\nb"),
                     "@@ -1,2 +1,2 @@\n a\n-b\n+b\n"
                     "\\ No newline at end of file\n");
    ck_assert_str_eq(diff("a\nb", "a\nc"),
                     "@@ -1,2 +1,2 @@\n a\n-b\n"
                     "\\ No newline at end of file\n+c\n"
                     "\\ No newline at end of file\n");
}
END_TEST

START_TEST(diff_empty_files)
{
    ck_assert_str_eq(diff("", "a\nb\n"), "@@ -0,0 +1,2 @@\n+a\n+b\n");
    ck_assert_str_eq(diff("a\n", ""), "@@ -1 +0,0 @@\n-a\n");
    ck_assert_str_eq(diff("", "x"), "@@ -0,0 +1 @@\n+x\n"
                     "\\ No newline at end of file\n");
}
END_TEST

START_TEST(diff_hunk_merging)
{
    const char *a = numbers(1, 20);
    /* 6 unchanged lines between the changes: one hunk */
    const char *near = apr_pstrcat(pool, numbers(1, 4), "x\n",
                                   numbers(6, 11), "y\n", numbers(13, 20),
                                   NULL);
    /* 7 between them: two */
    const char *far = apr_pstrcat(pool, numbers(1, 4), "x\n",
                                  numbers(6, 12), "y\n", numbers(14, 20),
                                  NULL);

    ck_assert_str_eq(diff(a, near),
                     "@@ -2,14 +2,14 @@\n 2\n 3\n 4\n-5\n+x\n 6\n 7\n 8\n"
                     " 9\n 10\n 11\n-12\n+y\n 13\n 14\n 15\n");
    ck_assert_str_eq(diff(a, far),
                     "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+x\n 6\n 7\n 8\n"
                     "@@ -10,7 +10,7 @@\n 10\n 11\n 12\n-13\n+y\n 14\n 15\n"
                     " 16\n");
}
END_TEST

START_TEST(diff_minimal_script)
{
    /* a line moved: one deletion and one insertion, not a rewrite */
    ck_assert_str_eq(diff("a\nb\nc\nd\n", "b\nc\nd\na\n"),
                     "@@ -1,4 +1,4 @@\n-a\n b\n c\n d\n+a\n");
}
END_TEST

START_TEST(diff_bounds_fall_back)
{
    tp_diff_bounds_t tight = {2, 1000};
    const char *a = "keep\n1\n2\n3\nkeep\n", *b = "keep\nx\n2\ny\nkeep\n";
    int exact = -1;
    char *out = tp_diff_unified_bounded(pool, a, strlen(a), b, strlen(b),
                                        &tight, &exact);

    ck_assert_int_eq(exact, 0);
    /* the changed middle is replaced whole; the common ends stay */
    ck_assert_str_eq(out, "@@ -1,5 +1,5 @@\n keep\n-1\n-2\n-3\n+x\n+2\n+y\n"
                     " keep\n");
    tight.max_edits = 4;
    out = tp_diff_unified_bounded(pool, a, strlen(a), b, strlen(b), &tight,
                                  &exact);
    ck_assert_int_eq(exact, 1);
    ck_assert_str_eq(out, "@@ -1,5 +1,5 @@\n keep\n-1\n+x\n 2\n-3\n+y\n"
                     " keep\n");
}
END_TEST

START_TEST(diff_pathological_is_bounded)
{
    apr_size_t n = 1 << 20, i;
    char *a = apr_palloc(pool, n), *b = apr_palloc(pool, n), *out;
    int exact = -1;
    tp_diff_bounds_t bounds = {4096, 20000000};

    /* a million short lines, nearly all equal, none aligned */
    for (i = 0; i < n; i += 2) {
        a[i] = (i / 2) % 3 ? 'x' : 'y';
        b[i] = (i / 2) % 5 ? 'x' : 'z';
        a[i + 1] = b[i + 1] = '\n';
    }
    out = tp_diff_unified_bounded(pool, a, n, b, n, &bounds, &exact);
    ck_assert_int_eq(exact, 0);
    ck_assert(strncmp(out, "@@ -1,524288 +1,524288 @@\n", 26) == 0);
}
END_TEST

START_TEST(diff_binary)
{
    ck_assert_int_eq(tp_diff_is_binary("text\n", 5), 0);
    ck_assert_int_eq(tp_diff_is_binary("caf\xc3\xa9\n", 6), 0);
    ck_assert_int_eq(tp_diff_is_binary("a\0b", 3), 1);
    ck_assert_int_eq(tp_diff_is_binary("caf\xe9\n", 5), 1);
    ck_assert_int_eq(tp_diff_is_binary("\xc3", 1), 1);
    ck_assert_int_eq(tp_diff_is_binary("", 0), 0);
}
END_TEST

Suite *diff_suite(void)
{
    Suite *s = suite_create("diff");
    TCase *tc = tcase_create("diff");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, diff_identical);
    tcase_add_test(tc, diff_insertion);
    tcase_add_test(tc, diff_deletion);
    tcase_add_test(tc, diff_change_at_start_and_end);
    tcase_add_test(tc, diff_no_trailing_newline);
    tcase_add_test(tc, diff_empty_files);
    tcase_add_test(tc, diff_hunk_merging);
    tcase_add_test(tc, diff_minimal_script);
    tcase_add_test(tc, diff_bounds_fall_back);
    tcase_add_test(tc, diff_pathological_is_bounded);
    tcase_add_test(tc, diff_binary);
    suite_add_tcase(s, tc);
    return s;
}
