/* Signing and checking capability URLs. The signed message names the kind
 * and the id, so a URL for one object never opens another. */
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <apr_strings.h>
#include "tp_capability.h"
#include "tp_crypto.h"

static char *signature(apr_pool_t *p, const tp_key_t *key, const char *kind,
                       const char *id, const char *expires)
{
    const char *msg = apr_pstrcat(p, "tpcap1\n", kind, "\n", id, "\n", expires,
                                  NULL);

    return tp_hmac_b64url(p, key->bytes, key->len, msg, strlen(msg));
}

char *tp_cap_query(apr_pool_t *p, const tp_key_t *key, const char *kind,
                   const char *id, apr_time_t expires)
{
    const char *exp = apr_psprintf(p, "%" APR_TIME_T_FMT,
                                   apr_time_sec(expires));

    return apr_pstrcat(p, "expires=", exp, "&signature=",
                       signature(p, key, kind, id, exp), NULL);
}

/* Whether a lifetime of ttl >= 0 seconds from the unix second start is
 * over at now (good through its last second). Compared in seconds, as a
 * subtraction from now: signed values read out of a token, however large,
 * cannot overflow. */
static int lapsed(long long start, long long ttl, apr_time_t now)
{
    return start < apr_time_sec(now) - ttl;
}

tp_err_t *tp_cap_verify(apr_pool_t *p, const tp_key_t *key, const char *kind,
                        const char *id, const char *expires,
                        const char *sig, apr_time_t now)
{
    char *end;
    long long exp;

    if (!expires || !sig || !*expires) {
        return tp_err(p, 401, "this URL needs its expires and signature");
    }
    errno = 0;
    exp = strtoll(expires, &end, 10);
    if (errno || *end || exp <= 0) {
        return tp_err(p, 401, "malformed URL expiry");
    }
    if (!tp_secure_equals(signature(p, key, kind, id, expires), sig)) {
        return tp_err(p, 401, "invalid URL signature");
    }
    if (lapsed(exp, 0, now)) {
        return tp_err(p, 401, "this URL has expired");
    }
    return NULL;
}

static char *ticket_body(apr_pool_t *p, const char *kind, const char *id,
                         const char *expires, const char *minter64)
{
    return apr_pstrcat(p, "dlticket:", kind, ":", id, ":", expires, ":",
                       minter64, NULL);
}

char *tp_ticket_mint(apr_pool_t *p, const tp_key_t *key, const char *kind,
                     const char *id, const char *minter, apr_time_t expires)
{
    const char *exp = apr_psprintf(p, "%" APR_TIME_T_FMT,
                                   apr_time_sec(expires));
    char *body = ticket_body(p, kind, id, exp,
                             tp_b64url(p, (const unsigned char *)minter,
                                       strlen(minter)));

    return apr_pstrcat(p, body, ":",
                       tp_hmac_b64url(p, key->bytes, key->len, body,
                                      strlen(body)), NULL);
}

tp_err_t *tp_ticket_verify(apr_pool_t *p, const tp_key_t *key,
                           const char *kind, const char *ticket,
                           apr_time_t now, const char **id,
                           const char **minter)
{
    char *copy = apr_pstrdup(p, ticket ? ticket : "");
    char *parts[6], *last = NULL;
    char *sig, *body, *end;
    long long exp;
    int n = 0;

    for (parts[n] = apr_strtok(copy, ":", &last); parts[n] && n < 5;
         parts[++n] = apr_strtok(NULL, ":", &last)) {
    }
    if (n != 5 || !parts[5] || apr_strtok(NULL, ":", &last)
        || strcmp(parts[0], "dlticket") != 0) {
        return tp_err(p, 401, "malformed download ticket");
    }
    if (strcmp(parts[1], kind) != 0) {
        return tp_err(p, 401, "this ticket is not for this kind of download");
    }
    body = ticket_body(p, parts[1], parts[2], parts[3], parts[4]);
    sig = tp_hmac_b64url(p, key->bytes, key->len, body, strlen(body));
    if (!tp_secure_equals(sig, parts[5])) {
        return tp_err(p, 401, "invalid download ticket signature");
    }
    errno = 0;
    exp = strtoll(parts[3], &end, 10);
    if (errno || *end || lapsed(exp, 0, now)) {
        return tp_err(p, 401, "this download ticket has expired");
    }
    *id = parts[2];
    if (minter) {
        apr_size_t len;
        unsigned char *m = tp_b64url_decode(p, parts[4], &len);

        *minter = m ? (const char *)m : "";
    }
    return NULL;
}

/* What a runner token's signature covers: the token's own fields, and the
 * claim of the run it was minted for, which the token does not carry (a
 * run claimed before claims had ids has none). */
static char *runtok_signed(apr_pool_t *p, const char *run_id,
                           const char *ttl, const char *issued,
                           const char *claim)
{
    char *fields = apr_pstrcat(p, "runtok:", run_id, ":", ttl, ":", issued,
                               NULL);

    return claim ? apr_pstrcat(p, fields, "\n", claim, NULL) : fields;
}

char *tp_runtok_mint(apr_pool_t *p, const tp_key_t *key, const char *run_id,
                     const char *claim, long long ttl, apr_time_t now)
{
    const char *ttl_s = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)ttl);
    const char *issued = apr_psprintf(p, "%" APR_TIME_T_FMT,
                                      apr_time_sec(now));
    char *data = runtok_signed(p, run_id, ttl_s, issued, claim);

    return apr_pstrcat(p, "runtok:", run_id, ":", ttl_s, ":", issued, ":",
                       tp_hmac_b64url(p, key->bytes, key->len, data,
                                      strlen(data)), NULL);
}

static int decimal(const char *s, long long *out)
{
    char *end;

    if (!*s || *s == '-' || *s == '+') {
        return 0;
    }
    errno = 0;
    *out = strtoll(s, &end, 10);
    return !errno && !*end;
}

tp_err_t *tp_runtok_verify(apr_pool_t *p, const tp_key_t *key,
                           const char *token, const char *run_id,
                           const char *claim, apr_time_t now)
{
    char *copy = apr_pstrdup(p, token ? token : "");
    char *parts[5], *last = NULL;
    char *data, *sig;
    long long ttl, issued;
    int n = 0;

    for (parts[n] = apr_strtok(copy, ":", &last); parts[n] && n < 4;
         parts[++n] = apr_strtok(NULL, ":", &last)) {
    }
    if (n != 4 || !parts[4] || apr_strtok(NULL, ":", &last)
        || strcmp(parts[0], "runtok") != 0
        || !decimal(parts[2], &ttl) || !decimal(parts[3], &issued)) {
        return tp_err(p, 401, "malformed runner token");
    }
    if (!run_id || strcmp(parts[1], run_id) != 0) {
        return tp_err(p, 401, "this runner token is for another run");
    }
    data = runtok_signed(p, parts[1], parts[2], parts[3], claim);
    sig = tp_hmac_b64url(p, key->bytes, key->len, data, strlen(data));
    if (!tp_secure_equals(sig, parts[4])) {
        return tp_err(p, 401, "invalid runner token signature, or a token "
                      "of an earlier phase of the run");
    }
    if (lapsed(issued, ttl, now)) {
        return tp_err(p, 401, "this runner token has expired");
    }
    return NULL;
}
