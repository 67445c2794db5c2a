/* Unit tests of ID token verification (tp_jwt, the public keys of
 * tp_crypto) and of the OpenID Connect client's pure parts (authorization
 * URL, group mapping), against keys and tokens from t/oidc/jwt-vectors. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tp_jwt.h"
#include "tp_oidc.h"
#include "jwt_vectors.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* 1700000000 is the tokens' iat; they expire 300 s later */
#define AT(secs) apr_time_from_sec(1700000000 + (secs))

static apr_array_header_t *keyset(const char *json)
{
    apr_array_header_t *keys = NULL;

    ck_assert_ptr_null(tp_jwks_parse(pool, json, strlen(json), &keys));
    return keys;
}

/* The status of decoding, finding the key and verifying tok (0: valid). */
static int verify(const char *tok)
{
    apr_array_header_t *keys = keyset(JWKS);
    const tp_jwk_t *key;
    tp_jwt_t *jwt;
    tp_err_t *err = tp_jwt_decode(pool, tok, &jwt);

    if (err) {
        return err->status;
    }
    if (!(key = tp_jwks_find(keys, jwt->kid, jwt->alg))) {
        return -1;
    }
    err = tp_jwt_verify(pool, jwt, key);
    return err ? err->status : 0;
}

static tp_jwt_t *decoded(const char *tok)
{
    tp_jwt_t *jwt = NULL;

    ck_assert_ptr_null(tp_jwt_decode(pool, tok, &jwt));
    return jwt;
}

static const char *claims_error(const char *tok, const char *iss,
                                const char *aud, const char *nonce,
                                apr_time_t now)
{
    tp_jwt_expect_t want = {iss, aud, nonce, now};
    tp_err_t *err = tp_jwt_check_claims(pool, decoded(tok), &want);

    return err ? err->detail : NULL;
}

static const char *good_claims(const char *tok)
{
    return claims_error(tok, "https://idp.test", "terrapod", "n-123", AT(60));
}

START_TEST(jwks_keeps_signing_keys)
{
    apr_array_header_t *keys = keyset(JWKS);

    /* the symmetric and the encryption-only keys are left out */
    ck_assert_int_eq(keys->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 0, tp_jwk_t).kid, RSA_KID);
    ck_assert(APR_ARRAY_IDX(keys, 0, tp_jwk_t).is_rsa);
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 1, tp_jwk_t).kid, EC_KID);
    ck_assert(!APR_ARRAY_IDX(keys, 1, tp_jwk_t).is_rsa);
}
END_TEST

START_TEST(jwks_finds_by_kid_and_type)
{
    apr_array_header_t *keys = keyset(JWKS);

    ck_assert_str_eq(tp_jwks_find(keys, RSA_KID, TP_SIG_RS256)->kid,
                     RSA_KID);
    ck_assert_str_eq(tp_jwks_find(keys, EC_KID, TP_SIG_ES256)->kid, EC_KID);
    /* a kid naming a key of the other type, or no key at all */
    ck_assert_ptr_null(tp_jwks_find(keys, RSA_KID, TP_SIG_ES256));
    ck_assert_ptr_null(tp_jwks_find(keys, "unknown", TP_SIG_RS256));
    /* without a kid, the single key of the type */
    ck_assert_str_eq(tp_jwks_find(keys, NULL, TP_SIG_ES256)->kid, EC_KID);
}
END_TEST

START_TEST(jwks_rejects_bad_documents_and_keys)
{
    apr_array_header_t *keys = NULL;

    ck_assert_int_eq(tp_jwks_parse(pool, "[]", 2, &keys)->status, 502);
    ck_assert_int_eq(tp_jwks_parse(pool, "{\"keys\":", 8, &keys)->status,
                     502);
    /* a 1024-bit RSA key is no key */
    ck_assert_int_eq(keyset(JWKS_WEAK)->nelts, 0);
}
END_TEST

START_TEST(rsa_exponent_must_be_sound)
{
    apr_size_t nl, el;
    unsigned char *n, *e;
    apr_array_header_t *keys = keyset(JWKS);
    tp_json_t *set = tp_json_parse(pool, JWKS, strlen(JWKS), NULL);
    const char *n64 = tp_json_gets(tp_json_at(tp_json_get(set, "keys", NULL),
                                              2), "n", NULL);

    ck_assert_int_eq(keys->nelts, 2);
    n = tp_b64url_decode(pool, n64, &nl);
    e = tp_b64url_decode(pool, "AQAB", &el);
    ck_assert_ptr_nonnull(tp_pubkey_rsa(pool, n, nl, e, el));
    /* e = 1 makes every message its own signature; even e is no key */
    ck_assert_ptr_null(tp_pubkey_rsa(pool, n, nl, (unsigned char *)"\1", 1));
    ck_assert_ptr_null(tp_pubkey_rsa(pool, n, nl, (unsigned char *)"\4", 1));
}
END_TEST

START_TEST(p256_point_must_be_on_the_curve)
{
    apr_size_t xl, yl;
    unsigned char *x = tp_b64url_decode(pool, EC_X, &xl);
    unsigned char *y = tp_b64url_decode(pool, EC_Y, &yl);

    ck_assert_ptr_nonnull(tp_pubkey_p256(pool, x, xl, y, yl));
    y[31] ^= 1;
    ck_assert_ptr_null(tp_pubkey_p256(pool, x, xl, y, yl));
    ck_assert_ptr_null(tp_pubkey_p256(pool, x, xl - 1, y, yl));
}
END_TEST

START_TEST(b64url_is_strict)
{
    apr_size_t len;

    ck_assert_str_eq((char *)tp_b64url_decode(pool, "aGk", &len), "hi");
    ck_assert_int_eq(len, 2);
    ck_assert_ptr_null(tp_b64url_decode(pool, "aGk=", &len));
    ck_assert_ptr_null(tp_b64url_decode(pool, "a+k", &len));
    ck_assert_ptr_null(tp_b64url_decode(pool, "aGk ", &len));
    ck_assert_ptr_null(tp_b64url_decode(pool, "aGkaG", &len));
}
END_TEST

START_TEST(valid_signatures_verify)
{
    ck_assert_int_eq(verify(TOK_RS256), 0);
    ck_assert_int_eq(verify(TOK_ES256), 0);
    ck_assert_int_eq(decoded(TOK_ES256)->alg, TP_SIG_ES256);
    ck_assert_str_eq(decoded(TOK_RS256)->kid, RSA_KID);
}
END_TEST

/* Changes the first character of the signature: the last ones may only
 * carry padding bits. */
static const char *tampered(const char *tok)
{
    char *t = apr_pstrdup(pool, tok);
    char *sig = strrchr(t, '.') + 1;

    *sig = *sig == 'A' ? 'B' : 'A';
    return t;
}

START_TEST(tampered_signatures_fail)
{
    ck_assert_int_eq(verify(tampered(TOK_RS256)), 401);
    ck_assert_int_eq(verify(tampered(TOK_ES256)), 401);
}
END_TEST

START_TEST(claims_cannot_be_swapped)
{
    /* the claims of one valid token under the signature of another */
    char *rs = apr_pstrdup(pool, TOK_RS256);
    char *other = apr_pstrdup(pool, TOK_AUD_LIST);

    *strrchr(other, '.') = '\0';
    ck_assert_int_eq(verify(apr_pstrcat(pool, other, strrchr(rs, '.'),
                                        NULL)), 401);
}
END_TEST

START_TEST(key_type_must_fit_the_algorithm)
{
    apr_array_header_t *keys = keyset(JWKS);
    tp_jwt_t *es = decoded(TOK_ES256), *rs = decoded(TOK_RS256);

    ck_assert_int_eq(tp_jwt_verify(pool, es, tp_jwks_find(keys, NULL,
                                   TP_SIG_RS256))->status, 401);
    ck_assert_int_eq(tp_jwt_verify(pool, rs, tp_jwks_find(keys, NULL,
                                   TP_SIG_ES256))->status, 401);
}
END_TEST

START_TEST(unaccepted_algorithms_and_shapes)
{
    tp_jwt_t *jwt;
    tp_err_t *err = tp_jwt_decode(pool, TOK_NONE, &jwt);

    ck_assert_int_eq(err->status, 401);
    ck_assert_ptr_nonnull(strstr(err->detail, "algorithm none"));
    err = tp_jwt_decode(pool, TOK_HS256, &jwt);
    ck_assert_ptr_nonnull(strstr(err->detail, "algorithm HS256"));
    ck_assert_int_eq(verify("a.b"), 401);
    ck_assert_int_eq(verify("a.b.c.d"), 401);
    ck_assert_int_eq(verify("!!.e30.AAAA"), 401);
    ck_assert_int_eq(verify(apr_pstrcat(pool, TOK_RS256, "AA", NULL)), 401);
    ck_assert_int_eq(verify(""), 401);
}
END_TEST

START_TEST(good_claims_pass)
{
    ck_assert_ptr_null(good_claims(TOK_RS256));
    ck_assert_ptr_null(good_claims(TOK_ES256));
    /* aud as a list naming us, with azp us */
    ck_assert_ptr_null(good_claims(TOK_AUD_LIST));
    /* within the allowed clock skew either side */
    ck_assert_ptr_null(claims_error(TOK_RS256, "https://idp.test",
                                    "terrapod", "n-123",
                                    AT(300 + TP_JWT_SKEW - 1)));
    ck_assert_ptr_null(claims_error(TOK_RS256, "https://idp.test",
                                    "terrapod", "n-123",
                                    AT(-TP_JWT_SKEW + 1)));
}
END_TEST

START_TEST(bad_claims_fail)
{
    const char *d;

    d = claims_error(TOK_RS256, "https://idp.test/", "terrapod", "n-123",
                     AT(60));
    ck_assert_ptr_nonnull(strstr(d, "issuer https://idp.test is not"));
    d = claims_error(TOK_RS256, "https://idp.test", "other-client", "n-123",
                     AT(60));
    ck_assert_ptr_nonnull(strstr(d, "not issued to this client"));
    d = good_claims(TOK_AZP_OTHER);
    ck_assert_ptr_nonnull(strstr(d, "not issued to this client"));
    d = claims_error(TOK_RS256, "https://idp.test", "terrapod", "n-124",
                     AT(60));
    ck_assert_ptr_nonnull(strstr(d, "nonce"));
    d = claims_error(TOK_RS256, "https://idp.test", "terrapod", "n-123",
                     AT(300 + TP_JWT_SKEW + 5));
    ck_assert_msg(strstr(d, "expired 125 seconds ago"), "%s", d);
    d = claims_error(TOK_RS256, "https://idp.test", "terrapod", "n-123",
                     AT(-TP_JWT_SKEW - 5));
    ck_assert_ptr_nonnull(strstr(d, "issued in the future"));
    d = good_claims(TOK_NBF_LATER);
    ck_assert_ptr_nonnull(strstr(d, "not valid yet"));
}
END_TEST

START_TEST(identity_from_claims)
{
    tp_identity_t *id = NULL;

    ck_assert_ptr_null(tp_jwt_identity(pool, decoded(TOK_RS256), "groups",
                                       &id));
    ck_assert_str_eq(id->email, "alice@example.com");
    ck_assert_str_eq(id->name, "Alice Example");
    ck_assert_str_eq(id->subject, "u-1");
    ck_assert_int_eq(id->groups->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(id->groups, 1, const char *), "devs");
    /* another claim name: absent means no groups */
    ck_assert_ptr_null(tp_jwt_identity(pool, decoded(TOK_RS256), "roles",
                                       &id));
    ck_assert_int_eq(id->groups->nelts, 0);
    ck_assert_ptr_null(tp_jwt_identity(pool, decoded(TOK_AUD_LIST), "groups",
                                       &id));
}
END_TEST

START_TEST(identity_refusals)
{
    tp_identity_t *id = NULL;
    tp_err_t *err;

    err = tp_jwt_identity(pool, decoded(TOK_UNVERIFIED), "groups", &id);
    ck_assert_ptr_nonnull(strstr(err->detail, "not verified the email"));
    err = tp_jwt_identity(pool, decoded(TOK_NO_EMAIL), "groups", &id);
    ck_assert_ptr_nonnull(strstr(err->detail, "no email address"));
    err = tp_jwt_identity(pool, decoded(TOK_GROUPS_STRING), "groups", &id);
    ck_assert_ptr_nonnull(strstr(err->detail, "claim groups is not a list"));
}
END_TEST

static tp_oidc_provider_t *provider(void)
{
    tp_oidc_provider_t *prov = tp_oidc_provider_make(pool, "corp",
        "https://idp.test", "terrapod app", "/dev/null");
    tp_oidc_group_role_t maps[] = {{"admins", "admin"}, {"devs", "dev"},
                                   {"ops", "dev"}, {"devs", "admin"},
                                   {"auditors", "audit"}};
    unsigned i;

    for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        APR_ARRAY_PUSH(prov->group_roles, tp_oidc_group_role_t) = maps[i];
    }
    return prov;
}

START_TEST(authorize_url)
{
    tp_oidc_provider_t *prov = provider();
    tp_oidc_meta_t meta = {"https://idp.test/auth?tenant=x", NULL, NULL};
    const char *url;

    prov->extra_scopes = "groups";
    url = tp_oidc_authorize_url(pool, prov, &meta,
                                "https://tp.test/api/terrapod/v1/auth/"
                                "callback", "st+1", "no/1",
                                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    ck_assert_str_eq(url, "https://idp.test/auth?tenant=x"
        "&response_type=code&client_id=terrapod%20app"
        "&redirect_uri=https%3A%2F%2Ftp.test%2Fapi%2Fterrapod%2Fv1%2Fauth%2F"
        "callback&scope=openid%20email%20profile%20groups&state=st%2B1"
        "&nonce=no%2F1"
        /* RFC 7636 appendix B's verifier and challenge */
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        "&code_challenge_method=S256");
}
END_TEST

START_TEST(groups_map_to_distinct_roles)
{
    tp_oidc_provider_t *prov = provider();
    tp_identity_t id = {"s", "a@b.c", "", NULL};
    apr_array_header_t *roles;

    id.groups = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(id.groups, const char *) = "devs";
    APR_ARRAY_PUSH(id.groups, const char *) = "ops";
    APR_ARRAY_PUSH(id.groups, const char *) = "strangers";
    roles = tp_oidc_roles(pool, prov, &id);
    ck_assert_int_eq(roles->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(roles, 0, const char *), "dev");
    ck_assert_str_eq(APR_ARRAY_IDX(roles, 1, const char *), "admin");
    apr_array_clear(id.groups);
    ck_assert_int_eq(tp_oidc_roles(pool, prov, &id)->nelts, 0);
}
END_TEST

Suite *jwt_suite(void);
Suite *jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("jwt");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, jwks_keeps_signing_keys);
    tcase_add_test(tc, jwks_finds_by_kid_and_type);
    tcase_add_test(tc, jwks_rejects_bad_documents_and_keys);
    tcase_add_test(tc, rsa_exponent_must_be_sound);
    tcase_add_test(tc, p256_point_must_be_on_the_curve);
    tcase_add_test(tc, b64url_is_strict);
    tcase_add_test(tc, valid_signatures_verify);
    tcase_add_test(tc, tampered_signatures_fail);
    tcase_add_test(tc, claims_cannot_be_swapped);
    tcase_add_test(tc, key_type_must_fit_the_algorithm);
    tcase_add_test(tc, unaccepted_algorithms_and_shapes);
    tcase_add_test(tc, good_claims_pass);
    tcase_add_test(tc, bad_claims_fail);
    tcase_add_test(tc, identity_from_claims);
    tcase_add_test(tc, identity_refusals);
    tcase_add_test(tc, authorize_url);
    tcase_add_test(tc, groups_map_to_distinct_roles);
    suite_add_tcase(s, tc);
    return s;
}
