/* API token format, hashing and Bearer parsing. */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "tp_crypto.h"
#include "tp_token.h"

char *tp_secret_generate(apr_pool_t *p, const char *prefix)
{
    return apr_pstrcat(p, prefix, tp_random_b64url(p, 32), NULL);
}

int tp_secret_wellformed(const char *raw, const char *prefix)
{
    apr_size_t i, plen = strlen(prefix);

    if (!raw || strncmp(raw, prefix, plen) != 0
        || strlen(raw) != plen + TP_TOKEN_SECRET_LEN) {
        return 0;
    }
    for (i = plen; raw[i]; i++) {
        if (!apr_isalnum(raw[i]) && raw[i] != '-' && raw[i] != '_') {
            return 0;
        }
    }
    return 1;
}

char *tp_token_generate(apr_pool_t *p)
{
    return tp_secret_generate(p, TP_TOKEN_PREFIX);
}

int tp_token_wellformed(const char *raw)
{
    return tp_secret_wellformed(raw, TP_TOKEN_PREFIX);
}

char *tp_token_hash(apr_pool_t *p, const char *raw)
{
    return tp_sha256_hex(p, raw, strlen(raw));
}

const char *tp_bearer(const char *authorization)
{
    const char *s = authorization;

    if (!s || strncasecmp(s, "Bearer", 6) != 0 || (s[6] != ' '
                                                    && s[6] != '\t')) {
        return NULL;
    }
    s += 6;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return *s ? s : NULL;
}

char *tp_id_generate(apr_pool_t *p, const char *prefix)
{
    static const char abc[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char buf[16];
    char out[17];
    int i;

    /* 62 does not divide 256, but the bias (< 2%) does not matter for
     * identifiers, which are not secrets */
    if (tp_random(buf, sizeof(buf)) != APR_SUCCESS) {
        abort();
    }
    for (i = 0; i < 16; i++) {
        out[i] = abc[buf[i] % 62];
    }
    out[16] = '\0';
    return apr_pstrcat(p, prefix, "-", out, NULL);
}
