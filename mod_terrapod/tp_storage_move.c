/* Moving objects between the directory and a bucket, verified by MD5. */
#include <string.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include "tp_storage_move.h"
#include "tp_crypto.h"

#define CHUNKS ".chunks/"
#define READ_BUF (64 * 1024)

/* The hex MD5 of the file at path, read in pieces. */
static tp_err_t *file_md5(apr_pool_t *p, const char *path, const char **md5)
{
    tp_digest_t *d = tp_md5_begin(p);
    char *buf = apr_palloc(p, READ_BUF);
    apr_file_t *f;
    apr_size_t n;
    apr_status_t rv;

    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS) {
        return tp_err(p, 500, "cannot read %s", path);
    }
    do {
        n = READ_BUF;
        rv = apr_file_read(f, buf, &n);
        tp_digest_update(d, buf, n);
    } while (rv == APR_SUCCESS);
    apr_file_close(f);
    if (rv != APR_EOF) {
        return tp_err(p, 500, "cannot read %s", path);
    }
    *md5 = tp_digest_hex(d, p);
    return NULL;
}

/* What a running server stages beside the objects, never an object. */
static int staging(const char *name)
{
    return strstr(name, ".tmp-") || !strncmp(name, ".fetch-", 7)
           || !strncmp(name, ".ready-", 7);
}

/* An ETag that is the MD5 of the object (not of its parts, "...-N"). */
static int whole_md5(const char *etag)
{
    return strlen(etag) == 32 && tp_is_hex(etag);
}

static tp_err_t *to_s3(apr_pool_t *p, const char *dir, const char *rel,
                       const tp_s3_t *s3, apr_hash_t *there,
                       tp_move_stats_t *stats)
{
    const char *path = *rel ? apr_pstrcat(p, dir, "/", rel, NULL) : dir;
    const tp_s3_object_t *o;
    const char *key, *md5;
    apr_pool_t *ip;
    apr_dir_t *d;
    apr_finfo_t fi;
    tp_err_t *err = NULL;

    if (apr_dir_open(&d, path, p) != APR_SUCCESS) {
        return tp_err(p, 500, "cannot read directory %s", path);
    }
    apr_pool_create(&ip, p);
    while (!err && apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE
                                | APR_FINFO_SIZE, d) == APR_SUCCESS) {
        if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..")
            || staging(fi.name)) {
            continue;
        }
        key = *rel ? apr_pstrcat(ip, rel, "/", fi.name, NULL)
                   : apr_pstrdup(ip, fi.name);
        if (fi.filetype == APR_DIR) {
            err = to_s3(ip, dir, key, s3, there, stats);
        }
        else if (fi.filetype == APR_REG
                 && !(err = file_md5(ip, apr_pstrcat(ip, dir, "/", key, NULL),
                                     &md5))) {
            o = apr_hash_get(there, key, APR_HASH_KEY_STRING);
            if (o && !strcmp(o->etag, md5)) {
                stats->kept++;
            }
            else if (!(err = tp_s3_put_file(s3, ip, key, apr_pstrcat(
                                                ip, dir, "/", key, NULL),
                                            fi.size, md5))) {
                stats->copied++;
            }
        }
        apr_pool_clear(ip);
    }
    apr_pool_destroy(ip);
    apr_dir_close(d);
    return err;
}

/* Fetches key (a log's chunks merged) into dir beside its place, checks
 * it against what the listing said, and renames it into place. */
static tp_err_t *fetch(apr_pool_t *p, const char *dir, const tp_s3_t *s3,
                       const char *key, const tp_s3_object_t *o,
                       apr_off_t size)
{
    const char *final = apr_pstrcat(p, dir, "/", key, NULL), *md5;
    char *parent = apr_pstrdup(p, final);
    char *tmp = apr_pstrcat(p, final, ".tmp-XXXXXX", NULL);
    apr_file_t *f;
    apr_off_t got;
    tp_err_t *err;
    int found;

    *strrchr(parent, '/') = '\0';
    if (apr_dir_make_recursive(parent, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS
        || apr_file_mktemp(&f, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                           | APR_FOPEN_EXCL, p) != APR_SUCCESS) {
        return tp_err(p, 500, "cannot write in %s", parent);
    }
    apr_file_close(f);
    err = tp_s3_get_file(s3, p, key, tmp, &found, &got);
    if (!err && (!found || got != size)) {
        err = tp_err(p, 502, "%s: %" APR_OFF_T_FMT " bytes fetched, %"
                     APR_OFF_T_FMT " listed", key, got, size);
    }
    if (!err && o && whole_md5(o->etag)
        && !(err = file_md5(p, tmp, &md5)) && strcmp(md5, o->etag)) {
        err = tp_err(p, 502, "%s: fetched MD5 %s, the bucket's %s", key, md5,
                     o->etag);
    }
    if (!err && apr_file_rename(tmp, final, p) != APR_SUCCESS) {
        err = tp_err(p, 500, "cannot rename %s", tmp);
    }
    if (err) {
        apr_file_remove(tmp, p);
    }
    return err;
}

static tp_err_t *to_dir(apr_pool_t *p, const char *dir, const tp_s3_t *s3,
                        const apr_array_header_t *objs,
                        tp_move_stats_t *stats)
{
    apr_hash_t *whole = apr_hash_make(p), *logs = apr_hash_make(p);
    apr_hash_index_t *hi;
    apr_pool_t *ip;
    tp_err_t *err = NULL;
    int i;

    /* a log is its whole object, or else the sum of its chunks */
    for (i = 0; i < objs->nelts; i++) {
        const tp_s3_object_t *o = &APR_ARRAY_IDX(objs, i, tp_s3_object_t);
        const char *at = strstr(o->key, CHUNKS);
        apr_off_t *sum;

        if (!at) {
            apr_hash_set(whole, o->key, APR_HASH_KEY_STRING, o);
            continue;
        }
        at = apr_pstrndup(p, o->key, (apr_size_t)(at - o->key));
        if (!(sum = apr_hash_get(logs, at, APR_HASH_KEY_STRING))) {
            sum = apr_pcalloc(p, sizeof(*sum));
            apr_hash_set(logs, at, APR_HASH_KEY_STRING, sum);
        }
        *sum += o->size;
    }
    apr_pool_create(&ip, p);
    for (hi = apr_hash_first(p, whole); hi && !err; hi = apr_hash_next(hi)) {
        const tp_s3_object_t *o = apr_hash_this_val(hi);
        const char *have;

        if (whole_md5(o->etag)
            && !file_md5(ip, apr_pstrcat(ip, dir, "/", o->key, NULL), &have)
            && !strcmp(have, o->etag)) {
            stats->kept++;
        }
        else if (!(err = fetch(ip, dir, s3, o->key, o, o->size))) {
            stats->copied++;
        }
        apr_pool_clear(ip);
    }
    for (hi = apr_hash_first(p, logs); hi && !err; hi = apr_hash_next(hi)) {
        const char *key = apr_hash_this_key(hi);
        apr_off_t *sum = apr_hash_this_val(hi);
        apr_finfo_t fi;

        if (apr_hash_get(whole, key, APR_HASH_KEY_STRING)) {
            continue;           /* the whole log, fetched above */
        }
        /* a log only grows: one of the same length is the same log */
        if (apr_stat(&fi, apr_pstrcat(ip, dir, "/", key, NULL),
                     APR_FINFO_SIZE, ip) == APR_SUCCESS && fi.size == *sum) {
            stats->kept++;
        }
        else if (!(err = fetch(ip, dir, s3, key, NULL, *sum))) {
            stats->copied++;
        }
        apr_pool_clear(ip);
    }
    apr_pool_destroy(ip);
    return err;
}

tp_err_t *tp_storage_move(apr_pool_t *p, const char *dir, const tp_s3_t *s3,
                          int to_s3_side, tp_move_stats_t *stats)
{
    apr_array_header_t *objs;
    apr_hash_t *there;
    tp_err_t *err;
    int i;

    memset(stats, 0, sizeof(*stats));
    if ((err = tp_s3_list(s3, p, "", &objs)) != NULL) {
        return err;
    }
    if (!to_s3_side) {
        return to_dir(p, dir, s3, objs, stats);
    }
    there = apr_hash_make(p);
    for (i = 0; i < objs->nelts; i++) {
        const tp_s3_object_t *o = &APR_ARRAY_IDX(objs, i, tp_s3_object_t);

        apr_hash_set(there, o->key, APR_HASH_KEY_STRING, o);
    }
    return to_s3(p, dir, "", s3, there, stats);
}
