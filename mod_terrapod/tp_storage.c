/* The filesystem storage backend, and the spool in front of the S3 one. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_portable.h>
#include <apr_thread_proc.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include "tp_storage.h"

#define COPY_BLOCK 65536       /* bytes copied at a time */
#include "tp_crypto.h"

/* An upload is staged in buffers of STAGE bytes. Once it outgrows one, a
 * thread of its own digests each full buffer while the request's thread
 * writes it out and fills the other: MD5 runs at about 730 MiB/s, nearly
 * half of a 50 MiB upload's time when it ran on the request's thread. */
#define STAGE (256 * 1024)
/* MD5 needs little stack; a small one keeps the thread cheap to start */
#define HASHER_STACK (256 * 1024)

typedef struct hasher {
    apr_thread_t *thread;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *turn;   /* a buffer was handed over, or digested */
    tp_digest_t *md5;
    const char *buf;           /* handed over and not yet digested */
    apr_size_t len;
    int stop;
} hasher_t;

struct tp_upload {
    const tp_storage_t *st;
    apr_pool_t *p;
    apr_file_t *f;
    const char *key;
    const char *tmp;
    const char *final;
    apr_off_t size;           /* bytes received */
    apr_off_t written;        /* bytes in the temp file */
    apr_off_t written_back;   /* bytes handed to the disk so far */
    apr_off_t max;
    char *stage[2];
    int cur;                  /* the buffer being filled */
    apr_size_t fill;
    hasher_t *hasher;         /* NULL while digesting on the request's thread */
    int no_hasher;            /* one could not be started */
    tp_digest_t *md5;
    const char *md5_hex;      /* set once the upload has ended */
    int done;   /* committed or aborted */
};

static const char *io_cause(apr_pool_t *p, apr_status_t rv, const char *what,
                            const char *path)
{
    char buf[120];

    return apr_psprintf(p, "%s %s: %s", what, path,
                        apr_strerror(rv, buf, sizeof(buf)));
}

/* A full disk is the client's 507; anything else makes storage 503.
 * Either is counted for the operator's metrics. */
static tp_err_t *io_error(const tp_storage_t *st, apr_pool_t *p,
                          apr_status_t rv, const char *what, const char *path)
{
    const char *log = io_cause(p, rv, what, path);
    tp_err_t *err;

    if (APR_TO_OS_ERROR(rv) == ENOSPC || APR_TO_OS_ERROR(rv) == EDQUOT) {
        err = tp_err_internal(p, 507, "storage is full", log);
    }
    else {
        err = tp_err_internal(p, 503, "storage is unavailable", log);
    }
    tp_metrics_storage_error(st->metrics, err->status);
    return err;
}

/* The bucket's failures are counted as the directory's are. */
static tp_err_t *counted(const tp_storage_t *st, tp_err_t *err)
{
    if (err && (err->status == 503 || err->status == 507)) {
        tp_metrics_storage_error(st->metrics, err->status);
    }
    return err;
}

tp_err_t *tp_storage_check(const tp_storage_t *st, apr_pool_t *p)
{
    apr_file_t *f;
    char *tmpl;
    apr_status_t rv;

    if (!st || !st->root) {
        return tp_err(p, 503, "no storage directory is configured");
    }
    tmpl = apr_pstrcat(p, st->root, "/.ready-XXXXXX", NULL);
    rv = apr_file_mktemp(&f, tmpl, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                                   | APR_FOPEN_EXCL | APR_FOPEN_DELONCLOSE, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_write_full(f, "ok", 2, NULL);
        if (rv == APR_SUCCESS) {
            rv = apr_file_sync(f);
        }
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        tp_metrics_storage_error(st->metrics, 503);
        return tp_err_internal(p, 503, "storage is not writable",
                               io_cause(p, rv, "probe in", st->root));
    }
    return st->s3 ? counted(st, tp_s3_check(st->s3, p)) : NULL;
}

static void *APR_THREAD_FUNC hash_loop(apr_thread_t *thread, void *data)
{
    hasher_t *h = data;

    (void)thread;
    apr_thread_mutex_lock(h->lock);
    for (;;) {
        while (!h->buf && !h->stop) {
            apr_thread_cond_wait(h->turn, h->lock);
        }
        if (!h->buf) {
            break;
        }
        apr_thread_mutex_unlock(h->lock);
        tp_digest_update(h->md5, h->buf, h->len);
        apr_thread_mutex_lock(h->lock);
        h->buf = NULL;
        apr_thread_cond_signal(h->turn);
    }
    apr_thread_mutex_unlock(h->lock);
    /* no apr_thread_exit: it would free the thread's pool, a child of the
     * request's, from this thread; the joiner's pool owns it */
    return NULL;
}

static hasher_t *hasher_start(apr_pool_t *p, tp_digest_t *md5)
{
    hasher_t *h = apr_pcalloc(p, sizeof(*h));
    apr_threadattr_t *attr;

    h->md5 = md5;
    if (apr_thread_mutex_create(&h->lock, APR_THREAD_MUTEX_DEFAULT, p)
            != APR_SUCCESS
        || apr_thread_cond_create(&h->turn, p) != APR_SUCCESS
        || apr_threadattr_create(&attr, p) != APR_SUCCESS
        || apr_threadattr_stacksize_set(attr, HASHER_STACK) != APR_SUCCESS
        || apr_thread_create(&h->thread, attr, hash_loop, h, p)
            != APR_SUCCESS) {
        return NULL;
    }
    return h;
}

/* Waits for the buffer handed over before, then hands over this one. */
static void hasher_give(hasher_t *h, const char *buf, apr_size_t len)
{
    apr_thread_mutex_lock(h->lock);
    while (h->buf) {
        apr_thread_cond_wait(h->turn, h->lock);
    }
    h->buf = buf;
    h->len = len;
    apr_thread_cond_signal(h->turn);
    apr_thread_mutex_unlock(h->lock);
}

/* Returns once everything handed over is digested and the thread is gone. */
static void hasher_stop(tp_upload_t *up)
{
    hasher_t *h = up->hasher;
    apr_status_t rv;

    if (!h) {
        return;
    }
    apr_thread_mutex_lock(h->lock);
    h->stop = 1;
    apr_thread_cond_signal(h->turn);
    apr_thread_mutex_unlock(h->lock);
    apr_thread_join(&rv, h->thread);
    up->hasher = NULL;
}

static apr_status_t upload_cleanup(void *data)
{
    tp_upload_abort(data);
    return APR_SUCCESS;
}

const char *tp_cv_key(apr_pool_t *p, const char *ws_id, const char *cv_id)
{
    return apr_pstrcat(p, "config/", ws_id, "/", cv_id, ".tar.gz", NULL);
}

const char *tp_run_prefix(apr_pool_t *p, const char *run_id)
{
    return apr_pstrcat(p, "runs/", run_id, NULL);
}

const char *tp_run_log_prefix(apr_pool_t *p, const char *run_id)
{
    return apr_pstrcat(p, "logs/", run_id, NULL);
}

const char *tp_run_key(apr_pool_t *p, const char *run_id, const char *file)
{
    return apr_pstrcat(p, tp_run_prefix(p, run_id), "/", file, NULL);
}

const char *tp_run_log_key(apr_pool_t *p, const char *run_id, int apply)
{
    return apr_pstrcat(p, tp_run_log_prefix(p, run_id),
                       apply ? "/apply.log" : "/plan.log", NULL);
}

/* Opens the temp file the upload is staged in. */
static tp_err_t *begin_file(tp_upload_t *up, char *tmpl, tp_upload_t **out)
{
    apr_pool_t *p = up->p;
    apr_status_t rv;

    rv = apr_file_mktemp(&up->f, tmpl, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                                       | APR_FOPEN_EXCL, p);
    if (rv != APR_SUCCESS) {
        return io_error(up->st, p, rv, "create", tmpl);
    }
    up->tmp = tmpl;
    up->stage[0] = apr_palloc(p, STAGE);
    up->md5 = tp_md5_begin(p);
    /* a pre-cleanup: the hasher must be joined before the pool's other
     * cleanups destroy its lock and its thread's pool */
    apr_pool_pre_cleanup_register(p, up, upload_cleanup);
    *out = up;
    return NULL;
}

tp_err_t *tp_storage_begin(const tp_storage_t *st, apr_pool_t *p,
                           const char *key, apr_off_t max, tp_upload_t **out)
{
    tp_upload_t *up = apr_pcalloc(p, sizeof(*up));
    char *dir;
    apr_status_t rv;

    up->st = st;
    up->p = p;
    up->key = key;
    up->max = max;
    if (st->s3) {
        /* staged flat in the spool: a tree of keys would only leave
         * empty directories behind */
        return begin_file(up, apr_pstrcat(p, st->root, "/.s3.tmp-XXXXXX",
                                          NULL), out);
    }
    up->final = apr_pstrcat(p, st->root, "/", key, NULL);
    dir = apr_pstrdup(p, up->final);
    *strrchr(dir, '/') = '\0';
    rv = apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        return io_error(st, p, rv, "mkdir", dir);
    }
    return begin_file(up, apr_pstrcat(p, up->final, ".tmp-XXXXXX", NULL),
                      out);
}



/* Large uploads start their writeback as they arrive, so the fsync of the
 * commit waits for the last few MiB instead of the whole file (which on
 * a 50 MiB state doubled the time of an upload). */
#define WRITEBACK_STEP (8 * 1024 * 1024)

static void start_writeback(tp_upload_t *up)
{
    apr_os_file_t fd;

    if (apr_os_file_get(&fd, up->f) != APR_SUCCESS) {
        return;
    }
    /* only a hint: the commit's fsync is what makes the bytes durable */
    (void)sync_file_range(fd, up->written_back, up->written - up->written_back,
                          SYNC_FILE_RANGE_WRITE);
    up->written_back = up->written;
}

/* Digests the staged buffer: on the hasher once the upload fills a whole
 * buffer (starting it then), here otherwise. */
static void digest_stage(tp_upload_t *up)
{
    if (!up->hasher && !up->no_hasher && up->fill == STAGE) {
        up->hasher = hasher_start(up->p, up->md5);
        up->no_hasher = !up->hasher;
        if (up->hasher) {
            up->stage[1] = apr_palloc(up->p, STAGE);
        }
    }
    if (up->hasher) {
        hasher_give(up->hasher, up->stage[up->cur], up->fill);
    }
    else {
        tp_digest_update(up->md5, up->stage[up->cur], up->fill);
    }
}

/* Digests and writes out the staged bytes, then fills the other buffer
 * (the hasher may still be reading this one). */
static tp_err_t *flush_stage(tp_upload_t *up)
{
    apr_status_t rv;

    digest_stage(up);
    rv = apr_file_write_full(up->f, up->stage[up->cur], up->fill, NULL);
    up->written += (apr_off_t)up->fill;
    up->fill = 0;
    if (up->hasher) {
        up->cur = !up->cur;
    }
    if (rv != APR_SUCCESS) {
        return io_error(up->st, up->p, rv, "write", up->tmp);
    }
    if (up->written - up->written_back >= WRITEBACK_STEP) {
        start_writeback(up);
    }
    return NULL;
}

tp_err_t *tp_upload_write(tp_upload_t *up, const char *buf, apr_size_t len)
{
    tp_err_t *err;

    up->size += (apr_off_t)len;
    if (up->size > up->max) {
        return tp_err(up->p, 413, "upload exceeds %" APR_OFF_T_FMT " bytes",
                      up->max);
    }
    while (len > 0) {
        apr_size_t n = STAGE - up->fill < len ? STAGE - up->fill : len;

        memcpy(up->stage[up->cur] + up->fill, buf, n);
        up->fill += n;
        buf += n;
        len -= n;
        if (up->fill == STAGE && (err = flush_stage(up)) != NULL) {
            return err;
        }
    }
    return NULL;
}

tp_err_t *tp_upload_end(tp_upload_t *up)
{
    tp_err_t *err = NULL;

    if (up->md5_hex) {
        return NULL;
    }
    if (up->done) {
        return tp_err_internal(up->p, 503, "storage is unavailable",
                               apr_pstrcat(up->p, "upload to ", up->tmp,
                                           " was given up", NULL));
    }
    if (up->fill > 0) {
        err = flush_stage(up);
    }
    hasher_stop(up);
    if (err) {
        /* the temp file is short: nothing may commit it */
        tp_upload_abort(up);
        return err;
    }
    up->md5_hex = tp_digest_hex(up->md5, up->p);
    return NULL;
}

apr_off_t tp_upload_size(const tp_upload_t *up)
{
    return up->size;
}

const char *tp_upload_md5(const tp_upload_t *up)
{
    return up->md5_hex;
}

const char *tp_upload_path(const tp_upload_t *up)
{
    return up->tmp;
}

/* Makes a rename durable: the directory entry is synced too. */
static void sync_dir(const char *path, apr_pool_t *p)
{
    char *dir = apr_pstrdup(p, path);
    int fd;

    *strrchr(dir, '/') = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The spooled file goes to the bucket; it is removed either way. */
static tp_err_t *commit_s3(tp_upload_t *up)
{
    tp_err_t *err;

    apr_file_close(up->f);
    err = tp_s3_put_file(up->st->s3, up->p, up->key, up->tmp, up->size,
                         up->md5_hex);
    if (err) {
        tp_upload_abort(up);
        return counted(up->st, err);
    }
    up->done = 1;
    apr_pool_cleanup_kill(up->p, up, upload_cleanup);
    apr_file_remove(up->tmp, up->p);
    return NULL;
}

tp_err_t *tp_upload_commit(tp_upload_t *up)
{
    tp_err_t *err = tp_upload_end(up);
    apr_status_t rv;

    if (err) {
        return err;
    }
    if (up->st->s3) {
        return commit_s3(up);
    }
    rv = apr_file_sync(up->f);
    if (rv != APR_SUCCESS) {
        return io_error(up->st, up->p, rv, "sync", up->tmp);
    }
    apr_file_close(up->f);
    rv = apr_file_rename(up->tmp, up->final, up->p);
    if (rv != APR_SUCCESS) {
        return io_error(up->st, up->p, rv, "rename", up->tmp);
    }
    up->done = 1;
    apr_pool_cleanup_kill(up->p, up, upload_cleanup);
    sync_dir(up->final, up->p);
    return NULL;
}

void tp_upload_abort(tp_upload_t *up)
{
    if (!up->done) {
        up->done = 1;
        hasher_stop(up);
        apr_file_close(up->f);
        apr_file_remove(up->tmp, up->p);
        apr_pool_cleanup_kill(up->p, up, upload_cleanup);
    }
}

/* A copy of key in the spool, removed when p is cleaned up. */
static tp_err_t *fetch_s3(const tp_storage_t *st, apr_pool_t *p,
                          const char *key, const char **path,
                          apr_off_t *size)
{
    char *tmpl = apr_pstrcat(p, st->root, "/.fetch-XXXXXX", NULL);
    apr_file_t *f;
    apr_status_t rv;
    tp_err_t *err;
    int found;

    *path = NULL;
    rv = apr_file_mktemp(&f, tmpl, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                         | APR_FOPEN_EXCL | APR_FOPEN_DELONCLOSE, p);
    if (rv != APR_SUCCESS) {
        return io_error(st, p, rv, "create", tmpl);
    }
    if ((err = tp_s3_get_file(st->s3, p, key, tmpl, &found, size)) != NULL) {
        return counted(st, err);
    }
    *path = found ? tmpl : NULL;
    return NULL;
}

tp_err_t *tp_storage_stat(const tp_storage_t *st, apr_pool_t *p,
                          const char *key, int *found, apr_off_t *size)
{
    apr_finfo_t fi;

    if (st->s3) {
        return counted(st, tp_s3_size(st->s3, p, key, found, size));
    }
    *found = apr_stat(&fi, apr_pstrcat(p, st->root, "/", key, NULL),
                      APR_FINFO_SIZE | APR_FINFO_TYPE, p) == APR_SUCCESS
             && fi.filetype == APR_REG;
    *size = *found ? fi.size : 0;
    return NULL;
}

const char *tp_storage_redirect(const tp_storage_t *st, apr_pool_t *p,
                                const char *key)
{
    tp_s3_creds_t c;

    if (!st->s3 || !st->s3->redirect || tp_s3_creds(st->s3, p, &c)) {
        return NULL;
    }
    return tp_s3_presign(st->s3, p, &c, key, apr_time_now(),
                         TP_S3_PRESIGN_TTL);
}

tp_err_t *tp_storage_fetch(const tp_storage_t *st, apr_pool_t *p,
                           const char *key, const char **path,
                           apr_off_t *size)
{
    int found;

    if (st->s3) {
        return fetch_s3(st, p, key, path, size);
    }
    tp_storage_stat(st, p, key, &found, size);
    *path = found ? apr_pstrcat(p, st->root, "/", key, NULL) : NULL;
    return NULL;
}

tp_err_t *tp_storage_stream(const tp_storage_t *st, apr_pool_t *p,
                            const char *key, tp_s3_writer_t write,
                            void *baton)
{
    return counted(st, tp_s3_stream(st->s3, p, key, write, baton));
}

const char *tp_storage_file(const tp_storage_t *st, apr_pool_t *p,
                            const char *key, apr_off_t *size)
{
    const char *path;

    return tp_storage_fetch(st, p, key, &path, size) ? NULL : path;
}

tp_err_t *tp_storage_read(const tp_storage_t *st, apr_pool_t *p,
                          const char *key, apr_off_t max, char **buf,
                          apr_size_t *len)
{
    apr_off_t size;
    const char *path;
    apr_file_t *f;
    apr_status_t rv;

    if (st->s3) {
        return counted(st, tp_s3_read(st->s3, p, key, max, buf, len));
    }
    path = tp_storage_file(st, p, key, &size);
    if (!path) {
        return tp_err(p, 404, "stored object %s not found", key);
    }
    if (size > max) {
        return tp_err(p, 413, "stored object is larger than %" APR_OFF_T_FMT
                      " bytes", max);
    }
    rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);
    if (rv != APR_SUCCESS) {
        return io_error(st, p, rv, "open", path);
    }
    *buf = apr_palloc(p, (apr_size_t)size + 1);
    rv = apr_file_read_full(f, *buf, (apr_size_t)size, len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && !(rv == APR_EOF && size == 0)) {
        return io_error(st, p, rv, "read", path);
    }
    (*buf)[*len] = '\0';
    return NULL;
}

tp_err_t *tp_storage_read_range(const tp_storage_t *st, apr_pool_t *p,
                                const char *key, apr_off_t from,
                                apr_size_t len, char **buf, apr_size_t *got)
{
    const char *path = apr_pstrcat(p, st->root, "/", key, NULL);
    apr_file_t *f = NULL;
    apr_status_t rv;

    if (st->s3) {
        return counted(st, tp_s3_read_range(st->s3, p, key, from, len, buf,
                                            got));
    }
    *buf = apr_palloc(p, len + 1);
    *got = 0;
    rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return NULL;
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_seek(f, APR_SET, &from);
    }
    if (rv == APR_SUCCESS && len > 0) {
        rv = apr_file_read_full(f, *buf, len, got);
        if (rv == APR_EOF) {
            rv = APR_SUCCESS;
        }
    }
    if (f) {
        apr_file_close(f);
    }
    return rv == APR_SUCCESS ? NULL : io_error(st, p, rv, "read", path);
}

tp_err_t *tp_storage_put(const tp_storage_t *st, apr_pool_t *p,
                         const char *key, const char *buf, apr_size_t len)
{
    tp_upload_t *up;
    tp_err_t *err;

    if ((err = tp_storage_begin(st, p, key, (apr_off_t)len, &up)) != NULL
        || (err = tp_upload_write(up, buf, len)) != NULL
        || (err = tp_upload_commit(up)) != NULL) {
        return err;
    }
    return NULL;
}

tp_err_t *tp_storage_put_file(const tp_storage_t *st, apr_pool_t *p,
                              const char *key, const char *path,
                              apr_off_t max, apr_off_t *size)
{
    char *buf = apr_palloc(p, COPY_BLOCK);
    apr_size_t n = COPY_BLOCK;
    tp_upload_t *up;
    apr_file_t *f;
    apr_status_t rv;
    tp_err_t *err;

    if ((err = tp_storage_begin(st, p, key, max, &up)) != NULL) {
        return err;
    }
    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p))
        != APR_SUCCESS) {
        return tp_err_internal(p, 500, "cannot read the file to store",
                               apr_psprintf(p, "open %s", path));
    }
    while ((rv = apr_file_read(f, buf, &n)) == APR_SUCCESS) {
        if ((err = tp_upload_write(up, buf, n)) != NULL) {
            return err;
        }
        n = COPY_BLOCK;
    }
    apr_file_close(f);
    if (!APR_STATUS_IS_EOF(rv)) {
        return tp_err_internal(p, 500, "cannot read the file to store",
                               apr_psprintf(p, "read %s", path));
    }
    if ((err = tp_upload_commit(up)) != NULL) {
        return err;
    }
    *size = tp_upload_size(up);
    return NULL;
}

tp_err_t *tp_storage_append(const tp_storage_t *st, apr_pool_t *p,
                            const char *key, const char *buf, apr_size_t len)
{
    const char *path = apr_pstrcat(p, st->root, "/", key, NULL);
    char *dir = apr_pstrdup(p, path);
    apr_status_t rv;
    ssize_t n;
    int fd;

    if (st->s3) {
        return counted(st, tp_s3_append(st->s3, p, key, buf, len));
    }
    *strrchr(dir, '/') = '\0';
    rv = apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        return io_error(st, p, rv, "mkdir", dir);
    }
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        return io_error(st, p, APR_FROM_OS_ERROR(errno), "open", path);
    }
    /* one write of the whole chunk: O_APPEND places it after every other
     * appender's, and readers see it whole or not yet */
    do {
        n = write(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    rv = n < 0 ? APR_FROM_OS_ERROR(errno)
         : (apr_size_t)n != len ? APR_EGENERAL : APR_SUCCESS;
    close(fd);
    return rv == APR_SUCCESS ? NULL : io_error(st, p, rv, "append", path);
}

void tp_storage_remove(const tp_storage_t *st, apr_pool_t *p, const char *key)
{
    if (st->s3) {
        counted(st, tp_s3_remove(st->s3, p, key));
        return;
    }
    apr_file_remove(apr_pstrcat(p, st->root, "/", key, NULL), p);
}

static void remove_dir(const char *dir, apr_pool_t *p)
{
    apr_dir_t *d;
    apr_finfo_t fi;

    if (apr_dir_open(&d, dir, p) != APR_SUCCESS) {
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS) {
        const char *path;

        if (strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0) {
            continue;
        }
        path = apr_pstrcat(p, dir, "/", fi.name, NULL);
        if (fi.filetype == APR_DIR) {
            remove_dir(path, p);
        }
        else {
            apr_file_remove(path, p);
        }
    }
    apr_dir_close(d);
    apr_dir_remove(dir, p);
}

void tp_storage_remove_tree(const tp_storage_t *st, apr_pool_t *p,
                            const char *prefix)
{
    if (st->s3) {
        counted(st, tp_s3_remove_tree(st->s3, p, prefix));
        return;
    }
    remove_dir(apr_pstrcat(p, st->root, "/", prefix, NULL), p);
}

tp_err_t *tp_temp_file(apr_pool_t *p, const char *prefix, const char **path)
{
    const char *dir;
    char *tmpl;
    apr_file_t *f;
    apr_status_t rv = apr_temp_dir_get(&dir, p);

    if (rv == APR_SUCCESS) {
        tmpl = apr_pstrcat(p, dir, "/", prefix, "-XXXXXX", NULL);
        /* the default flags: deleted when the file is closed with p */
        rv = apr_file_mktemp(&f, tmpl, 0, p);
    }
    if (rv != APR_SUCCESS) {
        return tp_err_internal(p, 500, "cannot make a temporary file",
                               "apr_file_mktemp failed");
    }
    *path = tmpl;
    return NULL;
}
