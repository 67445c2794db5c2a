/* Unit tests of configuration tarball validation. Every archive is written
 * at test time with libarchive's writer into a temporary file that goes
 * away with the test's pool. */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include <archive.h>
#include <archive_entry.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_portable.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tp_archive.h"

static apr_pool_t *pool;

/* One entry to write: files get size bytes of data. */
typedef struct spec {
    const char *path;
    unsigned int type;      /* AE_IFREG, AE_IFDIR, AE_IFLNK, ... */
    apr_off_t size;
    const char *link;       /* symlink target */
    const char *hardlink;   /* hard link source */
    unsigned int mode;      /* permissions; 0: 0755 or 0644 by type */
} spec_t;

static const tp_archive_limits_t roomy = {1 << 20, 4 << 20, 100};

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* A temporary file removed when p goes; *f stays open for writing. */
const char *temp_file_in(apr_pool_t *p, apr_file_t **f);

const char *temp_file_in(apr_pool_t *p, apr_file_t **f)
{
    const char *dir;
    char *path;

    ck_assert_int_eq(apr_temp_dir_get(&dir, p), APR_SUCCESS);
    path = apr_pstrcat(p, dir, "/tp-check-XXXXXX", NULL);
    ck_assert_int_eq(apr_file_mktemp(f, path, APR_FOPEN_CREATE
                                     | APR_FOPEN_READ | APR_FOPEN_WRITE
                                     | APR_FOPEN_EXCL | APR_FOPEN_DELONCLOSE,
                                     p), APR_SUCCESS);
    return path;
}

static const char *temp_file(apr_file_t **f)
{
    return temp_file_in(pool, f);
}

/* Data that does not compress, so a truncated gzip is cut mid-stream. */
static void noise(char *buf, apr_size_t len, unsigned int seed)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (char)(seed >> 16);
    }
}

static void write_entry(struct archive *a, const spec_t *sp)
{
    struct archive_entry *e = archive_entry_new();
    char buf[4096];
    apr_off_t left = sp->size;
    apr_size_t n;

    archive_entry_set_pathname(e, sp->path);
    archive_entry_set_filetype(e, sp->type);
    archive_entry_set_perm(e, sp->mode ? sp->mode
                              : sp->type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e, sp->type == AE_IFREG ? sp->size : 0);
    if (sp->link) {
        archive_entry_set_symlink(e, sp->link);
    }
    if (sp->hardlink) {
        archive_entry_set_hardlink(e, sp->hardlink);
    }
    if (sp->type == AE_IFCHR) {
        archive_entry_set_rdev(e, ((dev_t)1 << 8) | 3);
    }
    /* a name with no UTF-8 form is a warning, and written as bytes */
    ck_assert_int_ge(archive_write_header(a, e), ARCHIVE_WARN);
    while (sp->type == AE_IFREG && left > 0) {
        n = left < (apr_off_t)sizeof(buf) ? (apr_size_t)left : sizeof(buf);
        noise(buf, n, (unsigned int)left);
        ck_assert_int_eq(archive_write_data(a, buf, n), (la_ssize_t)n);
        left -= (apr_off_t)n;
    }
    archive_entry_free(e);
}

/* Writes the entries with the given filter and format; NULL when this
 * libarchive cannot write that filter. */
static const char *build_with(const spec_t *specs, int filter, int format)
{
    apr_file_t *f;
    apr_os_file_t fd;
    const char *path = temp_file(&f);
    struct archive *a = archive_write_new();

    if (archive_write_add_filter(a, filter) != ARCHIVE_OK) {
        archive_write_free(a);
        return NULL;
    }
    ck_assert_int_eq(archive_write_set_format(a, format), ARCHIVE_OK);
    apr_os_file_get(&fd, f);
    ck_assert_int_eq(archive_write_open_fd(a, fd), ARCHIVE_OK);
    for (; specs->path; specs++) {
        write_entry(a, specs);
    }
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return path;
}

static const char *build(const spec_t *specs)
{
    return build_with(specs, ARCHIVE_FILTER_GZIP,
                      ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
}

static const char *file_of(const void *data, apr_size_t len)
{
    apr_file_t *f;
    const char *path = temp_file(&f);

    ck_assert_int_eq(apr_file_write_full(f, data, len, NULL), APR_SUCCESS);
    ck_assert_int_eq(apr_file_flush(f), APR_SUCCESS);
    return path;
}

static tp_err_t *validate(const char *path, const tp_archive_limits_t *l)
{
    tp_archive_info_t info;

    return tp_archive_validate(pool, path, l, &info);
}

#define ck_rejected(err, why) do {                                        \
    tp_err_t *e_ = (err);                                                 \
    ck_assert_ptr_nonnull(e_);                                            \
    ck_assert_int_eq(e_->status, 422);                                    \
    ck_assert_msg(strstr(e_->detail, (why)) != NULL,                      \
                  "detail \"%s\" lacks \"%s\"", e_->detail, (why));       \
} while (0)

/* A single offending entry next to a harmless one. */
static tp_err_t *validate_one(spec_t bad)
{
    spec_t specs[] = {{"main.tf", AE_IFREG, 10, NULL, NULL}, bad, {NULL}};

    return validate(build(specs), &roomy);
}

START_TEST(archive_valid_counts_files)
{
    spec_t specs[] = {
        {"./", AE_IFDIR, 0, NULL, NULL},
        {"main.tf", AE_IFREG, 100, NULL, NULL},
        {"modules/", AE_IFDIR, 0, NULL, NULL},
        {"modules/net/", AE_IFDIR, 0, NULL, NULL},
        {"modules/net/vpc.tf", AE_IFREG, 5000, NULL, NULL},
        {"modules/empty.tf", AE_IFREG, 0, NULL, NULL},
        {"modules/link.tf", AE_IFLNK, 0, "../main.tf", NULL},
        {"modules/net/up.tf", AE_IFLNK, 0, "../../main.tf", NULL},
        {"modules/net/self", AE_IFLNK, 0, ".", NULL},
        {"shared", AE_IFLNK, 0, "modules/net", NULL},
        {NULL}
    };
    tp_archive_info_t info = {-1, -1};

    ck_assert_ptr_null(tp_archive_validate(pool, build(specs), &roomy,
                                           &info));
    ck_assert_int_eq(info.files, 3);
    ck_assert_int_eq(info.total_size, 5100);
}
END_TEST

START_TEST(archive_empty_tar_accepted)
{
    spec_t none[] = {{NULL}};
    tp_archive_info_t info = {-1, -1};

    ck_assert_ptr_null(tp_archive_validate(pool, build(none), &roomy,
                                           &info));
    ck_assert_int_eq(info.files, 0);
    ck_assert_int_eq(info.total_size, 0);
}
END_TEST

START_TEST(archive_limits_are_inclusive)
{
    spec_t specs[] = {
        {"a.tf", AE_IFREG, 600, NULL, NULL},
        {"b.tf", AE_IFREG, 400, NULL, NULL},
        {NULL}
    };
    tp_archive_limits_t exact = {600, 1000, 2};

    ck_assert_ptr_null(validate(build(specs), &exact));
}
END_TEST

START_TEST(archive_absolute_path)
{
    ck_rejected(validate_one((spec_t){"/etc/cron.d/x", AE_IFREG, 1, NULL,
                                      NULL}),
                "\"/etc/cron.d/x\": absolute path");
}
END_TEST

START_TEST(archive_dotdot_components)
{
    ck_rejected(validate_one((spec_t){"../x", AE_IFREG, 1, NULL, NULL}),
                "\"../x\": \"..\" path component");
    ck_rejected(validate_one((spec_t){"a/../../x", AE_IFREG, 1, NULL, NULL}),
                "\"a/../../x\": \"..\" path component");
    /* even one that would land inside: extractors differ on ".." */
    ck_rejected(validate_one((spec_t){"a/../x", AE_IFDIR, 0, NULL, NULL}),
                "\"..\" path component");
}
END_TEST

START_TEST(archive_symlink_escapes)
{
    ck_rejected(validate_one((spec_t){"a/b/link", AE_IFLNK, 0, "../../../x",
                                      NULL}),
                "\"a/b/link\": symlink target escapes the archive root");
    ck_rejected(validate_one((spec_t){"a/link", AE_IFLNK, 0, "../../x",
                                      NULL}),
                "symlink target escapes the archive root");
    ck_rejected(validate_one((spec_t){"link", AE_IFLNK, 0, "..", NULL}),
                "symlink target escapes the archive root");
    ck_rejected(validate_one((spec_t){"passwd", AE_IFLNK, 0, "/etc/passwd",
                                      NULL}),
                "\"passwd\": symlink target is absolute");
}
END_TEST

/* With "a/up" -> "..", the target "a/up/../x" reads as "a/x" but
 * resolves to "../x": after a name, no ".." is trusted. */
START_TEST(archive_symlink_dotdot_after_name)
{
    spec_t specs[] = {
        {"a/", AE_IFDIR, 0, NULL, NULL},
        {"a/up", AE_IFLNK, 0, "..", NULL},
        {"l", AE_IFLNK, 0, "a/up/../x", NULL},
        {NULL}
    };

    ck_rejected(validate(build(specs), &roomy),
                "\"l\": symlink target has \"..\" after a name");
}
END_TEST

START_TEST(archive_entry_through_symlink)
{
    spec_t specs[] = {
        {"d/", AE_IFDIR, 0, NULL, NULL},
        {"d/up", AE_IFLNK, 0, "..", NULL},
        {"d/up/l", AE_IFLNK, 0, "../x", NULL},
        {NULL}
    };

    ck_rejected(validate(build(specs), &roomy),
                "\"d/up/l\": path goes through symlink \"d/up\"");
}
END_TEST

START_TEST(archive_hard_link)
{
    ck_rejected(validate_one((spec_t){"copy.tf", AE_IFREG, 0, NULL,
                                      "main.tf"}),
                "\"copy.tf\": hard links are not allowed");
}
END_TEST

START_TEST(archive_device_and_fifo)
{
    ck_rejected(validate_one((spec_t){"null", AE_IFCHR, 0, NULL, NULL}),
                "\"null\": character devices are not allowed");
    ck_rejected(validate_one((spec_t){"disk", AE_IFBLK, 0, NULL, NULL}),
                "\"disk\": block devices are not allowed");
    ck_rejected(validate_one((spec_t){"pipe", AE_IFIFO, 0, NULL, NULL}),
                "\"pipe\": fifos are not allowed");
}
END_TEST

START_TEST(archive_root_must_be_a_directory)
{
    ck_rejected(validate_one((spec_t){"./", AE_IFLNK, 0, "a", NULL}),
                "names the archive root");
}
END_TEST

START_TEST(archive_entry_too_large)
{
    spec_t specs[] = {{"big.tf", AE_IFREG, 1001, NULL, NULL}, {NULL}};
    tp_archive_limits_t l = {1000, 1 << 20, 100};

    ck_rejected(validate(build(specs), &l),
                "\"big.tf\": larger than 1000 bytes");
}
END_TEST

START_TEST(archive_total_too_large)
{
    spec_t specs[] = {
        {"a.tf", AE_IFREG, 400, NULL, NULL},
        {"b.tf", AE_IFREG, 400, NULL, NULL},
        {"c.tf", AE_IFREG, 400, NULL, NULL},
        {NULL}
    };
    tp_archive_limits_t l = {1000, 1000, 100};

    ck_rejected(validate(build(specs), &l),
                "\"c.tf\": archive exceeds 1000 bytes uncompressed");
}
END_TEST

START_TEST(archive_too_many_entries)
{
    spec_t specs[] = {
        {"a/", AE_IFDIR, 0, NULL, NULL},
        {"a/b.tf", AE_IFREG, 1, NULL, NULL},
        {"a/c", AE_IFLNK, 0, "b.tf", NULL},
        {"d.tf", AE_IFREG, 1, NULL, NULL},
        {NULL}
    };
    tp_archive_limits_t l = {1000, 1000, 3};

    ck_rejected(validate(build(specs), &l),
                "\"d.tf\": archive has more than 3 entries");
}
END_TEST

START_TEST(archive_plain_tar)
{
    spec_t specs[] = {{"main.tf", AE_IFREG, 10, NULL, NULL}, {NULL}};
    /* starts with the gzip magic but no gzip method: the name is the
     * first thing in a tar */
    spec_t magic[] = {{"\x1f\x8b\x09.tf", AE_IFREG, 10, NULL, NULL},
                      {NULL}};

    ck_rejected(validate(build_with(specs, ARCHIVE_FILTER_NONE,
                                    ARCHIVE_FORMAT_TAR_USTAR), &roomy),
                "not a gzip-compressed tar archive");
    ck_rejected(validate(build_with(magic, ARCHIVE_FILTER_NONE,
                                    ARCHIVE_FORMAT_TAR_USTAR), &roomy),
                "not a gzip-compressed tar archive");
}
END_TEST

START_TEST(archive_other_compressions)
{
    spec_t specs[] = {{"main.tf", AE_IFREG, 10, NULL, NULL}, {NULL}};
    const int filters[] = {ARCHIVE_FILTER_BZIP2, ARCHIVE_FILTER_XZ,
                           ARCHIVE_FILTER_ZSTD};
    const char *path;
    int i, tried = 0;

    for (i = 0; i < (int)(sizeof(filters) / sizeof(filters[0])); i++) {
        path = build_with(specs, filters[i],
                          ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
        if (path) {
            tried++;
            ck_rejected(validate(path, &roomy),
                        "not a gzip-compressed tar archive");
        }
    }
    ck_assert_int_gt(tried, 0);
}
END_TEST

START_TEST(archive_zip_plain_and_gzipped)
{
    spec_t specs[] = {{"main.tf", AE_IFREG, 10, NULL, NULL}, {NULL}};

    ck_rejected(validate(build_with(specs, ARCHIVE_FILTER_NONE,
                                    ARCHIVE_FORMAT_ZIP), &roomy),
                "not a gzip-compressed tar archive");
    ck_rejected(validate(build_with(specs, ARCHIVE_FILTER_GZIP,
                                    ARCHIVE_FORMAT_ZIP), &roomy),
                "not a gzip-compressed tar archive");
}
END_TEST

START_TEST(archive_garbage)
{
    char junk[8192];

    noise(junk, sizeof(junk), 42);
    junk[0] = 'G';      /* never the gzip magic by chance */
    ck_rejected(validate(file_of(junk, sizeof(junk)), &roomy),
                "not a gzip-compressed tar archive");
}
END_TEST

START_TEST(archive_gzipped_garbage)
{
    apr_file_t *f;
    apr_os_file_t fd;
    const char *path = temp_file(&f);
    struct archive *a = archive_write_new();
    char junk[8192];

    /* gzip around bytes that are no tar */
    noise(junk, sizeof(junk), 7);
    apr_os_file_get(&fd, f);
    ck_assert_int_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_set_format_raw(a), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_open_fd(a, fd), ARCHIVE_OK);
    {
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_filetype(e, AE_IFREG);
        ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
        ck_assert_int_eq(archive_write_data(a, junk, sizeof(junk)),
                         (la_ssize_t)sizeof(junk));
        archive_entry_free(e);
    }
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    ck_rejected(validate(path, &roomy), "not a gzip-compressed tar archive");
}
END_TEST

/* Cuts a built archive to the given fraction of its size. */
static const char *truncated(const char *path, int num, int den)
{
    apr_file_t *f;
    apr_finfo_t fi;

    ck_assert_int_eq(apr_stat(&fi, path, APR_FINFO_SIZE, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_open(&f, path, APR_FOPEN_WRITE,
                                   APR_OS_DEFAULT, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_file_trunc(f, fi.size * num / den), APR_SUCCESS);
    apr_file_close(f);
    return path;
}

START_TEST(archive_truncated)
{
    spec_t small[] = {
        {"a.tf", AE_IFREG, 30000, NULL, NULL},
        {"b.tf", AE_IFREG, 30000, NULL, NULL},
        {NULL}
    };
    spec_t large[] = {
        {"a.tf", AE_IFREG, 300000, NULL, NULL},
        {"b.tf", AE_IFREG, 300000, NULL, NULL},
        {"c.tf", AE_IFREG, 300000, NULL, NULL},
        {NULL}
    };

    /* within what libarchive reads ahead on opening, and past it */
    ck_rejected(validate(truncated(build(small), 1, 2), &roomy),
                "corrupt or truncated archive: ");
    ck_rejected(validate(truncated(build(large), 3, 4), &roomy),
                "corrupt or truncated archive at entry \"c.tf\"");
}
END_TEST

START_TEST(archive_damaged_gzip)
{
    static const char bad_method[] = "\x1f\x8b\x09\x00not deflate data";
    static const char bad_data[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00"
                                   "\x00\x03not deflate data at all";

    ck_rejected(validate(file_of(bad_method, sizeof(bad_method) - 1),
                         &roomy),
                "not a gzip-compressed tar archive");
    ck_rejected(validate(file_of(bad_data, sizeof(bad_data) - 1), &roomy),
                "corrupt or truncated archive");
}
END_TEST

START_TEST(archive_empty_file)
{
    ck_rejected(validate(file_of("", 0), &roomy),
                "not a gzip-compressed tar archive");
}
END_TEST

START_TEST(archive_missing_file_is_server_error)
{
    tp_err_t *err = validate("/nonexistent/tp-archive", &roomy);

    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 500);
    ck_assert_ptr_nonnull(err->log);
}
END_TEST

/* The detail goes into JSON and Postgres, which both refuse bad UTF-8:
 * a stray byte, a control character, a lead byte without its tail. */
START_TEST(archive_names_shown_safely)
{
    tp_err_t *err = validate_one((spec_t){"caf\xc3\xa9/\xff\x01\xc3(/../x",
                                          AE_IFREG, 1, NULL, NULL});

    ck_rejected(err, "\"caf\xc3\xa9/\x3f\x3f\x3f(/../x\": \"..\" path "
                "component");
}
END_TEST

START_TEST(archive_long_names_cut)
{
    char name[1000];

    memset(name, 'a', sizeof(name));
    memcpy(name, "../", 3);
    name[sizeof(name) - 1] = '\0';
    ck_rejected(validate_one((spec_t){name, AE_IFREG, 1, NULL, NULL}),
                "aaa...\": \"..\" path component");
}
END_TEST

/* ---- extraction ---- */

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st; (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static apr_status_t remove_tree(void *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return APR_SUCCESS;
}

/* A fresh directory in the system's temp directory, removed with p, its
 * contents too; the storage tests use it as well. */
const char *temp_dir(apr_pool_t *p);
const char *temp_dir(apr_pool_t *p)
{
    const char *tmp;
    char *dir;

    ck_assert_int_eq(apr_temp_dir_get(&tmp, p), APR_SUCCESS);
    dir = apr_pstrcat(p, tmp, "/tp-test-XXXXXX", NULL);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    apr_pool_cleanup_register(p, dir, remove_tree, apr_pool_cleanup_null);
    return dir;
}

/* An empty directory "dest" inside a fresh one (so that escapes would
 * land beside it and be seen), both removed with the pool. */
static const char *temp_dest(const char **outer)
{
    const char *top = temp_dir(pool), *dir;

    *outer = top;
    dir = apr_pstrcat(pool, top, "/dest", NULL);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    return dir;
}

static unsigned int mode_of(const char *dir, const char *name)
{
    struct stat st;

    ck_assert_int_eq(lstat(apr_pstrcat(pool, dir, "/", name, NULL), &st), 0);
    return st.st_mode;
}

/* How many entries dir holds (. and .. aside); the storage tests use it
 * too. */
int entries_in(apr_pool_t *p, const char *dir);
int entries_in(apr_pool_t *p, const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    int n = 0;

    ck_assert_int_eq(apr_dir_open(&d, dir, p), APR_SUCCESS);
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        n += strcmp(fi.name, ".") && strcmp(fi.name, "..");
    }
    apr_dir_close(d);
    return n;
}

START_TEST(extract_writes_tree_with_safe_modes)
{
    spec_t specs[] = {
        {"./", AE_IFDIR, 0, NULL, NULL, 0},
        {"main.tf", AE_IFREG, 100, NULL, NULL, 0666},
        {"deep/er/vpc.tf", AE_IFREG, 5000, NULL, NULL, 0},
        {"bin/", AE_IFDIR, 0, NULL, NULL, 0777},
        {"bin/run.sh", AE_IFREG, 10, NULL, NULL, 04777},
        {"deep/link.tf", AE_IFLNK, 0, "../main.tf", NULL, 0},
        {NULL}
    };
    tp_archive_info_t info = {-1, -1};
    const char *outer, *dest = temp_dest(&outer);
    mode_t old = umask(022);
    char target[64];
    ssize_t n;

    ck_assert_ptr_null(tp_archive_extract(pool, build(specs), dest, &roomy,
                                          &info));
    umask(old);
    ck_assert_int_eq(info.files, 3);
    ck_assert_int_eq(info.total_size, 5110);
    ck_assert_uint_eq(mode_of(dest, "main.tf"), S_IFREG | 0644);
    ck_assert_uint_eq(mode_of(dest, "bin/run.sh"), S_IFREG | 0755);
    ck_assert_uint_eq(mode_of(dest, "bin"), S_IFDIR | 0755);
    ck_assert_uint_eq(mode_of(dest, "deep/er"), S_IFDIR | 0755);
    ck_assert(S_ISLNK(mode_of(dest, "deep/link.tf")));
    n = readlink(apr_pstrcat(pool, dest, "/deep/link.tf", NULL), target,
                 sizeof(target) - 1);
    ck_assert_int_eq(n, 10);
    target[n] = '\0';
    ck_assert_str_eq(target, "../main.tf");
    {
        struct stat st;

        ck_assert_int_eq(stat(apr_pstrcat(pool, dest, "/deep/er/vpc.tf",
                                          NULL), &st), 0);
        ck_assert_int_eq(st.st_size, 5000);
    }
    ck_assert_int_eq(entries_in(pool, outer), 1);
}
END_TEST

/* The same archives are refused with the same words, and nothing is
 * written outside the destination. */
START_TEST(extract_refuses_what_validate_refuses)
{
    spec_t dotdot[] = {{"a.tf", AE_IFREG, 1, NULL, NULL, 0},
                       {"../evil.tf", AE_IFREG, 1, NULL, NULL, 0}, {NULL}};
    spec_t abs[] = {{"/tmp/evil.tf", AE_IFREG, 1, NULL, NULL, 0}, {NULL}};
    spec_t through[] = {{"up", AE_IFLNK, 0, ".", NULL, 0},
                        {"out", AE_IFLNK, 0, "..", NULL, 0},
                        {"out/evil.tf", AE_IFREG, 1, NULL, NULL, 0}, {NULL}};
    spec_t hard[] = {{"a.tf", AE_IFREG, 1, NULL, NULL, 0},
                     {"b.tf", AE_IFREG, 0, NULL, "a.tf", 0}, {NULL}};
    spec_t fifo[] = {{"p", AE_IFIFO, 0, NULL, NULL, 0}, {NULL}};
    spec_t big[] = {{"big.tf", AE_IFREG, 2 << 20, NULL, NULL, 0}, {NULL}};
    spec_t *bad[] = {dotdot, abs, through, hard, fifo, big};
    tp_archive_info_t info;
    const char *outer, *dest, *path;
    tp_err_t *want, *got;
    unsigned int i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dest = temp_dest(&outer);
        path = build(bad[i]);
        want = validate(path, &roomy);
        got = tp_archive_extract(pool, path, dest, &roomy, &info);
        ck_assert_ptr_nonnull(want);
        ck_assert_ptr_nonnull(got);
        ck_assert_int_eq(got->status, 422);
        ck_assert_str_eq(got->detail, want->detail);
        ck_assert_int_eq(entries_in(pool, outer), 1);
    }
}
END_TEST

START_TEST(extract_refuses_duplicates_and_bad_input)
{
    spec_t twice[] = {{"a.tf", AE_IFREG, 1, NULL, NULL, 0},
                      {"a.tf", AE_IFREG, 2, NULL, NULL, 0}, {NULL}};
    spec_t over_link[] = {{"l.tf", AE_IFLNK, 0, "a.tf", NULL, 0},
                          {"l.tf", AE_IFREG, 2, NULL, NULL, 0}, {NULL}};
    tp_archive_info_t info;
    const char *outer;
    tp_err_t *err;

    err = tp_archive_extract(pool, build(twice), temp_dest(&outer), &roomy,
                             &info);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 500);
    /* a file never follows a symlink of the same name */
    err = tp_archive_extract(pool, build(over_link), temp_dest(&outer),
                             &roomy, &info);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err->log, "\"l.tf\""));
    ck_assert_int_eq(entries_in(pool, outer), 1);
    ck_rejected(tp_archive_extract(pool, file_of("plain", 5),
                                   temp_dest(&outer), &roomy, &info),
                "not a gzip-compressed tar archive");
}
END_TEST

/* ---- stripping a provider's top directory ---- */

static const char *strip(const spec_t *specs, const tp_archive_limits_t *l,
                         tp_err_t **err, tp_archive_info_t *info)
{
    apr_file_t *f;
    const char *out = temp_file(&f);

    *err = tp_archive_strip(pool, build(specs), out, l, info);
    return out;
}

START_TEST(strip_moves_everything_up)
{
    spec_t specs[] = {
        {"org-repo-abc1234/", AE_IFDIR, 0, NULL, NULL},
        {"org-repo-abc1234/main.tf", AE_IFREG, 100, NULL, NULL},
        {"org-repo-abc1234/envs/", AE_IFDIR, 0, NULL, NULL},
        {"org-repo-abc1234/envs/dev/run.sh", AE_IFREG, 7, NULL, NULL, 0775},
        {"org-repo-abc1234/envs/up.tf", AE_IFLNK, 0, "../main.tf", NULL},
        {NULL}
    };
    tp_archive_info_t info;
    apr_array_header_t *files;
    const tp_archive_file_t *fs;
    tp_err_t *err;
    const char *out = strip(specs, &roomy, &err, &info);

    ck_assert_ptr_null(err);
    ck_assert_int_eq(info.files, 2);
    ck_assert_ptr_null(tp_archive_read(pool, out, &roomy, 1000, &files,
                                       &info));
    ck_assert_int_eq(files->nelts, 2);
    fs = (const tp_archive_file_t *)files->elts;
    ck_assert_str_eq(fs[0].path, "envs/dev/run.sh");
    ck_assert_str_eq(fs[1].path, "main.tf");
    ck_assert_int_eq(fs[1].size, 100);
}
END_TEST

START_TEST(strip_refuses_a_second_top)
{
    spec_t specs[] = {
        {"a/main.tf", AE_IFREG, 10, NULL, NULL},
        {"b/main.tf", AE_IFREG, 10, NULL, NULL},
        {NULL}
    };
    spec_t top_file[] = {
        {"a/main.tf", AE_IFREG, 10, NULL, NULL},
        {"README", AE_IFREG, 10, NULL, NULL},
        {NULL}
    };
    tp_archive_info_t info;
    tp_err_t *err;

    strip(specs, &roomy, &err, &info);
    ck_rejected(err, "outside the archive's single top directory");
    strip(top_file, &roomy, &err, &info);
    ck_rejected(err, "outside the archive's single top directory");
}
END_TEST

/* a link that stayed inside the old root may leave the new one */
START_TEST(strip_checks_the_stripped_names)
{
    spec_t climbs[] = {
        {"top/link", AE_IFLNK, 0, "../other", NULL},
        {NULL}
    };
    spec_t big[] = {
        {"top/a.tf", AE_IFREG, 1 << 20, NULL, NULL},
        {"top/b.tf", AE_IFREG, 1 << 20, NULL, NULL},
        {"top/c.tf", AE_IFREG, 1 << 20, NULL, NULL},
        {"top/d.tf", AE_IFREG, 1 << 20, NULL, NULL},
        {"top/e.tf", AE_IFREG, 1 << 20, NULL, NULL},
        {NULL}
    };
    tp_archive_info_t info;
    tp_err_t *err;

    strip(climbs, &roomy, &err, &info);
    ck_rejected(err, "symlink target escapes the archive root");
    strip(big, &roomy, &err, &info);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 422);
    ck_assert_ptr_nonnull(strstr(err->detail, "exceeds"));
}
END_TEST

Suite *archive_suite(void);

Suite *archive_suite(void)
{
    Suite *s = suite_create("archive");
    TCase *tc = tcase_create("archive");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, archive_valid_counts_files);
    tcase_add_test(tc, archive_empty_tar_accepted);
    tcase_add_test(tc, archive_limits_are_inclusive);
    tcase_add_test(tc, archive_absolute_path);
    tcase_add_test(tc, archive_dotdot_components);
    tcase_add_test(tc, archive_symlink_escapes);
    tcase_add_test(tc, archive_symlink_dotdot_after_name);
    tcase_add_test(tc, archive_entry_through_symlink);
    tcase_add_test(tc, archive_hard_link);
    tcase_add_test(tc, archive_device_and_fifo);
    tcase_add_test(tc, archive_root_must_be_a_directory);
    tcase_add_test(tc, archive_entry_too_large);
    tcase_add_test(tc, archive_total_too_large);
    tcase_add_test(tc, archive_too_many_entries);
    tcase_add_test(tc, archive_plain_tar);
    tcase_add_test(tc, archive_other_compressions);
    tcase_add_test(tc, archive_zip_plain_and_gzipped);
    tcase_add_test(tc, archive_garbage);
    tcase_add_test(tc, archive_gzipped_garbage);
    tcase_add_test(tc, archive_truncated);
    tcase_add_test(tc, archive_damaged_gzip);
    tcase_add_test(tc, archive_empty_file);
    tcase_add_test(tc, archive_missing_file_is_server_error);
    tcase_add_test(tc, archive_names_shown_safely);
    tcase_add_test(tc, archive_long_names_cut);
    tcase_add_test(tc, extract_writes_tree_with_safe_modes);
    tcase_add_test(tc, extract_refuses_what_validate_refuses);
    tcase_add_test(tc, extract_refuses_duplicates_and_bad_input);
    tcase_add_test(tc, strip_moves_everything_up);
    tcase_add_test(tc, strip_refuses_a_second_top);
    tcase_add_test(tc, strip_checks_the_stripped_names);
    suite_add_tcase(s, tc);
    return s;
}
