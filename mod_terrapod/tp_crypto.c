/* The OpenSSL adapter: hashes, randomness, sealing, passwords and the
 * listener certificates. Secrets handled here are never logged. */
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/ecdsa.h>
#include <apr_escape.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_file_io.h>
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

/* Lower-case hex of len bytes. */
static char *to_hex(apr_pool_t *p, const unsigned char *data, apr_size_t len)
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
    return to_hex(p, out, outlen);
}

char *tp_sha256_hex(apr_pool_t *p, const void *data, apr_size_t len)
{
    return digest_hex(p, EVP_sha256(), data, len);
}

char *tp_sha256_b64url(apr_pool_t *p, const void *data, apr_size_t len)
{
    unsigned char out[32];
    unsigned int outlen = 0;

    EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL);
    return tp_b64url(p, out, outlen);
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

static tp_digest_t *digest_begin(apr_pool_t *p, const EVP_MD *md)
{
    tp_digest_t *d = apr_palloc(p, sizeof(*d));

    d->ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(d->ctx, md, NULL);
    apr_pool_cleanup_register(p, d, digest_free, apr_pool_cleanup_null);
    return d;
}

tp_digest_t *tp_md5_begin(apr_pool_t *p)
{
    return digest_begin(p, EVP_md5());
}

tp_digest_t *tp_sha256_begin(apr_pool_t *p)
{
    return digest_begin(p, EVP_sha256());
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
    return to_hex(p, out, outlen);
}

apr_status_t tp_sha256_file(apr_pool_t *p, const char *path, char **hex)
{
    tp_digest_t *d = tp_sha256_begin(p);
    char *buf = apr_palloc(p, 65536);
    apr_size_t n = 65536;
    apr_file_t *f;
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);

    while (rv == APR_SUCCESS
           && (rv = apr_file_read(f, buf, &n)) == APR_SUCCESS) {
        tp_digest_update(d, buf, n);
        n = 65536;
    }
    if (rv != APR_EOF) {
        return rv;
    }
    apr_file_close(f);
    *hex = tp_digest_hex(d, p);
    return APR_SUCCESS;
}

char *tp_digest_base64(tp_digest_t *d, apr_pool_t *p)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;
    char *b64;

    EVP_DigestFinal_ex(d->ctx, out, &outlen);
    b64 = apr_palloc(p, 4 * ((outlen + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, out, (int)outlen);
    return b64;
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

/* HMAC-SHA256(key, data) into out (32 bytes) */
void tp_hmac_sha256(const unsigned char *key, apr_size_t keylen,
                    const char *data, apr_size_t len, unsigned char out[32])
{
    unsigned int outlen = 32;

    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, len,
         out, &outlen);
}

char *tp_hmac_b64url(apr_pool_t *p, const unsigned char *key,
                     apr_size_t keylen, const char *data, apr_size_t len)
{
    unsigned char out[32];

    tp_hmac_sha256(key, keylen, data, len, out);
    return tp_b64url(p, out, sizeof(out));
}

char *tp_hmac_sha256_hex(apr_pool_t *p, const unsigned char *key,
                         apr_size_t keylen, const char *data, apr_size_t len)
{
    unsigned char out[32];

    tp_hmac_sha256(key, keylen, data, len, out);
    return to_hex(p, out, sizeof(out));
}

char *tp_hmac_sha512_hex(apr_pool_t *p, const unsigned char *key,
                         apr_size_t keylen, const char *data, apr_size_t len)
{
    unsigned char out[64];
    unsigned int outlen = sizeof(out);

    HMAC(EVP_sha512(), key, (int)keylen, (const unsigned char *)data, len,
         out, &outlen);
    return to_hex(p, out, sizeof(out));
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
    apr_size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz0123456789-_"), i;
    char *std;

    /* EVP_DecodeBlock would accept '+', '/', padding and whitespace */
    if (s[n] != '\0' || n % 4 == 1) {
        return NULL;
    }
    std = apr_palloc(p, n + 4);
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

/* ---- X.509 ---- */

static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    return x;
}

static EVP_PKEY *pem_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    return k;
}

/* The contents of a memory BIO as a pool string; wipes (it may hold a
 * private key) and frees the BIO. */
static char *bio_string(apr_pool_t *p, BIO *b)
{
    char *data = NULL;
    long len = b ? BIO_get_mem_data(b, &data) : 0;
    char *out = len > 0 ? apr_pstrmemdup(p, data, (apr_size_t)len) : NULL;

    if (len > 0) {
        OPENSSL_cleanse(data, (size_t)len);
    }
    BIO_free(b);
    return out;
}

static apr_status_t describe(apr_pool_t *p, X509 *x, tp_x509_t *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    X509_NAME *subject = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    BIO *b = BIO_new(BIO_s_mem());
    struct tm tm;
    apr_status_t rv = APR_EGENERAL;

    memset(out, 0, sizeof(*out));
    if (hex && b && PEM_write_bio_X509(b, x) == 1
        && X509_digest(x, EVP_sha256(), md, &mdlen) == 1
        && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
        char *c;

        out->serial = apr_pstrdup(p, hex);
        for (c = (char *)out->serial; *c; c++) {
            *c = (char)apr_tolower(*c);
        }
        out->fingerprint = to_hex(p, md, mdlen);
        out->not_after = apr_time_from_sec(timegm(&tm));
        out->cert_pem = bio_string(p, b);
        b = NULL;
        if (idx >= 0) {
            ASN1_STRING *cn = X509_NAME_ENTRY_get_data(
                X509_NAME_get_entry(subject, idx));
            out->common_name = apr_pstrmemdup(
                p, (const char *)ASN1_STRING_get0_data(cn),
                (apr_size_t)ASN1_STRING_length(cn));
        }
        rv = out->cert_pem ? APR_SUCCESS : APR_EGENERAL;
    }
    BIO_free(b);
    OPENSSL_free(hex);
    BN_free(bn);
    return rv;
}

apr_status_t tp_x509_inspect(apr_pool_t *p, const char *pem, tp_x509_t *out)
{
    X509 *x = pem ? pem_cert(pem) : NULL;
    apr_status_t rv = x ? describe(p, x, out) : APR_EINVAL;

    /* the queue is the thread's: mod_ssl must not meet our leftovers */
    ERR_clear_error();
    X509_free(x);
    return rv;
}

apr_status_t tp_x509_fingerprints(apr_pool_t *p, const char *pem,
                                  apr_array_header_t **out)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    X509 *x;

    *out = apr_array_make(p, 2, sizeof(const char *));
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1) {
            APR_ARRAY_PUSH(*out, const char *) = to_hex(p, md, mdlen);
        }
        X509_free(x);
    }
    /* the end of the bundle leaves a "no start line" on the queue */
    ERR_clear_error();
    BIO_free(b);
    return (*out)->nelts ? APR_SUCCESS : APR_EINVAL;
}

#define PEM_CERT_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_CERT_END   "-----END CERTIFICATE-----"
#define PEM_LINE       64

/* The base64 of a certificate in text: between PEM's armour lines or,
 * without them, all of it; [*begin, *end). */
static int pem_body(const char *text, const char **begin, const char **end)
{
    const char *armour = strstr(text, PEM_CERT_BEGIN);

    if (!armour) {
        *begin = text;
        *end = text + strlen(text);
        return 1;
    }
    *begin = armour + sizeof(PEM_CERT_BEGIN) - 1;
    *end = strstr(*begin, PEM_CERT_END);
    return *end != NULL;
}

/* Percent-decoding (never '+' to space: base64 holds '+') leaves every
 * form's base64 between spaces or line breaks, or in one piece; OpenSSL
 * reads only lines, so it is wrapped anew. */
char *tp_x509_forwarded(apr_pool_t *p, const char *value)
{
    const char *text = value ? apr_punescape_url(p, value, NULL, NULL, 0)
                             : NULL;
    const char *c, *end;
    char *pem, *o;
    apr_size_t n = 0;

    if (!text || !pem_body(text, &c, &end)) {
        return NULL;
    }
    o = pem = apr_palloc(p, sizeof(PEM_CERT_BEGIN) + sizeof(PEM_CERT_END)
                            + 2 * (apr_size_t)(end - c) + 2);
    o = stpcpy(o, PEM_CERT_BEGIN);
    for (; c < end; c++) {
        if (apr_isspace(*c)) {
            continue;
        }
        if (!apr_isalnum(*c) && *c != '+' && *c != '/' && *c != '=') {
            return NULL;
        }
        if (n++ % PEM_LINE == 0) {
            *o++ = '\n';
        }
        *o++ = *c;
    }
    if (n == 0) {
        return NULL;
    }
    *o++ = '\n';
    strcpy(stpcpy(o, PEM_CERT_END), "\n");
    return pem;
}

static int asn1_time(const ASN1_TIME *t, apr_time_t *out)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    *out = apr_time_from_sec(timegm(&tm));
    return 1;
}

apr_status_t tp_x509_validity(const char *pem, apr_time_t *not_before,
                              apr_time_t *not_after)
{
    X509 *x = pem ? pem_cert(pem) : NULL;
    apr_status_t rv = x && asn1_time(X509_get0_notBefore(x), not_before)
                      && asn1_time(X509_get0_notAfter(x), not_after)
                      ? APR_SUCCESS : APR_EINVAL;

    ERR_clear_error();
    X509_free(x);
    return rv;
}

apr_status_t tp_x509_ca_check(apr_pool_t *p, const char *ca_cert_pem,
                              const char *ca_key_pem, const char **why)
{
    X509 *ca = pem_cert(ca_cert_pem);
    EVP_PKEY *key = pem_key(ca_key_pem);
    apr_status_t rv = APR_EINVAL;

    (void)p;
    if (!ca) {
        *why = "the CA certificate is not a PEM certificate";
    }
    else if (!key) {
        *why = "the CA key is not an unencrypted PEM private key";
    }
    else if (X509_check_private_key(ca, key) != 1) {
        *why = "the CA key does not belong to the CA certificate";
    }
    else if (X509_check_ca(ca) == 0) {
        *why = "the CA certificate may not sign certificates";
    }
    else {
        rv = APR_SUCCESS;
    }
    ERR_clear_error();
    X509_free(ca);
    EVP_PKEY_free(key);
    return rv;
}

apr_status_t tp_x509_certs_check(const char *pem, const char **why)
{
    X509 *x = pem_cert(pem);
    apr_status_t rv = x ? APR_SUCCESS : APR_EINVAL;

    if (!x) {
        *why = "no PEM certificate in it";
    }
    ERR_clear_error();
    X509_free(x);
    return rv;
}

static EVP_PKEY *ec_p256_key(void)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    EVP_PKEY *key = NULL;

    if (!ctx || EVP_PKEY_keygen_init(ctx) != 1
        || EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx,
                                                  NID_X9_62_prime256v1) != 1
        || EVP_PKEY_keygen(ctx, &key) != 1) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static int add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ok = ext && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static int random_serial(X509 *x)
{
    unsigned char buf[16];
    BIGNUM *bn;
    int ok;

    if (tp_random(buf, sizeof(buf)) != APR_SUCCESS) {
        return 0;
    }
    buf[0] &= 0x7f;   /* positive, and DER keeps it at 16 bytes at most */
    buf[0] |= 0x40;   /* and never shorter, so every serial is 128 bits */
    bn = BN_bin2bn(buf, sizeof(buf), NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

/* What every certificate made here shares: version 3, a random serial,
 * subject CN=cn, valid from skew seconds from now for days days, for
 * key, issued by issuer (NULL: itself). */
static int cert_base(X509 *x, X509 *issuer, const char *cn, long skew,
                     int days, EVP_PKEY *key)
{
    X509_NAME *name = X509_NAME_new();
    int ok = name && X509_set_version(x, 2) == 1 && random_serial(x)
             && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)cn, -1,
                                           -1, 0) == 1
             && X509_set_subject_name(x, name) == 1
             && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
                                               : name) == 1
             && X509_gmtime_adj(X509_getm_notBefore(x), skew)
             && X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL)
             && X509_set_pubkey(x, key) == 1;

    X509_NAME_free(name);
    return ok;
}

/* The signed certificate and its new key as PEM into out. */
static apr_status_t cert_encode(apr_pool_t *p, X509 *x, EVP_PKEY *key,
                                tp_x509_t *out)
{
    BIO *kb = BIO_new(BIO_s_mem());
    apr_status_t rv = APR_EGENERAL;

    if (kb && PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL)
              == 1
        && describe(p, x, out) == APR_SUCCESS) {
        out->key_pem = bio_string(p, kb);
        kb = NULL;
        rv = out->key_pem ? APR_SUCCESS : APR_EGENERAL;
    }
    BIO_free(kb);
    return rv;
}

/* The extensions a certificate made here carries, in order. */
typedef struct {
    int nid;
    const char *value;
} cert_ext_t;

static const cert_ext_t LISTENER_EXTS[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "clientAuth"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
    {0, NULL}
};

/* the subject key identifier first: the authority key identifier of a
 * self-signed certificate is read from it */
static const cert_ext_t CA_EXTS[] = {
    {NID_basic_constraints, "critical,CA:TRUE"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
    {0, NULL}
};

/* A certificate for a new EC P-256 key with subject CN=cn and exts,
 * signed by issuer's issuer_key (both NULL: self-signed), into out. */
static apr_status_t make_cert(apr_pool_t *p, X509 *issuer,
                              EVP_PKEY *issuer_key, const char *cn,
                              long skew, int days, const cert_ext_t *exts,
                              tp_x509_t *out, const char **why)
{
    EVP_PKEY *key = ec_p256_key();
    X509 *x = X509_new();
    apr_status_t rv = APR_EGENERAL;
    int i, ok;

    if (!key || !x) {
        *why = "out of memory or no EC support";
    }
    else {
        ok = cert_base(x, issuer, cn, skew, days, key);
        for (i = 0; ok && exts[i].value; i++) {
            ok = add_ext(x, issuer ? issuer : x, exts[i].nid, exts[i].value);
        }
        if (!ok || X509_sign(x, issuer_key ? issuer_key : key,
                             EVP_sha256()) <= 0) {
            *why = "the certificate could not be built or signed";
        }
        else if ((rv = cert_encode(p, x, key, out)) != APR_SUCCESS) {
            *why = "the certificate could not be encoded";
        }
    }
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(key);
    return rv;
}

apr_status_t tp_x509_issue(apr_pool_t *p, const char *ca_cert_pem,
                           const char *ca_key_pem, const char *cn, int days,
                           tp_x509_t *out, const char **why)
{
    X509 *ca = pem_cert(ca_cert_pem);
    EVP_PKEY *ca_key = pem_key(ca_key_pem);
    long skew = days < 0 ? (long)days * 86400 * 2 : -300;
    apr_status_t rv = APR_EGENERAL;

    *why = NULL;
    if (!ca || !ca_key) {
        *why = "the listener CA could not be read";
    }
    else {
        rv = make_cert(p, ca, ca_key, cn, skew, days, LISTENER_EXTS, out, why);
    }
    ERR_clear_error();
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    return rv;
}

apr_status_t tp_x509_ca_create(apr_pool_t *p, const char *cn, int days,
                               tp_x509_t *out, const char **why)
{
    *why = NULL;
    return make_cert(p, NULL, NULL, cn, -300, days, CA_EXTS, out, why);
}

/* ---- public keys for JSON Web Tokens ---- */

struct tp_pubkey {
    EVP_PKEY *pkey;
    int is_rsa;
};

static apr_status_t pubkey_free(void *data)
{
    EVP_PKEY_free(((tp_pubkey_t *)data)->pkey);
    return APR_SUCCESS;
}

/* Builds a public key of type name from params and checks it. */
static tp_pubkey_t *pubkey_from(apr_pool_t *p, const char *name,
                                OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
    EVP_PKEY_CTX *check = NULL;
    EVP_PKEY *pkey = NULL;
    tp_pubkey_t *key = NULL;

    if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1
        && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1
        && (check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) != NULL
        && EVP_PKEY_public_check(check) == 1) {
        key = apr_palloc(p, sizeof(*key));
        key->pkey = pkey;
        key->is_rsa = EVP_PKEY_is_a(pkey, "RSA");
        pkey = NULL;
        apr_pool_cleanup_register(p, key, pubkey_free, apr_pool_cleanup_null);
    }
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return key;
}

tp_pubkey_t *tp_pubkey_rsa(apr_pool_t *p, const unsigned char *n,
                           apr_size_t nlen, const unsigned char *e,
                           apr_size_t elen)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)elen, NULL);
    tp_pubkey_t *key = NULL;

    /* shorter moduli are forgeable by a determined attacker; e = 1 by
     * anyone */
    if (bld && bn_n && bn_e && BN_num_bits(bn_n) >= 2048
        && BN_num_bits(bn_n) <= 8192 && BN_is_odd(bn_e)
        && BN_num_bits(bn_e) >= 2
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
        key = pubkey_from(p, "RSA", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return key;
}

tp_pubkey_t *tp_pubkey_p256(apr_pool_t *p, const unsigned char *x,
                            apr_size_t xlen, const unsigned char *y,
                            apr_size_t ylen)
{
    OSSL_PARAM_BLD *bld;
    unsigned char point[65];
    tp_pubkey_t *key = NULL;

    if (xlen != 32 || ylen != 32) {
        return NULL;
    }
    point[0] = 0x04;                 /* uncompressed: 04 || x || y */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    bld = OSSL_PARAM_BLD_new();
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld,
                   OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                            point, sizeof(point)) == 1) {
        key = pubkey_from(p, "EC", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    return key;
}

/* JWS carries ECDSA signatures as r || s; OpenSSL verifies DER. */
static unsigned char *ecdsa_der(const unsigned char *sig, apr_size_t siglen,
                                int *derlen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)siglen / 2, NULL);
    BIGNUM *s = BN_bin2bn(sig + siglen / 2, (int)siglen / 2, NULL);
    unsigned char *der = NULL;

    *derlen = 0;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL;               /* owned by es now */
        *derlen = i2d_ECDSA_SIG(es, &der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return *derlen > 0 ? der : NULL;
}

int tp_pubkey_verify(const tp_pubkey_t *key, tp_sig_alg_e alg,
                     const void *data, apr_size_t len,
                     const unsigned char *sig, apr_size_t siglen)
{
    EVP_MD_CTX *ctx;
    unsigned char *der = NULL;
    int derlen = 0, ok = 0;

    if (alg == TP_SIG_RS256 ? !key->is_rsa : key->is_rsa) {
        return 0;
    }
    if (alg == TP_SIG_ES256) {
        if (siglen != 64 || !(der = ecdsa_der(sig, siglen, &derlen))) {
            return 0;
        }
        sig = der;
        siglen = (apr_size_t)derlen;
    }
    ctx = EVP_MD_CTX_new();
    ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
                                     key->pkey) == 1
         && EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

unsigned char *tp_rs256_sign(apr_pool_t *p, const char *key_pem,
                             const void *data, apr_size_t len,
                             apr_size_t *siglen, const char **why)
{
    EVP_PKEY *k = pem_key(key_pem);
    EVP_MD_CTX *ctx = NULL;
    unsigned char *sig = NULL;
    size_t n = 0;

    if (!k || !EVP_PKEY_is_a(k, "RSA")) {
        *why = "is not a PEM RSA private key";
    }
    else if (EVP_PKEY_get_bits(k) < 2048) {
        *why = "is an RSA key of fewer than 2048 bits";
    }
    else if (!(ctx = EVP_MD_CTX_new())
             || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1
             || EVP_DigestSign(ctx, NULL, &n, data, len) != 1
             || !(sig = apr_palloc(p, n))
             || EVP_DigestSign(ctx, sig, &n, data, len) != 1) {
        *why = "could not sign";
        sig = NULL;
    }
    *siglen = n;
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return sig;
}
