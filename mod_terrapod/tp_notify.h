/* Notifications: which triggers a run's status fires, and what each kind
 * of destination is sent (TFE's generic v1 payload and its signature,
 * Slack's Block Kit, a Microsoft Teams message card, an email). Pure, for
 * unit tests; the configurations, the outbox and the delivery task are in
 * tp_notify_store.c. */
#ifndef TP_NOTIFY_H
#define TP_NOTIFY_H

#include <apr_pools.h>
#include <apr_tables.h>

#define TP_NOTIFY_MAX_PER_WORKSPACE 20
#define TP_NOTIFY_SIGNATURE_HEADER "X-TFE-Notification-Signature"
/* what a verification sends as its trigger */
#define TP_NOTIFY_VERIFICATION "verification"

/* 1 when s is a destination type: generic, slack, microsoft-teams, email. */
int tp_notify_destination_valid(const char *s);

/* 1 when s is a trigger a configuration may subscribe to. */
int tp_notify_trigger_valid(const char *s);

/* The triggers, NULL-terminated, for listing in errors and docs. */
extern const char *const tp_notify_triggers[];

/* What is told of a run. Times are RFC 3339; any field but id and status
 * may be NULL. */
typedef struct tp_notify_run {
    const char *id;
    const char *status;
    const char *message;
    const char *created_at;
    const char *created_by;
    const char *updated_at;         /* when it entered status */
    const char *updated_by;
    const char *workspace_id;
    const char *workspace_name;
    const char *organization;
    const char *url;                /* the run's page; NULL without a
                                       public URL */
    int is_drift;                   /* a drift detection run */
    int drifted;                    /* a drift run that found drift the
                                       ignore rules leave (its assessment) */
} tp_notify_run_t;

/* The triggers a run entering its status fires (at most 2, in out[],
 * NULL-terminated); 0 when none: pending -> run:created, planning ->
 * run:planning, planned (waiting for confirmation) ->
 * run:needs_attention, planned_and_finished -> run:planned, applying ->
 * run:applying, applied -> run:completed, errored and canceled ->
 * run:errored. A drift detection run fires run:drift_detected and
 * assessment:drifted instead when its plan has changes, and
 * assessment:failed when it errored. */
int tp_notify_triggers_of(const tp_notify_run_t *run, const char *out[3]);

/* A trigger's short title: "Run completed", "Drift detected", ... */
const char *tp_notify_title(const char *trigger);

/* The bodies. run is NULL for a verification (TFE sends nulls then). */
char *tp_notify_generic(apr_pool_t *p, const char *config_id,
                        const tp_notify_run_t *run, const char *trigger);
char *tp_notify_slack(apr_pool_t *p, const tp_notify_run_t *run,
                      const char *trigger);
char *tp_notify_teams(apr_pool_t *p, const tp_notify_run_t *run,
                      const char *trigger);

/* The body of a generic destination's signature header: lower-case hex
 * HMAC-SHA512 of body under token. */
char *tp_notify_signature(apr_pool_t *p, const char *token,
                          const char *body);

/* 1 when s is an email address a message may be sent to: local@domain,
 * printable ASCII, none of the characters that would change a header. */
int tp_notify_email_valid(const char *s);

/* An RFC 5322 message (CRLF line ends) from from to every address of to
 * (of const char *), its Subject and text body telling of run; date is
 * the Date header's value, message_id its Message-ID without brackets.
 * Fields of the run never bring a line break into a header. */
char *tp_notify_email(apr_pool_t *p, const char *from,
                      const apr_array_header_t *to,
                      const tp_notify_run_t *run, const char *trigger,
                      const char *date, const char *message_id);

#endif
