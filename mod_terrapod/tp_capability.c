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
    if (apr_time_from_sec(exp) < now) {
        return tp_err(p, 401, "this URL has expired");
    }
    return NULL;
}
