/* A module's interface read from its .tf files: the top-level variable
 * and output blocks and the few attributes the registry shows. Not an HCL
 * parser: a bounded block scanner that knows enough of the syntax
 * (comments, quoted strings with templates, heredocs, nested brackets and
 * blocks) to find where each block and attribute ends. */
#ifndef TP_HCL_SCAN_H
#define TP_HCL_SCAN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "tp_error.h"

/* Deepest nesting of brackets, blocks and templates the scanner follows. */
#define TP_HCL_MAX_DEPTH 64

typedef struct tp_hcl_var {
    const char *name;
    const char *type;           /* the type expression as written; NULL */
    const char *description;    /* a literal string decoded; NULL */
    int has_default;            /* a default is given (so not required) */
    int sensitive;              /* sensitive = true */
} tp_hcl_var_t;

typedef struct tp_hcl_output {
    const char *name;
    const char *description;
    int sensitive;
} tp_hcl_output_t;

/* Adds the variable blocks of src (len bytes, need not end in NUL) to
 * vars (tp_hcl_var_t) and its output blocks to outputs (tp_hcl_output_t).
 * 422 naming the line of what cannot be HCL: an unterminated string,
 * comment, heredoc or block, a stray character where a block or
 * attribute must start, or nesting past TP_HCL_MAX_DEPTH. What was found
 * before the error stays added. */
tp_err_t *tp_hcl_scan(apr_pool_t *p, const char *src, apr_size_t len,
                      apr_array_header_t *vars, apr_array_header_t *outputs);

#endif
