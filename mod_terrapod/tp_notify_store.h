/* Notifications sent: one notification to one configuration's destination
 * (the outbound guard checks it first), the results kept, and the
 * background task that turns runs' status changes into deliveries and
 * sends them, tried again with growing waits. */
#ifndef TP_NOTIFY_STORE_H
#define TP_NOTIFY_STORE_H

#include "tp_db.h"
#include "tp_capability.h"
#include "tp_notify.h"
#include "tp_tasks.h"

/* What sending needs of the deployment's configuration. */
typedef struct tp_notify_env {
    tp_key_t key;                   /* unseals the configurations' tokens */
    const char *public_url;         /* for links to runs; NULL: none */
    const char *organization;       /* the one organization's name */
    const apr_array_header_t *allow;    /* TerrapodOutboundAllow, of
                                           tp_cidr_t; NULL: none */
    const char *ca_file;            /* trusted besides the system's CAs;
                                       NULL: none */
    const char *smtp_url;           /* TerrapodSMTPURL; NULL: no email */
    const char *smtp_from;
    const char *smtp_user;          /* NULL: no authentication */
    const char *smtp_password;
    int smtp_require_tls;           /* STARTTLS or fail (else tried) */
    int retry;                      /* seconds before the first retry */
} tp_notify_env_t;

#define TP_NOTIFY_SEAL_PURPOSE "notification-token"
#define TP_NOTIFY_ATTEMPTS 7        /* tries of a delivery in all */
#define TP_NOTIFY_RETRY 60          /* seconds, doubling: 7 tries span an
                                       hour */
#define TP_NOTIFY_TIMEOUT 5         /* seconds a receiver has to answer */
#define TP_NOTIFY_BATCH 20          /* deliveries one run of the task sends */
#define TP_NOTIFY_RESULTS_KEPT 10
#define TP_NOTIFY_EXCERPT 512       /* bytes of an answer kept */

/* A configuration as sending needs it. */
typedef struct tp_notify_dest {
    const char *id;
    const char *destination;
    const char *url;
    const char *token_sealed;       /* NULL: none */
    apr_array_header_t *emails;     /* of const char * */
} tp_notify_dest_t;

/* How one try went. */
typedef struct tp_notify_result {
    int ok;
    int code;                       /* HTTP status; 0: no answer */
    const char *response;           /* an excerpt of the answer or why
                                       there was none */
} tp_notify_result_t;

/* Sends one notification of run (NULL: a verification) for trigger. */
void tp_notify_send(apr_pool_t *p, const tp_notify_env_t *env,
                    const tp_notify_dest_t *dest, const tp_notify_run_t *run,
                    const char *trigger, tp_notify_result_t *res);

/* Keeps res among the configuration's last TP_NOTIFY_RESULTS_KEPT. */
tp_err_t *tp_notify_record(tp_db_t *db, apr_pool_t *p, const char *config_id,
                           const char *trigger, const char *run_id,
                           const tp_notify_result_t *res);

/* Background work: the runs' status changes fanned out into deliveries
 * (one per configuration, run and trigger), then the due deliveries
 * sent, at most TP_NOTIFY_BATCH; a destination that failed is not tried
 * again in the same run. */
#define TP_NOTIFY_TASK "notifications"
#define TP_NOTIFY_INTERVAL 5        /* seconds: retries; new changes wake
                                       the child (TP_NOTIFY_CHANNEL) */
/* notified by the transaction that writes a run's change */
#define TP_NOTIFY_CHANNEL "terrapod_notifications"
tp_err_t *tp_notify_task(tp_db_t *db, apr_pool_t *p, const tp_task_env_t *env,
                         const char **summary);

#endif
