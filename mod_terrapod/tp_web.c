/* Form and cookie parsing, escaping, and the checks of the login flow.
 * Pure functions of their input, so the unit tests cover them whole. */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "tp_crypto.h"
#include "tp_web.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes one form component in place; 0 when malformed. */
static int form_decode(char *s)
{
    char *out = s;

    for (; *s; s++) {
        if (*s == '+') {
            *out++ = ' ';
        }
        else if (*s == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

            if (lo < 0 || (hi == 0 && lo == 0)) {
                return 0;
            }
            *out++ = (char)(hi * 16 + lo);
            s += 2;
        }
        else {
            *out++ = *s;
        }
    }
    *out = '\0';
    return 1;
}

apr_table_t *tp_form_parse(apr_pool_t *p, const char *buf, apr_size_t len)
{
    apr_table_t *t = apr_table_make(p, 8);
    char *copy = apr_pstrmemdup(p, buf, len), *pair, *last = NULL;

    if (memchr(buf, '\0', len)) {
        return NULL;
    }
    for (pair = apr_strtok(copy, "&", &last); pair;
         pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        char *value = eq ? eq + 1 : pair + strlen(pair);

        if (eq) {
            *eq = '\0';
        }
        if (!form_decode(pair) || !form_decode(value)) {
            return NULL;
        }
        if (*pair) {
            apr_table_add(t, pair, value);
        }
    }
    return t;
}

const char *tp_cookie_get(apr_pool_t *p, const char *header,
                          const char *name)
{
    apr_size_t n = strlen(name);
    const char *s = header;

    while (s && *s) {
        const char *end;

        while (*s == ' ' || *s == ';') {
            s++;
        }
        end = strchr(s, ';');
        if (strncmp(s, name, n) == 0 && s[n] == '=') {
            s += n + 1;
            return end ? apr_pstrmemdup(p, s, (apr_size_t)(end - s))
                       : apr_pstrdup(p, s);
        }
        s = end;
    }
    return NULL;
}

char *tp_html_escape(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 6 + 1), *o = out;

    for (; *s; s++) {
        const char *ent = *s == '&' ? "&amp;" : *s == '<' ? "&lt;"
                        : *s == '>' ? "&gt;" : *s == '"' ? "&quot;"
                        : *s == '\'' ? "&#39;" : NULL;

        if (ent) {
            o = stpcpy(o, ent);
        }
        else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

int tp_loopback_redirect_ok(const char *uri, int port_min, int port_max)
{
    static const char *const hosts[] = {"http://localhost:",
                                        "http://127.0.0.1:", NULL};
    const char *s = NULL, *c;
    char *end;
    long port;
    int i;

    for (i = 0; uri && hosts[i] && !s; i++) {
        if (strncmp(uri, hosts[i], strlen(hosts[i])) == 0) {
            s = uri + strlen(hosts[i]);
        }
    }
    if (!s || !apr_isdigit(*s)) {
        return 0;
    }
    port = strtol(s, &end, 10);
    if (port < port_min || port > port_max || *end != '/') {
        return 0;
    }
    for (c = end; *c; c++) {
        if (apr_iscntrl(*c) || *c == ' ' || *c == '#' || *c == '\\') {
            return 0;
        }
    }
    return strlen(uri) <= 2048;
}

int tp_pkce_s256_ok(apr_pool_t *p, const char *verifier,
                    const char *challenge)
{
    apr_size_t n = verifier ? strlen(verifier) : 0, i;

    if (n < 43 || n > 128 || !challenge) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = verifier[i];

        if (!apr_isalnum(c) && c != '-' && c != '.' && c != '_' && c != '~') {
            return 0;
        }
    }
    return tp_secure_equals(tp_sha256_b64url(p, verifier, n), challenge);
}

int tp_local_path_ok(const char *s)
{
    const char *c;

    if (!s || s[0] != '/' || s[1] == '/' || s[1] == '\\'
        || strlen(s) > 4096) {
        return 0;
    }
    for (c = s; *c; c++) {
        if (apr_iscntrl(*c)) {
            return 0;
        }
    }
    return 1;
}
