/* JSON Web Keys and signed JSON Web Tokens (compact JWS) as OpenID Connect
 * ID tokens use them: RS256 and ES256 only. The signature math is
 * tp_crypto's and the JSON tp_json's; this file owns the rules. */
#ifndef TP_JWT_H
#define TP_JWT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "tp_error.h"
#include "tp_json.h"
#include "tp_crypto.h"

#define TP_JWT_MAX_LEN     16384   /* longest token accepted */
#define TP_JWKS_MAX_KEYS   64      /* keys read from one set */
#define TP_JWT_SKEW        120     /* seconds of clock difference allowed */
#define TP_JWT_MAX_GROUPS  256     /* groups read from one token */

typedef struct tp_jwk {
    const char *kid;        /* NULL when the key has none */
    int is_rsa;             /* else EC P-256 */
    tp_pubkey_t *key;
} tp_jwk_t;

/* The signing keys of a JWK Set (RSA, and EC on P-256; keys whose use is
 * not "sig" and other types are skipped). 502 when the document is not a
 * key set. keys is an array of tp_jwk_t. */
tp_err_t *tp_jwks_parse(apr_pool_t *p, const char *json, apr_size_t len,
                        apr_array_header_t **keys);

/* The key a token names: by kid, or without a kid the one key of the
 * token's type when the set holds exactly one. NULL when none fits. */
const tp_jwk_t *tp_jwks_find(const apr_array_header_t *keys,
                             const char *kid, tp_sig_alg_e alg);

typedef struct tp_jwt {
    tp_sig_alg_e alg;
    const char *kid;             /* NULL when the header has none */
    tp_json_t *claims;
    const char *signing_input;   /* base64url(header) "." base64url(claims) */
    unsigned char *sig;
    apr_size_t sig_len;
} tp_jwt_t;

/* Splits and decodes a compact JWS. 401 for anything malformed and for
 * every algorithm but RS256 and ES256 ("none" and HMAC among them). */
tp_err_t *tp_jwt_decode(apr_pool_t *p, const char *token, tp_jwt_t **out);

/* 401 unless key (of the token's algorithm's type) signed the token. */
tp_err_t *tp_jwt_verify(apr_pool_t *p, const tp_jwt_t *jwt,
                        const tp_jwk_t *key);

typedef struct tp_jwt_expect {
    const char *issuer;     /* iss must equal it exactly */
    const char *audience;   /* our client id: aud must name it */
    const char *nonce;      /* the nonce our authorization request sent */
    apr_time_t now;
} tp_jwt_expect_t;

/* 401 unless the ID token's claims are for us, now: iss, aud (and azp
 * when present), exp, nbf and iat (TP_JWT_SKEW seconds of slack), nonce. */
tp_err_t *tp_jwt_check_claims(apr_pool_t *p, const tp_jwt_t *jwt,
                              const tp_jwt_expect_t *want);

/* Who an ID token says signed in. */
typedef struct tp_identity {
    const char *subject;
    const char *email;             /* lower-cased */
    const char *name;              /* "" when the token has none */
    apr_array_header_t *groups;    /* of const char *, from groups_claim */
} tp_identity_t;

/* The identity in verified claims: 401 without a usable email or when
 * email_verified is false; a groups claim that is not a list of strings
 * is an error too (rather than silently no groups). */
tp_err_t *tp_jwt_identity(apr_pool_t *p, const tp_jwt_t *jwt,
                          const char *groups_claim, tp_identity_t **out);

#endif
