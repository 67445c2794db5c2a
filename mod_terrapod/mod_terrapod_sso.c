/* Single sign-on glue: the state kept between the redirect to an OpenID
 * Connect provider and its callback, the browser binding cookie, and the
 * user and role records a verified identity updates. The sign-in
 * endpoints call tp_sso_begin and tp_sso_finish. */
#include <apr_strings.h>
#include "mod_terrapod.h"
#include "tp_crypto.h"
#include "tp_token.h"

#define SSO_STATE_TTL 600          /* seconds a sign-in may take */
#define SSO_COOKIE "terrapod_sso"
#define SSO_COOKIE_PATH "/api/terrapod/v1/auth/"
#define SSO_CALLBACK "/api/terrapod/v1/auth/callback"
#define SSO_SEAL_PURPOSE "sso-verifier"

static const tp_stmt_t SQL_STATE_PURGE = {"sso_state_purge",
    "DELETE FROM sso_states WHERE expires_at <= now()"};
static const tp_stmt_t SQL_STATE_INSERT = {"sso_state_insert",
    "INSERT INTO sso_states (state_hash, provider_name, nonce,"
    "                        verifier_sealed, binding_hash, return_to,"
    "                        redirect_uri, expires_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s,"
    "         now() + make_interval(secs => %s::int))"};
/* Deleting is what makes a state single-use, even when the rest fails. */
static const tp_stmt_t SQL_STATE_TAKE = {"sso_state_take",
    "DELETE FROM sso_states WHERE state_hash = %s"
    " RETURNING provider_name, nonce, verifier_sealed, binding_hash,"
    "           return_to, redirect_uri, expires_at > now() AS fresh"};
static const tp_stmt_t SQL_SSO_USER = {"sso_user",
    "INSERT INTO users (email, id, display_name, last_login_at)"
    " VALUES (%s, %s, %s, now())"
    " ON CONFLICT (email) DO UPDATE"
    "   SET display_name = CASE WHEN EXCLUDED.display_name <> ''"
    "                           THEN EXCLUDED.display_name"
    "                           ELSE users.display_name END,"
    "       last_login_at = now(), updated_at = now()"
    " RETURNING id, is_active, is_service_account"};
static const tp_stmt_t SQL_SSO_ROLES_CLEAR = {"sso_roles_clear",
    "DELETE FROM role_assignments WHERE provider_name = %s AND email = %s"};
static const tp_stmt_t SQL_SSO_ROLES_ADD = {"sso_roles_add",
    "INSERT INTO role_assignments (provider_name, email, role_name)"
    " SELECT %s, %s, name FROM roles"
    "  WHERE name IN (SELECT json_array_elements_text(%s::json))"
    " RETURNING role_name"};
static const tp_stmt_t SQL_SSO_REQUIRED = {"sso_required_role",
    "SELECT role_name FROM role_assignments"
    " WHERE email = %s"
    "   AND role_name IN (SELECT json_array_elements_text(%s::json))"
    " ORDER BY role_name LIMIT 1"};

/* The cookie binding a sign-in to the browser that began it. */
static void set_binding_cookie(tp_req_t *req, const char *value, int ttl)
{
    int https = strncmp(tp_base_url(req), "https://", 8) == 0;

    apr_table_add(req->r->err_headers_out, "Set-Cookie",
                  apr_psprintf(req->r->pool, SSO_COOKIE "=%s; Path="
                               SSO_COOKIE_PATH "; Max-Age=%d; HttpOnly; "
                               "SameSite=Lax%s", value, ttl,
                               https ? "; Secure" : ""));
}

static const char *binding_cookie(tp_req_t *req)
{
    const char *header = apr_table_get(req->r->headers_in, "Cookie");
    char *copy, *pair, *last;
    apr_size_t n = strlen(SSO_COOKIE);

    if (!header) {
        return NULL;
    }
    copy = apr_pstrdup(req->r->pool, header);
    for (pair = apr_strtok(copy, "; ", &last); pair;
         pair = apr_strtok(NULL, "; ", &last)) {
        if (strncmp(pair, SSO_COOKIE "=", n + 1) == 0) {
            return pair + n + 1;
        }
    }
    return NULL;
}

tp_err_t *tp_sso_begin(tp_req_t *req, const char *provider,
                       const char *return_to, const char **location)
{
    apr_pool_t *p = req->r->pool;
    tp_oidc_provider_t *prov = tp_sso_provider(req->conf, provider);
    const char *state = tp_random_b64url(p, 32);
    const char *nonce = tp_random_b64url(p, 32);
    const char *verifier = tp_random_b64url(p, 32);
    const char *binding = tp_random_b64url(p, 32);
    const char *redirect_uri = apr_pstrcat(p, tp_base_url(req), SSO_CALLBACK,
                                           NULL);
    const char *sealed;
    tp_oidc_meta_t *meta;
    tp_err_t *err;

    if (!prov) {
        return tp_err(p, 404, "no single sign-on provider named %s",
                      provider);
    }
    sealed = tp_seal(p, req->conf->hmac.bytes, req->conf->hmac.len,
                     SSO_SEAL_PURPOSE, verifier);
    if (!sealed) {
        return tp_err(p, 500, "sealing the sign-in state failed");
    }
    if ((err = tp_oidc_discover(p, prov, &meta)) != NULL
        || (err = tp_req_exec(req, &SQL_STATE_PURGE, NULL, 0, NULL)) != NULL
        || (err = tp_req_exec(req, &SQL_STATE_INSERT, NULL,
                              TP_DB_ARGS(tp_sha256_hex(p, state,
                                                       strlen(state)),
                                         prov->name, nonce, sealed,
                                         tp_sha256_hex(p, binding,
                                                       strlen(binding)),
                                         return_to, redirect_uri,
                                         APR_STRINGIFY(SSO_STATE_TTL))))
           != NULL) {
        return err;
    }
    set_binding_cookie(req, binding, SSO_STATE_TTL);
    *location = tp_oidc_authorize_url(p, prov, meta, redirect_uri, state,
                                      nonce, verifier);
    return NULL;
}

/* The sign-in state the callback names, consumed: 401 when it is
 * unknown, used, expired or was begun in another browser. */
static tp_err_t *take_state(tp_req_t *req, const char *state,
                            tp_rows_t **row)
{
    apr_pool_t *p = req->r->pool;
    const char *binding = binding_cookie(req);
    tp_err_t *err = tp_req_exec(req, &SQL_STATE_TAKE, row,
                                TP_DB_ARGS(tp_sha256_hex(p, state,
                                                         strlen(state))));

    if (err) {
        return err;
    }
    if ((*row)->nrows != 1) {
        return tp_err(p, 401, "unknown or already used sign-in state: "
                      "start the sign-in again");
    }
    if (!tp_row_bool(*row, 0, "fresh")) {
        return tp_err(p, 401, "the sign-in took longer than %d minutes: "
                      "start it again", SSO_STATE_TTL / 60);
    }
    if (!binding
        || !tp_secure_equals(tp_sha256_hex(p, binding, strlen(binding)),
                             tp_row(*row, 0, "binding_hash"))) {
        return tp_err(p, 401, "this sign-in was not started in this "
                      "browser (its cookie is missing or different)");
    }
    return NULL;
}

/* Records the user and replaces the provider's role assignments for them
 * with roles, in one transaction. */
static tp_err_t *record_identity(tp_req_t *req, tp_sso_result_t *res)
{
    apr_pool_t *p = req->r->pool;
    const tp_identity_t *id = res->identity;
    const char *name = res->provider->name;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_SSO_USER, &rows,
                             TP_DB_ARGS(id->email, tp_id_generate(p, "user"),
                                        id->name))) != NULL) {
        return err;
    }
    if (!tp_row_bool(rows, 0, "is_active")
        || tp_row_bool(rows, 0, "is_service_account")) {
        tp_db_rollback(db);
        return tp_err(p, 403, "user %s is deactivated or a service account "
                      "and may not sign in", id->email);
    }
    res->user_id = tp_row(rows, 0, "id");
    if ((err = tp_db_exec(db, p, &SQL_SSO_ROLES_CLEAR, NULL,
                          TP_DB_ARGS(name, id->email))) != NULL
        || (err = tp_db_exec(db, p, &SQL_SSO_ROLES_ADD, &rows,
                             TP_DB_ARGS(name, id->email,
                                        tp_json_dump(tp_json_strings(p,
                                                                 res->roles),
                                                     p)))) != NULL
        || (err = tp_db_commit(db)) != NULL) {
        return err;
    }
    if (rows->nrows != res->roles->nelts) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP01103: "
                      "provider %s maps %s to roles %s but only %d of them "
                      "exist", name, id->email,
                      tp_json_dump(tp_json_strings(p, res->roles), p),
                      rows->nrows);
    }
    return NULL;
}

tp_err_t *tp_sso_finish(tp_req_t *req, const char *state, const char *code,
                        const char *refusal, tp_sso_result_t **out)
{
    apr_pool_t *p = req->r->pool;
    tp_sso_result_t *res = apr_pcalloc(p, sizeof(*res));
    tp_oidc_provider_t *prov;
    const char *verifier, *id_token = NULL;
    tp_oidc_meta_t *meta;
    tp_rows_t *row;
    tp_err_t *err;

    if ((err = take_state(req, state, &row)) != NULL) {
        return err;
    }
    if (refusal) {
        return tp_err(p, 401, "the identity provider refused the sign-in: "
                      "%s", refusal);
    }
    if (!(prov = tp_sso_provider(req->conf, tp_row(row, 0,
                                                   "provider_name")))) {
        return tp_err(p, 401, "single sign-on provider %s is no longer "
                      "configured", tp_row(row, 0, "provider_name"));
    }
    verifier = tp_unseal(p, req->conf->hmac.bytes, req->conf->hmac.len,
                         SSO_SEAL_PURPOSE, tp_row(row, 0, "verifier_sealed"));
    if (!verifier) {
        return tp_err(p, 401, "the sign-in state cannot be read (was the "
                      "signing key changed?): start it again");
    }
    res->provider = prov;
    res->return_to = tp_row(row, 0, "return_to");
    if ((err = tp_oidc_discover(p, prov, &meta)) != NULL
        || (err = tp_oidc_redeem(p, prov, meta, code, verifier,
                                 tp_row(row, 0, "redirect_uri"), &id_token))
           != NULL
        || (err = tp_oidc_verify(p, prov, meta, id_token,
                                 tp_row(row, 0, "nonce"), apr_time_now(),
                                 &res->identity)) != NULL) {
        return err;
    }
    res->roles = tp_oidc_roles(p, prov, res->identity);
    if ((err = record_identity(req, res)) != NULL) {
        return err;
    }
    set_binding_cookie(req, "", 0);
    *out = res;
    return NULL;
}

tp_err_t *tp_sso_local_password_check(tp_req_t *req, const char *email)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err;

    if (!req->conf->sso_roles) {
        return NULL;
    }
    err = tp_req_exec(req, &SQL_SSO_REQUIRED, &rows,
                      TP_DB_ARGS(email, tp_json_dump(tp_json_strings(p,
                                                   req->conf->sso_roles),
                                                   p)));
    if (!err && rows->nrows > 0) {
        return tp_err(p, 403, "holders of role %s must sign in through "
                      "single sign-on", tp_row(rows, 0, "role_name"));
    }
    return err;
}
