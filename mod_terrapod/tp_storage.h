/* Object storage for state files, configuration tarballs and logs, by
 * key ("state/ws-.../sv-....tfstate"). The filesystem backend streams an
 * upload into a temp file beside its target, fsyncs it and renames it into
 * place only on commit; an upload that is not committed leaves nothing.
 * The S3 backend (tp_s3.h) spools an upload the same way under root and
 * sends it to the bucket on commit, so checks of the temp file still pass
 * before anything is visible; root is then only that spool. */
#ifndef TP_STORAGE_H
#define TP_STORAGE_H

#include <apr_pools.h>
#include "tp_error.h"
#include "tp_metrics.h"
#include "tp_s3.h"

typedef struct tp_storage {
    const char *root;
    tp_metrics_t *metrics;     /* counts failures; NULL: not counted */
    const tp_s3_t *s3;         /* objects in a bucket; NULL: under root */
} tp_storage_t;

typedef struct tp_upload tp_upload_t;

/* The key of a configuration version's tarball. */
const char *tp_cv_key(apr_pool_t *p, const char *ws_id, const char *cv_id);

/* Where a run's artifacts live: the key of file (plan.tfplan, plan.json,
 * plan-artifacts.tar) under runs/{run}/, of the plan or apply log under
 * logs/{run}/; the two prefixes are what the retention task removes. */
const char *tp_run_key(apr_pool_t *p, const char *run_id, const char *file);
#define TP_PLAN_FILE "plan.tfplan"
#define TP_PLAN_JSON "plan.json"
const char *tp_run_log_key(apr_pool_t *p, const char *run_id, int apply);
const char *tp_run_prefix(apr_pool_t *p, const char *run_id);
const char *tp_run_log_prefix(apr_pool_t *p, const char *run_id);

/* Readiness: a file can be created, synced and removed under the root,
 * and the bucket (if any) answers. */
tp_err_t *tp_storage_check(const tp_storage_t *st, apr_pool_t *p);

/* Starts an upload to key, refusing more than max bytes (413). The temp
 * file is removed when p is cleaned up unless the upload was committed.
 * Upload calls come from one thread. */
tp_err_t *tp_storage_begin(const tp_storage_t *st, apr_pool_t *p,
                           const char *key, apr_off_t max, tp_upload_t **up);
tp_err_t *tp_upload_write(tp_upload_t *up, const char *buf, apr_size_t len);
/* After the last write: the temp file holds every byte, and the MD5 is
 * known. Later calls do nothing; a failure aborts the upload. */
tp_err_t *tp_upload_end(tp_upload_t *up);
apr_off_t tp_upload_size(const tp_upload_t *up);
/* Hex MD5 of everything written, once the upload has ended (else NULL). */
const char *tp_upload_md5(const tp_upload_t *up);
/* The temp file, for checks that must pass before the upload becomes
 * visible; whole once the upload has ended. */
const char *tp_upload_path(const tp_upload_t *up);
/* Ends the upload if need be; fsync, rename into place, fsync the
 * directory. */
tp_err_t *tp_upload_commit(tp_upload_t *up);
void tp_upload_abort(tp_upload_t *up);

/* Copies the file at path into an upload of key (at most max bytes),
 * committed; *size is its size. */
tp_err_t *tp_storage_put_file(const tp_storage_t *st, apr_pool_t *p,
                              const char *key, const char *path,
                              apr_off_t max, apr_off_t *size);

/* A new empty file named prefix-XXXXXX in the temporary directory,
 * removed when p is cleaned up. */
tp_err_t *tp_temp_file(apr_pool_t *p, const char *prefix, const char **path);

/* The file behind key, for sending (NULL if absent), and its size. On
 * S3, a copy fetched into the spool that the cleanup of p removes. */
tp_err_t *tp_storage_fetch(const tp_storage_t *st, apr_pool_t *p,
                           const char *key, const char **path,
                           apr_off_t *size);
/* On S3 (only), key's bytes streamed to write as they arrive, for
 * sending without a copy in the spool; stat it first for its size. */
tp_err_t *tp_storage_stream(const tp_storage_t *st, apr_pool_t *p,
                            const char *key, tp_s3_writer_t write,
                            void *baton);
/* The same as tp_storage_fetch, a failure of the bucket reading as
 * absent. */
const char *tp_storage_file(const tp_storage_t *st, apr_pool_t *p,
                            const char *key, apr_off_t *size);

/* Whether key is stored (*found), and its size, without fetching it. */
tp_err_t *tp_storage_stat(const tp_storage_t *st, apr_pool_t *p,
                          const char *key, int *found, apr_off_t *size);

/* A presigned URL to download key straight from the bucket when the
 * backend is S3 configured for redirects; NULL otherwise. */
const char *tp_storage_redirect(const tp_storage_t *st, apr_pool_t *p,
                                const char *key);

/* Reads a whole object of at most max bytes (413 when larger, 404 when
 * absent). */
tp_err_t *tp_storage_read(const tp_storage_t *st, apr_pool_t *p,
                          const char *key, apr_off_t max, char **buf,
                          apr_size_t *len);

/* Reads up to len bytes of key starting at from (a missing object reads
 * as empty); *got receives how many were read. */
tp_err_t *tp_storage_read_range(const tp_storage_t *st, apr_pool_t *p,
                                const char *key, apr_off_t from,
                                apr_size_t len, char **buf, apr_size_t *got);

/* Stores buf under key in one go (same atomic commit as uploads). */
tp_err_t *tp_storage_put(const tp_storage_t *st, apr_pool_t *p,
                         const char *key, const char *buf, apr_size_t len);

/* Appends buf to key (created when absent) in one O_APPEND write, so
 * concurrent appends never interleave within a chunk. On S3, a chunk
 * object of its own that reads merge (tp_s3_append): one writer a key. */
tp_err_t *tp_storage_append(const tp_storage_t *st, apr_pool_t *p,
                            const char *key, const char *buf, apr_size_t len);

void tp_storage_remove(const tp_storage_t *st, apr_pool_t *p,
                       const char *key);
/* Removes every object whose key starts with prefix/ . */
void tp_storage_remove_tree(const tp_storage_t *st, apr_pool_t *p,
                            const char *prefix);

#endif
