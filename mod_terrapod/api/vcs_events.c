/* Webhook deliveries of VCS providers: GitHub's (signed with
 * X-Hub-Signature-256) and GitLab's (X-Gitlab-Token). A delivery only
 * asks the background child's poller to look at a repository now; the
 * poller does the work and stays the source of truth, so a lost delivery
 * delays a run by one poll interval and a forged one could at most cause
 * a poll. Each delivery is acted on once (its id remembered). */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_crypto.h"
#include "../tp_vcs_hook.h"
#include "../tp_vcs_poll.h"

/* the largest payload read; GitHub's push payloads list at most 20
 * commits */
#define TP_VCS_HOOK_MAX (2 * 1024 * 1024)
#define TP_VCS_DELIVERY_MAX 200     /* characters of a delivery id */

static const tp_stmt_t SQL_HOOK_CONN = {"vcs_hook_conn",
    "SELECT id, status, webhook_secret_sealed FROM vcs_connections"
    " WHERE provider = %s"
    " AND (id = %s OR github_installation_id = %s::bigint)"};

/* What differs between the providers' deliveries. */
typedef struct {
    tp_vcs_provider_e provider;
    const char *name;               /* as connections name it */
    const char *event_header;
    const char *delivery_header;
} hook_kind_t;

static const hook_kind_t GITHUB = {
    TP_VCS_GITHUB, "github", "X-GitHub-Event", "X-GitHub-Delivery"
};
static const hook_kind_t GITLAB = {
    TP_VCS_GITLAB, "gitlab", "X-Gitlab-Event", "X-Gitlab-Event-UUID"
};

/* The connection a delivery is for: named by ?connection=, or (GitHub)
 * by the App installation in its payload. */
static tp_err_t *connection_of(tp_req_t *req, const hook_kind_t *k,
                               const tp_vcs_hook_t *hook,
                               const char *parse_error, tp_rows_t **rows)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_query_arg(req, "connection");
    tp_err_t *err;

    if (!id && k->provider == TP_VCS_GITLAB) {
        return tp_err(p, 400, "name the connection: "
                      "/api/terrapod/v1/vcs-events/gitlab?connection=vcs-...");
    }
    if (!id && parse_error) {
        return tp_err(p, 400, "%s", parse_error);
    }
    if (!id && !hook->installation_id) {
        return tp_err(p, 400, "the payload names no App installation "
                      "(installation.id): add ?connection=vcs-...");
    }
    if ((err = tp_req_exec(req, &SQL_HOOK_CONN, rows, TP_DB_ARGS(
             k->name, id ? id : "", id ? NULL : hook->installation_id)))
        != NULL) {
        return err;
    }
    return (*rows)->nrows == 1 ? NULL
           : tp_err(p, 404, "no %s VCS connection %s %s", k->name,
                    id ? "named" : "of installation",
                    id ? id : hook->installation_id);
}

/* 1 when the delivery proves it knows the connection's secret. */
static int authentic(tp_req_t *req, const hook_kind_t *k, const char *secret,
                     const char *body, apr_size_t len)
{
    const char *token;

    if (k->provider == TP_VCS_GITHUB) {
        return tp_vcs_hook_signed(req->r->pool, secret, body, len,
                                  apr_table_get(req->r->headers_in,
                                                "X-Hub-Signature-256"));
    }
    token = apr_table_get(req->r->headers_in, "X-Gitlab-Token");
    return token && tp_secure_equals(token, secret);
}

/* The connection's webhook secret, else the server's; NULL: none. */
static const char *secret_of(tp_req_t *req, const tp_rows_t *conn)
{
    const char *sealed = tp_row(conn, 0, "webhook_secret_sealed");

    return sealed ? tp_unseal(req->r->pool, req->conf->hmac.bytes,
                              req->conf->hmac.len, TP_VCS_SEAL_PURPOSE,
                              sealed)
                  : req->conf->vcs_webhook_secret;
}

/* The delivery's id; a provider that sends none has its body's digest
 * stand for it, so that a repeated body is one delivery. */
static const char *delivery_of(tp_req_t *req, const hook_kind_t *k,
                               const char *body, apr_size_t len)
{
    const char *id = apr_table_get(req->r->headers_in, k->delivery_header);

    return id && *id && strlen(id) <= TP_VCS_DELIVERY_MAX
           ? id : apr_pstrcat(req->r->pool, "sha256:",
                              tp_sha256_hex(req->r->pool, body, len), NULL);
}

static tp_err_t *answer(tp_req_t *req, const char *event,
                        const char *delivery, const char *outcome)
{
    tp_json_t *doc = tp_json_object(req->r->pool);

    tp_json_sets(doc, event ? event : "", "meta", "event", NULL);
    tp_json_sets(doc, delivery, "meta", "delivery", NULL);
    tp_json_sets(doc, outcome, "meta", "outcome", NULL);
    return tp_send_json(req, 200, doc);
}

static tp_err_t *receive(tp_req_t *req, const hook_kind_t *k)
{
    apr_pool_t *p = req->r->pool;
    const char *event = apr_table_get(req->r->headers_in, k->event_header);
    const char *parse_error, *secret, *delivery, *conn_id;
    tp_vcs_hook_t hook;
    tp_rows_t *conn;
    apr_size_t len;
    tp_db_t *db;
    tp_err_t *err;
    char *body;
    int replay;

    if ((err = tp_read_raw(req, TP_VCS_HOOK_MAX, &body, &len)) != NULL) {
        return err;
    }
    parse_error = tp_vcs_hook_parse(p, k->provider, event, body, len, &hook);
    if ((err = connection_of(req, k, &hook, parse_error, &conn)) != NULL) {
        return err;
    }
    conn_id = tp_row(conn, 0, "id");
    if (!(secret = secret_of(req, conn)) || !*secret) {
        return tp_err(p, 401, "VCS connection %s has no usable webhook "
                      "secret (nor has the server, TerrapodVCSWebhookSecret)",
                      conn_id);
    }
    if (!authentic(req, k, secret, body, len)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP01970: %s "
                      "webhook delivery for VCS connection %s refused: bad "
                      "or missing %s", k->name, conn_id,
                      k->provider == TP_VCS_GITHUB ? "X-Hub-Signature-256"
                                                   : "X-Gitlab-Token");
        return tp_err(p, 401, "the delivery's %s does not match the "
                      "connection's webhook secret",
                      k->provider == TP_VCS_GITHUB ? "X-Hub-Signature-256"
                                                   : "X-Gitlab-Token");
    }
    if (parse_error) {
        return tp_err(p, 400, "%s", parse_error);
    }
    if (strcmp(tp_row(conn, 0, "status"), "active") != 0) {
        return tp_err(p, 422, "VCS connection %s is disabled", conn_id);
    }
    delivery = delivery_of(req, k, body, len);
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_vcs_poll_request(db, p, k->name, delivery, conn_id,
                                      hook.poll ? hook.repo : NULL,
                                      hook.branch, hook.sha, &replay))
           != NULL) {
        return err;
    }
    if (replay) {
        return answer(req, event, delivery, "replay: this delivery was "
                      "received before; nothing done");
    }
    if (hook.poll) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP01971: %s "
                      "webhook %s for %s asks VCS connection %s's poller to "
                      "look now", k->name, event, hook.repo, conn_id);
        return answer(req, event, delivery, "poll requested");
    }
    return answer(req, event, delivery, hook.ping ? "pong" : "ignored: "
                  "nothing to do for this event");
}

tp_err_t *tp_api_vcs_events_github(tp_req_t *req)
{
    return receive(req, &GITHUB);
}

tp_err_t *tp_api_vcs_events_gitlab(tp_req_t *req)
{
    return receive(req, &GITLAB);
}
