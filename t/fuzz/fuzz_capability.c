/* Signed capabilities: download tickets, runner tokens and URL signatures
 * as presented (any bytes must be refused with a 401, never crash), and
 * minted ones round-tripping for any id, ttl and time. */
#include "fuzz.h"
#include "tp_capability.h"

static const unsigned char key_bytes[32] = "fuzzing key, not a secret......";
static const tp_key_t key = {key_bytes, sizeof(key_bytes)};

static long long take(const uint8_t **data, size_t *size)
{
    long long v = 0;

    if (*size >= sizeof(v)) {
        memcpy(&v, *data, sizeof(v));
        *data += sizeof(v);
        *size -= sizeof(v);
    }
    return v;
}

static void presented(apr_pool_t *p, const char *a, const char *b,
                      apr_time_t now)
{
    const char *id = NULL, *minter = NULL;
    tp_err_t *err;

    err = tp_ticket_verify(p, &key, "cv", a, now, &id, &minter);
    FUZZ_ASSERT(!err ? id && minter : err->status == 401);
    err = tp_runtok_verify(p, &key, a, b, "claim-x", now);
    FUZZ_ASSERT(!err || err->status == 401);
    err = tp_cap_verify(p, &key, "state", "sv-x", a, b, now);
    FUZZ_ASSERT(!err || err->status == 401);
}

/* Minted now with a fuzzed id and lifetime: valid until it expires, and
 * for the claim it was minted for only. */
static void minted(apr_pool_t *p, const char *id, const char *b,
                   long long ttl, apr_time_t now)
{
    const char *got = NULL, *minter = NULL;
    char *tok;
    tp_err_t *err;

    if (!*id || strchr(id, ':')) {
        return;   /* ids are generated, never empty or with a colon */
    }
    tok = tp_runtok_mint(p, &key, id, b, ttl, now);
    err = tp_runtok_verify(p, &key, tok, id, b, now);
    FUZZ_ASSERT(ttl < 0 ? err != NULL : err == NULL);
    err = tp_runtok_verify(p, &key, tok, id, apr_pstrcat(p, b, "'", NULL),
                           now);
    FUZZ_ASSERT(err && err->status == 401);
    tok = tp_ticket_mint(p, &key, "cv", id, "someone@example.com",
                         now + apr_time_from_sec(60));
    err = tp_ticket_verify(p, &key, "cv", tok, now, &got, &minter);
    FUZZ_ASSERT(!err && strcmp(got, id) == 0
                && strcmp(minter, "someone@example.com") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    long long ttl = take(&data, &size);
    apr_time_t now = apr_time_from_sec(1700000000);
    const char *a, *b;

    apr_pool_create(&p, fuzz_root);
    fuzz_split(p, data, size, &a, &b);
    presented(p, a, b, now);
    minted(p, a, b, ttl, now);
    apr_pool_destroy(p);
    return 0;
}
