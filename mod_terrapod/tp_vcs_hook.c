/* Webhook deliveries: signatures and payloads (tp_vcs_hook.h). */
#include <string.h>
#include <apr_strings.h>

#include "tp_vcs_hook.h"
#include "tp_crypto.h"
#include "tp_json.h"

#define HEADS "refs/heads/"

/* The branch of a pushed ref; NULL for a tag or anything else. */
static const char *branch_of(const char *ref)
{
    return ref && strncmp(ref, HEADS, strlen(HEADS)) == 0
           && ref[strlen(HEADS)] ? ref + strlen(HEADS) : NULL;
}

static const char *github(apr_pool_t *p, tp_json_t *j, const char *event,
                          tp_vcs_hook_t *hook)
{
    long long installation = tp_json_geti(j, "installation", "id", NULL);

    if (installation > 0) {
        hook->installation_id = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                             (apr_int64_t)installation);
    }
    if (strcmp(event, "ping") == 0) {
        hook->ping = 1;
        return NULL;
    }
    if (strcmp(event, "push") != 0 && strcmp(event, "pull_request") != 0) {
        return NULL;
    }
    if (!(hook->repo = tp_json_gets(j, "repository", "full_name", NULL))) {
        return "the payload names no repository (repository.full_name)";
    }
    hook->poll = 1;
    if (strcmp(event, "push") == 0) {
        hook->branch = branch_of(tp_json_gets(j, "ref", NULL));
        hook->sha = hook->branch ? tp_json_gets(j, "after", NULL) : NULL;
    }
    else {
        hook->branch = tp_json_gets(j, "pull_request", "base", "ref", NULL);
    }
    return NULL;
}

static const char *gitlab(tp_json_t *j, const char *event,
                          tp_vcs_hook_t *hook)
{
    int push = strcmp(event, "Push Hook") == 0;

    if (!push && strcmp(event, "Tag Push Hook") != 0
        && strcmp(event, "Merge Request Hook") != 0) {
        return NULL;
    }
    if (!(hook->repo = tp_json_gets(j, "project", "path_with_namespace",
                                    NULL))) {
        return "the payload names no project (project.path_with_namespace)";
    }
    hook->poll = 1;
    if (push) {
        hook->branch = branch_of(tp_json_gets(j, "ref", NULL));
        hook->sha = hook->branch ? tp_json_gets(j, "after", NULL) : NULL;
    }
    else if (strcmp(event, "Merge Request Hook") == 0) {
        hook->branch = tp_json_gets(j, "object_attributes", "target_branch",
                                    NULL);
    }
    return NULL;
}

const char *tp_vcs_hook_parse(apr_pool_t *p, tp_vcs_provider_e provider,
                              const char *event, const char *body,
                              apr_size_t len, tp_vcs_hook_t *hook)
{
    const char *why = NULL;
    tp_json_t *j = tp_json_parse(p, body, len, &why);

    memset(hook, 0, sizeof(*hook));
    if (!j || tp_json_type(j, NULL) != TP_JSON_OBJECT) {
        return why ? apr_pstrcat(p, "malformed JSON: ", why, NULL)
                   : "the payload is not a JSON object";
    }
    if (!event) {
        return NULL;
    }
    return provider == TP_VCS_GITHUB ? github(p, j, event, hook)
                                     : gitlab(j, event, hook);
}

int tp_vcs_hook_signed(apr_pool_t *p, const char *secret, const char *body,
                       apr_size_t len, const char *signature)
{
    static const char prefix[] = "sha256=";

    if (!signature || strncmp(signature, prefix, sizeof(prefix) - 1) != 0) {
        return 0;
    }
    return tp_secure_equals(signature + sizeof(prefix) - 1,
                            tp_hmac_sha256_hex(p, (const unsigned char *)
                                               secret, strlen(secret), body,
                                               len));
}
