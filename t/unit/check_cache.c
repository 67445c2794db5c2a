/* Unit tests of the cache (as the token cache uses it): rows come back as
 * copies, and are gone after a bump, after their lifetime, after their
 * token's expiry, and when a full cache starts afresh. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tp_cache.h"

static apr_pool_t *pool;
static apr_uint32_t generation;

static const char *names[] = {"token_id", "kind", "roles"};

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    generation = 7;
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* A one-row lookup result; roles is NULL (SQL NULL). */
static tp_rows_t *row(const char *id)
{
    tp_rows_t *r = apr_pcalloc(pool, sizeof(*r));
    const char **cells = apr_pcalloc(pool, 3 * sizeof(*cells));

    cells[0] = apr_pstrdup(pool, id);
    cells[1] = "interactive";
    r->nrows = 1;
    r->ncols = 3;
    r->names = names;
    r->cells = cells;
    return r;
}

static tp_cache_t *cache(apr_interval_time_t ttl, int max)
{
    tp_cache_t *c = tp_cache_create(pool, &generation, ttl, max);

    ck_assert_ptr_nonnull(c);
    return c;
}

/* The token id cached for key, or NULL. */
static const char *cached(tp_cache_t *c, const char *key)
{
    apr_uint32_t gen;
    tp_rows_t *r = tp_cache_get(c, pool, key, &gen);

    ck_assert_uint_eq(gen, generation);
    return r ? r->cells[0] : NULL;
}

START_TEST(cache_keeps_a_copy)
{
    tp_cache_t *c = cache(apr_time_from_sec(60), 10);
    tp_rows_t *r = row("at-1"), *got;
    apr_uint32_t gen;

    ck_assert_ptr_null(tp_cache_get(c, pool, "k", &gen));
    tp_cache_put(c, "k", gen, r, 0);
    ((const char **)r->cells)[0] = "changed";
    got = tp_cache_get(c, pool, "k", &gen);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->nrows, 1);
    ck_assert_int_eq(got->ncols, 3);
    ck_assert_str_eq(got->names[2], "roles");
    ck_assert_str_eq(got->cells[0], "at-1");
    ck_assert_str_eq(got->cells[1], "interactive");
    ck_assert_ptr_null(got->cells[2]);
    ck_assert_ptr_ne(got->cells[0], r->cells[0]);
    ck_assert_ptr_null(cached(c, "other"));
    /* a second row for the key replaces the first */
    tp_cache_put(c, "k", gen, row("at-2"), 0);
    ck_assert_str_eq(cached(c, "k"), "at-2");
}
END_TEST

START_TEST(cache_keeps_single_rows_only)
{
    tp_cache_t *c = cache(apr_time_from_sec(60), 10);
    tp_rows_t *none = row("at-1");

    none->nrows = 0;
    tp_cache_put(c, "k", generation, none, 0);
    ck_assert_ptr_null(cached(c, "k"));
}
END_TEST

START_TEST(cache_bump_drops_everything)
{
    tp_cache_t *c = cache(apr_time_from_sec(60), 10);
    tp_cache_t *other = cache(apr_time_from_sec(60), 10);
    apr_uint32_t before;

    tp_cache_put(c, "a", generation, row("at-a"), 0);
    tp_cache_put(other, "b", generation, row("at-b"), 0);
    ck_assert_ptr_null(tp_cache_get(c, pool, "late", &before));
    /* another process's cache shares the generation */
    tp_cache_bump(other);
    ck_assert_ptr_null(cached(c, "a"));
    ck_assert_ptr_null(cached(other, "b"));
    /* a row read before the bump is stale however late it is kept */
    tp_cache_put(c, "late", before, row("at-late"), 0);
    ck_assert_ptr_null(cached(c, "late"));
    tp_cache_put(c, "a", generation, row("at-a"), 0);
    ck_assert_str_eq(cached(c, "a"), "at-a");
    /* the generation taken ahead of a read is the one get would give */
    ck_assert_uint_eq(tp_cache_generation(other), before + 1);
    before = tp_cache_generation(c);
    tp_cache_bump(c);
    tp_cache_put(c, "early", before, row("at-early"), 0);
    ck_assert_ptr_null(cached(c, "early"));
}
END_TEST

START_TEST(cache_lifetime_and_expiry)
{
    tp_cache_t *c = cache(apr_time_from_msec(100), 10);
    tp_cache_t *long_lived = cache(apr_time_from_sec(60), 10);
    apr_time_t now = apr_time_now();

    tp_cache_put(c, "k", generation, row("at-1"), 0);
    tp_cache_put(long_lived, "soon", generation, row("at-2"),
                 now + apr_time_from_msec(100));
    tp_cache_put(long_lived, "gone", generation, row("at-3"),
                 now - 1);
    tp_cache_put(long_lived, "later", generation, row("at-4"),
                 now + apr_time_from_sec(30));
    ck_assert_str_eq(cached(c, "k"), "at-1");
    ck_assert_str_eq(cached(long_lived, "soon"), "at-2");
    ck_assert_ptr_null(cached(long_lived, "gone"));
    apr_sleep(apr_time_from_msec(150));
    ck_assert_ptr_null(cached(c, "k"));
    ck_assert_ptr_null(cached(long_lived, "soon"));
    ck_assert_str_eq(cached(long_lived, "later"), "at-4");
}
END_TEST

START_TEST(cache_full_starts_afresh)
{
    tp_cache_t *c = cache(apr_time_from_sec(60), 2);

    tp_cache_put(c, "a", generation, row("at-a"), 0);
    tp_cache_put(c, "b", generation, row("at-b"), 0);
    /* replacing a kept key does not count as a new one */
    tp_cache_put(c, "b", generation, row("at-b2"), 0);
    ck_assert_str_eq(cached(c, "a"), "at-a");
    ck_assert_str_eq(cached(c, "b"), "at-b2");
    tp_cache_put(c, "c", generation, row("at-c"), 0);
    ck_assert_ptr_null(cached(c, "a"));
    ck_assert_ptr_null(cached(c, "b"));
    ck_assert_str_eq(cached(c, "c"), "at-c");
}
END_TEST

Suite *cache_suite(void);

Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cache_keeps_a_copy);
    tcase_add_test(tc, cache_keeps_single_rows_only);
    tcase_add_test(tc, cache_bump_drops_everything);
    tcase_add_test(tc, cache_lifetime_and_expiry);
    tcase_add_test(tc, cache_full_starts_afresh);
    suite_add_tcase(s, tc);
    return s;
}
