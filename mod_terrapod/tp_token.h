/* Shapes of the secrets clients present: API tokens and Bearer headers,
 * and the random identifiers resources carry. */
#ifndef TP_TOKEN_H
#define TP_TOKEN_H

#include <apr_pools.h>

#define TP_TOKEN_PREFIX "tpv1."
#define TP_SESSION_PREFIX "tps1."
#define TP_TOKEN_SECRET_LEN 43   /* 32 random bytes, base64url */

/* prefix followed by 32 random bytes in base64url: API tokens, sessions,
 * authorization codes. */
char *tp_secret_generate(apr_pool_t *p, const char *prefix);

/* 1 when raw is prefix followed by TP_TOKEN_SECRET_LEN base64url
 * characters. */
int tp_secret_wellformed(const char *raw, const char *prefix);

/* A new raw API token; only its hash is ever stored. */
char *tp_token_generate(apr_pool_t *p);

/* 1 when raw has the shape of an API token. */
int tp_token_wellformed(const char *raw);

/* The stored form: hex SHA-256 of the raw token. */
char *tp_token_hash(apr_pool_t *p, const char *raw);

/* The credential of an "Authorization: Bearer <credential>" header, or
 * NULL when the header is absent or of another scheme. */
const char *tp_bearer(const char *authorization);

/* "<prefix>-" followed by 16 random characters [a-zA-Z0-9]. */
char *tp_id_generate(apr_pool_t *p, const char *prefix);

#endif
