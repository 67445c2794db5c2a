/* The cache: a hash of malloc'd entries behind one mutex, each entry
 * one block holding its key and a packed copy of its row. Rows are copied
 * out into the caller's pool, so an entry may be dropped at any time. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_thread_mutex.h>
#include "tp_cache.h"

struct tp_cache {
    apr_thread_mutex_t *lock;
    apr_hash_t *entries;          /* key -> entry_t * */
    volatile apr_uint32_t *generation;
    apr_interval_time_t ttl;
    int max;
};

typedef struct entry {
    apr_time_t until;
    apr_uint32_t gen;
    tp_rows_t *rows;              /* in the same block */
    char key[1];                  /* the block goes on past it */
} entry_t;

/* Bytes a packed copy of rows takes. */
static apr_size_t rows_size(const tp_rows_t *r)
{
    int i, ncells = r->nrows * r->ncols;
    apr_size_t size = sizeof(*r)
                      + sizeof(char *) * (apr_size_t)(r->ncols + ncells);

    for (i = 0; i < r->ncols; i++) {
        size += strlen(r->names[i]) + 1;
    }
    for (i = 0; i < ncells; i++) {
        size += r->cells[i] ? strlen(r->cells[i]) + 1 : 0;
    }
    return size;
}

static const char *pack_str(char **at, const char *s)
{
    apr_size_t n;
    char *copy = *at;

    if (!s) {
        return NULL;
    }
    n = strlen(s) + 1;
    memcpy(copy, s, n);
    *at += n;
    return copy;
}

/* Copies rows into buf (rows_size bytes, aligned for pointers). */
static tp_rows_t *rows_pack(const tp_rows_t *r, void *buf)
{
    tp_rows_t *c = buf;
    int i, ncells = r->nrows * r->ncols;
    char *at;

    *c = *r;
    c->names = (const char **)(c + 1);
    c->cells = c->names + r->ncols;
    at = (char *)(c->cells + ncells);
    for (i = 0; i < r->ncols; i++) {
        c->names[i] = pack_str(&at, r->names[i]);
    }
    for (i = 0; i < ncells; i++) {
        c->cells[i] = pack_str(&at, r->cells[i]);
    }
    return c;
}

static apr_status_t drop_all(void *data)
{
    tp_cache_t *c = data;
    apr_hash_index_t *hi;
    const void *key;
    void *e;

    /* the keys live in the entries: each goes from the hash before it is
     * freed (deleting the current entry is safe while iterating) */
    for (hi = apr_hash_first(NULL, c->entries); hi; hi = apr_hash_next(hi)) {
        apr_hash_this(hi, &key, NULL, &e);
        apr_hash_set(c->entries, key, APR_HASH_KEY_STRING, NULL);
        free(e);
    }
    return APR_SUCCESS;
}

tp_cache_t *tp_cache_create(apr_pool_t *p, volatile apr_uint32_t *generation,
                            apr_interval_time_t ttl, int max)
{
    tp_cache_t *c = apr_pcalloc(p, sizeof(*c));

    if (apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p)
        != APR_SUCCESS) {
        return NULL;
    }
    c->entries = apr_hash_make(p);
    c->generation = generation;
    c->ttl = ttl;
    c->max = max;
    apr_pool_cleanup_register(p, c, drop_all, apr_pool_cleanup_null);
    return c;
}

apr_uint32_t tp_cache_generation(const tp_cache_t *c)
{
    return apr_atomic_read32(c->generation);
}

tp_rows_t *tp_cache_get(tp_cache_t *c, apr_pool_t *p, const char *key,
                        apr_uint32_t *gen)
{
    tp_rows_t *copy = NULL;
    entry_t *e;

    *gen = tp_cache_generation(c);
    apr_thread_mutex_lock(c->lock);
    e = apr_hash_get(c->entries, key, APR_HASH_KEY_STRING);
    if (e && e->gen == *gen && apr_time_now() < e->until) {
        copy = rows_pack(e->rows, apr_palloc(p, rows_size(e->rows)));
    }
    apr_thread_mutex_unlock(c->lock);
    return copy;
}

void tp_cache_put(tp_cache_t *c, const char *key, apr_uint32_t gen,
                  const tp_rows_t *rows, apr_time_t expires)
{
    apr_size_t klen = strlen(key) + 1;
    /* the row goes after the key, at the next pointer boundary */
    apr_size_t at = APR_ALIGN(offsetof(entry_t, key) + klen,
                              sizeof(void *));
    entry_t *e, *old;

    if (rows->nrows != 1 || (e = malloc(at + rows_size(rows))) == NULL) {
        return;
    }
    e->until = apr_time_now() + c->ttl;
    if (expires && expires < e->until) {
        e->until = expires;
    }
    e->gen = gen;
    memcpy(e->key, key, klen);
    e->rows = rows_pack(rows, (char *)e + at);
    apr_thread_mutex_lock(c->lock);
    old = apr_hash_get(c->entries, key, APR_HASH_KEY_STRING);
    if (old) {
        /* the hash would keep old's key, which goes with old */
        apr_hash_set(c->entries, key, APR_HASH_KEY_STRING, NULL);
        free(old);
    } else if ((int)apr_hash_count(c->entries) >= c->max) {
        drop_all(c);
    }
    apr_hash_set(c->entries, e->key, APR_HASH_KEY_STRING, e);
    apr_thread_mutex_unlock(c->lock);
}

void tp_cache_bump(tp_cache_t *c)
{
    apr_atomic_inc32(c->generation);
}
