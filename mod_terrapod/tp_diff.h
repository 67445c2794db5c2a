/* Line diffs of two buffers as unified diff text, the form `diff -u` and
 * `git diff` print without their file headers. Time and memory are
 * bounded whatever the input: past the bound the changed middle is shown
 * as one replacement. */
#ifndef TP_DIFF_H
#define TP_DIFF_H

#include <apr_pools.h>

#define TP_DIFF_CONTEXT 3           /* unchanged lines around a change */

typedef struct tp_diff_bounds {
    apr_size_t max_edits;   /* lines inserted plus deleted, at most */
    apr_size_t max_work;    /* line comparisons, at most */
} tp_diff_bounds_t;

/* The hunks turning a into b, "" when they are equal. Lines are split
 * after '\n'; a last line without one is followed by the
 * "\ No newline at end of file" marker. */
char *tp_diff_unified(apr_pool_t *p, const char *a, apr_size_t alen,
                      const char *b, apr_size_t blen);

/* The same with explicit bounds; *exact (when not NULL) is 0 when they
 * were reached and the middle was replaced whole. */
char *tp_diff_unified_bounded(apr_pool_t *p, const char *a, apr_size_t alen,
                              const char *b, apr_size_t blen,
                              const tp_diff_bounds_t *bounds, int *exact);

/* 1 when buf is not text that a JSON string can carry: a NUL byte (git
 * looks in the first 8 KiB only; a JSON string can hold none anywhere)
 * or bytes that are not UTF-8. */
int tp_diff_is_binary(const char *buf, apr_size_t len);

#endif
