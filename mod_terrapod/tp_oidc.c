/* The OpenID Connect relying party: talks to identity providers through
 * tp_http_client (discovery, key sets, the token endpoint), verifies what
 * they say with tp_jwt, and maps their groups to roles. */
#include <string.h>
#include <apr_strings.h>
#include <apr_base64.h>
#include "tp_oidc.h"
#include "tp_http_client.h"
#include "tp_route.h"

tp_oidc_provider_t *tp_oidc_provider_make(apr_pool_t *p, const char *name,
                                          const char *issuer,
                                          const char *client_id,
                                          const char *secret_file)
{
    tp_oidc_provider_t *prov = apr_pcalloc(p, sizeof(*prov));

    prov->name = name;
    prov->issuer = issuer;
    prov->client_id = client_id;
    prov->secret_file = secret_file;
    prov->groups_claim = "groups";
    prov->extra_scopes = "";
    prov->group_roles = apr_array_make(p, 4, sizeof(tp_oidc_group_role_t));
    return prov;
}

apr_status_t tp_oidc_cache_init(apr_pool_t *p, tp_oidc_provider_t *prov)
{
    tp_oidc_cache_t *c = apr_pcalloc(p, sizeof(*c));
    apr_allocator_t *alloc;
    apr_status_t rv;

    /* an allocator of its own: request threads replace documents while
     * nothing else may touch the configuration pool's */
    if ((rv = apr_allocator_create(&alloc)) != APR_SUCCESS
        || (rv = apr_pool_create_ex(&c->pool, p, NULL, alloc))
           != APR_SUCCESS) {
        return rv;
    }
    apr_allocator_owner_set(alloc, c->pool);
    if ((rv = apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT,
                                      c->pool)) != APR_SUCCESS
        || (rv = apr_pool_create(&c->discovery.pool, c->pool))
           != APR_SUCCESS
        || (rv = apr_pool_create(&c->jwks.pool, c->pool)) != APR_SUCCESS) {
        return rv;
    }
    prov->cache = c;
    return APR_SUCCESS;
}

/* GETs a document of the provider, at most max bytes, answered 200. */
static tp_err_t *fetch(apr_pool_t *p, const tp_oidc_provider_t *prov,
                       const char *url, apr_size_t max, tp_http_resp_t *resp)
{
    tp_http_req_t req = {0};
    tp_err_t *err;

    req.url = url;
    req.max_body = max;
    req.timeout = TP_OIDC_TIMEOUT;
    req.ca_file = prov->ca_file;
    if ((err = tp_http_perform(p, &req, resp)) != NULL) {
        return tp_err_internal(p, 502, "the identity provider cannot be "
                               "reached", err->detail);
    }
    if (resp->status != 200) {
        return tp_err(p, 502, "the identity provider answered %d for %s",
                      resp->status, url);
    }
    return NULL;
}

/* The text of a cached document, fetched again when it is older than
 * max_age; copied into p, since another thread may replace it. */
static tp_err_t *cached(apr_pool_t *p, const tp_oidc_provider_t *prov,
                        tp_oidc_doc_t *doc, const char *url, apr_size_t max,
                        apr_interval_time_t max_age, char **text,
                        apr_size_t *len)
{
    tp_oidc_cache_t *c = prov->cache;
    apr_time_t now = apr_time_now();
    tp_http_resp_t resp;
    tp_err_t *err;
    int fresh;

    apr_thread_mutex_lock(c->lock);
    fresh = doc->fetched && now - doc->fetched < max_age;
    if (fresh) {
        *text = apr_pstrmemdup(p, doc->text, doc->len);
        *len = doc->len;
    }
    apr_thread_mutex_unlock(c->lock);
    if (fresh) {
        return NULL;
    }
    /* no lock over the network: two threads may both fetch, harmlessly */
    if ((err = fetch(p, prov, url, max, &resp)) != NULL) {
        return err;
    }
    apr_thread_mutex_lock(c->lock);
    apr_pool_clear(doc->pool);
    doc->text = apr_pstrmemdup(doc->pool, resp.body, resp.body_len);
    doc->len = resp.body_len;
    doc->fetched = now;
    apr_thread_mutex_unlock(c->lock);
    *text = resp.body;
    *len = resp.body_len;
    return NULL;
}

/* 1 when url may carry what the issuer's documents point at: https, or
 * http when the issuer itself is plain http (a provider on loopback). */
static int endpoint_ok(const char *issuer, const char *url)
{
    if (!url) {
        return 0;
    }
    if (strncmp(url, "https://", 8) == 0) {
        return url[8] != '\0';
    }
    return strncmp(issuer, "http://", 7) == 0
           && strncmp(url, "http://", 7) == 0 && url[7] != '\0';
}

tp_err_t *tp_oidc_discover(apr_pool_t *p, tp_oidc_provider_t *prov,
                           tp_oidc_meta_t **meta)
{
    apr_size_t n = strlen(prov->issuer);
    /* issuers may end with a slash; the path then starts there */
    const char *url = apr_pstrcat(p, prov->issuer,
                                  n && prov->issuer[n - 1] == '/' ? "" : "/",
                                  ".well-known/openid-configuration", NULL);
    const char *why = NULL, *iss;
    char *text;
    apr_size_t len;
    tp_json_t *doc;
    tp_oidc_meta_t *m;
    tp_err_t *err;

    if ((err = cached(p, prov, &prov->cache->discovery, url,
                      TP_OIDC_MAX_DISCOVERY,
                      apr_time_from_sec(TP_OIDC_CACHE_TTL), &text, &len))
        != NULL) {
        return err;
    }
    if (!(doc = tp_json_parse(p, text, len, &why))) {
        return tp_err(p, 502, "the identity provider's discovery document "
                      "is not JSON: %s", why);
    }
    iss = tp_json_gets(doc, "issuer", NULL);
    if (!iss || strcmp(iss, prov->issuer) != 0) {
        return tp_err(p, 502, "the discovery document of %s names issuer "
                      "%s", prov->issuer, iss ? iss : "(none)");
    }
    m = apr_pcalloc(p, sizeof(*m));
    m->authorization_endpoint = tp_json_gets(doc, "authorization_endpoint",
                                             NULL);
    m->token_endpoint = tp_json_gets(doc, "token_endpoint", NULL);
    m->jwks_uri = tp_json_gets(doc, "jwks_uri", NULL);
    if (!endpoint_ok(prov->issuer, m->authorization_endpoint)
        || !endpoint_ok(prov->issuer, m->token_endpoint)
        || !endpoint_ok(prov->issuer, m->jwks_uri)) {
        return tp_err(p, 502, "the discovery document of %s lacks usable "
                      "authorization, token or jwks_uri endpoints",
                      prov->issuer);
    }
    *meta = m;
    return NULL;
}

const char *tp_oidc_authorize_url(apr_pool_t *p,
                                  const tp_oidc_provider_t *prov,
                                  const tp_oidc_meta_t *meta,
                                  const char *redirect_uri,
                                  const char *state, const char *nonce,
                                  const char *verifier)
{
    const char *ep = meta->authorization_endpoint;
    const char *scope = apr_pstrcat(p, "openid email profile",
                                    *prov->extra_scopes ? " " : "",
                                    prov->extra_scopes, NULL);

    return apr_pstrcat(p, ep, strchr(ep, '?') ? "&" : "?",
                       "response_type=code&client_id=",
                       tp_url_encode(p, prov->client_id),
                       "&redirect_uri=", tp_url_encode(p, redirect_uri),
                       "&scope=", tp_url_encode(p, scope),
                       "&state=", tp_url_encode(p, state),
                       "&nonce=", tp_url_encode(p, nonce),
                       "&code_challenge=",
                       tp_sha256_b64url(p, verifier, strlen(verifier)),
                       "&code_challenge_method=S256", NULL);
}

/* Client authentication: HTTP Basic with the form-encoded id and secret
 * (RFC 6749 2.3.1), or both in the body. */
static void client_auth(apr_pool_t *p, const tp_oidc_provider_t *prov,
                        tp_http_req_t *req, const char **form)
{
    const char *id = tp_url_encode(p, prov->client_id);
    const char *secret = tp_url_encode(p, prov->client_secret);
    const char *pair;
    char *b64;

    if (prov->secret_post) {
        *form = apr_pstrcat(p, *form, "&client_id=", id, "&client_secret=",
                            secret, NULL);
        return;
    }
    pair = apr_pstrcat(p, id, ":", secret, NULL);
    b64 = apr_palloc(p, apr_base64_encode_len((int)strlen(pair)));
    apr_base64_encode(b64, pair, (int)strlen(pair));
    APR_ARRAY_PUSH(req->headers, const char *) =
        apr_pstrcat(p, "Authorization: Basic ", b64, NULL);
}

/* The token endpoint's refusal, as OAuth 2.0 states it (error and
 * error_description), for the sign-in's error message. */
static const char *oauth_error(apr_pool_t *p, const tp_json_t *doc)
{
    const char *e = tp_json_gets(doc, "error", NULL);
    const char *d = tp_json_gets(doc, "error_description", NULL);

    return apr_pstrcat(p, e ? e : "no error code", d ? " (" : "",
                       d ? d : "", d ? ")" : "", NULL);
}

tp_err_t *tp_oidc_redeem(apr_pool_t *p, const tp_oidc_provider_t *prov,
                         const tp_oidc_meta_t *meta, const char *code,
                         const char *verifier, const char *redirect_uri,
                         const char **id_token)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    const char *form = apr_pstrcat(p, "grant_type=authorization_code&code=",
                                   tp_url_encode(p, code), "&redirect_uri=",
                                   tp_url_encode(p, redirect_uri),
                                   "&code_verifier=",
                                   tp_url_encode(p, verifier), NULL);
    tp_json_t *doc;
    tp_err_t *err;

    req.method = "POST";
    req.url = meta->token_endpoint;
    req.headers = apr_array_make(p, 3, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) =
        "Content-Type: application/x-www-form-urlencoded";
    APR_ARRAY_PUSH(req.headers, const char *) = "Accept: application/json";
    client_auth(p, prov, &req, &form);
    req.body = form;
    req.body_len = strlen(form);
    req.max_body = TP_OIDC_MAX_TOKEN_RESP;
    req.timeout = TP_OIDC_TIMEOUT;
    req.ca_file = prov->ca_file;
    if ((err = tp_http_perform(p, &req, &resp)) != NULL) {
        return tp_err_internal(p, 502, "the identity provider cannot be "
                               "reached", err->detail);
    }
    doc = tp_json_parse(p, resp.body, resp.body_len, NULL);
    if (resp.status == 400 || resp.status == 401) {
        return tp_err(p, 401, "the identity provider refused the "
                      "authorization code: %s", oauth_error(p, doc));
    }
    if (resp.status != 200 || !tp_json_gets(doc, "id_token", NULL)) {
        return tp_err(p, 502, "the identity provider's token endpoint "
                      "answered %d without an ID token", resp.status);
    }
    *id_token = tp_json_gets(doc, "id_token", NULL);
    return NULL;
}

/* The key that signed jwt: from the cached set, or from a fresh one when
 * the provider may have rotated its keys since. */
static tp_err_t *signing_key(apr_pool_t *p, tp_oidc_provider_t *prov,
                             const tp_oidc_meta_t *meta, const tp_jwt_t *jwt,
                             const tp_jwk_t **key)
{
    static const int max_age[] = {TP_OIDC_CACHE_TTL,
                                  TP_OIDC_JWKS_MIN_REFETCH};
    apr_array_header_t *keys;
    char *text;
    apr_size_t len, i;
    tp_err_t *err;

    for (i = 0; i < sizeof(max_age) / sizeof(max_age[0]); i++) {
        if ((err = cached(p, prov, &prov->cache->jwks, meta->jwks_uri,
                          TP_OIDC_MAX_JWKS, apr_time_from_sec(max_age[i]),
                          &text, &len)) != NULL
            || (err = tp_jwks_parse(p, text, len, &keys)) != NULL) {
            return err;
        }
        if ((*key = tp_jwks_find(keys, jwt->kid, jwt->alg)) != NULL) {
            return NULL;
        }
    }
    return tp_err(p, 401, "ID token rejected: no key of the identity "
                  "provider matches its key id %s",
                  jwt->kid ? jwt->kid : "(none)");
}

tp_err_t *tp_oidc_verify(apr_pool_t *p, tp_oidc_provider_t *prov,
                         const tp_oidc_meta_t *meta, const char *id_token,
                         const char *nonce, apr_time_t now,
                         tp_identity_t **out)
{
    tp_jwt_expect_t want;
    const tp_jwk_t *key;
    tp_jwt_t *jwt;
    tp_err_t *err;

    want.issuer = prov->issuer;
    want.audience = prov->client_id;
    want.nonce = nonce;
    want.now = now;
    if ((err = tp_jwt_decode(p, id_token, &jwt)) != NULL
        || (err = signing_key(p, prov, meta, jwt, &key)) != NULL
        || (err = tp_jwt_verify(p, jwt, key)) != NULL
        || (err = tp_jwt_check_claims(p, jwt, &want)) != NULL) {
        return err;
    }
    return tp_jwt_identity(p, jwt, prov->groups_claim, out);
}

static int holds(const apr_array_header_t *strings, const char *s)
{
    int i;

    for (i = 0; i < strings->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(strings, i, const char *), s) == 0) {
            return 1;
        }
    }
    return 0;
}

apr_array_header_t *tp_oidc_roles(apr_pool_t *p,
                                  const tp_oidc_provider_t *prov,
                                  const tp_identity_t *identity)
{
    apr_array_header_t *roles = apr_array_make(p, 4, sizeof(const char *));
    int i;

    for (i = 0; i < prov->group_roles->nelts; i++) {
        const tp_oidc_group_role_t *m =
            &APR_ARRAY_IDX(prov->group_roles, i, tp_oidc_group_role_t);

        if (holds(identity->groups, m->group) && !holds(roles, m->role)) {
            APR_ARRAY_PUSH(roles, const char *) = m->role;
        }
    }
    return roles;
}
