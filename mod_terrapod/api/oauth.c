/* `terraform login` (login.v1): the OAuth 2 authorization-code grant with
 * PKCE. /oauth/authorize signs the browser in and hands a single-use code
 * to the CLI's loopback listener; /oauth/token trades it for an API token. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_web.h"
#include "../tp_crypto.h"

#define MAX_TOKEN_BODY 8192

/* A page for the person at the browser, for requests whose redirect URI
 * cannot be trusted with an answer. */
static tp_err_t *bad_request_page(tp_req_t *req, const char *why)
{
    apr_pool_t *p = req->r->pool;
    const char *html = apr_pstrcat(p, "<!DOCTYPE html>\n<html lang=\"en\">"
                                   "<head><meta charset=\"utf-8\"><title>"
                                   "Cannot sign in</title></head><body>\n"
                                   "<h1>Cannot sign in</h1>\n<p>",
                                   tp_html_escape(p, why),
                                   "</p>\n</body></html>\n", NULL);

    apr_table_setn(req->r->headers_out, "Cache-Control", "no-store");
    return tp_send_bytes(req, HTTP_BAD_REQUEST, "text/html; charset=utf-8",
                         html, strlen(html));
}

/* redirect_uri with the given query parameters added (values encoded). */
static const char *redirect_with(apr_pool_t *p, const char *uri,
                                 const char *k1, const char *v1,
                                 const char *state)
{
    const char *url = apr_pstrcat(p, uri, strchr(uri, '?') ? "&" : "?", k1,
                                  "=", tp_url_encode(p, v1), NULL);

    return state ? apr_pstrcat(p, url, "&state=", tp_url_encode(p, state),
                               NULL)
                 : url;
}

tp_err_t *tp_api_oauth_authorize(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *client = tp_query_arg(req, "client_id");
    const char *uri = tp_query_arg(req, "redirect_uri");
    const char *type = tp_query_arg(req, "response_type");
    const char *challenge = tp_query_arg(req, "code_challenge");
    const char *method = tp_query_arg(req, "code_challenge_method");
    const char *state = tp_query_arg(req, "state");
    const char *code;
    tp_principal_t *who;
    tp_db_t *db;
    tp_err_t *err;

    if (!client || strcmp(client, TP_LOGIN_CLIENT) != 0) {
        return bad_request_page(req, "Unknown client: only terraform login "
                                "(client_id " TP_LOGIN_CLIENT ") signs in "
                                "here.");
    }
    if (!tp_loopback_redirect_ok(uri, TP_LOGIN_PORT_MIN, TP_LOGIN_PORT_MAX)) {
        return bad_request_page(req, "The redirect_uri is not a loopback "
                                "address of terraform login "
                                "(http://localhost:PORT/...).");
    }
    /* the redirect URI is trusted from here on, so errors go to it */
    if (!type || strcmp(type, "code") != 0) {
        return tp_send_redirect(req, HTTP_MOVED_TEMPORARILY,
                                redirect_with(p, uri, "error",
                                              "unsupported_response_type",
                                              state));
    }
    if (!method || strcmp(method, "S256") != 0 || !challenge
        || strlen(challenge) != 43 || (state && strlen(state) > 512)) {
        return tp_send_redirect(req, HTTP_MOVED_TEMPORARILY,
                                redirect_with(p, uri, "error",
                                              "invalid_request", state));
    }
    if ((err = tp_session_from_cookie(req, &who)) != NULL) {
        return err;
    }
    if (!who) {
        return tp_signin_page(req, 200, req->r->unparsed_uri, NULL);
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_oauth_code_create(db, p, client, uri, challenge,
                                       who->grants.email, &code)) != NULL) {
        return err;
    }
    return tp_send_redirect(req, HTTP_MOVED_TEMPORARILY,
                            redirect_with(p, uri, "code", code, state));
}

/* OAuth 2 errors are their own JSON shape, which the CLI parses. */
static tp_err_t *oauth_error(tp_req_t *req, const char *error,
                             const char *description)
{
    tp_json_t *doc = tp_json_object(req->r->pool);

    tp_json_sets(doc, error, "error", NULL);
    tp_json_sets(doc, description, "error_description", NULL);
    apr_table_setn(req->r->headers_out, "Cache-Control", "no-store");
    return tp_send_json(req, HTTP_BAD_REQUEST, doc);
}

/* The client_id of the form, or of HTTP Basic credentials (client_id:,
 * URL-encoded): golang.org/x/oauth2, which terraform uses, tries that
 * style first. */
static const char *client_of(tp_req_t *req, apr_table_t *form)
{
    apr_pool_t *p = req->r->pool;
    const char *auth = apr_table_get(req->r->headers_in, "Authorization");
    const char *client = apr_table_get(form, "client_id");
    unsigned char *plain;
    const char *id;
    apr_size_t len;
    apr_table_t *t;

    if (client || !auth || strncasecmp(auth, "Basic ", 6) != 0
        || !(plain = tp_base64_decode(p, auth + 6, &len))) {
        return client;
    }
    /* "id:secret", each form-encoded */
    id = apr_pstrndup(p, (const char *)plain, strcspn((const char *)plain,
                                                      ":"));
    t = tp_form_parse(p, apr_pstrcat(p, "client_id=", id, NULL),
                      strlen(id) + 10);
    return t ? apr_table_get(t, "client_id") : NULL;
}

/* NULL when the code was found, is fresh, and everything the client sends
 * matches what it was issued for; otherwise why not. */
static const char *grant_mismatch(apr_pool_t *p, const tp_oauth_grant_t *g,
                                  const char *client, apr_table_t *form)
{
    const char *uri = apr_table_get(form, "redirect_uri");

    if (!g) {
        return "the code is unknown or was already used";
    }
    if (!g->fresh) {
        return "the code has expired";
    }
    if (!client || strcmp(client, g->client_id) != 0) {
        return "the code was issued to another client";
    }
    if (!uri || strcmp(uri, g->redirect_uri) != 0) {
        return "redirect_uri differs from the one the code was issued for";
    }
    if (!tp_pkce_s256_ok(p, apr_table_get(form, "code_verifier"),
                         g->code_challenge)) {
        return "code_verifier does not match the code challenge";
    }
    return g->active ? NULL : "the account is deactivated";
}

tp_err_t *tp_api_oauth_token(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *ct = apr_table_get(req->r->headers_in, "Content-Type");
    const char *grant_type, *code, *why, *raw, *id;
    tp_oauth_grant_t *g;
    apr_table_t *form;
    char *buf = NULL;
    apr_size_t len = 0;
    tp_json_t *doc;
    tp_db_t *db;
    tp_err_t *err;

    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        return oauth_error(req, "invalid_request", "the body must be "
                           "application/x-www-form-urlencoded");
    }
    if ((err = tp_read_raw(req, MAX_TOKEN_BODY, &buf, &len)) != NULL) {
        return err;
    }
    form = tp_form_parse(p, buf ? buf : "", len);
    grant_type = form ? apr_table_get(form, "grant_type") : NULL;
    code = form ? apr_table_get(form, "code") : NULL;
    if (!grant_type || !code) {
        return oauth_error(req, "invalid_request", "grant_type and code are "
                           "required");
    }
    if (strcmp(grant_type, "authorization_code") != 0) {
        return oauth_error(req, "unsupported_grant_type", "only "
                           "authorization_code is supported");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_oauth_code_consume(db, p, code, &g)) != NULL) {
        return err;
    }
    if ((why = grant_mismatch(p, g, client_of(req, form), form)) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01004: "
                      "authorization code refused: %s", why);
        return oauth_error(req, "invalid_grant", why);
    }
    if ((err = tp_token_create(db, p, g->email, g->email, "terraform login",
                               0, &raw, &id)) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP01003: terraform "
                  "login issued API token %s to %s", id, g->email);
    doc = tp_json_object(p);
    tp_json_sets(doc, raw, "access_token", NULL);
    tp_json_sets(doc, "bearer", "token_type", NULL);
    apr_table_setn(req->r->headers_out, "Cache-Control", "no-store");
    return tp_send_json(req, 200, doc);
}
