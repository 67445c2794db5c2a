/* What browser-facing endpoints need beyond JSON: form bodies, cookies,
 * HTML escaping, query encoding, and the checks of the OAuth login flow
 * (loopback redirect URIs, PKCE, local return paths). */
#ifndef TP_WEB_H
#define TP_WEB_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Decodes an application/x-www-form-urlencoded body (or query string);
 * NULL when a %-escape is malformed or decodes to NUL. */
apr_table_t *tp_form_parse(apr_pool_t *p, const char *buf, apr_size_t len);

/* The value of cookie name in a Cookie header; NULL when absent. */
const char *tp_cookie_get(apr_pool_t *p, const char *header,
                          const char *name);

/* s with & < > " ' replaced by entities. */
char *tp_html_escape(apr_pool_t *p, const char *s);

/* 1 when uri is http://localhost:PORT/... or http://127.0.0.1:PORT/...
 * with PORT in [port_min, port_max]: where terraform login listens, and
 * nowhere else a code may be sent. */
int tp_loopback_redirect_ok(const char *uri, int port_min, int port_max);

/* 1 when challenge is base64url(SHA-256(verifier)) and the verifier has
 * the shape RFC 7636 demands (43 to 128 unreserved characters). */
int tp_pkce_s256_ok(apr_pool_t *p, const char *verifier,
                    const char *challenge);

/* 1 when s is a path on this server to return to after signing in
 * ("/..." but not "//host" or "/\host", no control characters). */
int tp_local_path_ok(const char *s);

#endif
