/* Segment-by-segment matching of request paths against route patterns. */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "tp_route.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX escapes; returns NULL for a malformed escape or an encoded
 * NUL or slash, which no identifier may contain. */
static char *url_decode(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *out = apr_palloc(p, len + 1);
    apr_size_t i, o = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi, lo;

            if (i + 2 >= len) {
                return NULL;
            }
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)
                || (hi == 2 && lo == 0xf)) {
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        }
        else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

int tp_route_match(apr_pool_t *p, const char *pattern, const char *path,
                   tp_params_t *params)
{
    const char *pp = pattern, *sp = path;
    apr_size_t plen = strlen(path);

    params->n = 0;
    /* one trailing slash is tolerated, as clients differ on it */
    if (plen > 1 && path[plen - 1] == '/') {
        plen--;
    }
    while (*pp && (apr_size_t)(sp - path) < plen) {
        const char *pend = strchr(pp, '/');
        const char *send = memchr(sp, '/', plen - (apr_size_t)(sp - path));
        apr_size_t pl = pend ? (apr_size_t)(pend - pp) : strlen(pp);
        apr_size_t sl = send ? (apr_size_t)(send - sp)
                             : plen - (apr_size_t)(sp - path);

        if (pl > 2 && pp[0] == '{' && pp[pl - 1] == '}') {
            char *value;

            if (sl == 0 || params->n >= TP_ROUTE_MAX_PARAMS) {
                return 0;
            }
            value = url_decode(p, sp, sl);
            if (!value) {
                return 0;
            }
            params->names[params->n] = apr_pstrmemdup(p, pp + 1, pl - 2);
            params->values[params->n++] = value;
        }
        else if (pl != sl || strncmp(pp, sp, pl) != 0) {
            return 0;
        }
        pp += pl;
        sp += sl;
        /* both must continue with a separator, or both must end */
        if (*pp == '/' && (apr_size_t)(sp - path) < plen && *sp == '/') {
            pp++;
            sp++;
        }
        else if (*pp || (apr_size_t)(sp - path) < plen) {
            return 0;
        }
    }
    return *pp == '\0' && (apr_size_t)(sp - path) == plen;
}

const char *tp_param(const tp_params_t *params, const char *name)
{
    int i;

    for (i = 0; i < params->n; i++) {
        if (strcmp(params->names[i], name) == 0) {
            return params->values[i];
        }
    }
    return NULL;
}

char *tp_url_encode(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}
