#include <stdlib.h>
#include <string.h>

#include "tp_flat.h"

void *tp_flat_copy(const void *rec, apr_size_t size,
                   const apr_size_t *strings, apr_size_t n)
{
    apr_size_t total = size, i, len;
    char *c, *at;

    for (i = 0; i < n; i++) {
        total += TP_FLAT_STR(rec, strings[i])
                 ? strlen(TP_FLAT_STR(rec, strings[i])) + 1 : 0;
    }
    if ((c = malloc(total)) == NULL) {
        return NULL;
    }
    memcpy(c, rec, size);
    at = c + size;
    for (i = 0; i < n; i++) {
        const char *s = TP_FLAT_STR(rec, strings[i]);

        if (s) {
            len = strlen(s) + 1;
            TP_FLAT_STR(c, strings[i]) = memcpy(at, s, len);
            at += len;
        }
    }
    return c;
}
