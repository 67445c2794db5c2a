/* Phase logs as terraform reads them: a stream of STX (0x02), the log
 * bytes, and ETX (0x03) once the phase is final and everything is stored.
 * Readers ask for byte ranges of that stream (offset counts the STX). */
#ifndef TP_LOG_H
#define TP_LOG_H

#include <apr.h>

#define TP_LOG_STX '\002'
#define TP_LOG_ETX '\003'
#define TP_LOG_LIMIT_MAX (1024 * 1024)

typedef struct tp_log_slice {
    int stx;            /* send the STX first */
    apr_off_t from;     /* first log byte to send */
    apr_off_t len;      /* log bytes to send */
    int etx;            /* send the ETX last */
} tp_log_slice_t;

/* The part of the stream [offset, offset + limit) of a log of log_len
 * bytes; limit < 1 or above TP_LOG_LIMIT_MAX means TP_LOG_LIMIT_MAX, a
 * negative offset means 0. */
void tp_log_slice(apr_off_t log_len, int final, apr_off_t offset,
                  apr_off_t limit, tp_log_slice_t *out);

#endif
