/* The OpenSSL adapter. Secrets handled here are never logged. */
#include <string.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <apr_strings.h>
#include "tp_crypto.h"

apr_status_t tp_random(unsigned char *buf, apr_size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? APR_SUCCESS : APR_EGENERAL;
}

char *tp_b64url(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1);
    apr_size_t i, o = 0;

    for (i = 0; i < len; i += 3) {
        unsigned v = (unsigned)data[i] << 16;

        if (i + 1 < len) v |= (unsigned)data[i + 1] << 8;
        if (i + 2 < len) v |= data[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        if (i + 1 < len) out[o++] = abc[(v >> 6) & 63];
        if (i + 2 < len) out[o++] = abc[v & 63];
    }
    out[o] = '\0';
    return out;
}

char *tp_hex(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, len * 2 + 1);
    apr_size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[len * 2] = '\0';
    return out;
}

int tp_is_hex(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

char *tp_random_b64url(apr_pool_t *p, apr_size_t nbytes)
{
    unsigned char *buf = apr_palloc(p, nbytes);

    if (tp_random(buf, nbytes) != APR_SUCCESS) {
        /* without entropy no secret may be minted; callers cannot recover */
        abort();
    }
    return tp_b64url(p, buf, nbytes);
}

static char *digest_hex(apr_pool_t *p, const EVP_MD *md, const void *data,
                        apr_size_t len)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;

    EVP_Digest(data, len, out, &outlen, md, NULL);
    return tp_hex(p, out, outlen);
}

char *tp_sha256_hex(apr_pool_t *p, const void *data, apr_size_t len)
{
    return digest_hex(p, EVP_sha256(), data, len);
}

char *tp_md5_hex(apr_pool_t *p, const void *data, apr_size_t len)
{
    return digest_hex(p, EVP_md5(), data, len);
}

struct tp_digest {
    EVP_MD_CTX *ctx;
};

static apr_status_t digest_free(void *data)
{
    EVP_MD_CTX_free(((tp_digest_t *)data)->ctx);
    return APR_SUCCESS;
}

tp_digest_t *tp_md5_begin(apr_pool_t *p)
{
    tp_digest_t *d = apr_palloc(p, sizeof(*d));

    d->ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(d->ctx, EVP_md5(), NULL);
    apr_pool_cleanup_register(p, d, digest_free, apr_pool_cleanup_null);
    return d;
}

void tp_digest_update(tp_digest_t *d, const void *data, apr_size_t len)
{
    EVP_DigestUpdate(d->ctx, data, len);
}

char *tp_digest_hex(tp_digest_t *d, apr_pool_t *p)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;

    EVP_DigestFinal_ex(d->ctx, out, &outlen);
    return tp_hex(p, out, outlen);
}

unsigned char *tp_base64_decode(apr_pool_t *p, const char *s,
                                apr_size_t *len)
{
    apr_size_t n = strlen(s);
    unsigned char *out = apr_palloc(p, n / 4 * 3 + 3);
    int got;

    if (n % 4 != 0) {
        return NULL;
    }
    got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (got < 0) {
        return NULL;
    }
    /* EVP_DecodeBlock counts padding as zero bytes */
    if (n >= 1 && s[n - 1] == '=') got--;
    if (n >= 2 && s[n - 2] == '=') got--;
    *len = (apr_size_t)got;
    out[got] = '\0';
    return out;
}

char *tp_hmac_b64url(apr_pool_t *p, const unsigned char *key,
                     apr_size_t keylen, const char *data, apr_size_t len)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;

    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, len,
         out, &outlen);
    return tp_b64url(p, out, outlen);
}

#define SEAL_NONCE 12
#define SEAL_TAG 16

static void seal_key(const unsigned char *key, apr_size_t keylen,
                     const char *purpose, unsigned char out[32])
{
    unsigned int len = 32;

    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)purpose,
         strlen(purpose), out, &len);
}

unsigned char *tp_b64url_decode(apr_pool_t *p, const char *s,
                                apr_size_t *len)
{
    apr_size_t n = strlen(s), i;
    char *std = apr_palloc(p, n + 4);

    for (i = 0; i < n; i++) {
        std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    }
    while (i % 4) {
        std[i++] = '=';
    }
    std[i] = '\0';
    return tp_base64_decode(p, std, len);
}

char *tp_seal(apr_pool_t *p, const unsigned char *key, apr_size_t keylen,
              const char *purpose, const char *plain)
{
    apr_size_t n = strlen(plain);
    unsigned char k[32];
    unsigned char *buf = apr_palloc(p, SEAL_NONCE + n + SEAL_TAG);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok;

    seal_key(key, keylen, purpose, k);
    ok = ctx && tp_random(buf, SEAL_NONCE) == APR_SUCCESS
         && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k, buf) == 1
         && EVP_EncryptUpdate(ctx, buf + SEAL_NONCE, &len,
                              (const unsigned char *)plain, (int)n) == 1
         && EVP_EncryptFinal_ex(ctx, buf + SEAL_NONCE + len, &len) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG,
                                buf + SEAL_NONCE + n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof(k));
    return ok ? tp_b64url(p, buf, SEAL_NONCE + n + SEAL_TAG) : NULL;
}

char *tp_unseal(apr_pool_t *p, const unsigned char *key, apr_size_t keylen,
                const char *purpose, const char *sealed)
{
    apr_size_t n = 0;
    unsigned char *buf = sealed ? tp_b64url_decode(p, sealed, &n) : NULL;
    unsigned char k[32];
    EVP_CIPHER_CTX *ctx;
    char *out;
    int len = 0, ok;

    if (!buf || n < SEAL_NONCE + SEAL_TAG) {
        return NULL;
    }
    n -= SEAL_NONCE + SEAL_TAG;
    out = apr_palloc(p, n + 1);
    ctx = EVP_CIPHER_CTX_new();
    seal_key(key, keylen, purpose, k);
    ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k, buf) == 1
         && EVP_DecryptUpdate(ctx, (unsigned char *)out, &len,
                              buf + SEAL_NONCE, (int)n) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
                                buf + SEAL_NONCE + n) == 1
         && EVP_DecryptFinal_ex(ctx, (unsigned char *)out + len, &len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof(k));
    if (!ok) {
        return NULL;
    }
    out[n] = '\0';
    return out;
}

int tp_secure_equals(const char *a, const char *b)
{
    apr_size_t la = strlen(a), lb = strlen(b);

    if (la != lb) {
        return 0;
    }
    return CRYPTO_memcmp(a, b, la) == 0;
}

static char *pbkdf2(apr_pool_t *p, const char *password, const char *salt,
                    int iterations)
{
    unsigned char out[32];

    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
                          (const unsigned char *)salt, (int)strlen(salt),
                          iterations, EVP_sha256(), sizeof(out), out) != 1) {
        return NULL;
    }
    return tp_b64url(p, out, sizeof(out));
}

char *tp_password_hash(apr_pool_t *p, const char *password)
{
    char *salt = tp_random_b64url(p, 16);
    char *hash = pbkdf2(p, password, salt, TP_PBKDF2_ITERATIONS);

    return hash ? apr_psprintf(p, "pbkdf2-sha256$%d$%s$%s",
                               TP_PBKDF2_ITERATIONS, salt, hash)
                : NULL;
}

int tp_password_verify(apr_pool_t *p, const char *password,
                       const char *encoded)
{
    char *copy, *last, *scheme, *iter, *salt, *want, *got;
    long iterations;

    if (!encoded || !password) {
        return 0;
    }
    copy = apr_pstrdup(p, encoded);
    scheme = apr_strtok(copy, "$", &last);
    iter = apr_strtok(NULL, "$", &last);
    salt = apr_strtok(NULL, "$", &last);
    want = apr_strtok(NULL, "$", &last);
    if (!scheme || strcmp(scheme, "pbkdf2-sha256") != 0 || !iter || !salt
        || !want) {
        return 0;
    }
    iterations = strtol(iter, NULL, 10);
    if (iterations < 1 || iterations > 10000000) {
        return 0;
    }
    got = pbkdf2(p, password, salt, (int)iterations);
    return got && tp_secure_equals(got, want);
}
