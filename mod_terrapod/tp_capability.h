/* Capability URLs: URLs that carry their own authority (uploads, log
 * streams, download tickets). Each is bound to one kind of object and one
 * id, expires, and is signed with the deployment's HMAC key. */
#ifndef TP_CAPABILITY_H
#define TP_CAPABILITY_H

#include <apr_pools.h>
#include <apr_time.h>
#include "tp_error.h"

typedef struct tp_key {
    const unsigned char *bytes;
    apr_size_t len;
} tp_key_t;

/* "expires=<unix seconds>&signature=<base64url HMAC>" for kind and id. */
char *tp_cap_query(apr_pool_t *p, const tp_key_t *key, const char *kind,
                   const char *id, apr_time_t expires);

/* Checks a presented expiry and signature; 401 when missing, malformed,
 * expired, or signed for another kind or id. */
tp_err_t *tp_cap_verify(apr_pool_t *p, const tp_key_t *key, const char *kind,
                        const char *id, const char *expires,
                        const char *signature, apr_time_t now);

/* Download tickets: "dlticket:<kind>:<id>:<expires>:<minter>:<signature>",
 * pasteable into a plain link. The minter (an email) is carried
 * base64url-encoded and signed with the rest. */
char *tp_ticket_mint(apr_pool_t *p, const tp_key_t *key, const char *kind,
                     const char *id, const char *minter, apr_time_t expires);

/* Checks a ticket for kind; on success sets *id (and *minter). 401 when
 * malformed, of another kind, badly signed or expired. */
tp_err_t *tp_ticket_verify(apr_pool_t *p, const tp_key_t *key,
                           const char *kind, const char *ticket,
                           apr_time_t now, const char **id,
                           const char **minter);

/* Runner tokens: "runtok:<run id>:<ttl>:<issued at>:<signature>", the
 * bearer credential of the job running terraform for one phase of one
 * run. Issued at is in unix seconds; the token expires ttl seconds later.
 * The signature also covers claim, the id of the run's claim by the
 * listener that runs the phase (NULL: a claim made before claims had
 * ids), so the token is good for that phase only. */
char *tp_runtok_mint(apr_pool_t *p, const tp_key_t *key, const char *run_id,
                     const char *claim, long long ttl, apr_time_t now);

/* Checks a runner token for run_id, claimed as claim; 401 when malformed,
 * for another run, badly signed (or signed for another claim), or
 * expired. */
tp_err_t *tp_runtok_verify(apr_pool_t *p, const tp_key_t *key,
                           const char *token, const char *run_id,
                           const char *claim, apr_time_t now);

#endif
