/* What every libFuzzer harness of the core shares: APR started once, a
 * pool per input, and an invariant check that aborts (so libFuzzer keeps
 * the input as a crash) when the core breaks a promise. */
#ifndef TP_FUZZ_H
#define TP_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#define FUZZ_ASSERT(cond)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,     \
                    __LINE__, #cond);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *fuzz_root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&fuzz_root, NULL);
    return 0;
}

/* The input as a NUL-terminated string (cut at its first NUL, as C
 * strings from headers and query arguments are). */
static inline const char *fuzz_cstr(apr_pool_t *p, const uint8_t *data, size_t size)
{
    return apr_pstrmemdup(p, (const char *)data, size);
}

/* Splits the input at its first newline: two strings, as a header and a
 * query argument, or a kind and a token, arrive separately. */
static inline void fuzz_split(apr_pool_t *p, const uint8_t *data, size_t size,
                       const char **a, const char **b)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl ? (size_t)(nl - data) : size;

    *a = apr_pstrmemdup(p, (const char *)data, n);
    *b = nl ? apr_pstrmemdup(p, (const char *)nl + 1, size - n - 1) : "";
}

#endif
