/* Path patterns for the route table: literal segments and {name}
 * placeholders, each placeholder matching one non-empty segment. */
#ifndef TP_ROUTE_H
#define TP_ROUTE_H

#include <apr_pools.h>

#define TP_ROUTE_MAX_PARAMS 6

typedef struct tp_params {
    int n;
    const char *names[TP_ROUTE_MAX_PARAMS];
    const char *values[TP_ROUTE_MAX_PARAMS];
} tp_params_t;

/* Matches path against pattern; on success fills params with the
 * percent-decoded placeholder values and returns 1. A single trailing
 * slash on the path is ignored. */
int tp_route_match(apr_pool_t *p, const char *pattern, const char *path,
                   tp_params_t *params);

const char *tp_param(const tp_params_t *params, const char *name);

/* Percent-encodes all but RFC 3986's unreserved characters, for query
 * strings and form bodies. */
char *tp_url_encode(apr_pool_t *p, const char *s);

#endif
