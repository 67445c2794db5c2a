/* SHA256SUMS manifests and provider zips. A zip is read by its central
 * directory, as terraform's own unzip reads it, so what is checked here is
 * what terraform installs; every entry's data is read through, so sizes
 * are the real ones and not what the headers claim. */
#include <string.h>
#include <stdlib.h>
#include <archive.h>
#include <archive_entry.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_lib.h>
#include "tp_crypto.h"
#include "tp_zip.h"

#define READ_BLOCK 65536
#define SHA256_HEX 64

/* ---- SHA256SUMS ---- */

/* One line: 64 hex digits, two spaces (or a space and the '*' of binary
 * mode), and a name without white space. */
static int parse_line(const char *s, apr_size_t n, const char **name,
                      apr_size_t *nlen)
{
    apr_size_t i;

    if (n < SHA256_HEX + 3) {
        return 0;
    }
    for (i = 0; i < SHA256_HEX; i++) {
        if (!apr_isxdigit(s[i])) {
            return 0;
        }
    }
    if (s[i] != ' ' || (s[i + 1] != ' ' && s[i + 1] != '*')) {
        return 0;
    }
    *name = s + SHA256_HEX + 2;
    *nlen = n - SHA256_HEX - 2;
    for (i = 0; i < *nlen; i++) {
        if (!apr_isgraph((*name)[i])) {
            return 0;
        }
    }
    return 1;
}

tp_err_t *tp_shasums_find(apr_pool_t *p, const char *sums, apr_size_t len,
                          const char *filename, const char **hex)
{
    apr_size_t at = 0, next, n, nlen, fl = strlen(filename), i;
    const char *end, *name;
    char *digest;
    int line = 0;

    *hex = NULL;
    for (; at < len; at = next) {
        end = memchr(sums + at, '\n', len - at);
        next = end ? (apr_size_t)(end - sums) + 1 : len;
        n = (end ? (apr_size_t)(end - sums) : len) - at;
        line++;
        if (n > 0 && sums[at + n - 1] == '\r') {
            n--;
        }
        if (n == 0) {
            continue;
        }
        if (!parse_line(sums + at, n, &name, &nlen)) {
            *hex = NULL;
            return tp_err(p, 422, "SHA256SUMS line %d is not \"<sha256 hex>  "
                          "<file name>\"", line);
        }
        if (nlen != fl || memcmp(name, filename, fl)) {
            continue;
        }
        digest = apr_pstrmemdup(p, sums + at, SHA256_HEX);
        for (i = 0; i < SHA256_HEX; i++) {
            digest[i] = apr_tolower(digest[i]);
        }
        if (*hex && strcmp(*hex, digest)) {
            *hex = NULL;
            return tp_err(p, 422, "SHA256SUMS names %s twice with different "
                          "digests", filename);
        }
        *hex = digest;
    }
    return NULL;
}

/* ---- zip archives ---- */

typedef struct entry {
    const char *name;
    unsigned int type;          /* AE_IFREG, AE_IFDIR, ... */
    const char *sha256;         /* hex of the data, when hashed */
} entry_t;

static apr_status_t free_archive(void *a)
{
    archive_read_free(a);
    return APR_SUCCESS;
}

static tp_err_t *not_zip(apr_pool_t *p, struct archive *a)
{
    const char *why = archive_error_string(a);

    return tp_err(p, 422, "not a readable zip archive%s%s",
                  why ? ": " : "", why ? why : "");
}

/* Reads the entry's data through, counting it against the total and
 * hashing it when asked. */
static tp_err_t *read_data(apr_pool_t *p, struct archive *a, char *buf,
                           apr_off_t *total, entry_t *e, int hash)
{
    tp_digest_t *d = hash ? tp_sha256_begin(p) : NULL;
    la_ssize_t n;

    while ((n = archive_read_data(a, buf, READ_BLOCK)) > 0) {
        *total += n;
        if (*total > TP_ZIP_MAX_TOTAL) {
            return tp_err(p, 422, "the zip unpacks to more than %"
                          APR_OFF_T_FMT " bytes", TP_ZIP_MAX_TOTAL);
        }
        if (d) {
            tp_digest_update(d, buf, (apr_size_t)n);
        }
    }
    if (n < 0) {
        return tp_err(p, 422, "entry %s cannot be read: %s", e->name,
                      archive_error_string(a));
    }
    if (d) {
        e->sha256 = tp_digest_hex(d, p);
    }
    return NULL;
}

/* Every entry of the zip at path, in its central directory's order, read
 * through within the bounds. */
static tp_err_t *walk(apr_pool_t *p, const char *path, int hash,
                      apr_array_header_t **entries)
{
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    apr_off_t total = 0;
    char *buf = apr_palloc(p, READ_BLOCK);
    const char *name;
    entry_t *e;
    tp_err_t *err;
    int rc;

    if (!a) {
        return tp_err_internal(p, 500, "the zip could not be read",
                               "archive_read_new failed");
    }
    apr_pool_cleanup_register(p, a, free_archive, apr_pool_cleanup_null);
    *entries = apr_array_make(p, 16, sizeof(entry_t));
    if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK
        || archive_read_open_filename(a, path, READ_BLOCK) != ARCHIVE_OK) {
        return not_zip(p, a);
    }
    while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK
           || rc == ARCHIVE_WARN) {
        if ((*entries)->nelts >= TP_ZIP_MAX_ENTRIES) {
            return tp_err(p, 422, "the zip has more than %d entries",
                          TP_ZIP_MAX_ENTRIES);
        }
        name = archive_entry_pathname_utf8(ae);
        name = name ? name : archive_entry_pathname(ae);
        if (!name) {
            return tp_err(p, 422, "entry %d has no name",
                          (*entries)->nelts + 1);
        }
        if (archive_entry_is_encrypted(ae)) {
            return tp_err(p, 422, "the zip holds encrypted entries");
        }
        e = apr_array_push(*entries);
        e->name = apr_pstrdup(p, name);
        e->type = archive_entry_filetype(ae);
        e->sha256 = NULL;
        if ((err = read_data(p, a, buf, &total, e, hash))) {
            return err;
        }
    }
    return rc == ARCHIVE_EOF ? NULL : not_zip(p, a);
}

/* Why a name may not be installed as it stands, or NULL: only printable
 * ASCII, relative, no backslashes and no ".." component. */
static const char *name_problem(const char *name)
{
    const char *c;
    apr_size_t n;

    for (c = name; *c; c++) {
        if (*c < 0x20 || *c > 0x7E) {
            return "has a name that is not printable ASCII";
        }
    }
    if (!*name || *name == '/' || strchr(name, '\\')) {
        return "is not a relative path";
    }
    for (c = name; *c; c += n + (c[n] == '/')) {
        n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            return "has a \"..\" component";
        }
    }
    return NULL;
}

static tp_err_t *entry_problem(apr_pool_t *p, int i, const entry_t *e)
{
    const char *why = name_problem(e->name);

    if (why) {
        return tp_err(p, 422, "zip entry %d %s", i + 1, why);
    }
    if (e->type != AE_IFREG && e->type != AE_IFDIR) {
        return tp_err(p, 422, "zip entry %s is %s", e->name,
                      e->type == AE_IFLNK ? "a symlink" : "not a regular "
                      "file or directory");
    }
    return NULL;
}

tp_err_t *tp_zip_check(apr_pool_t *p, const char *path,
                       const char *binary_prefix)
{
    apr_array_header_t *entries;
    apr_hash_t *seen = apr_hash_make(p);
    apr_size_t plen = strlen(binary_prefix);
    const entry_t *e;
    tp_err_t *err;
    int i, binaries = 0;

    if ((err = walk(p, path, 0, &entries))) {
        return err;
    }
    for (i = 0; i < entries->nelts; i++) {
        e = &APR_ARRAY_IDX(entries, i, entry_t);
        if ((err = entry_problem(p, i, e))) {
            return err;
        }
        if (apr_hash_get(seen, e->name, APR_HASH_KEY_STRING)) {
            return tp_err(p, 422, "zip entry %s appears twice", e->name);
        }
        apr_hash_set(seen, e->name, APR_HASH_KEY_STRING, e);
        binaries += e->type == AE_IFREG && !strchr(e->name, '/')
                    && !strncmp(e->name, binary_prefix, plen);
    }
    if (binaries != 1) {
        return tp_err(p, 422, "the zip must hold exactly one provider binary "
                      "%s* at its top, not %d", binary_prefix, binaries);
    }
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry_t *)a)->name, ((const entry_t *)b)->name);
}

tp_err_t *tp_zip_h1(apr_pool_t *p, const char *path, const char **h1)
{
    apr_array_header_t *entries;
    tp_digest_t *d;
    const entry_t *e;
    const char *line;
    tp_err_t *err;
    int i;

    *h1 = NULL;
    if ((err = walk(p, path, 1, &entries))) {
        return err;
    }
    qsort(entries->elts, entries->nelts, sizeof(entry_t), by_name);
    d = tp_sha256_begin(p);
    for (i = 0; i < entries->nelts; i++) {
        e = &APR_ARRAY_IDX(entries, i, entry_t);
        if (strchr(e->name, '\n')) {
            return tp_err(p, 422, "zip entry %d has a newline in its name",
                          i + 1);
        }
        line = apr_psprintf(p, "%s  %s\n", e->sha256, e->name);
        tp_digest_update(d, line, strlen(line));
    }
    *h1 = apr_pstrcat(p, "h1:", tp_digest_base64(d, p), NULL);
    return NULL;
}
