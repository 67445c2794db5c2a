/* The filesystem storage backend. */
#include <apr_strings.h>
#include <apr_file_io.h>
#include "tp_storage.h"

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
        char buf[120];

        return tp_err_internal(p, 503, "storage is not writable",
                               apr_psprintf(p, "%s: %s", st->root,
                                            apr_strerror(rv, buf,
                                                         sizeof(buf))));
    }
    return NULL;
}
