/* The audit log, read-only: GET /api/terrapod/v1/admin/audit-log for the
 * admin and audit roles, newest first, with filters. Entries are written
 * by mod_terrapod_audit.c. */
#include <apr_strings.h>
#include <apr_lib.h>
#include "../mod_terrapod.h"

#define MAX_FILTER_LEN 512

static const tp_stmt_t SQL_AUDIT_LIST = {"audit_list",
    "SELECT id, to_char(at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at, actor, token_id, method,"
    " path, resource_type, resource_id, status, client_ip, duration_ms,"
    " count(*) OVER () AS total FROM audit_log"
    " WHERE actor = COALESCE(%s, actor)"
    " AND resource_type IS NOT DISTINCT FROM COALESCE(%s, resource_type)"
    " AND resource_id IS NOT DISTINCT FROM COALESCE(%s, resource_id)"
    " AND method = COALESCE(%s, method)"
    " AND status = COALESCE(%s::int, status)"
    " AND at >= COALESCE(to_timestamp(%s::float8), '-infinity')"
    " AND at < COALESCE(to_timestamp(%s::float8), 'infinity')"
    " ORDER BY at DESC, id DESC LIMIT %s::bigint OFFSET %s::bigint"};

static tp_json_t *entry_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    static const char *const strs[][2] = {
        {"at", "timestamp"}, {"actor", "actor"}, {"token_id", "token-id"},
        {"method", "action"}, {"path", "path"},
        {"resource_type", "resource-type"}, {"resource_id", "resource-id"},
        {"client_ip", "client-address"}, {NULL, NULL}
    };
    tp_json_t *e = tp_jsonapi_resource(req->r->pool, "audit-log-entries",
                                       tp_row(rows, i, "id"));
    int k;

    for (k = 0; strs[k][0]; k++) {
        tp_json_sets(e, tp_row(rows, i, strs[k][0]), "attributes",
                     strs[k][1], NULL);
    }
    tp_json_seti(e, apr_atoi64(tp_row(rows, i, "status")), "attributes",
                 "status", NULL);
    tp_json_seti(e, apr_atoi64(tp_row(rows, i, "duration_ms")), "attributes",
                 "duration-ms", NULL);
    return e;
}

static tp_err_t *string_filter(tp_req_t *req, const char *name,
                               const char **out)
{
    *out = tp_query_arg(req, apr_pstrcat(req->r->pool, "filter[", name, "]",
                                         NULL));
    if (*out && (!**out || strlen(*out) > MAX_FILTER_LEN)) {
        return tp_err(req->r->pool, 400, "filter[%s] must have 1 to %d "
                      "characters", name, MAX_FILTER_LEN);
    }
    return NULL;
}

/* An HTTP method, upper-cased. */
static tp_err_t *action_filter(tp_req_t *req, const char **out)
{
    tp_err_t *err = string_filter(req, "action", out);
    char *m;
    int i;

    if (err || !*out) {
        return err;
    }
    m = apr_pstrdup(req->r->pool, *out);
    for (i = 0; m[i]; i++) {
        if (!apr_isalpha(m[i]) || i >= 16) {
            return tp_err(req->r->pool, 400, "filter[action] must be an "
                          "HTTP method such as GET or DELETE");
        }
        m[i] = (char)apr_toupper(m[i]);
    }
    *out = m;
    return NULL;
}

static tp_err_t *status_filter(tp_req_t *req, const char **out)
{
    tp_err_t *err = string_filter(req, "status", out);

    if (!err && *out && (strlen(*out) != 3 || !apr_isdigit((*out)[0])
                         || !apr_isdigit((*out)[1])
                         || !apr_isdigit((*out)[2])
                         || atoi(*out) < 100 || atoi(*out) > 599)) {
        return tp_err(req->r->pool, 400, "filter[status] must be an HTTP "
                      "status code (100 to 599)");
    }
    return err;
}

/* An RFC 3339 time, bound as epoch seconds so PostgreSQL never parses
 * client text as a date. */
static tp_err_t *time_filter(tp_req_t *req, const char *name,
                             const char **out)
{
    tp_err_t *err = string_filter(req, name, out);
    apr_time_t t;

    if (err || !*out) {
        return err;
    }
    if (tp_rfc3339_parse(*out, &t) != APR_SUCCESS) {
        return tp_err(req->r->pool, 400, "filter[%s] must be an RFC 3339 "
                      "time such as 2026-01-31T12:00:00Z", name);
    }
    *out = apr_psprintf(req->r->pool, "%" APR_TIME_T_FMT ".%06"
                        APR_TIME_T_FMT, apr_time_sec(t), t % APR_USEC_PER_SEC);
    return NULL;
}

tp_err_t *tp_api_audit_log_list(tp_req_t *req)
{
    const char *actor, *type, *id, *action, *status, *since, *until;
    tp_err_t *err;

    if ((err = string_filter(req, "actor", &actor)) != NULL
        || (err = string_filter(req, "resource-type", &type)) != NULL
        || (err = string_filter(req, "resource-id", &id)) != NULL
        || (err = action_filter(req, &action)) != NULL
        || (err = status_filter(req, &status)) != NULL
        || (err = time_filter(req, "since", &since)) != NULL
        || (err = time_filter(req, "until", &until)) != NULL) {
        return err;
    }
    return tp_send_page(req, &SQL_AUDIT_LIST,
                        TP_DB_ARGS(actor, type, id, action, status, since,
                                   until), entry_resource);
}
