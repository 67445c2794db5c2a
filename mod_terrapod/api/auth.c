/* Signing people in (native API under /api/terrapod/v1/auth/): the sign-in
 * page with its CSRF-protected password form and the single sign-on
 * providers it offers, the round trip through such a provider, the step
 * every sign-in ends with (tp_signin_complete), the caller's sessions and
 * logout. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_crypto.h"
#include "../tp_web.h"

#define SIGNIN_COOKIE "terrapod_signin"   /* binds the form's CSRF token */
#define MAX_FORM_BODY 16384
#define LOCAL "local"

/* Checked for unknown accounts, so that an unknown email costs the same
 * time as a wrong password (the PBKDF2 hash of a phrase nobody uses). */
static const char DUMMY_HASH[] = "pbkdf2-sha256$600000$4dbi6maHTZIca1YKeomgww"
                                 "$bHbR5TqioXMbAVLUrDgSqCBsj1IkxHqljF75Bir3KQQ";

/* The provider a request names (local when it names none): NULL for the
 * local one, the single sign-on provider otherwise; 404 for an unknown
 * name. */
static tp_err_t *named_provider(tp_req_t *req, const char *name,
                                const tp_oidc_provider_t **sso)
{
    *sso = NULL;
    if (!name || strcmp(name, LOCAL) == 0) {
        return NULL;
    }
    *sso = tp_sso_provider(req->conf, name);
    return *sso ? NULL : tp_err(req->r->pool, 404, "no sign-in provider "
                                "named \"%s\"", name);
}

/* The pre-session cookie the form's CSRF token is bound to, set when the
 * browser has none. */
static const char *signin_binding(tp_req_t *req)
{
    const char *v = tp_req_cookie(req, SIGNIN_COOKIE);

    if (!v || !tp_secret_wellformed(v, "")) {
        v = tp_random_b64url(req->r->pool, 32);
        tp_set_cookie(req, SIGNIN_COOKIE, v, 3600, 1);
    }
    return v;
}

static const char *sso_links(tp_req_t *req, const char *return_to)
{
    const apr_array_header_t *a = req->conf->oidc_providers;
    apr_pool_t *p = req->r->pool;
    const char *out = "";
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        const tp_oidc_provider_t *sp = APR_ARRAY_IDX(a, i,
                                                     tp_oidc_provider_t *);
        const char *href = apr_pstrcat(p, "/api/terrapod/v1/auth/authorize"
                                       "?provider=", sp->name, "&return_to=",
                                       tp_url_encode(p, return_to), NULL);

        out = apr_pstrcat(p, out, "<li><a href=\"", tp_html_escape(p, href),
                          "\">Sign in with ", tp_html_escape(p, sp->name),
                          "</a></li>\n", NULL);
    }
    return *out ? apr_pstrcat(p, "<ul>\n", out, "</ul>\n", NULL) : "";
}

tp_err_t *tp_signin_page(tp_req_t *req, int status, const char *return_to,
                         const char *message)
{
    apr_pool_t *p = req->r->pool;
    apr_table_t *h = req->r->headers_out;
    const char *token = tp_csrf_token(req, "signin", signin_binding(req));
    const char *html = apr_pstrcat(p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>Sign in to Terrapod</title></head><body>\n"
        "<h1>Sign in to Terrapod</h1>\n",
        message ? apr_pstrcat(p, "<p role=\"alert\">",
                              tp_html_escape(p, message), "</p>\n", NULL)
                : "",
        "<form method=\"post\" action=\"/api/terrapod/v1/auth/callback\">\n"
        "<input type=\"hidden\" name=\"provider\" value=\"local\">\n"
        "<input type=\"hidden\" name=\"csrf_token\" value=\"",
        tp_html_escape(p, token), "\">\n"
        "<input type=\"hidden\" name=\"return_to\" value=\"",
        tp_html_escape(p, return_to), "\">\n"
        "<label>Email <input type=\"email\" name=\"email\" required "
        "autocomplete=\"username\"></label>\n"
        "<label>Password <input type=\"password\" name=\"password\" required "
        "autocomplete=\"current-password\"></label>\n"
        "<button type=\"submit\">Sign in</button>\n</form>\n",
        sso_links(req, return_to), "</body></html>\n", NULL);

    apr_table_setn(h, "Cache-Control", "no-store");
    apr_table_setn(h, "X-Frame-Options", "DENY");
    apr_table_setn(h, "Content-Security-Policy", "default-src 'none'; "
                   "form-action 'self'; frame-ancestors 'none'");
    return tp_send_bytes(req, status, "text/html; charset=utf-8", html,
                         strlen(html));
}

tp_err_t *tp_signin_complete(tp_req_t *req, const char *provider,
                             const char *email, const char *display_name,
                             const char *return_to)
{
    tp_session_new_t s;
    const char *raw, *id;
    tp_db_t *db;
    tp_err_t *err;

    s.email = email;
    s.display_name = display_name;
    s.provider = provider;
    s.address = req->r->useragent_ip ? req->r->useragent_ip : "";
    s.user_agent = apr_table_get(req->r->headers_in, "User-Agent");
    s.user_agent = s.user_agent ? apr_pstrndup(req->r->pool, s.user_agent,
                                               512) : "";
    s.idle = req->conf->session_idle;
    s.max = req->conf->session_max;
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_session_create(db, req->r->pool, &s, &raw, &id))
           != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP01000: %s signed "
                  "in with %s (session %s)", email, provider, id);
    tp_set_cookie(req, TP_SESSION_COOKIE, raw, s.max, 1);
    tp_set_cookie(req, TP_CSRF_COOKIE, tp_csrf_token(req, "session", id),
                  s.max, 0);
    tp_set_cookie(req, SIGNIN_COOKIE, "", 0, 1);
    return tp_send_redirect(req, HTTP_SEE_OTHER, return_to);
}

tp_err_t *tp_api_auth_providers(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const apr_array_header_t *a = req->conf->oidc_providers;
    tp_json_t *list = tp_json_array(p);
    tp_json_t *local = tp_jsonapi_resource(p, "auth-providers", LOCAL);
    int i;

    tp_json_sets(local, LOCAL, "attributes", "name", NULL);
    tp_json_sets(local, "local", "attributes", "kind", NULL);
    tp_json_sets(local, "Email and password", "attributes", "display-name",
                 NULL);
    tp_json_setb(local, 1, "attributes", "available", NULL);
    tp_json_push(list, local);
    for (i = 0; a && i < a->nelts; i++) {
        const tp_oidc_provider_t *sp = APR_ARRAY_IDX(a, i,
                                                     tp_oidc_provider_t *);
        tp_json_t *r = tp_jsonapi_resource(p, "auth-providers", sp->name);

        tp_json_sets(r, sp->name, "attributes", "name", NULL);
        tp_json_sets(r, "sso", "attributes", "kind", NULL);
        tp_json_sets(r, sp->name, "attributes", "display-name", NULL);
        tp_json_setb(r, 1, "attributes", "available", NULL);
        tp_json_push(list, r);
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, list));
}

/* Where to go once signed in: the return_to given, when it is a path on
 * this server; 400 otherwise. */
static tp_err_t *return_path(tp_req_t *req, const char *given,
                             const char **out)
{
    *out = given ? given : "/";
    return tp_local_path_ok(*out) ? NULL
           : tp_err(req->r->pool, 400, "return_to must be a path on this "
                    "server");
}

/* The local provider shows the sign-in page; a single sign-on provider
 * gets the browser, with a single-use state bound to it (tp_sso_begin). */
tp_err_t *tp_api_auth_authorize(tp_req_t *req)
{
    const tp_oidc_provider_t *sso;
    const char *back, *location;
    tp_err_t *err;

    if ((err = named_provider(req, tp_query_arg(req, "provider"), &sso))
        != NULL
        || (err = return_path(req, tp_query_arg(req, "return_to"), &back))
           != NULL) {
        return err;
    }
    if (!sso) {
        return tp_signin_page(req, 200, back, NULL);
    }
    if ((err = tp_sso_begin(req, sso->name, back, &location)) != NULL) {
        return err;
    }
    apr_table_setn(req->r->headers_out, "Cache-Control", "no-store");
    return tp_send_redirect(req, HTTP_MOVED_TEMPORARILY, location);
}

/* Where a single sign-on provider sends the browser back (GET, with state
 * and code, or its error): verified, the person is signed in like any
 * other. The local provider has no such step (its form is POSTed). */
tp_err_t *tp_api_auth_callback(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *code = tp_query_arg(req, "code");
    const char *state = tp_query_arg(req, "state");
    const char *refusal = tp_query_arg(req, "error");
    const tp_identity_t *id;
    tp_sso_result_t *res;
    tp_err_t *err;

    if (!state || !*state) {
        return tp_err(p, 400, "state is required: the local provider signs "
                      "in by POSTing the sign-in form to this URL");
    }
    err = !refusal && (!code || !*code) ? tp_err(p, 400, "code is required")
          : tp_sso_finish(req, state, code, refusal, &res);
    if (err) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01102: "
                      "single sign-on refused: %s", err->detail);
        return err;
    }
    id = res->identity;
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01101: %s signed "
                  "in through %s (%d mapped role(s))", id->email,
                  res->provider->name, res->roles->nelts);
    return tp_signin_complete(req, res->provider->name, id->email, id->name,
                              res->return_to);
}

static tp_err_t *read_form(tp_req_t *req, apr_table_t **form)
{
    const char *ct = apr_table_get(req->r->headers_in, "Content-Type");
    char *buf = NULL;
    apr_size_t len = 0;
    tp_err_t *err;

    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        return tp_err(req->r->pool, 415, "send the form as "
                      "application/x-www-form-urlencoded");
    }
    if ((err = tp_read_raw(req, MAX_FORM_BODY, &buf, &len)) != NULL) {
        return err;
    }
    *form = tp_form_parse(req->r->pool, buf ? buf : "", len);
    return *form ? NULL : tp_err(req->r->pool, 400, "malformed form body");
}

/* The form's token must be the one made for this browser's pre-session
 * cookie: a page of another site can post the form, but cannot read the
 * token. */
static int signin_csrf_ok(tp_req_t *req, const char *sent)
{
    const char *bound = tp_req_cookie(req, SIGNIN_COOKIE);

    return sent && bound && *bound
           && tp_secure_equals(sent, tp_csrf_token(req, "signin", bound));
}

/* Checks a local email and password, counting failures; *ok is 1 when they
 * match an active account. One answer for unknown accounts and wrong
 * passwords, so the form reveals nothing about which accounts exist. */
static tp_err_t *check_password(tp_req_t *req, const char *email,
                                const char *password, int *ok)
{
    apr_pool_t *p = req->r->pool;
    const char *addr = req->r->useragent_ip ? req->r->useragent_ip : "";
    const char *hash;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_login_password_hash(db, p, email, &hash)) != NULL) {
        return err;
    }
    *ok = tp_password_verify(p, password, hash ? hash : DUMMY_HASH)
          && hash;
    return *ok ? NULL : tp_login_failed(db, p, email, addr);
}

static tp_err_t *local_signin(tp_req_t *req, apr_table_t *form,
                              const char *back)
{
    apr_pool_t *p = req->r->pool;
    const char *email = apr_table_get(form, "email");
    const char *password = apr_table_get(form, "password");
    const char *addr = req->r->useragent_ip ? req->r->useragent_ip : "";
    int throttled = 0, ok = 0;
    tp_db_t *db;
    tp_err_t *err;

    if (!signin_csrf_ok(req, apr_table_get(form, "csrf_token"))) {
        return tp_signin_page(req, HTTP_FORBIDDEN, back, "The sign-in form "
                              "expired or did not come from this site. "
                              "Please try again.");
    }
    if (!email || !*email || !password || !*password || strlen(email) > 254
        || strlen(password) > 1024) {
        return tp_signin_page(req, HTTP_BAD_REQUEST, back,
                              "Enter your email and password.");
    }
    email = tp_str_lower(p, email);
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_login_throttled(db, p, email, addr, &throttled))
           != NULL) {
        return err;
    }
    if (throttled) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP01002: "
                      "sign-in of %s from %s refused: too many failures",
                      email, addr);
        apr_table_setn(req->r->headers_out, "Retry-After",
                       apr_itoa(p, TP_LOGIN_WINDOW_MINUTES * 60));
        return tp_signin_page(req, HTTP_TOO_MANY_REQUESTS, back, "Too many "
                              "failed sign-in attempts. Try again later.");
    }
    if ((err = check_password(req, email, password, &ok)) != NULL) {
        return err;
    }
    if (!ok) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01001: failed "
                      "sign-in of %s from %s", email, addr);
        return tp_signin_page(req, HTTP_UNAUTHORIZED, back,
                              "Wrong email or password.");
    }
    /* the right password, but roles that only single sign-on may carry */
    if ((err = tp_sso_local_password_check(req, email)) != NULL) {
        return err->status == HTTP_FORBIDDEN
               ? tp_signin_page(req, HTTP_FORBIDDEN, back, err->detail) : err;
    }
    return tp_signin_complete(req, LOCAL, email, NULL, back);
}

tp_err_t *tp_api_auth_callback_post(tp_req_t *req)
{
    const tp_oidc_provider_t *sso;
    const char *back;
    apr_table_t *form;
    tp_err_t *err;

    if ((err = read_form(req, &form)) != NULL
        || (err = named_provider(req, apr_table_get(form, "provider"), &sso))
           != NULL
        || (err = return_path(req, apr_table_get(form, "return_to"), &back))
           != NULL) {
        return err;
    }
    return sso ? tp_err(req->r->pool, 400, "single sign-on providers answer "
                        "on GET (response_mode query)")
               : local_signin(req, form, back);
}

static const tp_stmt_t SQL_SESSIONS_OF = {"sessions_of_user",
    "SELECT id, provider_name, client_address, user_agent,"
    "       tp_ts(created_at) AS created_at,"
    "       tp_ts(last_seen_at) AS last_seen_at,"
    "       tp_ts(expires_at) AS expires_at,"
    "       tp_ts(max_expires_at) AS max_expires_at,"
    "       count(*) OVER () AS total"
    "  FROM sessions WHERE user_email = %s AND expires_at > now()"
    " ORDER BY created_at DESC LIMIT %s::bigint OFFSET %s::bigint"};

static tp_json_t *session_resource(tp_req_t *req, const tp_rows_t *rows,
                                   int i)
{
    static const char *const cols[][2] = {
        {"provider_name", "provider-name"},
        {"client_address", "client-address"}, {"user_agent", "user-agent"},
        {"created_at", "created-at"}, {"last_seen_at", "last-seen-at"},
        {"expires_at", "expires-at"}, {"max_expires_at", "max-expires-at"},
        {NULL, NULL}
    };
    const char *id = tp_row(rows, i, "id");
    tp_json_t *s = tp_jsonapi_resource(req->r->pool, "sessions", id);
    int k;

    for (k = 0; cols[k][0]; k++) {
        tp_json_sets(s, tp_row(rows, i, cols[k][0]), "attributes", cols[k][1],
                     NULL);
    }
    tp_json_setb(s, req->who->session_id
                    && strcmp(req->who->session_id, id) == 0,
                 "attributes", "current", NULL);
    return s;
}

tp_err_t *tp_api_auth_sessions(tp_req_t *req)
{
    return tp_send_page(req, &SQL_SESSIONS_OF,
                        TP_DB_ARGS(req->who->grants.email), session_resource);
}

tp_err_t *tp_api_auth_logout(tp_req_t *req)
{
    int ended = 0;
    tp_db_t *db;
    tp_err_t *err;

    if (!req->who->session_id) {
        return tp_err(req->r->pool, 400, "logout ends a session; this "
                      "request was made with an API token (delete the token "
                      "to revoke it)");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_session_end(db, req->r->pool, req->who->session_id,
                                 req->who->grants.email, &ended)) != NULL) {
        return err;
    }
    tp_set_cookie(req, TP_SESSION_COOKIE, "", 0, 1);
    tp_set_cookie(req, TP_CSRF_COOKIE, "", 0, 0);
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
