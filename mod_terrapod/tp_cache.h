/* A process's memory of API token lookups: each accepted token's lookup
 * row, believed for a few seconds so that a client's burst of requests
 * (terraform's dozen around an apply, a CI job polling) costs one lookup
 * instead of one per request. */
#ifndef TP_TOKEN_CACHE_H
#define TP_TOKEN_CACHE_H

#include <apr_pools.h>
#include <apr_time.h>
#include "tp_db.h"

typedef struct tp_token_cache tp_token_cache_t;

/* A cache living as long as p, holding at most max entries, each for at
 * most ttl. generation is a counter shared by every process of the server
 * (in shared memory): tp_token_cache_bump in any of them drops the entries
 * of all. NULL when the cache cannot be set up. */
tp_token_cache_t *tp_token_cache_create(apr_pool_t *p,
                                        volatile apr_uint32_t *generation,
                                        apr_interval_time_t ttl, int max);

/* A copy in p of the row kept for key, or NULL when there is none still
 * good. *gen: the generation to keep a row read from the database now
 * with, read before that read so that a bump during it makes the row
 * stale. */
tp_rows_t *tp_token_cache_get(tp_token_cache_t *c, apr_pool_t *p,
                              const char *key, apr_uint32_t *gen);

/* Keeps the single row of rows for key until ttl passes, the token
 * expires (expires; 0 when it never does) or the generation moves on from
 * gen. A full cache starts afresh. */
void tp_token_cache_put(tp_token_cache_t *c, const char *key,
                        apr_uint32_t gen, const tp_rows_t *rows,
                        apr_time_t expires);

/* Drops every process's entries: called after a change to who may do
 * what (tokens, users, roles, role assignments) has been committed. */
void tp_token_cache_bump(tp_token_cache_t *c);

#endif
