/* Webhook deliveries of VCS providers as they arrive: their signature
 * (GitHub) and what their payload asks of the poller. Pure functions of
 * their arguments; the glue reads the request and the poller does the
 * work (tp_vcs_poll.h). */
#ifndef TP_VCS_HOOK_H
#define TP_VCS_HOOK_H

#include <apr_pools.h>
#include "tp_vcs.h"

typedef struct tp_vcs_hook {
    int ping;                       /* nothing to do but answer */
    int poll;                       /* the repository is to be polled */
    const char *installation_id;    /* a GitHub App's, or NULL */
    const char *repo;               /* OWNER/NAME as the provider names it */
    /* the branch concerned (a push's, a pull request's base); NULL:
     * every branch. A push's new head, or NULL. */
    const char *branch;
    const char *sha;
} tp_vcs_hook_t;

/* What a delivery of event (X-GitHub-Event: ping, push, pull_request;
 * X-Gitlab-Event: Push Hook, Tag Push Hook, Merge Request Hook) asks:
 * other events ask nothing (poll and ping 0). NULL, or why the payload
 * is malformed. */
const char *tp_vcs_hook_parse(apr_pool_t *p, tp_vcs_provider_e provider,
                              const char *event, const char *body,
                              apr_size_t len, tp_vcs_hook_t *hook);

/* 1 when signature (X-Hub-Signature-256: "sha256=" and the hex of
 * HMAC-SHA256(secret, body)) is right; compared in constant time. */
int tp_vcs_hook_signed(apr_pool_t *p, const char *secret, const char *body,
                       apr_size_t len, const char *signature);

#endif
