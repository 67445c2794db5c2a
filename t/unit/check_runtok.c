/* Unit tests of runner tokens: the shape a listener hands its runner, and
 * every way one is refused (tampered, another run, another claim of the
 * run, expired, malformed, signed with another key). */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tp_capability.h"

static apr_pool_t *pool;
static const tp_key_t key = {(const unsigned char *)
                             "0123456789abcdef0123456789abcdef", 32};
static const tp_key_t other = {(const unsigned char *)
                               "fedcba9876543210fedcba9876543210", 32};

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

#define CLAIM "claim-0123456789abcdef"

static int refused(const char *token, const char *run, apr_time_t now)
{
    tp_err_t *err = tp_runtok_verify(pool, &key, token, run, CLAIM, now);

    return err && err->status == 401;
}

START_TEST(runtok_shape_and_roundtrip)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    char *tok = tp_runtok_mint(pool, &key, "run-abc", CLAIM, 3600, now);

    ck_assert(strncmp(tok, "runtok:run-abc:3600:1700000000:", 31) == 0);
    ck_assert(strlen(tok) > 31 + 40);
    ck_assert_ptr_null(tp_runtok_verify(pool, &key, tok, "run-abc", CLAIM,
                                        now));
    /* still good on its last second */
    ck_assert_ptr_null(tp_runtok_verify(pool, &key, tok, "run-abc", CLAIM,
                                        now + apr_time_from_sec(3600)));
}
END_TEST

/* Lifetimes and expiries as large as a signed token can carry are
 * compared without overflowing into the past. */
START_TEST(runtok_huge_lifetime_is_not_expired)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    char *tok = tp_runtok_mint(pool, &key, "run-abc", CLAIM, APR_INT64_MAX,
                               now);
    const char *id = NULL, *minter = NULL;
    char *ticket;

    ck_assert_ptr_null(tp_runtok_verify(pool, &key, tok, "run-abc", CLAIM,
                                        now));
    tok = tp_runtok_mint(pool, &key, "run-abc", CLAIM,
                         APR_INT64_MAX / 1000000, now);
    ck_assert_ptr_null(tp_runtok_verify(pool, &key, tok, "run-abc", CLAIM,
                                        now));
    ticket = tp_ticket_mint(pool, &key, "cv", "cv-abc", "a@example.com",
                            APR_INT64_MAX);
    ck_assert_ptr_null(tp_ticket_verify(pool, &key, "cv", ticket, now, &id,
                                        &minter));
    ck_assert_str_eq(id, "cv-abc");
}
END_TEST

START_TEST(runtok_refusals)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    char *tok = tp_runtok_mint(pool, &key, "run-abc", CLAIM, 60, now);
    char *bad = apr_pstrdup(pool, tok);
    char *longer;

    ck_assert(refused(tok, "run-other", now));
    ck_assert(refused(tok, NULL, now));
    ck_assert(refused(tok, "run-abc", now + apr_time_from_sec(61)));
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
    ck_assert(refused(bad, "run-abc", now));
    /* a longer lifetime is not the token's to choose */
    longer = apr_pstrdup(pool, tok);
    memcpy(strstr(longer, ":60:"), ":99:", 4);
    ck_assert(refused(longer, "run-abc", now + apr_time_from_sec(90)));
    ck_assert(tp_runtok_verify(pool, &other, tok, "run-abc", CLAIM, now) != NULL);
    ck_assert(refused(NULL, "run-abc", now));
    ck_assert(refused("", "run-abc", now));
    ck_assert(refused("runtok:run-abc:60:1700000000", "run-abc", now));
    ck_assert(refused(apr_pstrcat(pool, tok, ":x", NULL), "run-abc", now));
    ck_assert(refused("dlticket:run-abc:60:1700000000:sig", "run-abc", now));
    ck_assert(refused("runtok:run-abc:-5:1700000000:sig", "run-abc", now));
    ck_assert(refused("runtok:run-abc:6O:1700000000:sig", "run-abc", now));
}
END_TEST

/* A token is signed for the claim of the phase it was minted in: the
 * next claim of the same run (its apply, or another listener) makes it
 * useless, and a run claimed before claims had ids keeps the tokens
 * minted for it then. */
START_TEST(runtok_bound_to_its_claim)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    char *tok = tp_runtok_mint(pool, &key, "run-abc", CLAIM, 60, now);
    char *unclaimed = tp_runtok_mint(pool, &key, "run-abc", NULL, 60, now);
    tp_err_t *err;

    ck_assert_ptr_null(tp_runtok_verify(pool, &key, tok, "run-abc", CLAIM,
                                        now));
    err = tp_runtok_verify(pool, &key, tok, "run-abc", "claim-later", now);
    ck_assert(err && err->status == 401);
    ck_assert(strstr(err->detail, "earlier phase") != NULL);
    ck_assert(tp_runtok_verify(pool, &key, tok, "run-abc", NULL, now)
              != NULL);
    ck_assert_ptr_null(tp_runtok_verify(pool, &key, unclaimed, "run-abc",
                                        NULL, now));
    ck_assert(refused(unclaimed, "run-abc", now));
    /* the claim is signed, not carried: only the signature differs */
    ck_assert_int_eq(strrchr(tok, ':') - tok,
                     strrchr(unclaimed, ':') - unclaimed);
    ck_assert(strncmp(tok, unclaimed, (size_t)(strrchr(tok, ':') - tok))
              == 0);
    ck_assert_str_ne(strrchr(tok, ':'), strrchr(unclaimed, ':'));
}
END_TEST

Suite *runtok_suite(void);

Suite *runtok_suite(void)
{
    Suite *s = suite_create("runtok");
    TCase *tc = tcase_create("runtok");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, runtok_shape_and_roundtrip);
    tcase_add_test(tc, runtok_refusals);
    tcase_add_test(tc, runtok_bound_to_its_claim);
    tcase_add_test(tc, runtok_huge_lifetime_is_not_expired);
    suite_add_tcase(s, tc);
    return s;
}
