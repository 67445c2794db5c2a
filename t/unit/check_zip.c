/* Unit tests of SHA256SUMS parsing and provider zip checks. The zips are
 * written at test time by libarchive's zip writer into temporary files
 * that go with the test's pool. */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include <archive.h>
#include <archive_entry.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_portable.h>

#include "tp_zip.h"

static apr_pool_t *pool;

/* One zip entry: a file with its content, or a directory or symlink. */
typedef struct zentry {
    const char *path;
    unsigned int type;
    const char *content;    /* file data, or the symlink's target */
} zentry_t;

#define BIN "terraform-provider-x_v1.0.0"
#define FILE_(p, c) {p, AE_IFREG, c}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* check_archive.c */
const char *temp_file_in(apr_pool_t *p, apr_file_t **f);

static void add(struct archive *a, const zentry_t *z)
{
    struct archive_entry *e = archive_entry_new();
    apr_size_t n = z->type == AE_IFREG ? strlen(z->content) : 0;

    archive_entry_set_pathname(e, z->path);
    archive_entry_set_filetype(e, z->type);
    archive_entry_set_perm(e, z->type == AE_IFREG ? 0755 : 0777);
    archive_entry_set_size(e, (la_int64_t)n);
    if (z->type == AE_IFLNK) {
        archive_entry_set_symlink(e, z->content);
    }
    ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
    if (n) {
        ck_assert_int_eq(archive_write_data(a, z->content, n), (la_ssize_t)n);
    }
    archive_entry_free(e);
}

/* A zip of the entries up to the one without a path, plus copies more
 * files named extra-N. */
static const char *zip_of(const zentry_t *zs, int copies)
{
    apr_file_t *f;
    apr_os_file_t fd;
    const char *path = temp_file_in(pool, &f);
    struct archive *a = archive_write_new();
    zentry_t extra = {NULL, AE_IFREG, "x"};
    int i;

    ck_assert_int_eq(archive_write_set_format_zip(a), ARCHIVE_OK);
    apr_os_file_get(&fd, f);
    ck_assert_int_eq(archive_write_open_fd(a, fd), ARCHIVE_OK);
    for (; zs->path; zs++) {
        add(a, zs);
    }
    for (i = 0; i < copies; i++) {
        extra.path = apr_psprintf(pool, "extra-%d", i);
        add(a, &extra);
    }
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return path;
}

static const char *file_of(const char *data)
{
    apr_file_t *f;
    const char *path = temp_file_in(pool, &f);

    ck_assert_int_eq(apr_file_write_full(f, data, strlen(data), NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_flush(f), APR_SUCCESS);
    return path;
}

static void assert_422(tp_err_t *err, const char *part)
{
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 422);
    ck_assert_msg(strstr(err->detail, part), "detail \"%s\" lacks \"%s\"",
                  err->detail, part);
}

static tp_err_t *check(const zentry_t *zs)
{
    return tp_zip_check(pool, zip_of(zs, 0), "terraform-provider-x");
}

static const zentry_t release[] = {
    FILE_(BIN, "#!/bin/sh\necho provider\n"),
    FILE_("LICENSE", "MIT\n"),
    {"docs/", AE_IFDIR, NULL},
    FILE_("docs/index.md", "# x\n"),
    {NULL, 0, NULL}
};

START_TEST(zip_valid_release)
{
    const zentry_t bare[] = {FILE_(BIN, "x"), {NULL, 0, NULL}};

    ck_assert_ptr_null(check(release));
    ck_assert_ptr_null(check(bare));
}
END_TEST

START_TEST(zip_binary_count)
{
    const zentry_t none[] = {FILE_("LICENSE", "x"), {NULL, 0, NULL}};
    const zentry_t two[] = {FILE_(BIN, "x"), FILE_(BIN ".exe", "x"),
                            {NULL, 0, NULL}};
    const zentry_t nested[] = {FILE_("bin/" BIN, "x"), {NULL, 0, NULL}};
    const zentry_t other[] = {FILE_("terraform-provider-y", "x"),
                              {NULL, 0, NULL}};

    assert_422(check(none), "exactly one provider binary "
               "terraform-provider-x* at its top, not 0");
    assert_422(check(two), "not 2");
    assert_422(check(nested), "not 0");
    assert_422(check(other), "not 0");
}
END_TEST

START_TEST(zip_bad_entries)
{
    const zentry_t dotdot[] = {FILE_(BIN, "x"), FILE_("a/../../evil", "x"),
                               {NULL, 0, NULL}};
    const zentry_t abs[] = {FILE_(BIN, "x"), FILE_("/etc/evil", "x"),
                            {NULL, 0, NULL}};
    const zentry_t back[] = {FILE_(BIN, "x"), FILE_("..\\evil", "x"),
                             {NULL, 0, NULL}};
    const zentry_t link[] = {FILE_(BIN, "x"), {"l", AE_IFLNK, "/etc/passwd"},
                             {NULL, 0, NULL}};
    const zentry_t dup[] = {FILE_(BIN, "x"), FILE_("LICENSE", "a"),
                            FILE_("LICENSE", "b"), {NULL, 0, NULL}};
    const zentry_t ctl[] = {FILE_(BIN, "x"), FILE_("a\nb", "x"),
                            {NULL, 0, NULL}};

    assert_422(check(dotdot), "zip entry 2 has a \"..\" component");
    assert_422(check(abs), "zip entry 2 is not a relative path");
    /* libarchive reads DOS separators as '/': refused either way */
    assert_422(check(back), "zip entry 2 ");
    assert_422(check(link), "zip entry l is a symlink");
    assert_422(check(dup), "zip entry LICENSE appears twice");
    assert_422(check(ctl), "not printable ASCII");
}
END_TEST

START_TEST(zip_entry_limit)
{
    const zentry_t bin[] = {FILE_(BIN, "x"), {NULL, 0, NULL}};

    ck_assert_ptr_null(tp_zip_check(pool, zip_of(bin, TP_ZIP_MAX_ENTRIES - 1),
                                    "terraform-provider-x"));
    assert_422(tp_zip_check(pool, zip_of(bin, TP_ZIP_MAX_ENTRIES),
                            "terraform-provider-x"), "more than 256 entries");
}
END_TEST

START_TEST(zip_not_a_zip)
{
    const char *h1 = "unset";

    assert_422(tp_zip_check(pool, file_of("hello"), "terraform-provider-x"),
               "not a readable zip archive");
    assert_422(tp_zip_check(pool, file_of(""), "terraform-provider-x"),
               "not a readable zip archive");
    assert_422(tp_zip_h1(pool, file_of("PK\003\004 cut"), &h1),
               "not a readable zip archive");
    ck_assert_ptr_null(h1);
}
END_TEST

/* The value terraform writes to a lock file for these names and contents,
 * computed apart from this code (golang.org/x/mod dirhash Hash1). */
START_TEST(zip_h1_matches_dirhash)
{
    const char *h1;
    const zentry_t reordered[] = {
        FILE_("docs/index.md", "# x\n"), {"docs/", AE_IFDIR, NULL},
        FILE_("LICENSE", "MIT\n"), FILE_(BIN, "#!/bin/sh\necho provider\n"),
        {NULL, 0, NULL}
    };

    ck_assert_ptr_null(tp_zip_h1(pool, zip_of(release, 0), &h1));
    ck_assert_str_eq(h1, "h1:mVOun8GURpVR5Cufpsrg9yQ0s6hWyWRJfhX4pIo/zRE=");
    ck_assert_ptr_null(tp_zip_h1(pool, zip_of(reordered, 0), &h1));
    ck_assert_str_eq(h1, "h1:mVOun8GURpVR5Cufpsrg9yQ0s6hWyWRJfhX4pIo/zRE=");
}
END_TEST

#define D1 "6f1ed002ab5595859014ebf0951522d9a8e7e2e4e2bd46b9b07b0b6e8b4a0c1a"
#define D2 "AB1ED002AB5595859014EBF0951522D9A8E7E2E4E2BD46B9B07B0B6E8B4A0C1A"

static tp_err_t *find(const char *sums, const char *name, const char **hex)
{
    return tp_shasums_find(pool, sums, strlen(sums), name, hex);
}

START_TEST(shasums_find_names)
{
    const char *sums = D1 "  x_1.0.0_linux_amd64.zip\r\n"
                       D2 " *x_1.0.0_darwin_arm64.zip\n\n"
                       D1 "  x_1.0.0_manifest.json";
    const char *hex;

    ck_assert_ptr_null(find(sums, "x_1.0.0_linux_amd64.zip", &hex));
    ck_assert_str_eq(hex, D1);
    ck_assert_ptr_null(find(sums, "x_1.0.0_darwin_arm64.zip", &hex));
    ck_assert_str_eq(hex, "ab1ed002ab5595859014ebf0951522d9a8e7e2e4e2bd46b9b0"
                          "7b0b6e8b4a0c1a");
    ck_assert_ptr_null(find(sums, "x_1.0.0_manifest.json", &hex));
    ck_assert_str_eq(hex, D1);
    ck_assert_ptr_null(find(sums, "x_1.0.0_linux", &hex));
    ck_assert_ptr_null(hex);
    ck_assert_ptr_null(find("", "x", &hex));
    ck_assert_ptr_null(hex);
    ck_assert_ptr_null(find(D1 "  x\n" D1 "  x\n", "x", &hex));
    ck_assert_str_eq(hex, D1);
}
END_TEST

START_TEST(shasums_malformed)
{
    const char *hex = "unset";

    assert_422(find(D1 "  x\nnonsense\n", "x", &hex), "line 2");
    ck_assert_ptr_null(hex);
    assert_422(find(D1 "x\n", "x", &hex), "line 1");
    assert_422(find(D1 " x\n", "x", &hex), "line 1");
    assert_422(find("6f1e  x\n", "x", &hex), "line 1");
    assert_422(find(D1 "  a b\n", "a", &hex), "line 1");
    assert_422(find(D1 "  \n", "x", &hex), "line 1");
    assert_422(find("g" D1 " x\n", "x", &hex), "line 1");
    assert_422(find(D1 "  x\n" D2 "  x\n", "x", &hex), "twice");
    ck_assert_ptr_null(hex);
}
END_TEST

Suite *zip_suite(void);

Suite *zip_suite(void)
{
    Suite *s = suite_create("zip");
    TCase *tc = tcase_create("zip");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, zip_valid_release);
    tcase_add_test(tc, zip_binary_count);
    tcase_add_test(tc, zip_bad_entries);
    tcase_add_test(tc, zip_entry_limit);
    tcase_add_test(tc, zip_not_a_zip);
    tcase_add_test(tc, zip_h1_matches_dirhash);
    tcase_add_test(tc, shasums_find_names);
    tcase_add_test(tc, shasums_malformed);
    suite_add_tcase(s, tc);
    return s;
}
