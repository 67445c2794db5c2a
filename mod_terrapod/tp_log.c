/* Slicing the STX/log/ETX stream by byte ranges. */
#include "tp_log.h"

void tp_log_slice(apr_off_t log_len, int final, apr_off_t offset,
                  apr_off_t limit, tp_log_slice_t *out)
{
    apr_off_t end;

    if (limit < 1 || limit > TP_LOG_LIMIT_MAX) {
        limit = TP_LOG_LIMIT_MAX;
    }
    if (offset < 0) {
        offset = 0;
    }
    /* exclusive, in stream positions; an offset from the query string
     * may be anywhere up to the largest apr_off_t */
    end = offset > APR_INT64_MAX - limit ? APR_INT64_MAX : offset + limit;
    out->stx = offset == 0;
    /* log byte i sits at stream position i + 1 */
    out->from = offset > 0 ? offset - 1 : 0;
    if (out->from > log_len) {
        out->from = log_len;
    }
    out->len = (end - 1 < log_len ? end - 1 : log_len) - out->from;
    if (out->len < 0) {
        out->len = 0;
    }
    /* the ETX sits at position log_len + 1 */
    out->etx = final && offset <= log_len + 1 && end > log_len + 1;
}
