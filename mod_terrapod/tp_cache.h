/* A process's memory of database reads, believed for a few seconds: the
 * lookup rows of accepted API tokens, and the answers of hot reads, so
 * that a client's burst of requests (terraform's dozen around an apply, a
 * CI job or a browser polling) reads the database once instead of once per
 * request. Each cache is tied to a generation counter its writers bump. */
#ifndef TP_CACHE_H
#define TP_CACHE_H

#include <apr_pools.h>
#include <apr_time.h>
#include "tp_db.h"

typedef struct tp_cache tp_cache_t;

/* A cache living as long as p, holding at most max entries, each for at
 * most ttl. generation is a counter shared by every process of the server
 * (in shared memory): tp_cache_bump in any of them drops the entries
 * of all. NULL when the cache cannot be set up. */
tp_cache_t *tp_cache_create(apr_pool_t *p, volatile apr_uint32_t *generation,
                            apr_interval_time_t ttl, int max);

/* A copy in p of the row kept for key, or NULL when there is none still
 * good. *gen: the generation to keep a row read from the database now
 * with, read before that read so that a bump during it makes the row
 * stale. */
tp_rows_t *tp_cache_get(tp_cache_t *c, apr_pool_t *p, const char *key,
                        apr_uint32_t *gen);

/* The generation now, to keep rows read from the database from now on
 * with (tp_cache_get gives it too). */
apr_uint32_t tp_cache_generation(const tp_cache_t *c);

/* Keeps the single row of rows for key until ttl passes, expires does
 * (0: never; a token's own expiry) or the generation moves on from gen. A
 * full cache starts afresh. */
void tp_cache_put(tp_cache_t *c, const char *key, apr_uint32_t gen,
                  const tp_rows_t *rows, apr_time_t expires);

/* Drops every process's entries: called after a change they may show has
 * been committed. */
void tp_cache_bump(tp_cache_t *c);

#endif
