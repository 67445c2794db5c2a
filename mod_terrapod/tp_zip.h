/* Provider release files as terraform reads them: the SHA256SUMS manifest
 * and the zip archives it names. The zip side reads through libarchive. */
#ifndef TP_ZIP_H
#define TP_ZIP_H

#include <apr_pools.h>
#include "tp_error.h"

/* Bounds on a provider zip, well above any real provider's. */
#define TP_ZIP_MAX_ENTRIES    256
#define TP_ZIP_MAX_TOTAL      ((apr_off_t)2 << 30)   /* uncompressed bytes */

/* A SHA256SUMS manifest's hex digest for filename (lines "<64 hex>  <name>");
 * *hex NULL when absent; 422 when malformed. The digest is lower-case. */
tp_err_t *tp_shasums_find(apr_pool_t *p, const char *sums, apr_size_t len,
                          const char *filename, const char **hex);

/* Validates a provider zip at path: entry count, sizes, no traversal,
 * absolute paths, links or duplicate names, exactly one regular file at the
 * top named binary_prefix* (e.g. "terraform-provider-NAME"); 422 with a
 * clear detail otherwise. */
tp_err_t *tp_zip_check(apr_pool_t *p, const char *path,
                       const char *binary_prefix);

/* terraform's h1: hash of a zip (dirhash Hash1 over every entry name and
 * its contents): "h1:<base64>". */
tp_err_t *tp_zip_h1(apr_pool_t *p, const char *path, const char **h1);

#endif
