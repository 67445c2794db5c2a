/* Notifications on their way: a try at one destination, the results kept
 * per configuration, and the task that fans runs' status changes out into
 * deliveries and sends them. */
#include <string.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include "tp_notify_store.h"
#include "tp_outbound.h"
#include "tp_http_client.h"
#include "tp_crypto.h"
#include "tp_jsonapi.h"
#include "tp_vcs_pr.h"

/* An answer as it is kept: at most TP_NOTIFY_EXCERPT bytes of printable
 * ASCII (anything else, a byte of a binary answer, becomes '?'). */
static const char *excerpt(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *out;
    apr_size_t i;

    if (len > TP_NOTIFY_EXCERPT) {
        len = TP_NOTIFY_EXCERPT;
    }
    out = apr_pstrmemdup(p, s, len);
    for (i = 0; i < len; i++) {
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e) {
            out[i] = out[i] == '\n' ? '\n' : '?';
        }
    }
    return out;
}

static void failed(apr_pool_t *p, tp_notify_result_t *res, const char *why)
{
    res->ok = 0;
    res->response = excerpt(p, why, strlen(why));
}

static void send_email(apr_pool_t *p, const tp_notify_env_t *env,
                       const tp_notify_dest_t *dest,
                       const tp_notify_run_t *run, const char *trigger,
                       tp_notify_result_t *res)
{
    tp_outbound_target_t t;
    tp_smtp_req_t req;
    apr_time_t now = apr_time_now();
    char date[APR_RFC822_DATE_LEN];
    tp_err_t *err;

    if (!env->smtp_url || !env->smtp_from) {
        failed(p, res, "email is not configured (TerrapodSMTPURL, "
               "TerrapodSMTPFrom)");
        return;
    }
    /* the operator chose the mail server: it is not guarded, but it is
     * resolved once like any destination */
    if ((err = tp_outbound_url(p, env->smtp_url, "smtp,smtps", &t)) != NULL) {
        failed(p, res, apr_pstrcat(p, "TerrapodSMTPURL ", err->detail, NULL));
        return;
    }
    apr_rfc822_date(date, now);
    memset(&req, 0, sizeof(req));
    req.url = env->smtp_url;
    req.from = env->smtp_from;
    req.to = dest->emails;
    req.user = env->smtp_user;
    req.password = env->smtp_password;
    req.require_tls = env->smtp_require_tls;
    req.ca_extra_file = env->ca_file;
    req.timeout = TP_NOTIFY_TIMEOUT;
    req.message = tp_notify_email(p, env->smtp_from, dest->emails, run,
                                  trigger, date, apr_psprintf(p,
                                      "%s.%" APR_TIME_T_FMT "@terrapod",
                                      dest->id, now));
    if ((err = tp_smtp_send(p, &req)) != NULL) {
        failed(p, res, err->detail);
        return;
    }
    res->ok = 1;
    res->response = "accepted by the mail server";
}

void tp_notify_send(apr_pool_t *p, const tp_notify_env_t *env,
                    const tp_notify_dest_t *dest, const tp_notify_run_t *run,
                    const char *trigger, tp_notify_result_t *res)
{
    apr_array_header_t *headers = apr_array_make(p, 2, sizeof(const char *));
    const char *body, *token;
    tp_outbound_target_t t;
    tp_http_req_t req;
    tp_http_resp_t resp;
    tp_err_t *err;

    memset(res, 0, sizeof(*res));
    if (strcmp(dest->destination, "email") == 0) {
        send_email(p, env, dest, run, trigger, res);
        return;
    }
    if ((err = tp_outbound_check(p, dest->url, "http,https", env->allow, &t))
        != NULL) {
        failed(p, res, err->detail);
        return;
    }
    body = strcmp(dest->destination, "slack") == 0
           ? tp_notify_slack(p, run, trigger)
           : strcmp(dest->destination, "microsoft-teams") == 0
           ? tp_notify_teams(p, run, trigger)
           : tp_notify_generic(p, dest->id, run, trigger);
    APR_ARRAY_PUSH(headers, const char *) = "Content-Type: application/json";
    if (dest->token_sealed && strcmp(dest->destination, "generic") == 0) {
        token = tp_unseal(p, env->key.bytes, env->key.len,
                          TP_NOTIFY_SEAL_PURPOSE, dest->token_sealed);
        if (!token) {
            failed(p, res, "the token cannot be unsealed with this "
                   "deployment's key; set it again");
            return;
        }
        APR_ARRAY_PUSH(headers, const char *) = apr_pstrcat(p,
            TP_NOTIFY_SIGNATURE_HEADER ": ",
            tp_notify_signature(p, token, body), NULL);
    }
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = dest->url;
    req.headers = headers;
    req.body = body;
    req.body_len = strlen(body);
    req.resolve = t.resolve;
    req.ca_extra_file = env->ca_file;
    req.timeout = TP_NOTIFY_TIMEOUT;
    req.max_body = 64 * 1024;
    /* redirects are not followed: the guard checked this address only */
    if ((err = tp_http_perform(p, &req, &resp)) != NULL) {
        failed(p, res, err->detail);
        return;
    }
    res->code = resp.status;
    res->ok = resp.status >= 200 && resp.status < 300;
    res->response = excerpt(p, resp.body, resp.body_len);
}

/* the newest TP_NOTIFY_RESULTS_KEPT stay */
static const tp_stmt_t SQL_RESULT_ADD = {"notify_result_add",
    "WITH added AS (INSERT INTO notification_delivery_results"
    "   (configuration_id, trigger, run_id, successful, code, response)"
    "   VALUES (%s, %s, %s, %s::boolean, NULLIF(%s, '0')::integer, %s)"
    "   RETURNING configuration_id)"
    " DELETE FROM notification_delivery_results o USING added"
    "  WHERE o.configuration_id = added.configuration_id"
    "    AND o.id NOT IN (SELECT k.id FROM notification_delivery_results k"
    "                      WHERE k.configuration_id = added.configuration_id"
    "                      ORDER BY k.id DESC LIMIT "
    APR_STRINGIFY(TP_NOTIFY_RESULTS_KEPT) " - 1)"};

tp_err_t *tp_notify_record(tp_db_t *db, apr_pool_t *p, const char *config_id,
                           const char *trigger, const char *run_id,
                           const tp_notify_result_t *res)
{
    return tp_db_exec(db, p, &SQL_RESULT_ADD, NULL,
                      TP_DB_ARGS(config_id, trigger, run_id,
                                 tp_db_bool(res->ok),
                                 apr_itoa(p, res->code),
                                 res->response ? res->response : ""));
}

/* ---- fan-out: status changes into deliveries ---- */

static const tp_stmt_t SQL_EVENTS = {"notify_events",
    "SELECT e.seq, e.run_id, e.status, r.workspace_id,"
    "       r.is_drift_detection AS is_drift,"
    /* drift as the assessment tells it, after the ignore rules */
    "       EXISTS (SELECT 1 FROM drift_assessments a WHERE a.run_id = r.id"
    "                  AND a.drift_status = 'drifted') AS drifted,"
    "       e.created_at"
    "  FROM notification_events e JOIN runs r ON r.id = e.run_id"
    " ORDER BY e.seq LIMIT 500"};

/* the enabled configurations of the run's workspace that subscribe to the
 * trigger; a (configuration, run, trigger) already there stays as it is */
static const tp_stmt_t SQL_FAN_OUT = {"notify_fan_out",
    "INSERT INTO notification_deliveries (configuration_id, run_id, trigger,"
    "                                     run_status, run_updated_at)"
    " SELECT c.id, %s, %s, %s, %s::timestamptz"
    "   FROM notification_configurations c"
    "  WHERE c.workspace_id = %s AND c.enabled"
    "    AND c.triggers @> jsonb_build_array(%s::text)"
    " ON CONFLICT (configuration_id, run_id, trigger) DO NOTHING"};

static const tp_stmt_t SQL_EVENT_DONE = {"notify_event_done",
    "DELETE FROM notification_events WHERE seq = %s"};

/* One event: its deliveries and its removal commit together. */
static tp_err_t *fan_out(tp_db_t *db, apr_pool_t *p, const tp_rows_t *rows,
                         int i, int *made)
{
    tp_notify_run_t run;
    const char *triggers[3];
    tp_err_t *err;
    int k;

    memset(&run, 0, sizeof(run));
    run.id = tp_row(rows, i, "run_id");
    run.status = tp_row(rows, i, "status");
    run.is_drift = tp_row_bool(rows, i, "is_drift");
    run.drifted = tp_row_bool(rows, i, "drifted");
    tp_notify_triggers_of(&run, triggers);
    if ((err = tp_db_begin(db, p)) != NULL) {
        return err;
    }
    for (k = 0; triggers[k]; k++) {
        err = tp_db_exec(db, p, &SQL_FAN_OUT, NULL,
                         TP_DB_ARGS(run.id, triggers[k], run.status,
                                    tp_row(rows, i, "created_at"),
                                    tp_row(rows, i, "workspace_id"),
                                    triggers[k]));
        if (err) {
            tp_db_rollback(db);
            return err;
        }
    }
    if ((err = tp_db_exec(db, p, &SQL_EVENT_DONE, NULL,
                          TP_DB_ARGS(tp_row(rows, i, "seq")))) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    (*made)++;
    return tp_db_commit(db);
}

/* ---- sending ---- */

static const tp_stmt_t SQL_DUE = {"notify_due",
    "SELECT d.id, d.configuration_id, d.run_id, d.trigger, d.run_status,"
    "       tp_ts(d.run_updated_at) AS run_updated_at, d.attempts,"
    "       c.destination_type, c.url, c.token_sealed,"
    "       (c.email_addresses || c.email_user_ids)::text AS emails,"
    "       r.message, tp_ts(r.created_at) AS run_created_at, r.created_by,"
    "       r.is_drift_detection AS is_drift,"
    "       w.id AS workspace_id, w.name AS ws_name"
    "  FROM notification_deliveries d"
    "  JOIN notification_configurations c ON c.id = d.configuration_id"
    "  JOIN runs r ON r.id = d.run_id"
    "  JOIN workspaces w ON w.id = r.workspace_id"
    " WHERE d.delivered_at IS NULL AND NOT d.given_up"
    "   AND d.next_attempt_at <= now()"
    " ORDER BY d.next_attempt_at, d.id"
    " LIMIT " APR_STRINGIFY(TP_NOTIFY_BATCH)};

/* Counted and rescheduled before the try: a crash during it retries. The
 * wait doubles from the first retry's (%s seconds). */
static const tp_stmt_t SQL_TRYING = {"notify_trying",
    "UPDATE notification_deliveries SET attempts = attempts + 1,"
    "       next_attempt_at = now() + make_interval(secs => %s::integer"
    "                                      * power(2, attempts))"
    " WHERE id = %s"};

static const tp_stmt_t SQL_DELIVERED = {"notify_delivered",
    "UPDATE notification_deliveries SET delivered_at = now(),"
    "       last_error = NULL WHERE id = %s"};

static const tp_stmt_t SQL_FAILED = {"notify_failed",
    "UPDATE notification_deliveries SET last_error = %s,"
    "       given_up = attempts >= " APR_STRINGIFY(TP_NOTIFY_ATTEMPTS)
    " WHERE id = %s"};

/* Row i's run as its notification tells it. */
static void run_of(apr_pool_t *p, const tp_notify_env_t *env,
                   const tp_rows_t *rows, int i, tp_notify_run_t *run)
{
    memset(run, 0, sizeof(*run));
    run->id = tp_row(rows, i, "run_id");
    run->status = tp_row(rows, i, "run_status");
    run->message = tp_row(rows, i, "message");
    run->created_at = tp_row(rows, i, "run_created_at");
    run->created_by = tp_row(rows, i, "created_by");
    run->updated_at = tp_row(rows, i, "run_updated_at");
    run->workspace_id = tp_row(rows, i, "workspace_id");
    run->workspace_name = tp_row(rows, i, "ws_name");
    run->organization = env->organization;
    run->url = tp_vcs_run_url(p, env->public_url, run->workspace_name,
                              run->id);
    run->is_drift = tp_row_bool(rows, i, "is_drift");
}

static tp_err_t *deliver(tp_db_t *db, apr_pool_t *p,
                         const tp_notify_env_t *env, const tp_rows_t *rows,
                         int i, int *ok)
{
    const char *id = tp_row(rows, i, "id"), *trigger;
    tp_notify_dest_t dest;
    tp_notify_result_t res;
    tp_notify_run_t run;
    tp_err_t *err;

    if ((err = tp_db_exec(db, p, &SQL_TRYING, NULL,
                          TP_DB_ARGS(apr_itoa(p, env->retry), id))) != NULL) {
        return err;
    }
    dest.id = tp_row(rows, i, "configuration_id");
    dest.destination = tp_row(rows, i, "destination_type");
    dest.url = tp_row(rows, i, "url");
    dest.token_sealed = tp_row(rows, i, "token_sealed");
    dest.emails = tp_json_text_strings(p, tp_row(rows, i, "emails"));
    trigger = tp_row(rows, i, "trigger");
    run_of(p, env, rows, i, &run);
    tp_notify_send(p, env, &dest, &run, trigger, &res);
    *ok = res.ok;
    if ((err = tp_notify_record(db, p, dest.id, trigger, run.id, &res))
        != NULL) {
        return err;
    }
    return res.ok ? tp_db_exec(db, p, &SQL_DELIVERED, NULL, TP_DB_ARGS(id))
                  : tp_db_exec(db, p, &SQL_FAILED, NULL,
                               TP_DB_ARGS(res.response, id));
}

/* What one run of the task has sent so far. */
typedef struct sending {
    apr_hash_t *failing;        /* configurations that failed this time */
    int sent, failed;
} sending_t;

/* Sends one batch of due deliveries; *more when the batch was full and
 * something of it was tried, so another may follow at once. */
static tp_err_t *send_batch(tp_db_t *db, apr_pool_t *p,
                            const tp_notify_env_t *env, sending_t *s,
                            int *more)
{
    int i, ok, tried = 0;
    tp_rows_t *rows;
    tp_err_t *err;

    *more = 0;
    if ((err = tp_db_exec(db, p, &SQL_DUE, &rows, 0, NULL)) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        const char *conf = tp_row(rows, i, "configuration_id");

        /* a receiver that failed (or hung) this time costs no more of it */
        if (apr_hash_get(s->failing, conf, APR_HASH_KEY_STRING)) {
            continue;
        }
        if ((err = deliver(db, p, env, rows, i, &ok)) != NULL) {
            return err;
        }
        tried++;
        s->sent += ok;
        s->failed += !ok;
        if (!ok) {
            apr_hash_set(s->failing, conf, APR_HASH_KEY_STRING, "");
        }
    }
    *more = rows->nrows == TP_NOTIFY_BATCH && tried > 0;
    return NULL;
}

tp_err_t *tp_notify_task(tp_db_t *db, apr_pool_t *p, const tp_task_env_t *env,
                         const char **summary)
{
    /* a fan-out larger than a batch goes on at once, for about as long as
     * the task's interval, so other tasks still get their turn */
    apr_time_t until = apr_time_now()
                       + apr_time_from_sec(TP_NOTIFY_INTERVAL);
    sending_t s = {apr_hash_make(p), 0, 0};
    int made = 0, more = 1, i;
    tp_rows_t *rows;
    tp_err_t *err = NULL;

    if ((err = tp_db_exec(db, p, &SQL_EVENTS, &rows, 0, NULL)) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        if ((err = fan_out(db, p, rows, i, &made)) != NULL) {
            return err;
        }
    }
    while (!err && more && apr_time_now() < until) {
        err = send_batch(db, p, env->notify, &s, &more);
    }
    *summary = apr_psprintf(p, "%d status changes fanned out, %d notifications sent, "
                            "%d failed",
                            made, s.sent, s.failed);
    return err;
}
