/* Configuration tarballs as uploaded by terraform (go-slug): gzip-compressed
 * tar only, read and written; and one file out of a zip (a release of
 * terraform). The wrapper around libarchive, with tp_zip.c's provider
 * packages. */
#ifndef TP_ARCHIVE_H
#define TP_ARCHIVE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "tp_error.h"

typedef struct tp_archive_limits {
    apr_off_t max_entry_size;   /* largest single file */
    apr_off_t max_total_size;   /* all files together, uncompressed */
    int max_entries;            /* entries of any kind */
} tp_archive_limits_t;

/* The limits of a configuration uploaded with a cap of max bytes:
 * unpacked, no larger than the upload may be. */
tp_archive_limits_t tp_archive_config_limits(apr_off_t max);

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

/* A regular file read into memory by tp_archive_read. */
typedef struct tp_archive_file {
    const char *path;           /* normalised: no "." or empty components */
    const char *data;           /* NUL-terminated; NULL when over keep */
    apr_size_t len;             /* bytes in data */
    apr_off_t size;             /* the file's real size */
    unsigned char sha1[20];     /* of all its bytes, to compare large ones */
} tp_archive_file_t;

/* Reads the regular files of the archive into an array of
 * tp_archive_file_t sorted by path (a path given twice keeps the later
 * entry), applying the checks of tp_archive_validate. Files of at most
 * keep bytes are held whole, larger ones only by size and digest. Passing
 * limits->max_total_size answers 413 rather than 422, since the caller
 * chose that cap for the read, not for the archive. */
tp_err_t *tp_archive_read(apr_pool_t *p, const char *path,
                          const tp_archive_limits_t *limits, apr_size_t keep,
                          apr_array_header_t **files,
                          tp_archive_info_t *info);

/* Whether a regular file (its normalised path) is to be read. */
typedef int tp_archive_wanted_fn(const char *path);

/* tp_archive_read of the files wanted accepts only: the others are
 * checked and counted as ever, but neither held nor listed, so what is
 * held in memory is bounded by the files wanted. */
tp_err_t *tp_archive_read_some(apr_pool_t *p, const char *path,
                               const tp_archive_limits_t *limits,
                               apr_size_t keep, tp_archive_wanted_fn *wanted,
                               apr_array_header_t **files,
                               tp_archive_info_t *info);

/* Writes the regular files named in files (const char *, relative to
 * root_dir) as a gzip-compressed tar at out_path, the form the functions
 * above accept: modes 0644 or 0755, no owners. A file that is no longer a
 * regular file is an error, not a silent gap. */
tp_err_t *tp_archive_write(apr_pool_t *p, const char *root_dir,
                           const apr_array_header_t *files,
                           const char *out_path);

/* Rewrites the archive at path, whose entries all lie in one top
 * directory (a provider's archive of a commit), as the archive of that
 * directory's contents at out_path, in the form tp_archive_write gives.
 * The checks and limits of tp_archive_validate apply to the entries as
 * they come out, so a symlink that climbs out of the new root is refused;
 * an entry outside the top directory is a 422 too. Streamed: no file is
 * held in memory. The caller removes out_path on failure. */
tp_err_t *tp_archive_strip(apr_pool_t *p, const char *path,
                           const char *out_path,
                           const tp_archive_limits_t *limits,
                           tp_archive_info_t *info);

/* Extracts the regular file called name (at most max bytes) from the zip
 * archive at zip into the new file out, executable: a release of
 * terraform. 422 when the archive holds no such file. */
tp_err_t *tp_archive_unzip_one(apr_pool_t *p, const char *zip,
                               const char *name, const char *out,
                               apr_off_t max);

#endif
