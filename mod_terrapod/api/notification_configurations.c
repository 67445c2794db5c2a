/* Notification configurations: where a workspace's run events are sent
 * (a generic webhook signed with the configuration's token, Slack,
 * Microsoft Teams, email) and which triggers. Reading needs read on the
 * workspace, everything else admin. The token is sealed and write-only
 * (has-token); the last delivery results are the delivery-responses. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_notify_store.h"
#include "../tp_outbound.h"
#include "../tp_crypto.h"

#define NC_NAME_MAX 255
#define NC_URL_MAX 2048
#define NC_TOKEN_MAX 1024
#define NC_EMAILS_MAX 100

#define NC_COLUMNS \
    "c.id, c.workspace_id, c.name, c.destination_type, c.url," \
    " c.token_sealed, c.token_sealed IS NOT NULL AS has_token," \
    " c.triggers::text AS triggers," \
    " c.email_addresses::text AS email_addresses," \
    " c.email_user_ids::text AS email_user_ids, c.enabled," \
    " tp_ts(c.created_at) AS created_at, tp_ts(c.updated_at) AS updated_at," \
    " (SELECT COALESCE(jsonb_agg(jsonb_build_object(" \
    "     'url', c.url, 'trigger', x.trigger, 'run-id', x.run_id," \
    "     'successful', x.successful, 'code', x.code, 'body', x.response," \
    "     'sent-at', tp_ts(x.created_at)) ORDER BY x.id DESC), '[]')" \
    "    FROM notification_delivery_results x" \
    "   WHERE x.configuration_id = c.id)::text AS delivery_responses"

static const tp_stmt_t SQL_NC_GET = {"nc_get",
    "SELECT " NC_COLUMNS " FROM notification_configurations c"
    " WHERE c.id = %s"};
static const tp_stmt_t SQL_NC_PAGE = {"nc_page",
    "SELECT " NC_COLUMNS ", count(*) OVER () AS total"
    " FROM notification_configurations c WHERE c.workspace_id = %s"
    " ORDER BY c.created_at, c.id LIMIT %s::bigint OFFSET %s::bigint"};
/* The workspace row locked, so that two creates cannot both pass the
 * count. */
static const tp_stmt_t SQL_NC_COUNT = {"nc_count",
    "SELECT (SELECT count(*) FROM notification_configurations"
    "         WHERE workspace_id = w.id) AS n"
    "  FROM workspaces w WHERE w.id = %s FOR UPDATE"};
static const tp_stmt_t SQL_NC_INSERT = {"nc_insert",
    "INSERT INTO notification_configurations (id, workspace_id, name,"
    " destination_type, url, token_sealed, triggers, email_addresses,"
    " email_user_ids, enabled)"
    " VALUES (%s, %s, %s, %s, %s, %s, COALESCE(%s::jsonb, '[]'),"
    " COALESCE(%s::jsonb, '[]'), COALESCE(%s::jsonb, '[]'),"
    " COALESCE(%s::boolean, false))"};
/* NULL leaves a column as it is; an empty token removes it. */
static const tp_stmt_t SQL_NC_UPDATE = {"nc_update",
    "UPDATE notification_configurations SET name = COALESCE(%s, name),"
    " url = COALESCE(%s, url),"
    " token_sealed = CASE WHEN %s::boolean THEN NULLIF(%s, '')"
    "                     ELSE token_sealed END,"
    " triggers = COALESCE(%s::jsonb, triggers),"
    " email_addresses = COALESCE(%s::jsonb, email_addresses),"
    " email_user_ids = COALESCE(%s::jsonb, email_user_ids),"
    " enabled = COALESCE(%s::boolean, enabled), updated_at = now()"
    " WHERE id = %s"};
static const tp_stmt_t SQL_NC_DELETE = {"nc_delete",
    "DELETE FROM notification_configurations WHERE id = %s"};

/* ---- rendering ---- */

static const tp_attr_t NC_ATTRS[] = {
    {"name", "name", TP_ATTR_STRING},
    {"destination-type", "destination_type", TP_ATTR_STRING},
    {"url", "url", TP_ATTR_STRING},
    {"has-token", "has_token", TP_ATTR_BOOL},
    {"triggers", "triggers", TP_ATTR_JSON},
    {"email-addresses", "email_addresses", TP_ATTR_JSON},
    {"email-user-ids", "email_user_ids", TP_ATTR_JSON},
    {"enabled", "enabled", TP_ATTR_BOOL},
    {"delivery-responses", "delivery_responses", TP_ATTR_JSON},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"updated-at", "updated_at", TP_ATTR_STRING},
    {NULL, NULL, 0}
};

static const tp_rel_t NC_RELS[] = {
    {"subscribable", "workspaces", TP_REL_ONE, "workspace_id",
     "/api/v2/workspaces/%s"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t NC_DESC = {
    "notification-configurations", NULL,
    "/api/v2/notification-configurations/%s", NC_ATTRS, NC_RELS
};

static tp_json_t *nc_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_resource_render(req->r->pool, &NC_DESC, rows, i);
}

/* Configuration id when the caller holds need on its workspace: 404 when
 * there is none or its workspace is invisible, 403 below need. */
static tp_err_t *load(tp_req_t *req, const char *id, tp_level_e need,
                      tp_rows_t **rows)
{
    tp_ws_t *ws;
    tp_err_t *err = tp_req_exec(req, &SQL_NC_GET, rows, TP_DB_ARGS(id));

    return err ? err : tp_ws_owner(req, *rows, need,
                                   "notification configuration", id, &ws);
}

static tp_err_t *send_nc(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_NC_GET, &rows, TP_DB_ARGS(id));

    return err ? err : tp_send_json(req, status,
                                    tp_jsonapi_doc(req->r->pool,
                                                   nc_resource(req, rows,
                                                               0)));
}

/* ---- input ---- */

/* Column values from a request: NULL leaves a column unchanged. */
typedef struct {
    const char *name, *destination, *url, *enabled;
    const char *token;              /* sealed; "" removes it */
    const char *triggers, *emails, *user_ids;   /* JSON text */
} nc_input_t;

static tp_err_t *strings_attr(apr_pool_t *p, const tp_json_t *a,
                              const char *name, int (*valid)(const char *),
                              const char **out)
{
    tp_json_t *list;
    apr_size_t i;
    int has;
    tp_err_t *err = tp_attr_strings(p, a, name, NC_EMAILS_MAX, NC_URL_MAX,
                                    &list, &has);

    *out = NULL;
    if (err || !has) {
        return err;
    }
    for (i = 0; i < tp_json_len(list); i++) {
        const char *v = tp_json_gets(tp_json_at(list, i), NULL);

        if (!valid(v)) {
            return tp_err(p, 422, "%s: \"%s\" is not valid", name, v);
        }
    }
    *out = tp_json_dump(list, p);
    return NULL;
}

static tp_err_t *parse_input(tp_req_t *req, const tp_json_t *body,
                             nc_input_t *in)
{
    apr_pool_t *p = req->r->pool;
    const char *token;
    tp_outbound_target_t t;
    tp_json_t *a;
    tp_err_t *err;
    int has, enabled;

    memset(in, 0, sizeof(*in));
    if ((err = tp_jsonapi_attributes(p, body, "notification-configurations",
                                     &a)) != NULL
        || (err = tp_attr_string(p, a, "name", NC_NAME_MAX, &in->name,
                                 &has)) != NULL
        || (err = tp_attr_string(p, a, "destination-type", 32,
                                 &in->destination, &has)) != NULL
        || (err = tp_attr_string(p, a, "url", NC_URL_MAX, &in->url, &has))
           != NULL
        || (err = tp_attr_bool(p, a, "enabled", &enabled, &has)) != NULL) {
        return err;
    }
    in->enabled = has ? tp_db_bool(enabled) : NULL;
    if (in->name && !*in->name) {
        return tp_err(p, 422, "name may not be empty");
    }
    if (in->destination && !tp_notify_destination_valid(in->destination)) {
        return tp_err(p, 422, "destination-type must be generic, slack, "
                      "microsoft-teams or email");
    }
    /* the syntax now; the address when it is reached (and verified) */
    if (in->url && (err = tp_outbound_url(p, in->url, "http,https", &t))
                   != NULL) {
        return tp_err(p, 422, "url %s", err->detail);
    }
    if ((err = strings_attr(p, a, "triggers", tp_notify_trigger_valid,
                            &in->triggers)) != NULL
        || (err = strings_attr(p, a, "email-addresses", tp_notify_email_valid,
                               &in->emails)) != NULL
        || (err = strings_attr(p, a, "email-user-ids", tp_notify_email_valid,
                               &in->user_ids)) != NULL
        || (err = tp_attr_string(p, a, "token", NC_TOKEN_MAX, &token, &has))
           != NULL) {
        return err;
    }
    if (has) {
        in->token = !token || !*token ? "" : tp_seal(p, req->conf->hmac.bytes,
            req->conf->hmac.len, TP_NOTIFY_SEAL_PURPOSE, token);
        if (!in->token) {
            return tp_err_internal(p, 500, "the token could not be sealed",
                                   "tp_seal failed");
        }
    }
    return NULL;
}

/* What the configuration as it will be needs: a URL (but email), no
 * token but on generic, recipients on email; a literal address the guard
 * refuses is refused now. */
static tp_err_t *check_whole(tp_req_t *req, const char *destination,
                             const char *url, int has_token,
                             const char *emails, const char *user_ids)
{
    apr_pool_t *p = req->r->pool;
    tp_outbound_target_t t;
    tp_err_t *err;
    tp_cidr_t ip;

    if (strcmp(destination, "email") == 0) {
        if (url && *url) {
            return tp_err(p, 422, "url is not an attribute of an email "
                          "destination");
        }
        if (!strcmp(emails, "[]") && !strcmp(user_ids, "[]")) {
            return tp_err(p, 422, "email-addresses or email-user-ids is "
                          "required for an email destination");
        }
    }
    else if (!url) {
        return tp_err(p, 422, "url is required for a %s destination",
                      destination);
    }
    else {
        tp_outbound_url(p, url, "http,https", &t);
        if (tp_cidr_parse(t.host, &ip) == APR_SUCCESS
            && (err = tp_outbound_check(p, url, "http,https",
                                        req->conf->outbound_allow, &t))
               != NULL) {
            return tp_err(p, 422, "url %s", err->detail);
        }
    }
    if (has_token && strcmp(destination, "generic") != 0) {
        return tp_err(p, 422, "token is only an attribute of a generic "
                      "destination");
    }
    return NULL;
}

/* ---- handlers ---- */

tp_err_t *tp_api_notification_list(tp_req_t *req)
{
    tp_ws_t *ws;
    tp_err_t *err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws);

    return err ? err : tp_send_page(req, &SQL_NC_PAGE, TP_DB_ARGS(ws->id),
                                    nc_resource);
}

tp_err_t *tp_api_notification_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "nc");
    tp_json_t *body;
    nc_input_t in;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(req, body, &in)) != NULL) {
        return err;
    }
    if (!in.name || !in.destination) {
        return tp_err(p, 422, "name and destination-type are required");
    }
    if ((err = check_whole(req, in.destination, in.url,
                           in.token && *in.token,
                           in.emails ? in.emails : "[]",
                           in.user_ids ? in.user_ids : "[]")) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL) {
        return err;
    }
    if ((err = tp_db_exec(db, p, &SQL_NC_COUNT, &rows, TP_DB_ARGS(ws->id)))
        == NULL && rows->nrows
        && atoi(tp_row(rows, 0, "n")) >= TP_NOTIFY_MAX_PER_WORKSPACE) {
        err = tp_err(p, 422, "a workspace has at most %d notification "
                     "configurations", TP_NOTIFY_MAX_PER_WORKSPACE);
    }
    if (err || (err = tp_db_exec(db, p, &SQL_NC_INSERT, NULL,
                                 TP_DB_ARGS(id, ws->id, in.name,
                                            in.destination, in.url,
                                            in.token && *in.token ? in.token
                                                                  : NULL,
                                            in.triggers, in.emails,
                                            in.user_ids, in.enabled)))
               != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02070: "
                  "notification configuration %s (%s) of workspace %s "
                  "created by %s", id, in.destination, ws->id,
                  req->who->grants.email);
    return send_nc(req, 201, id);
}

tp_err_t *tp_api_notification_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load(req, tp_param(&req->params, "id"), TP_LEVEL_READ,
                         &rows);

    return err ? err : tp_send_json(req, 200, tp_jsonapi_doc(req->r->pool,
                                        nc_resource(req, rows, 0)));
}

tp_err_t *tp_api_notification_update(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    tp_json_t *body;
    nc_input_t in;
    tp_rows_t *rows;
    tp_err_t *err;
    int has_token;

    if ((err = load(req, id, TP_LEVEL_ADMIN, &rows)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(req, body, &in)) != NULL) {
        return err;
    }
    if (in.destination && strcmp(in.destination,
                                 tp_row(rows, 0, "destination_type")) != 0) {
        return tp_err(req->r->pool, 422, "destination-type cannot be "
                      "changed; create another configuration");
    }
    has_token = in.token ? *in.token != '\0'
                         : tp_row_bool(rows, 0, "has_token");
    if ((err = check_whole(req, tp_row(rows, 0, "destination_type"),
                           in.url ? in.url : tp_row(rows, 0, "url"),
                           has_token,
                           in.emails ? in.emails
                                     : tp_row(rows, 0, "email_addresses"),
                           in.user_ids ? in.user_ids
                                       : tp_row(rows, 0, "email_user_ids")))
           != NULL
        || (err = tp_req_exec(req, &SQL_NC_UPDATE, NULL,
                              TP_DB_ARGS(in.name, in.url,
                                         tp_db_bool(in.token != NULL),
                                         in.token, in.triggers, in.emails,
                                         in.user_ids, in.enabled, id)))
           != NULL) {
        return err;
    }
    if (in.token) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02071: token "
                      "of notification configuration %s %s by %s", id,
                      *in.token ? "set" : "removed", req->who->grants.email);
    }
    return send_nc(req, 200, id);
}

tp_err_t *tp_api_notification_delete(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = load(req, id, TP_LEVEL_ADMIN, &rows)) != NULL
        || (err = tp_req_exec(req, &SQL_NC_DELETE, NULL, TP_DB_ARGS(id)))
           != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02072: "
                  "notification configuration %s deleted by %s", id,
                  req->who->grants.email);
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* Sends the verification payload now and answers with the configuration,
 * its result first among the delivery-responses. */
tp_err_t *tp_api_notification_verify(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_notify_env_t env;
    tp_notify_dest_t dest;
    tp_notify_result_t res;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = load(req, id, TP_LEVEL_ADMIN, &rows)) != NULL
        || (err = tp_req_db(req, &db)) != NULL) {
        return err;
    }
    tp_notify_env_from(req->conf, &env);
    dest.id = id;
    dest.destination = tp_row(rows, 0, "destination_type");
    dest.url = tp_row(rows, 0, "url");
    dest.token_sealed = tp_row(rows, 0, "token_sealed");
    dest.emails = tp_json_text_strings(p, tp_row(rows, 0,
                                                 "email_addresses"));
    apr_array_cat(dest.emails, tp_json_text_strings(p,
        tp_row(rows, 0, "email_user_ids")));
    tp_notify_send(p, &env, &dest, NULL, TP_NOTIFY_VERIFICATION, &res);
    if ((err = tp_notify_record(db, p, id, TP_NOTIFY_VERIFICATION, NULL,
                                &res)) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02073: "
                  "notification configuration %s verified by %s: %s", id,
                  req->who->grants.email, res.ok ? "delivered" : "failed");
    return send_nc(req, 200, id);
}
