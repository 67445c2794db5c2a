/* What clients present as credentials: the Authorization header's Bearer
 * credential and the API token shape it must have. */
#include "fuzz.h"
#include "tp_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *header, *cred;

    apr_pool_create(&p, fuzz_root);
    header = fuzz_cstr(p, data, size);
    cred = tp_bearer(header);
    /* the credential is the header's tail, past "Bearer" and blanks */
    FUZZ_ASSERT(!cred || (cred > header + 6 && *cred && *cred != ' '
                          && cred < header + strlen(header)));
    if (tp_token_wellformed(header)) {
        FUZZ_ASSERT(strlen(header) == sizeof(TP_TOKEN_PREFIX) - 1
                                      + TP_TOKEN_SECRET_LEN);
        FUZZ_ASSERT(strlen(tp_token_hash(p, header)) == 64);
    }
    if (cred) {
        tp_token_wellformed(cred);
    }
    apr_pool_destroy(p);
    return 0;
}
