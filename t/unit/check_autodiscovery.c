/* Unit tests of autodiscovery's pure part: globs with '**', '*' and '?',
 * the directories a rule matches in a tree (ignores included), workspace
 * names from templates, collisions within one walk, renames between two
 * trees; and the providers' tree answers as tp_vcs_tree_page reads them. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tp_autodiscovery.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* A tree of "path=sha" strings, NULL-terminated. */
static apr_array_header_t *tree(const char *const *spec)
{
    apr_array_header_t *t = apr_array_make(pool, 8, sizeof(tp_vcs_file_t));
    tp_vcs_file_t *f;
    const char *eq;

    for (; *spec; spec++) {
        f = apr_array_push(t);
        eq = strchr(*spec, '=');
        f->path = eq ? apr_pstrndup(pool, *spec, (apr_size_t)(eq - *spec))
                     : *spec;
        f->sha = eq ? eq + 1 : "0000";
    }
    return t;
}

static apr_array_header_t *strings(const char *const *s)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));

    for (; *s; s++) {
        APR_ARRAY_PUSH(a, const char *) = *s;
    }
    return a;
}

static const char *joined(const apr_array_header_t *a)
{
    return apr_array_pstrcat(pool, a, ',');
}

START_TEST(globs)
{
    static const struct { const char *pat, *path; int match; } cases[] = {
        {"envs/*/main.tf", "envs/a/main.tf", 1},
        {"envs/*/main.tf", "envs/a/b/main.tf", 0},
        {"envs/*/*.tf", "envs/a/x.tf", 1},
        {"envs/*/*.tf", "envs/a/x.tfvars", 0},
        {"**/*.tf", "main.tf", 1},
        {"**/*.tf", "a/b/c/main.tf", 1},
        {"accounts/*/**/*.tf", "accounts/x/main.tf", 1},
        {"accounts/*/**/*.tf", "accounts/x/eu/prod/main.tf", 1},
        {"accounts/*/**/*.tf", "accounts/main.tf", 0},
        {"modules/**", "modules/x/main.tf", 1},
        {"modules/**", "modules", 0},
        {"modules/**", "modulesx/main.tf", 0},
        {"a/**/b", "a/b", 1},
        {"a/**/b", "a/x/y/b", 1},
        {"a/**/b", "a/x/y/c", 0},
        {"?.tf", "a.tf", 1},
        {"?.tf", "ab.tf", 0},
        {"*", "a/b", 0},
        {"*.tf", ".tf", 1},
        {"a*b*c", "aXXbYYc", 1},
        {"a*b*c", "aXXbYY", 0},
        {"envs/b", "envs/b", 1},
        {"**", "anything/at/all", 1},
        {"**/**/**/**/**/**/x", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(tp_ad_pattern_check(cases[i].pat) == NULL, "%s",
                      cases[i].pat);
        ck_assert_msg(tp_ad_glob(cases[i].pat, cases[i].path)
                      == cases[i].match, "%s ~ %s", cases[i].pat,
                      cases[i].path);
    }
}
END_TEST

START_TEST(bad_patterns)
{
    static const char *const bad[] = {
        "", "/envs/*", "envs/", "envs//a", "envs/../x", "./envs", "a**/b",
        "envs/***", "envs/[ab]", "envs\\x", "a\tb", NULL
    };
    char deep[200] = "";
    int i;

    for (i = 0; bad[i]; i++) {
        ck_assert_msg(tp_ad_pattern_check(bad[i]) != NULL, "%s", bad[i]);
    }
    for (i = 0; i < 33; i++) {
        strcat(deep, "a/");
    }
    strcat(deep, "b");
    ck_assert_ptr_nonnull(tp_ad_pattern_check(deep));
    ck_assert_ptr_nonnull(tp_ad_pattern_check(apr_psprintf(pool, "%0501d",
                                                           0)));
}
END_TEST

START_TEST(directories_of_a_tree)
{
    static const char *const files[] = {
        "README.md", "main.tf", "envs/a/main.tf", "envs/a/vars.tf",
        "envs/a/sub/x.tf", "envs/b/main.tf", "envs/c/README.md",
        "modules/x/main.tf", "modules/x/nested/y.tf", NULL
    };
    static const char *const none[] = {NULL};
    static const char *const mods[] = {"modules/**", NULL};
    static const char *const b_and_sub[] = {"envs/b", "**/sub", NULL};
    apr_array_header_t *t = tree(files);

    ck_assert_str_eq(joined(tp_ad_dirs(pool, t, "envs/*/*.tf",
                                       strings(none))), "envs/a,envs/b");
    ck_assert_str_eq(joined(tp_ad_dirs(pool, t, "**/*.tf", strings(mods))),
                     ",envs/a,envs/a/sub,envs/b");
    /* an ignore names a directory: what is inside it goes too */
    ck_assert_str_eq(joined(tp_ad_dirs(pool, t, "**/*.tf",
                                       strings(b_and_sub))),
                     ",envs/a,modules/x,modules/x/nested");
    ck_assert_int_eq(tp_ad_dirs(pool, t, "nothing/*.tf", NULL)->nelts, 0);
}
END_TEST

START_TEST(names_from_templates)
{
    ck_assert_ptr_null(tp_ad_template_check("{path}"));
    ck_assert_ptr_null(tp_ad_template_check("ws-{repo}-{dir}"));
    ck_assert_ptr_nonnull(tp_ad_template_check(""));
    ck_assert_ptr_nonnull(tp_ad_template_check("{nope}"));
    ck_assert_ptr_nonnull(tp_ad_template_check("{path"));
    ck_assert_ptr_nonnull(tp_ad_template_check("a}b"));
    ck_assert_str_eq(tp_ad_name(pool, "{path}", "envs/a", "infra"), "envs-a");
    ck_assert_str_eq(tp_ad_name(pool, "ws-{path}", "accounts/x/eu", "r"),
                     "ws-accounts-x-eu");
    ck_assert_str_eq(tp_ad_name(pool, "{repo}_{dir}", "envs/prod", "infra"),
                     "infra_prod");
    ck_assert_str_eq(tp_ad_name(pool, "{path}", "", "infra"), "root");
    ck_assert_str_eq(tp_ad_name(pool, "{dir}", "", "infra"), "root");
    ck_assert_str_eq(tp_ad_name(pool, "{path}", "a b/..c.d//", "r"),
                     "a-b-c-d");
    ck_assert_str_eq(tp_ad_name(pool, "--{path}--", "x", "r"), "x");
    ck_assert_ptr_null(tp_ad_name(pool, "{path}", "../..", "r"));
    ck_assert_int_eq(strlen(tp_ad_name(pool, "{path}",
                                       apr_psprintf(pool, "%0200d", 7),
                                       "r")), TP_AD_NAME_MAX);
}
END_TEST

START_TEST(collisions_within_a_walk)
{
    static const char *const dirs[] = {"a/b", "a-b", "c", "..", NULL};
    apr_array_header_t *e = tp_ad_entries(pool, strings(dirs), "{path}", "r");
    tp_ad_entry_t *x = (tp_ad_entry_t *)e->elts;

    ck_assert_int_eq(e->nelts, 4);
    ck_assert_str_eq(x[0].name, "a-b");
    ck_assert_int_eq(x[0].collision, 0);
    ck_assert_str_eq(x[1].name, "a-b");
    ck_assert_int_eq(x[1].collision, 1);
    ck_assert_int_eq(x[2].collision, 0);
    ck_assert_ptr_null(x[3].name);
    ck_assert_int_eq(x[3].collision, 1);
}
END_TEST

START_TEST(renames)
{
    static const char *const before[] = {
        "envs/a/main.tf=111", "envs/a/vars.tf=222", "envs/b/main.tf=333",
        "envs/e/main.tf=555", NULL
    };
    static const char *const after[] = {
        "envs/renamed/main.tf=111", "envs/renamed/vars.tf=222",
        "envs/new/main.tf=333x", "envs/e2/main.tf=555", "envs/e3/main.tf=555",
        NULL
    };
    static const char *const gone[] = {"envs/a", "envs/b", "envs/e", NULL};
    static const char *const appeared[] = {"envs/e2", "envs/e3", "envs/new",
                                           "envs/renamed", NULL};
    const char *to[3];

    tp_ad_renames(pool, tree(before), tree(after), strings(gone),
                  strings(appeared), to);
    ck_assert_str_eq(to[0], "envs/renamed");
    ck_assert_ptr_null(to[1]);          /* its content changed */
    ck_assert_str_eq(to[2], "envs/e2"); /* each appeared one taken once */
}
END_TEST

START_TEST(provider_tree_pages)
{
    apr_array_header_t *files = apr_array_make(pool, 4,
                                               sizeof(tp_vcs_file_t));
    int more = -1, truncated = -1, i;
    char *page;

    ck_assert_int_eq(tp_vcs_tree_page(pool, TP_VCS_GITHUB,
        "{\"sha\":\"abc\",\"truncated\":true,\"tree\":["
        "{\"path\":\"envs\",\"type\":\"tree\",\"sha\":\"t1\"},"
        "{\"path\":\"envs/a/main.tf\",\"type\":\"blob\",\"sha\":\"b1\"},"
        "{\"path\":\"vendor/mod\",\"type\":\"commit\",\"sha\":\"c1\"}]}",
        files, &more, &truncated), 0);
    ck_assert_int_eq(files->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(files, 0, tp_vcs_file_t).path,
                     "envs/a/main.tf");
    ck_assert_str_eq(APR_ARRAY_IDX(files, 0, tp_vcs_file_t).sha, "b1");
    ck_assert_int_eq(more, 0);
    ck_assert_int_eq(truncated, 1);
    /* a full GitLab page means another may follow */
    page = apr_pstrdup(pool, "[");
    for (i = 0; i < 100; i++) {
        page = apr_psprintf(pool, "%s%s{\"id\":\"b%d\",\"type\":\"blob\","
                            "\"path\":\"f%d.tf\"}", page, i ? "," : "", i, i);
    }
    page = apr_pstrcat(pool, page, "]", NULL);
    ck_assert_int_eq(tp_vcs_tree_page(pool, TP_VCS_GITLAB, page, files,
                                      &more, &truncated), 0);
    ck_assert_int_eq(files->nelts, 101);
    ck_assert_int_eq(more, 1);
    ck_assert_int_eq(truncated, 0);
    ck_assert_int_eq(tp_vcs_tree_page(pool, TP_VCS_GITLAB, "[]", files,
                                      &more, &truncated), 0);
    ck_assert_int_eq(more, 0);
    ck_assert_int_eq(tp_vcs_tree_page(pool, TP_VCS_GITLAB, "{}", files,
                                      &more, &truncated), -1);
    ck_assert_int_eq(tp_vcs_tree_page(pool, TP_VCS_GITHUB,
                     "{\"tree\":[{\"path\":\"x\",\"type\":\"blob\"}]}",
                     files, &more, &truncated), -1);
    ck_assert_int_eq(tp_vcs_tree_page(pool, TP_VCS_GITHUB, "not json",
                                      files, &more, &truncated), -1);
}
END_TEST

Suite *autodiscovery_suite(void);

Suite *autodiscovery_suite(void)
{
    Suite *s = suite_create("autodiscovery");
    TCase *tc = tcase_create("autodiscovery");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, globs);
    tcase_add_test(tc, bad_patterns);
    tcase_add_test(tc, directories_of_a_tree);
    tcase_add_test(tc, names_from_templates);
    tcase_add_test(tc, collisions_within_a_walk);
    tcase_add_test(tc, renames);
    tcase_add_test(tc, provider_tree_pages);
    suite_add_tcase(s, tc);
    return s;
}
