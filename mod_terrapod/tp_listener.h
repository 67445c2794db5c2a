/* Who may act for a listener: the holder of its current client
 * certificate, the runners of the phases it claimed (by runner tokens
 * signed for that claim), and the pool admin who revokes or removes it.
 * httpd-free: the glue hands over the certificate or token and the
 * database. */
#ifndef TP_LISTENER_H
#define TP_LISTENER_H

#include <apr_time.h>
#include "tp_db.h"
#include "tp_capability.h"

typedef struct tp_listener {
    const char *id;
    const char *name;
    const char *fingerprint;    /* of the certificate presented */
} tp_listener_t;

/* Admits the holder of pem (a client certificate the TLS layer verified
 * against the listener CA) as listener id: 401 unless pem is that
 * listener's current, unexpired certificate; 403 once the listener is
 * revoked, which its process takes as the order to stop. */
tp_err_t *tp_listener_admit(tp_db_t *db, apr_pool_t *p, const char *id,
                            const char *pem, tp_listener_t *out);

/* Admits the holder of a runner token for run_id: 401 when the token is
 * malformed, badly signed, expired, for another run, or minted for
 * another claim of the run (an earlier phase, another listener); 403 when
 * the listener that claimed the run is revoked. */
tp_err_t *tp_runner_admit(tp_db_t *db, apr_pool_t *p, const tp_key_t *key,
                          const char *token, const char *run_id,
                          apr_time_t now);

/* Revokes listener id for actor (an email): from the moment this commits
 * it is refused everywhere and claims nothing more; then the runs it is
 * planning or applying are errored ("listener NAME was revoked"), which
 * queues what waits behind them. Revoking a revoked listener keeps its
 * first revocation and errors whatever it still held. *errored counts the
 * runs ended. 404 when there is no such listener. */
tp_err_t *tp_listener_revoke(tp_db_t *db, apr_pool_t *p, const char *id,
                             const char *actor, int *errored);

/* Removes listener id: revoked first, so it claims nothing meanwhile,
 * its runs errored ("listener NAME was removed"), then deleted, which
 * frees its name for a listener joining anew. 404 when there is none. */
tp_err_t *tp_listener_remove(tp_db_t *db, apr_pool_t *p, const char *id,
                             const char *actor, int *errored);

#endif
