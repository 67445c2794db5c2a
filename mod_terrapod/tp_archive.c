/* Validation, extraction, reading and rewriting of configuration tarballs,
 * the only code that talks to libarchive. All walk the entries with the
 * same checks by name and type, and read the data so that the sizes
 * counted are the real ones; extraction then writes what passed, with
 * modes of its own choosing, reading keeps the regular files in memory,
 * and stripping copies them into a new archive one level up. */
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <archive.h>
#include <archive_entry.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_file_io.h>
#include <apr_portable.h>
#include <apr_sha1.h>
#include "tp_archive.h"

#define READ_BLOCK 65536
#define NAME_SHOWN 200      /* bytes of an entry name quoted in an error */

typedef struct scan {
    apr_pool_t *p;          /* the caller's: errors are made here */
    apr_pool_t *scratch;    /* cleared for every entry */
    struct archive *a;
    const tp_archive_limits_t *limits;
    apr_hash_t *symlinks;   /* normalised paths of the symlinks seen */
    char *buf;
    const char *dest;       /* extraction directory; NULL to validate */
    apr_array_header_t *read;   /* files into memory when not NULL */
    apr_hash_t *seen;       /* path -> its index in read */
    apr_size_t keep;        /* largest file held in memory */
    tp_archive_wanted_fn *wanted;   /* the files read; NULL: all */
    tp_archive_file_t *cur; /* the file being read */
    apr_size_t cap;         /* bytes allocated for its data */
    apr_sha1_ctx_t sha1;
    struct archive *out;    /* stripping: the archive written */
    const char *top;        /* stripping: the one top directory */
    int copy_data;          /* the entry's data goes to out */
    int over_total;         /* status when max_total_size is passed */
    int entries;
    int files;
    apr_off_t total;
} scan_t;

static apr_status_t free_archive(void *data)
{
    archive_read_free(data);
    return APR_SUCCESS;
}

/* Length of the valid UTF-8 sequence at s, or 0: no overlong forms, no
 * surrogates, nothing past U+10FFFF, as jansson and Postgres insist. */
static apr_size_t utf8_seq(const unsigned char *s)
{
    apr_size_t n, i;
    unsigned int cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {    /* also stops at the NUL */
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        return 0;
    }
    return n;
}

/* Names come from the client and go back to it in a JSON error and into
 * the database, both of which refuse invalid UTF-8 outright: anything
 * that is not printable UTF-8 becomes '?', and long names are cut. */
static const char *shown(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, NAME_SHOWN + 4);
    apr_size_t i = 0, o = 0, n;

    while (s[i]) {
        n = utf8_seq((const unsigned char *)s + i);
        if (i + (n ? n : 1) > NAME_SHOWN) {
            break;
        }
        if (n == 0 || (n == 1 && ((unsigned char)s[i] < 0x20
                                  || s[i] == 0x7F))) {
            out[o++] = '?';
            i++;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    if (s[i]) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static tp_err_t *reject(scan_t *s, const char *name, const char *why)
{
    return tp_err(s->p, 422, "entry \"%s\": %s", shown(s->p, name), why);
}

static tp_err_t *not_targz(scan_t *s)
{
    return tp_err(s->p, 422, "not a gzip-compressed tar archive");
}

static tp_err_t *corrupt(scan_t *s, const char *name)
{
    const char *why = archive_error_string(s->a);

    why = why ? shown(s->p, why) : "unreadable data";
    if (name) {
        return tp_err(s->p, 422, "corrupt or truncated archive at entry "
                      "\"%s\": %s", shown(s->p, name), why);
    }
    if (s->entries > 0) {
        return tp_err(s->p, 422, "corrupt or truncated archive after %d "
                      "entries: %s", s->entries, why);
    }
    return tp_err(s->p, 422, "corrupt or truncated archive: %s", why);
}

/* Decided here rather than by libarchive, which answers an empty file and
 * a damaged gzip stream alike by failing to open. */
static int has_gzip_magic(apr_file_t *f)
{
    unsigned char magic[2];
    apr_size_t n = sizeof(magic);
    apr_off_t start = 0;

    return apr_file_read_full(f, magic, n, &n) == APR_SUCCESS
           && magic[0] == 0x1F && magic[1] == 0x8B
           && apr_file_seek(f, APR_SET, &start) == APR_SUCCESS;
}

/* The magic is no proof: a plain tar whose first name starts with those
 * bytes has it, and libarchive reads input that no enabled filter claims
 * as it is, "none" filter or not. Only the chain shows gzip was used:
 * exactly one gzip layer over the raw file. */
static int is_gzip(struct archive *a)
{
    return archive_filter_count(a) == 2
           && archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP;
}

static tp_err_t *cannot_read(scan_t *s, const char *path, apr_status_t rv)
{
    char msg[120];

    return tp_err_internal(s->p, 500, "the upload could not be read",
                           apr_psprintf(s->p, "open %s: %s", path,
                                        apr_strerror(rv, msg, sizeof(msg))));
}

/* The file is opened here rather than by libarchive so that a server-side
 * read failure is told apart from a bad archive. Both live in sp, the
 * archive's cleanup registered last so it runs before the file closes.
 * The raw format claims whatever the tar reader does not, so that gzip
 * around something other than tar opens and is refused by its format,
 * leaving a failure to open to mean damaged gzip data. */
static tp_err_t *open_archive(scan_t *s, apr_pool_t *sp, const char *path)
{
    apr_file_t *f;
    apr_os_file_t fd;
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT,
                                    sp);

    if (rv != APR_SUCCESS) {
        return cannot_read(s, path, rv);
    }
    if (!has_gzip_magic(f)) {
        return not_targz(s);
    }
    apr_os_file_get(&fd, f);
    s->a = archive_read_new();
    if (!s->a) {
        return tp_err_internal(s->p, 500, "the upload could not be read",
                               "archive_read_new failed");
    }
    apr_pool_cleanup_register(sp, s->a, free_archive, apr_pool_cleanup_null);
    /* ARCHIVE_WARN only means an external gzip program will be used */
    if (archive_read_support_filter_gzip(s->a) < ARCHIVE_WARN
        || archive_read_support_format_tar(s->a) != ARCHIVE_OK
        || archive_read_support_format_raw(s->a) != ARCHIVE_OK) {
        return tp_err_internal(s->p, 500, "the upload could not be read",
                               archive_error_string(s->a));
    }
    if (archive_read_open_fd(s->a, fd, READ_BLOCK) != ARCHIVE_OK) {
        return corrupt(s, NULL);
    }
    return is_gzip(s->a) ? NULL : not_targz(s);
}

/* Under httpd's C locale a non-ASCII name has no locale form, and a NULL
 * would hide the entry from every check: fall back to the raw bytes. */
static const char *entry_path(struct archive_entry *e)
{
    const char *s = archive_entry_pathname_utf8(e);

    return s ? s : archive_entry_pathname(e);
}

static const char *entry_symlink(struct archive_entry *e)
{
    const char *s = archive_entry_symlink_utf8(e);

    return s ? s : archive_entry_symlink(e);
}

/* Any form will do: one that fails to convert must not hide the link. */
static int is_hardlink(struct archive_entry *e)
{
    return archive_entry_hardlink(e) || archive_entry_hardlink_utf8(e)
           || archive_entry_hardlink_w(e);
}

/* Length of the component at c, and whether it is "." or "..". */
static apr_size_t component(const char *c, int *dot, int *dotdot)
{
    apr_size_t n = strcspn(c, "/");

    *dot = n == 1 && c[0] == '.';
    *dotdot = n == 2 && c[0] == '.' && c[1] == '.';
    return n;
}

/* Refuses what an extractor would place outside its directory, and drops
 * "." and empty components so "./a//b" and "a/b" are one path when symlinks
 * are looked up. */
static const char *normalise(apr_pool_t *p, const char *name,
                             const char **norm)
{
    char *out = apr_palloc(p, strlen(name) + 1);
    apr_size_t n, o = 0;
    int dot, dotdot;

    if (*name == '/') {
        return "absolute path";
    }
    while (*name) {
        n = component(name, &dot, &dotdot);
        if (dotdot) {
            return "\"..\" path component";
        }
        if (n > 0 && !dot) {
            if (o > 0) {
                out[o++] = '/';
            }
            memcpy(out + o, name, n);
            o += n;
        }
        name += n + (name[n] == '/');
    }
    out[o] = '\0';
    *norm = out;
    return NULL;
}

/* An entry below a symlink would be written wherever the link points,
 * and a symlink below one would be resolved from there. */
static const char *through_symlink(scan_t *s, const char *norm)
{
    const char *c, *link;

    if (apr_hash_count(s->symlinks) == 0) {
        return NULL;
    }
    for (c = strchr(norm, '/'); c; c = strchr(c + 1, '/')) {
        if (apr_hash_get(s->symlinks, norm, c - norm)) {
            link = apr_pstrmemdup(s->scratch, norm, c - norm);
            return apr_psprintf(s->scratch, "path goes through symlink "
                                "\"%s\"", shown(s->scratch, link));
        }
    }
    return NULL;
}

/* The target is resolved from the link's own directory, which is a real
 * one (through_symlink). Leading ".." may climb no higher than the root;
 * after a name no ".." may follow, since that name may be another symlink
 * and ".." would then be taken from wherever it points, which no lexical
 * check can follow. Descending alone stays inside: every symlink passed
 * on the way is itself checked to stay inside. */
static const char *target_problem(const char *norm, const char *target)
{
    int depth = 0, named = 0, dot, dotdot;
    const char *c;
    apr_size_t n;

    if (!target || !*target) {
        return "symlink has no target";
    }
    if (*target == '/') {
        return "symlink target is absolute";
    }
    for (c = norm; *c; c++) {
        depth += *c == '/';
    }
    for (c = target; *c; c += n + (c[n] == '/')) {
        n = component(c, &dot, &dotdot);
        if (dotdot && named) {
            return "symlink target has \"..\" after a name";
        }
        if (dotdot && --depth < 0) {
            return "symlink target escapes the archive root";
        }
        named |= n > 0 && !dot && !dotdot;
    }
    return NULL;
}

static const char *type_problem(unsigned int type)
{
    switch (type) {
    case AE_IFCHR:  return "character devices are not allowed";
    case AE_IFBLK:  return "block devices are not allowed";
    case AE_IFIFO:  return "fifos are not allowed";
    case AE_IFSOCK: return "sockets are not allowed";
    default:        return "entries of unknown type are not allowed";
    }
}

/* Why an entry's type or link is not allowed, or NULL. */
static const char *kind_problem(scan_t *s, struct archive_entry *e,
                                const char *norm)
{
    unsigned int type = archive_entry_filetype(e);
    apr_pool_t *keep = apr_hash_pool_get(s->symlinks);
    const char *why;

    /* checked first: a tar hard link also reports itself a regular file */
    if (is_hardlink(e)) {
        return "hard links are not allowed";
    }
    if (!*norm && type != AE_IFDIR) {
        return "names the archive root";
    }
    switch (type) {
    case AE_IFREG:
        s->files++;
        return NULL;
    case AE_IFDIR:
        return NULL;
    case AE_IFLNK:
        why = target_problem(norm, entry_symlink(e));
        if (!why) {
            apr_hash_set(s->symlinks, apr_pstrdup(keep, norm),
                         APR_HASH_KEY_STRING, "");
        }
        return why;
    default:
        return type_problem(type);
    }
}

static tp_err_t *write_failed(scan_t *s, const char *name, const char *what)
{
    return tp_err_internal(s->p, 500, "the archive could not be extracted",
                           apr_psprintf(s->p, "%s for entry \"%s\": %s", what,
                                        shown(s->p, name), strerror(errno)));
}

static tp_err_t *write_error(apr_pool_t *p, struct archive *a,
                             const char *what);

/* Appends the block just read to the file being read while it stays
 * within keep; its digest covers every byte. */
static void hold(scan_t *s, apr_size_t n)
{
    tp_archive_file_t *f = s->cur;
    apr_size_t want = f->len + n + 1;
    char *grown;

    f->size += n;
    apr_sha1_update_binary(&s->sha1, (const unsigned char *)s->buf,
                           (unsigned int)n);
    if (f->size > (apr_off_t)s->keep) {
        f->data = NULL;
        f->len = 0;
        return;
    }
    /* sized from the header at the start; grown only past a lying one */
    if (want > s->cap) {
        s->cap = want * 2 < s->keep + 1 ? want * 2 : s->keep + 1;
        grown = apr_palloc(s->p, s->cap);
        memcpy(grown, f->data, f->len);
        f->data = grown;
    }
    memcpy((char *)f->data + f->len, s->buf, n);
    f->len += n;
    ((char *)f->data)[f->len] = '\0';
}

/* Reads the data rather than trusting the header, whatever the entry's
 * type (a directory may carry a body too), and stops as soon as a limit
 * is passed, so a compression bomb costs no more than the limits. The
 * data goes to fd unless that is -1. */
static tp_err_t *read_data(scan_t *s, const char *name, int fd)
{
    const tp_archive_limits_t *l = s->limits;
    apr_off_t size = 0;
    la_ssize_t n;

    while ((n = archive_read_data(s->a, s->buf, READ_BLOCK)) > 0) {
        size += n;
        s->total += n;
        if (size > l->max_entry_size) {
            return reject(s, name, apr_psprintf(s->scratch, "larger than %"
                          APR_OFF_T_FMT " bytes", l->max_entry_size));
        }
        if (s->total > l->max_total_size) {
            return tp_err(s->p, s->over_total, "entry \"%s\": archive "
                          "exceeds %" APR_OFF_T_FMT " bytes uncompressed",
                          shown(s->p, name), l->max_total_size);
        }
        if (s->cur) {
            hold(s, (apr_size_t)n);
        }
        if (fd >= 0 && write(fd, s->buf, (size_t)n) != n) {
            return write_failed(s, name, "write");
        }
        if (s->copy_data && archive_write_data(s->out, s->buf, (size_t)n)
                            != n) {
            return write_error(s->p, s->out, name);
        }
    }
    return n < 0 ? corrupt(s, name) : NULL;
}

/* Creates the directories above norm that the archive did not list. Each
 * is a real directory: nothing in dest comes from elsewhere, and no entry
 * passed through a symlink (through_symlink). */
static tp_err_t *make_parents(scan_t *s, const char *name, const char *norm)
{
    char *path = apr_pstrcat(s->scratch, s->dest, "/", norm, NULL);
    char *c = path + strlen(s->dest) + 1;
    struct stat st;

    while ((c = strchr(c, '/')) != NULL) {
        *c = '\0';
        if (mkdir(path, 0755) != 0 && (errno != EEXIST
                                       || lstat(path, &st) != 0
                                       || !S_ISDIR(st.st_mode))) {
            return write_failed(s, name, "mkdir");
        }
        *c++ = '/';
    }
    return NULL;
}

/* Files are new (O_EXCL: a second entry of one name is refused), never
 * followed through a link, and get 0644 or 0755 whatever the archive
 * says: no set-id bits, no world-writable files, no foreign owners. */
static tp_err_t *extract_entry(scan_t *s, struct archive_entry *e,
                               const char *name, const char *norm)
{
    const char *path = apr_pstrcat(s->scratch, s->dest, "/", norm, NULL);
    struct stat st;
    tp_err_t *err;
    int fd;

    if (!*norm) {
        return read_data(s, name, -1);      /* the root itself */
    }
    if ((err = make_parents(s, name, norm)) != NULL) {
        return err;
    }
    switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
        if (mkdir(path, 0755) != 0 && (errno != EEXIST || lstat(path, &st)
                                       != 0 || !S_ISDIR(st.st_mode))) {
            return write_failed(s, name, "mkdir");
        }
        return read_data(s, name, -1);
    case AE_IFLNK:
        if (symlink(entry_symlink(e), path) != 0) {
            return write_failed(s, name, "symlink");
        }
        return read_data(s, name, -1);
    default:
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  (archive_entry_perm(e) & 0111) ? 0755 : 0644);
        if (fd < 0) {
            return write_failed(s, name, "open");
        }
        err = read_data(s, name, fd);
        if (close(fd) != 0 && !err) {
            err = write_failed(s, name, "close");
        }
        return err;
    }
}

/* A regular file into memory, replacing an earlier entry of its path. */
static tp_err_t *read_file(scan_t *s, struct archive_entry *e,
                           const char *name, const char *norm)
{
    apr_off_t header = archive_entry_size(e);
    int *at = apr_hash_get(s->seen, norm, APR_HASH_KEY_STRING);
    tp_archive_file_t *f;
    const char *path;
    tp_err_t *err;

    if (at) {
        f = &APR_ARRAY_IDX(s->read, *at, tp_archive_file_t);
        path = f->path;
    } else {
        f = apr_array_push(s->read);
        at = apr_palloc(s->p, sizeof(*at));
        *at = s->read->nelts - 1;
        path = apr_pstrdup(s->p, norm);
        apr_hash_set(s->seen, path, APR_HASH_KEY_STRING, at);
    }
    memset(f, 0, sizeof(*f));
    f->path = path;
    s->cap = (header > 0 && header <= (apr_off_t)s->keep
              ? (apr_size_t)header : 0) + 1;
    f->data = apr_palloc(s->p, s->cap);
    ((char *)f->data)[0] = '\0';
    apr_sha1_init(&s->sha1);
    s->cur = f;
    err = read_data(s, name, -1);
    s->cur = NULL;
    apr_sha1_final(f->sha1, &s->sha1);
    return err;
}

/* A provider's archive of a commit holds everything in one directory
 * named after the commit: norm loses that first component, and an entry
 * elsewhere is refused. The root itself stays the root. */
static const char *strip_top(scan_t *s, const char **norm)
{
    const char *slash = strchr(*norm, '/');
    apr_size_t n = slash ? (apr_size_t)(slash - *norm) : strlen(*norm);

    if (n == 0) {
        return NULL;
    }
    if (!s->top) {
        s->top = apr_pstrmemdup(s->p, *norm, n);
    }
    else if (strlen(s->top) != n || strncmp(s->top, *norm, n) != 0) {
        return "outside the archive's single top directory";
    }
    *norm = slash ? slash + 1 : "";
    return NULL;
}

/* Copies an entry that passed the checks under its stripped name, in the
 * form tp_archive_write gives: modes 0644 or 0755, no owners. */
static tp_err_t *copy_entry(scan_t *s, struct archive_entry *e,
                            const char *name, const char *norm)
{
    unsigned int type = archive_entry_filetype(e);
    struct archive_entry *o;
    tp_err_t *err;

    if (!*norm) {
        return read_data(s, name, -1);      /* the top directory itself */
    }
    o = archive_entry_new();
    archive_entry_set_pathname_utf8(o, norm);
    archive_entry_set_filetype(o, type);
    archive_entry_set_perm(o, type == AE_IFDIR
                              || (archive_entry_perm(e) & 0111) ? 0755
                                                                : 0644);
    archive_entry_set_mtime(o, archive_entry_mtime(e), 0);
    if (type == AE_IFLNK) {
        archive_entry_set_symlink_utf8(o, entry_symlink(e));
    }
    if (type == AE_IFREG) {
        archive_entry_set_size(o, archive_entry_size(e));
    }
    if (archive_write_header(s->out, o) != ARCHIVE_OK) {
        err = write_error(s->p, s->out, norm);
    }
    else {
        s->copy_data = type == AE_IFREG;
        err = read_data(s, name, -1);
        s->copy_data = 0;
    }
    archive_entry_free(o);
    return err;
}

static tp_err_t *check_entry(scan_t *s, struct archive_entry *e)
{
    const char *name = entry_path(e);
    const char *norm, *why;

    if (!name) {
        return tp_err(s->p, 422, "entry %d has no readable name",
                      s->entries + 1);
    }
    if (++s->entries > s->limits->max_entries) {
        return reject(s, name, apr_psprintf(s->scratch, "archive has more "
                      "than %d entries", s->limits->max_entries));
    }
    if ((why = normalise(s->scratch, name, &norm)) != NULL
        || (s->out && (why = strip_top(s, &norm)) != NULL)
        || (why = through_symlink(s, norm)) != NULL
        || (why = kind_problem(s, e, norm)) != NULL) {
        return reject(s, name, why);
    }
    if (s->dest) {
        return extract_entry(s, e, name, norm);
    }
    if (s->out) {
        return copy_entry(s, e, name, norm);
    }
    if (s->read && archive_entry_filetype(e) == AE_IFREG
        && (!s->wanted || s->wanted(norm))) {
        return read_file(s, e, name, norm);
    }
    return read_data(s, name, -1);
}

static tp_err_t *check_entries(scan_t *s)
{
    struct archive_entry *e;
    tp_err_t *err;
    int rv;

    for (;;) {
        apr_pool_clear(s->scratch);
        rv = archive_read_next_header(s->a, &e);
        if (rv == ARCHIVE_EOF) {
            return NULL;
        }
        if (rv != ARCHIVE_OK && rv != ARCHIVE_WARN) {
            return corrupt(s, NULL);
        }
        /* the format is chosen on the first header; see open_archive */
        if ((archive_format(s->a) & ARCHIVE_FORMAT_BASE_MASK)
            != ARCHIVE_FORMAT_TAR) {
            return not_targz(s);
        }
        if ((err = check_entry(s, e)) != NULL) {
            return err;
        }
    }
}

/* s carries what the caller wants besides validation: a destination to
 * extract to, or an array to read files into. */
static tp_err_t *walk(scan_t *s, apr_pool_t *p, const char *path,
                      const tp_archive_limits_t *limits,
                      tp_archive_info_t *info)
{
    apr_pool_t *sp;
    tp_err_t *err;

    /* everything libarchive holds goes with sp, on every path out */
    apr_pool_create(&sp, p);
    apr_pool_create(&s->scratch, sp);
    s->p = p;
    s->limits = limits;
    s->symlinks = apr_hash_make(sp);
    s->buf = apr_palloc(sp, READ_BLOCK);
    if (!s->over_total) {
        s->over_total = 422;
    }
    err = open_archive(s, sp, path);
    if (!err) {
        err = check_entries(s);
    }
    apr_pool_destroy(sp);
    if (!err) {
        info->files = s->files;
        info->total_size = s->total;
    }
    return err;
}

tp_archive_limits_t tp_archive_config_limits(apr_off_t max)
{
    tp_archive_limits_t l;

    l.max_entry_size = max;
    l.max_total_size = max;
    l.max_entries = 100000;
    return l;
}

tp_err_t *tp_archive_validate(apr_pool_t *p, const char *path,
                              const tp_archive_limits_t *limits,
                              tp_archive_info_t *info)
{
    scan_t s;

    memset(&s, 0, sizeof(s));
    return walk(&s, p, path, limits, info);
}

tp_err_t *tp_archive_extract(apr_pool_t *p, const char *path,
                             const char *dest_dir,
                             const tp_archive_limits_t *limits,
                             tp_archive_info_t *info)
{
    scan_t s;

    memset(&s, 0, sizeof(s));
    s.dest = dest_dir;
    return walk(&s, p, path, limits, info);
}

static int by_path(const void *x, const void *y)
{
    return strcmp(((const tp_archive_file_t *)x)->path,
                  ((const tp_archive_file_t *)y)->path);
}

tp_err_t *tp_archive_read(apr_pool_t *p, const char *path,
                          const tp_archive_limits_t *limits, apr_size_t keep,
                          apr_array_header_t **files,
                          tp_archive_info_t *info)
{
    return tp_archive_read_some(p, path, limits, keep, NULL, files, info);
}

tp_err_t *tp_archive_read_some(apr_pool_t *p, const char *path,
                               const tp_archive_limits_t *limits,
                               apr_size_t keep, tp_archive_wanted_fn *wanted,
                               apr_array_header_t **files,
                               tp_archive_info_t *info)
{
    scan_t s;
    tp_err_t *err;

    memset(&s, 0, sizeof(s));
    s.read = apr_array_make(p, 16, sizeof(tp_archive_file_t));
    s.seen = apr_hash_make(p);
    s.keep = keep;
    s.wanted = wanted;
    s.over_total = 413;
    if ((err = walk(&s, p, path, limits, info)) != NULL) {
        return err;
    }
    qsort(s.read->elts, s.read->nelts, sizeof(tp_archive_file_t), by_path);
    *files = s.read;
    return NULL;
}

/* ---- writing ---- */

static apr_status_t free_writer(void *data)
{
    archive_write_free(data);
    return APR_SUCCESS;
}

static tp_err_t *write_error(apr_pool_t *p, struct archive *a,
                             const char *what)
{
    return tp_err_internal(p, 500, "cannot write the archive",
                           apr_psprintf(p, "%s: %s", what,
                                        archive_error_string(a)
                                        ? archive_error_string(a) : "?"));
}

static tp_err_t *write_file(apr_pool_t *p, struct archive *a, char *buf,
                            const char *root, const char *name)
{
    const char *full = apr_pstrcat(p, root, "/", name, NULL);
    struct archive_entry *e;
    struct stat st;
    tp_err_t *err = NULL;
    ssize_t n;
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        return tp_err_internal(p, 500, "cannot write the archive",
                               apr_psprintf(p, "%s is no readable regular "
                                            "file", full));
    }
    e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, st.st_mode & 0111 ? 0755 : 0644);
    archive_entry_set_size(e, st.st_size);
    archive_entry_set_mtime(e, st.st_mtime, 0);
    if (archive_write_header(a, e) != ARCHIVE_OK) {
        err = write_error(p, a, name);
    }
    while (!err && (n = read(fd, buf, READ_BLOCK)) > 0) {
        if (archive_write_data(a, buf, (size_t)n) != n) {
            err = write_error(p, a, name);
        }
    }
    if (!err && n < 0) {
        err = tp_err_internal(p, 500, "cannot write the archive",
                              apr_psprintf(p, "read %s: %s", full,
                                           strerror(errno)));
    }
    archive_entry_free(e);
    close(fd);
    return err;
}

/* A new gzip-compressed tar at out_path, freed with p. */
static tp_err_t *open_writer(apr_pool_t *p, const char *out_path,
                             struct archive **out)
{
    struct archive *a = archive_write_new();

    apr_pool_cleanup_register(p, a, free_writer, apr_pool_cleanup_null);
    *out = a;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK
        || archive_write_add_filter_gzip(a) != ARCHIVE_OK
        || archive_write_open_filename(a, out_path) != ARCHIVE_OK) {
        return write_error(p, a, out_path);
    }
    return NULL;
}

static tp_err_t *close_writer(apr_pool_t *p, struct archive *a,
                              const char *out_path, tp_err_t *err)
{
    if (archive_write_close(a) != ARCHIVE_OK && !err) {
        err = write_error(p, a, out_path);
    }
    return err;
}

tp_err_t *tp_archive_write(apr_pool_t *p, const char *root_dir,
                           const apr_array_header_t *files,
                           const char *out_path)
{
    char *buf = apr_palloc(p, READ_BLOCK);
    struct archive *a;
    tp_err_t *err = open_writer(p, out_path, &a);
    int i;

    for (i = 0; i < files->nelts && !err; i++) {
        err = write_file(p, a, buf, root_dir,
                         APR_ARRAY_IDX(files, i, const char *));
    }
    return close_writer(p, a, out_path, err);
}

tp_err_t *tp_archive_strip(apr_pool_t *p, const char *path,
                           const char *out_path,
                           const tp_archive_limits_t *limits,
                           tp_archive_info_t *info)
{
    scan_t s;
    tp_err_t *err;

    memset(&s, 0, sizeof(s));
    if ((err = open_writer(p, out_path, &s.out)) == NULL) {
        err = walk(&s, p, path, limits, info);
    }
    return close_writer(p, s.out, out_path, err);
}

tp_err_t *tp_archive_unzip_one(apr_pool_t *p, const char *zip,
                               const char *name, const char *out,
                               apr_off_t max)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int rc, fd, found = 0;
    tp_err_t *err = NULL;

    if (!a) {
        return tp_err_internal(p, 500, "cannot read an archive",
                               "archive_read_new failed");
    }
    apr_pool_cleanup_register(p, a, free_archive, apr_pool_cleanup_null);
    if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK
        || archive_read_open_filename(a, zip, READ_BLOCK) != ARCHIVE_OK) {
        return tp_err(p, 422, "%s is no zip archive: %s", zip,
                      archive_error_string(a));
    }
    while (!found && !err
           && (rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (strcmp(entry_path(e), name) != 0) {
            continue;
        }
        found = 1;
        if (archive_entry_filetype(e) != AE_IFREG
            || archive_entry_size(e) > max) {
            return tp_err(p, 422, "%s in %s is no regular file of at most %"
                          APR_OFF_T_FMT " bytes", name, zip, max);
        }
        fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0755);
        if (fd < 0) {
            return tp_err(p, 500, "cannot create %s: %s", out,
                          strerror(errno));
        }
        if (archive_read_data_into_fd(a, fd) != ARCHIVE_OK) {
            err = tp_err(p, 422, "%s in %s cannot be read: %s", name, zip,
                         archive_error_string(a));
        }
        if (close(fd) != 0 && !err) {
            err = tp_err(p, 500, "cannot write %s: %s", out, strerror(errno));
        }
    }
    if (!found && !err) {
        err = tp_err(p, 422, "%s holds no %s", zip, name);
    }
    if (err) {
        unlink(out);
    }
    return err;
}
