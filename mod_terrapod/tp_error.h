/* Errors as values: core functions return a tp_err_t (or NULL for success)
 * carrying the HTTP status, title and detail that the glue renders once,
 * as a JSON:API errors[] document. */
#ifndef TP_ERROR_H
#define TP_ERROR_H

#include <apr_pools.h>

typedef struct tp_err {
    int status;          /* HTTP status to answer with */
    const char *title;   /* short, derived from the status unless set */
    const char *detail;  /* safe to show the client */
    const char *log;     /* internal cause for the error log, never sent */
} tp_err_t;

tp_err_t *tp_err(apr_pool_t *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like tp_err but with an internal cause that is logged and not returned. */
tp_err_t *tp_err_internal(apr_pool_t *p, int status, const char *detail,
                          const char *log);

const char *tp_status_title(int status);

#endif
