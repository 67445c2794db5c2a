/* Webhook deliveries: an event name, then the payload, as a provider (or
 * anyone) posts them. Any bytes are refused or read, never crash; what is
 * read keeps the promises of tp_vcs_hook.h. */
#include "fuzz.h"
#include "tp_vcs_hook.h"

static void deliver(apr_pool_t *p, tp_vcs_provider_e provider,
                    const char *event, const char *body, size_t len)
{
    tp_vcs_hook_t h;

    if (tp_vcs_hook_parse(p, provider, event, body, len, &h) != NULL) {
        return;
    }
    FUZZ_ASSERT(!(h.poll && h.ping));
    FUZZ_ASSERT(!h.poll || h.repo);
    FUZZ_ASSERT(!h.sha || h.branch);
    FUZZ_ASSERT(!h.installation_id || provider == TP_VCS_GITHUB);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *event, *body;

    apr_pool_create(&p, fuzz_root);
    fuzz_split(p, data, size, &event, &body);
    deliver(p, TP_VCS_GITHUB, event, body, strlen(body));
    deliver(p, TP_VCS_GITLAB, event, body, strlen(body));
    FUZZ_ASSERT(!tp_vcs_hook_signed(p, "secret", body, strlen(body), event)
                || strncmp(event, "sha256=", 7) == 0);
    apr_pool_destroy(p);
    return 0;
}
