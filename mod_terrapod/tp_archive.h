/* Configuration tarballs as uploaded by terraform (go-slug): gzip-compressed
 * tar only. The only wrapper around libarchive. */
#ifndef TP_ARCHIVE_H
#define TP_ARCHIVE_H

#include <apr_pools.h>
#include "tp_error.h"

typedef struct tp_archive_limits {
    apr_off_t max_entry_size;   /* largest single file */
    apr_off_t max_total_size;   /* all files together, uncompressed */
    int max_entries;            /* entries of any kind */
} tp_archive_limits_t;

typedef struct tp_archive_info {
    int files;                  /* regular files */
    apr_off_t total_size;       /* their uncompressed bytes */
} tp_archive_info_t;

/* Checks the archive at path: gzip + tar, and every entry a regular file,
 * a directory, or a symlink whose target stays inside the archive root;
 * no absolute paths, no ".." components, no device, fifo or socket
 * entries, no hard links, and nothing past the limits. 422 naming the
 * first offending entry and why. */
tp_err_t *tp_archive_validate(apr_pool_t *p, const char *path,
                              const tp_archive_limits_t *limits,
                              tp_archive_info_t *info);

/* Extracts the archive into the existing directory dest_dir, applying the
 * same checks entry by entry: a 422 from them (or a 500 when writing
 * fails) leaves what was extracted so far for the caller to remove.
 * Files get mode 0644, or 0755 when the archive marks them executable;
 * directories 0755; symlinks are recreated as checked. */
tp_err_t *tp_archive_extract(apr_pool_t *p, const char *path,
                             const char *dest_dir,
                             const tp_archive_limits_t *limits,
                             tp_archive_info_t *info);

#endif
