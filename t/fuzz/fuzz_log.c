/* The log offset slicer: any log length, offset and limit a client or the
 * store can produce must give a slice inside the log and the limit. */
#include "fuzz.h"
#include "tp_log.h"

static apr_off_t take(const uint8_t **data, size_t *size)
{
    apr_off_t v = 0;

    if (*size >= sizeof(v)) {
        memcpy(&v, *data, sizeof(v));
        *data += sizeof(v);
        *size -= sizeof(v);
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_off_t log_len = take(&data, &size);
    apr_off_t offset = take(&data, &size);
    apr_off_t limit = take(&data, &size);
    int final = size > 0 && (data[0] & 1);
    tp_log_slice_t s;

    /* a stored log has a real file size: at most 2^62 bytes */
    log_len &= ((apr_off_t)1 << 62) - 1;
    tp_log_slice(log_len, final, offset, limit, &s);
    FUZZ_ASSERT(s.from >= 0 && s.from <= log_len);
    FUZZ_ASSERT(s.len >= 0 && s.len <= log_len - s.from);
    FUZZ_ASSERT(s.stx + s.len + s.etx <= TP_LOG_LIMIT_MAX);
    FUZZ_ASSERT(limit < 1 || s.stx + s.len + s.etx <= limit);
    FUZZ_ASSERT(s.stx == (offset <= 0));
    FUZZ_ASSERT(!s.etx || final);
    return 0;
}
