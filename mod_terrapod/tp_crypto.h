/* Hashes, HMACs, randomness and password hashing: the only wrapper around
 * OpenSSL's libcrypto. */
#ifndef TP_CRYPTO_H
#define TP_CRYPTO_H

#include <apr_pools.h>
#include <apr_time.h>
#include <apr_tables.h>

#define TP_PBKDF2_ITERATIONS 600000

/* Cryptographically strong random bytes; APR_EGENERAL when unavailable. */
apr_status_t tp_random(unsigned char *buf, apr_size_t n);

/* nbytes of randomness encoded as unpadded base64url. */
char *tp_random_b64url(apr_pool_t *p, apr_size_t nbytes);

char *tp_b64url(apr_pool_t *p, const unsigned char *data, apr_size_t len);

/* Unpadded base64url decoding; NULL when s holds anything but the
 * base64url alphabet (no padding, no whitespace) or has an impossible
 * length. */
unsigned char *tp_b64url_decode(apr_pool_t *p, const char *s,
                                apr_size_t *len);

/* Standard base64 decoding; NULL when s is not valid base64. */
unsigned char *tp_base64_decode(apr_pool_t *p, const char *s,
                                apr_size_t *len);
/* 1 when s is non-empty lower-case hex. */
int tp_is_hex(const char *s);

char *tp_sha256_hex(apr_pool_t *p, const void *data, apr_size_t len);
/* base64url(SHA-256(data)), as PKCE's S256 code challenge is made. */
char *tp_sha256_b64url(apr_pool_t *p, const void *data, apr_size_t len);
char *tp_md5_hex(apr_pool_t *p, const void *data, apr_size_t len);

/* Incremental MD5 or SHA-256, for verifying uploads while they stream to
 * disk and hashing archive entries as they are read. */
typedef struct tp_digest tp_digest_t;
tp_digest_t *tp_md5_begin(apr_pool_t *p);
tp_digest_t *tp_sha256_begin(apr_pool_t *p);
void tp_digest_update(tp_digest_t *d, const void *data, apr_size_t len);
char *tp_digest_hex(tp_digest_t *d, apr_pool_t *p);
/* The digest in standard base64, padded. */
char *tp_digest_base64(tp_digest_t *d, apr_pool_t *p);
/* Lower-case hex SHA-256 of the file at path, read in blocks. */
apr_status_t tp_sha256_file(apr_pool_t *p, const char *path, char **hex);

/* base64url(HMAC-SHA256(key, data)) */
char *tp_hmac_b64url(apr_pool_t *p, const unsigned char *key,
                     apr_size_t keylen, const char *data, apr_size_t len);

/* HMAC-SHA256(key, data), raw, for key derivations (SigV4) */
void tp_hmac_sha256(const unsigned char *key, apr_size_t keylen,
                    const char *data, apr_size_t len, unsigned char out[32]);

/* lower-case hex of HMAC-SHA256(key, data) */
char *tp_hmac_sha256_hex(apr_pool_t *p, const unsigned char *key,
                         apr_size_t keylen, const char *data, apr_size_t len);

/* lower-case hex of HMAC-SHA512(key, data), as TFE signs notifications */
char *tp_hmac_sha512_hex(apr_pool_t *p, const unsigned char *key,
                         apr_size_t keylen, const char *data, apr_size_t len);

/* Sealing secrets at rest (sensitive variables): AES-256-GCM under a key
 * derived from the deployment key for one purpose. The sealed form is
 * base64url(nonce | ciphertext | tag). tp_unseal returns NULL when the
 * text was not sealed with that key and purpose (or was altered). */
char *tp_seal(apr_pool_t *p, const unsigned char *key, apr_size_t keylen,
              const char *purpose, const char *plain);
char *tp_unseal(apr_pool_t *p, const unsigned char *key, apr_size_t keylen,
                const char *purpose, const char *sealed);

/* Compares two strings in time independent of where they differ. */
int tp_secure_equals(const char *a, const char *b);

/* "pbkdf2-sha256$<iterations>$<salt>$<hash>" */
char *tp_password_hash(apr_pool_t *p, const char *password);
int tp_password_verify(apr_pool_t *p, const char *password,
                       const char *encoded);

/* X.509 for listeners: client certificates issued by the deployment's
 * listener CA. */
typedef struct tp_x509 {
    const char *cert_pem;
    const char *key_pem;       /* the new private key; only when issued */
    const char *serial;        /* lower-case hex */
    const char *fingerprint;   /* hex SHA-256 of the DER encoding */
    const char *common_name;   /* NULL when the subject has none */
    apr_time_t not_after;
} tp_x509_t;

/* Checks that ca_key_pem is the private key of ca_cert_pem and that the
 * certificate may sign others; *why says what is wrong otherwise. */
apr_status_t tp_x509_ca_check(apr_pool_t *p, const char *ca_cert_pem,
                              const char *ca_key_pem, const char **why);

/* Checks that pem (a file of CA certificates to trust) holds at least
 * one certificate; *why says what is wrong otherwise. */
apr_status_t tp_x509_certs_check(const char *pem, const char **why);

/* Issues a client certificate (extendedKeyUsage clientAuth) for a new
 * EC P-256 key with subject CN=cn, a random 128-bit serial, valid from a
 * few minutes ago for days days (negative: already expired, for tests),
 * signed by the CA. */
apr_status_t tp_x509_issue(apr_pool_t *p, const char *ca_cert_pem,
                           const char *ca_key_pem, const char *cn, int days,
                           tp_x509_t *out, const char **why);

/* A new self-signed CA for listener certificates: an EC P-256 key,
 * subject CN=cn, basicConstraints CA:TRUE, keyUsage keyCertSign and
 * cRLSign, valid from a few minutes ago for days days. */
apr_status_t tp_x509_ca_create(apr_pool_t *p, const char *cn, int days,
                               tp_x509_t *out, const char **why);

/* Describes a presented PEM certificate (no key, no trust decision). */
apr_status_t tp_x509_inspect(apr_pool_t *p, const char *pem, tp_x509_t *out);

/* The SHA-256 fingerprints (hex, as tp_x509_t's) of every certificate of
 * a PEM bundle, in order; APR_EINVAL when it holds none. */
apr_status_t tp_x509_fingerprints(apr_pool_t *p, const char *pem,
                                  apr_array_header_t **out);

/* The certificate a reverse proxy forwards in a request header, as PEM:
 * URL-encoded PEM (nginx's $ssl_client_escaped_cert, Apache's
 * "expr=%{escape:%{SSL_CLIENT_CERT}}"), PEM whose line breaks became
 * spaces (Apache's "%{SSL_CLIENT_CERT}s"), the first certificate of
 * either, or base64 DER without PEM's lines (HAProxy's
 * %[ssl_c_der,base64]). NULL for anything else, such as the "(null)"
 * mod_headers sends for a client that presented none. */
char *tp_x509_forwarded(apr_pool_t *p, const char *value);

/* The validity period of a PEM certificate, for deciding when to renew. */
apr_status_t tp_x509_validity(const char *pem, apr_time_t *not_before,
                              apr_time_t *not_after);

/* Public keys that verify signatures of JSON Web Tokens, freed with the
 * pool they were made in. */
typedef struct tp_pubkey tp_pubkey_t;

typedef enum {
    TP_SIG_RS256,     /* RSASSA-PKCS1-v1_5 with SHA-256 */
    TP_SIG_ES256      /* ECDSA P-256 with SHA-256, signature raw r || s */
} tp_sig_alg_e;

/* An RSA public key from its big-endian modulus and public exponent;
 * NULL when they do not make one of at least 2048 bits. */
tp_pubkey_t *tp_pubkey_rsa(apr_pool_t *p, const unsigned char *n,
                           apr_size_t nlen, const unsigned char *e,
                           apr_size_t elen);

/* An EC P-256 public key from its 32-byte affine coordinates; NULL when
 * the point is not on the curve. */
tp_pubkey_t *tp_pubkey_p256(apr_pool_t *p, const unsigned char *x,
                            apr_size_t xlen, const unsigned char *y,
                            apr_size_t ylen);

/* 1 when sig is key's alg signature of data. 0 otherwise, including when
 * alg is not an algorithm of the key's type (an RSA key never verifies
 * ES256, however the signature looks). */
int tp_pubkey_verify(const tp_pubkey_t *key, tp_sig_alg_e alg,
                     const void *data, apr_size_t len,
                     const unsigned char *sig, apr_size_t siglen);

/* The RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256) of data under a
 * PEM RSA private key of at least 2048 bits; NULL, and *why says what is
 * wrong with the key, otherwise. The key itself is never in *why. */
unsigned char *tp_rs256_sign(apr_pool_t *p, const char *key_pem,
                             const void *data, apr_size_t len,
                             apr_size_t *siglen, const char **why);

#endif
