/* Hashes, HMACs, randomness and password hashing: the only wrapper around
 * OpenSSL's libcrypto. */
#ifndef TP_CRYPTO_H
#define TP_CRYPTO_H

#include <apr_pools.h>

#define TP_PBKDF2_ITERATIONS 600000

/* Cryptographically strong random bytes; APR_EGENERAL when unavailable. */
apr_status_t tp_random(unsigned char *buf, apr_size_t n);

/* nbytes of randomness encoded as unpadded base64url. */
char *tp_random_b64url(apr_pool_t *p, apr_size_t nbytes);

char *tp_b64url(apr_pool_t *p, const unsigned char *data, apr_size_t len);
char *tp_hex(apr_pool_t *p, const unsigned char *data, apr_size_t len);

char *tp_sha256_hex(apr_pool_t *p, const void *data, apr_size_t len);
char *tp_md5_hex(apr_pool_t *p, const void *data, apr_size_t len);

/* base64url(HMAC-SHA256(key, data)) */
char *tp_hmac_b64url(apr_pool_t *p, const unsigned char *key,
                     apr_size_t keylen, const char *data, apr_size_t len);

/* Compares two strings in time independent of where they differ. */
int tp_secure_equals(const char *a, const char *b);

/* "pbkdf2-sha256$<iterations>$<salt>$<hash>" */
char *tp_password_hash(apr_pool_t *p, const char *password);
int tp_password_verify(apr_pool_t *p, const char *password,
                       const char *encoded);

#endif
