/* Object storage for state files, configuration tarballs and logs. The
 * filesystem backend writes beside the target and renames into place. */
#ifndef TP_STORAGE_H
#define TP_STORAGE_H

#include <apr_pools.h>
#include "tp_error.h"

typedef struct tp_storage {
    const char *root;
} tp_storage_t;

/* Readiness: the root exists and a file can be created, synced and removed
 * in it. */
tp_err_t *tp_storage_check(const tp_storage_t *st, apr_pool_t *p);

#endif
