/* ID token verification: JWK Sets, compact JWS decoding and signature
 * checks (RS256, ES256), the claims OpenID Connect requires of an ID token
 * and the identity it carries. */
#include <string.h>
#include <apr_strings.h>
#include "tp_jwt.h"
#include "tp_auth.h"

static tp_err_t *rejected(apr_pool_t *p, const char *why)
{
    return tp_err(p, 401, "ID token rejected: %s", why);
}

/* A base64url member of a JWK, decoded; NULL when absent or invalid. */
static unsigned char *jwk_bytes(apr_pool_t *p, const tp_json_t *jwk,
                                const char *name, apr_size_t *len)
{
    const char *s = tp_json_gets(jwk, name, NULL);

    return s ? tp_b64url_decode(p, s, len) : NULL;
}

/* One key of a set, or NULL when it is not a signing key we support. */
static tp_jwk_t *jwk_parse(apr_pool_t *p, const tp_json_t *jwk)
{
    const char *kty = tp_json_gets(jwk, "kty", NULL);
    const char *use = tp_json_gets(jwk, "use", NULL);
    const char *crv = tp_json_gets(jwk, "crv", NULL);
    unsigned char *a, *b;
    apr_size_t alen = 0, blen = 0;
    tp_jwk_t *k = apr_pcalloc(p, sizeof(*k));

    if (!kty || (use && strcmp(use, "sig") != 0)) {
        return NULL;
    }
    k->kid = tp_json_gets(jwk, "kid", NULL);
    if (strcmp(kty, "RSA") == 0) {
        a = jwk_bytes(p, jwk, "n", &alen);
        b = jwk_bytes(p, jwk, "e", &blen);
        k->is_rsa = 1;
        k->key = a && b ? tp_pubkey_rsa(p, a, alen, b, blen) : NULL;
    }
    else if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0) {
        a = jwk_bytes(p, jwk, "x", &alen);
        b = jwk_bytes(p, jwk, "y", &blen);
        k->key = a && b ? tp_pubkey_p256(p, a, alen, b, blen) : NULL;
    }
    return k->key ? k : NULL;
}

tp_err_t *tp_jwks_parse(apr_pool_t *p, const char *json, apr_size_t len,
                        apr_array_header_t **keys)
{
    const char *why = NULL;
    tp_json_t *doc = tp_json_parse(p, json, len, &why);
    tp_json_t *list = tp_json_get(doc, "keys", NULL);
    apr_size_t i, n = tp_json_len(list);

    if (!doc || tp_json_type(list, NULL) != TP_JSON_ARRAY) {
        return tp_err(p, 502, "the identity provider's key set is not a "
                      "JWK Set%s%s", why ? ": " : "", why ? why : "");
    }
    *keys = apr_array_make(p, (int)(n ? n : 1), sizeof(tp_jwk_t));
    for (i = 0; i < n && i < TP_JWKS_MAX_KEYS; i++) {
        tp_jwk_t *k = jwk_parse(p, tp_json_at(list, i));

        if (k) {
            APR_ARRAY_PUSH(*keys, tp_jwk_t) = *k;
        }
    }
    return NULL;
}

const tp_jwk_t *tp_jwks_find(const apr_array_header_t *keys,
                             const char *kid, tp_sig_alg_e alg)
{
    const tp_jwk_t *only = NULL;
    int i, candidates = 0;

    for (i = 0; i < keys->nelts; i++) {
        const tp_jwk_t *k = &APR_ARRAY_IDX(keys, i, tp_jwk_t);

        if (k->is_rsa != (alg == TP_SIG_RS256)) {
            continue;
        }
        if (kid && k->kid && strcmp(kid, k->kid) == 0) {
            return k;
        }
        only = k;
        candidates++;
    }
    return !kid && candidates == 1 ? only : NULL;
}

/* A base64url JSON object segment; NULL when it is anything else. */
static tp_json_t *segment_json(apr_pool_t *p, const char *seg)
{
    apr_size_t len = 0;
    unsigned char *raw = tp_b64url_decode(p, seg, &len);
    tp_json_t *j = raw ? tp_json_parse(p, (const char *)raw, len, NULL)
                       : NULL;

    return tp_json_type(j, NULL) == TP_JSON_OBJECT ? j : NULL;
}

tp_err_t *tp_jwt_decode(apr_pool_t *p, const char *token, tp_jwt_t **out)
{
    char *copy, *dot1, *dot2;
    const char *alg;
    tp_json_t *header;
    tp_jwt_t *jwt;

    if (!token || strlen(token) > TP_JWT_MAX_LEN) {
        return rejected(p, "missing or too long");
    }
    copy = apr_pstrdup(p, token);
    if (!(dot1 = strchr(copy, '.')) || !(dot2 = strchr(dot1 + 1, '.'))
        || strchr(dot2 + 1, '.')) {
        return rejected(p, "not a compact JWS (three dot-separated parts)");
    }
    *dot1 = *dot2 = '\0';
    if (!(header = segment_json(p, copy))) {
        return rejected(p, "the header is not a base64url JSON object");
    }
    alg = tp_json_gets(header, "alg", NULL);
    if (!alg || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0)) {
        return rejected(p, apr_psprintf(p, "algorithm %s is not accepted "
                                         "(only RS256 and ES256)",
                                         alg ? alg : "(none given)"));
    }
    if (tp_json_type(header, "crit", NULL) != TP_JSON_ABSENT) {
        return rejected(p, "critical header extensions are not supported");
    }
    jwt = apr_pcalloc(p, sizeof(*jwt));
    jwt->alg = strcmp(alg, "RS256") == 0 ? TP_SIG_RS256 : TP_SIG_ES256;
    jwt->kid = tp_json_gets(header, "kid", NULL);
    if (!(jwt->claims = segment_json(p, dot1 + 1))) {
        return rejected(p, "the claims are not a base64url JSON object");
    }
    if (!(jwt->sig = tp_b64url_decode(p, dot2 + 1, &jwt->sig_len))
        || jwt->sig_len == 0) {
        return rejected(p, "the signature is not base64url");
    }
    jwt->signing_input = apr_pstrndup(p, token, (apr_size_t)(dot2 - copy));
    *out = jwt;
    return NULL;
}

tp_err_t *tp_jwt_verify(apr_pool_t *p, const tp_jwt_t *jwt,
                        const tp_jwk_t *key)
{
    if (!tp_pubkey_verify(key->key, jwt->alg, jwt->signing_input,
                          strlen(jwt->signing_input), jwt->sig,
                          jwt->sig_len)) {
        return rejected(p, "the signature does not verify");
    }
    return NULL;
}

/* 1 when the aud claim (a string or a list of strings) names client. */
static int audience_has(const tp_json_t *claims, const char *client)
{
    tp_json_t *aud = tp_json_get(claims, "aud", NULL);
    apr_size_t i, n;

    if (tp_json_type(aud, NULL) == TP_JSON_STRING) {
        return strcmp(tp_json_gets(aud, NULL), client) == 0;
    }
    n = tp_json_len(aud);
    for (i = 0; i < n; i++) {
        const char *one = tp_json_gets(tp_json_at(aud, i), NULL);

        if (one && strcmp(one, client) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A NumericDate claim in seconds; -1 when it is not an integer. */
static long long numeric_date(const tp_json_t *claims, const char *name,
                              int *present)
{
    tp_json_type_e t = tp_json_type(claims, name, NULL);

    *present = t != TP_JSON_ABSENT;
    return t == TP_JSON_INTEGER ? tp_json_geti(claims, name, NULL) : -1;
}

static const char *check_times(apr_pool_t *p, const tp_json_t *claims,
                               apr_time_t when)
{
    long long now = (long long)apr_time_sec(when);
    int has_exp, has_iat, has_nbf;
    long long exp = numeric_date(claims, "exp", &has_exp);
    long long iat = numeric_date(claims, "iat", &has_iat);
    long long nbf = numeric_date(claims, "nbf", &has_nbf);

    if (exp < 0 || iat < 0 || (has_nbf && nbf < 0)) {
        return "exp and iat must be present as whole seconds";
    }
    if (exp + TP_JWT_SKEW < now) {
        return apr_psprintf(p, "expired %" APR_INT64_T_FMT " seconds ago",
                            (apr_int64_t)(now - exp));
    }
    if (has_nbf && nbf - TP_JWT_SKEW > now) {
        return "not valid yet (nbf is in the future)";
    }
    if (iat - TP_JWT_SKEW > now) {
        return "issued in the future (iat)";
    }
    return NULL;
}

tp_err_t *tp_jwt_check_claims(apr_pool_t *p, const tp_jwt_t *jwt,
                              const tp_jwt_expect_t *want)
{
    const tp_json_t *c = jwt->claims;
    const char *iss = tp_json_gets(c, "iss", NULL);
    const char *azp = tp_json_gets(c, "azp", NULL);
    const char *nonce = tp_json_gets(c, "nonce", NULL);
    const char *why;

    if (!iss || strcmp(iss, want->issuer) != 0) {
        return rejected(p, apr_psprintf(p, "issuer %s is not the configured "
                                        "issuer %s", iss ? iss : "(none)",
                                        want->issuer));
    }
    if (!audience_has(c, want->audience)
        || (azp && strcmp(azp, want->audience) != 0)) {
        return rejected(p, "it was not issued to this client (aud/azp)");
    }
    if ((why = check_times(p, c, want->now)) != NULL) {
        return rejected(p, why);
    }
    if (!nonce || !tp_secure_equals(nonce, want->nonce)) {
        return rejected(p, "the nonce is not the one this sign-in sent");
    }
    if (!tp_json_gets(c, "sub", NULL)) {
        return rejected(p, "it has no subject (sub)");
    }
    return NULL;
}

/* The groups claim as strings; absent is no groups. */
static tp_err_t *groups_of(apr_pool_t *p, const tp_json_t *claims,
                           const char *claim, apr_array_header_t **out)
{
    tp_json_t *list = tp_json_get(claims, claim, NULL);
    apr_size_t i, n = tp_json_len(list);

    *out = apr_array_make(p, 4, sizeof(const char *));
    if (!list) {
        return NULL;
    }
    if (tp_json_type(list, NULL) != TP_JSON_ARRAY || n > TP_JWT_MAX_GROUPS) {
        return rejected(p, apr_psprintf(p, "claim %s is not a list of at "
                                        "most %d strings", claim,
                                        TP_JWT_MAX_GROUPS));
    }
    for (i = 0; i < n; i++) {
        const char *g = tp_json_gets(tp_json_at(list, i), NULL);

        if (!g) {
            return rejected(p, apr_psprintf(p, "claim %s holds a value that "
                                            "is not a string", claim));
        }
        APR_ARRAY_PUSH(*out, const char *) = g;
    }
    return NULL;
}

tp_err_t *tp_jwt_identity(apr_pool_t *p, const tp_jwt_t *jwt,
                          const char *groups_claim, tp_identity_t **out)
{
    const tp_json_t *c = jwt->claims;
    const char *email = tp_json_gets(c, "email", NULL);
    const char *name = tp_json_gets(c, "name", NULL);
    const char *verified;
    tp_identity_t *id;
    tp_err_t *err;

    if (!email || !tp_email_valid(email)) {
        return rejected(p, "it carries no email address (is the email "
                        "scope granted?)");
    }
    /* some providers send the flag as a string */
    if ((tp_json_type(c, "email_verified", NULL) == TP_JSON_BOOL
         && !tp_json_getb(c, "email_verified", NULL))
        || ((verified = tp_json_gets(c, "email_verified", NULL)) != NULL
            && strcmp(verified, "true") != 0)) {
        return rejected(p, "the identity provider has not verified the "
                        "email address");
    }
    id = apr_pcalloc(p, sizeof(*id));
    id->subject = tp_json_gets(c, "sub", NULL);
    id->email = tp_str_lower(p, email);
    id->name = name ? name : "";
    if ((err = groups_of(p, c, groups_claim, &id->groups)) != NULL) {
        return err;
    }
    *out = id;
    return NULL;
}
