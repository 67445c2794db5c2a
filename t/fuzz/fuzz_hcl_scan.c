/* The HCL block scanner of module uploads: any bytes are scanned or
 * refused with a 422 naming a line, never a crash, never a read past the
 * input (it is passed without a terminating NUL); every block found has
 * a name and comes from a "variable" or "output" keyword in the input; a
 * second scan finds the same. */
#include "fuzz.h"
#include "tp_hcl_scan.h"

static int occurrences(const uint8_t *data, size_t size, const char *word)
{
    size_t n = strlen(word), i;
    int count = 0;

    for (i = 0; i + n <= size; i++) {
        count += memcmp(data + i, word, n) == 0;
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *vars, *outs, *vars2, *outs2;
    tp_err_t *err, *again;
    int i;

    apr_pool_create(&p, fuzz_root);
    vars = apr_array_make(p, 4, sizeof(tp_hcl_var_t));
    outs = apr_array_make(p, 4, sizeof(tp_hcl_output_t));
    vars2 = apr_array_make(p, 4, sizeof(tp_hcl_var_t));
    outs2 = apr_array_make(p, 4, sizeof(tp_hcl_output_t));
    err = tp_hcl_scan(p, (const char *)data, size, vars, outs);
    FUZZ_ASSERT(!err || (err->status == 422
                         && strncmp(err->detail, "line ", 5) == 0));
    FUZZ_ASSERT(vars->nelts <= occurrences(data, size, "variable"));
    FUZZ_ASSERT(outs->nelts <= occurrences(data, size, "output"));
    for (i = 0; i < vars->nelts; i++) {
        FUZZ_ASSERT(APR_ARRAY_IDX(vars, i, tp_hcl_var_t).name != NULL);
    }
    for (i = 0; i < outs->nelts; i++) {
        FUZZ_ASSERT(APR_ARRAY_IDX(outs, i, tp_hcl_output_t).name != NULL);
    }
    again = tp_hcl_scan(p, (const char *)data, size, vars2, outs2);
    FUZZ_ASSERT(!err == !again && vars->nelts == vars2->nelts
                && outs->nelts == outs2->nelts);
    FUZZ_ASSERT(!err || strcmp(err->detail, again->detail) == 0);
    apr_pool_destroy(p);
    return 0;
}
