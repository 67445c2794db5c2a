/* The OpenID Connect client: configured identity providers, their
 * discovery documents and key sets (cached per process), authorization
 * requests with PKCE, the code exchange, ID token verification and the
 * mapping of the provider's groups to roles. */
#ifndef TP_OIDC_H
#define TP_OIDC_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>
#include "tp_error.h"
#include "tp_jwt.h"

#define TP_OIDC_MAX_DISCOVERY  (64 * 1024)
#define TP_OIDC_MAX_JWKS       (256 * 1024)
#define TP_OIDC_MAX_TOKEN_RESP (64 * 1024)
#define TP_OIDC_TIMEOUT        10           /* seconds per request */
#define TP_OIDC_CACHE_TTL      3600         /* seconds */
/* An unknown kid refetches the key set (the provider rotated its keys),
 * but not more often than this, so forged kids cannot hammer it. */
#define TP_OIDC_JWKS_MIN_REFETCH 30

typedef struct tp_oidc_group_role {
    const char *group;
    const char *role;
} tp_oidc_group_role_t;

/* A document fetched from the provider, shared by a process's threads. */
typedef struct tp_oidc_doc {
    apr_pool_t *pool;       /* holds text; replaced on every refetch */
    char *text;
    apr_size_t len;
    apr_time_t fetched;     /* 0: never */
} tp_oidc_doc_t;

typedef struct tp_oidc_cache {
    apr_thread_mutex_t *lock;
    apr_pool_t *pool;
    tp_oidc_doc_t discovery;
    tp_oidc_doc_t jwks;
} tp_oidc_cache_t;

typedef struct tp_oidc_provider {
    const char *name;             /* role assignments' provider_name */
    const char *issuer;
    const char *client_id;
    const char *secret_file;
    const char *client_secret;    /* read from secret_file at start */
    int secret_post;              /* client_secret_post; else _basic */
    const char *groups_claim;     /* "groups" unless configured */
    const char *extra_scopes;     /* after "openid email profile"; "" */
    const char *ca_file;          /* trust for the provider's TLS; NULL */
    apr_array_header_t *group_roles;   /* of tp_oidc_group_role_t */
    tp_oidc_cache_t *cache;
} tp_oidc_provider_t;

/* What the provider's discovery document says, checked. */
typedef struct tp_oidc_meta {
    const char *authorization_endpoint;
    const char *token_endpoint;
    const char *jwks_uri;
} tp_oidc_meta_t;

/* A new provider named name with the defaults filled in. */
tp_oidc_provider_t *tp_oidc_provider_make(apr_pool_t *p, const char *name,
                                          const char *issuer,
                                          const char *client_id,
                                          const char *secret_file);

/* Creates the provider's cache in p (before threads start). */
apr_status_t tp_oidc_cache_init(apr_pool_t *p, tp_oidc_provider_t *prov);

/* The provider's endpoints from {issuer}/.well-known/openid-configuration,
 * cached; 502 when it cannot be fetched, is too large or names another
 * issuer. */
tp_err_t *tp_oidc_discover(apr_pool_t *p, tp_oidc_provider_t *prov,
                           tp_oidc_meta_t **meta);

/* The authorization request to send the browser to: code flow, scopes
 * "openid email profile" and the extra ones, state, nonce and the S256
 * challenge of verifier. */
const char *tp_oidc_authorize_url(apr_pool_t *p,
                                  const tp_oidc_provider_t *prov,
                                  const tp_oidc_meta_t *meta,
                                  const char *redirect_uri,
                                  const char *state, const char *nonce,
                                  const char *verifier);

/* Redeems an authorization code at the token endpoint (with the PKCE
 * verifier) for the raw ID token. 401 when the provider refuses the code,
 * 502 when the exchange fails. */
tp_err_t *tp_oidc_redeem(apr_pool_t *p, const tp_oidc_provider_t *prov,
                         const tp_oidc_meta_t *meta, const char *code,
                         const char *verifier, const char *redirect_uri,
                         const char **id_token);

/* Verifies an ID token from the provider (signature by a key of its set,
 * refetched once when the kid is unknown; then the claims) and returns
 * the identity in it. 401 when the token is not acceptable. */
tp_err_t *tp_oidc_verify(apr_pool_t *p, tp_oidc_provider_t *prov,
                         const tp_oidc_meta_t *meta, const char *id_token,
                         const char *nonce, apr_time_t now,
                         tp_identity_t **out);

/* The distinct roles the provider's group mappings give identity, in the
 * order of the configuration. */
apr_array_header_t *tp_oidc_roles(apr_pool_t *p,
                                  const tp_oidc_provider_t *prov,
                                  const tp_identity_t *identity);

#endif
