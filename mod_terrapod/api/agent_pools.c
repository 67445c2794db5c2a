/* Agent pools: labelled groups of listeners that platform admins create
 * and pool RBAC shows, and the join tokens listeners register with (only
 * their hash is kept; the raw token is shown once). */
#include <apr_strings.h>
#include <apr_lib.h>
#include "../mod_terrapod.h"
#include "../tp_pool.h"

#define POOL_COLUMNS \
    "p.id, p.name, p.description, p.labels::text AS labels, p.owner_email," \
    " tp_ts(p.created_at) AS created_at, tp_ts(p.updated_at) AS updated_at," \
    " (SELECT count(*) FROM listeners l WHERE l.pool_id = p.id)" \
    "   AS listener_count"

static const tp_stmt_t SQL_POOL_PAGE = {"pool_page",
    "SELECT " POOL_COLUMNS ", count(*) OVER () AS total"
    "  FROM agent_pools p ORDER BY p.name LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_POOL_ALL = {"pool_all",
    "SELECT " POOL_COLUMNS " FROM agent_pools p ORDER BY p.name"};
static const tp_stmt_t SQL_POOL_GET = {"pool_get",
    "SELECT " POOL_COLUMNS " FROM agent_pools p WHERE p.id = %s"};
static const tp_stmt_t SQL_POOL_NAME_TAKEN = {"pool_name_taken",
    "SELECT 1 FROM agent_pools WHERE name = %s AND id <> %s"};
static const tp_stmt_t SQL_POOL_UPDATE = {"pool_update",
    "UPDATE agent_pools SET name = COALESCE(%s, name),"
    " description = COALESCE(%s, description),"
    " labels = COALESCE(%s::jsonb, labels), updated_at = now()"
    " WHERE id = %s RETURNING id"};
static const tp_stmt_t SQL_POOL_DELETE = {"pool_delete",
    "DELETE FROM agent_pools WHERE id = %s"};

static const tp_stmt_t SQL_PTOK_PAGE = {"pool_token_page",
    "SELECT " TP_JOIN_TOKEN_COLUMNS ", count(*) OVER () AS total"
    "  FROM agent_pool_tokens WHERE pool_id = %s"
    " ORDER BY created_at DESC, id LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_PTOK_REVOKE = {"pool_token_revoke",
    "UPDATE agent_pool_tokens SET revoked_at = COALESCE(revoked_at, now())"
    " WHERE id = %s AND pool_id = %s RETURNING id"};
static const tp_stmt_t SQL_FUTURE = {"is_future",
    "SELECT %s::timestamptz > now() AS future"};

static tp_json_t *pool_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    static const char *const strs[][2] = {
        {"name", "name"}, {"description", "description"},
        {"owner_email", "owner-email"}, {"created_at", "created-at"},
        {"updated_at", "updated-at"}, {NULL, NULL}
    };
    tp_json_t *r = tp_jsonapi_resource(p, "agent-pools",
                                       tp_row(rows, i, "id"));
    tp_level_e lvl = tp_row_level(req, rows, i, TP_AXIS_POOL);
    int k;

    for (k = 0; strs[k][0]; k++) {
        tp_json_sets(r, tp_row(rows, i, strs[k][0]), "attributes",
                     strs[k][1], NULL);
    }
    tp_json_setj(r, tp_row_json(p, rows, i, "labels"), "attributes",
                 "labels", NULL);
    tp_json_seti(r, apr_atoi64(tp_row(rows, i, "listener_count")),
                 "attributes", "listener-count", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                 "can-update", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                 "can-destroy", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                 "can-manage-tokens", NULL);
    return r;
}

tp_err_t *tp_pool_require(tp_req_t *req, const char *id, tp_level_e need,
                          tp_rows_t **rows)
{
    apr_pool_t *p = req->r->pool;
    tp_level_e lvl;
    tp_err_t *err = tp_req_exec(req, &SQL_POOL_GET, rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    lvl = (*rows)->nrows ? tp_row_level(req, *rows, 0, TP_AXIS_POOL) : TP_LEVEL_NONE;
    /* what the caller cannot read does not exist for it */
    if (lvl < TP_LEVEL_READ) {
        return tp_err(p, 404, "agent pool %s not found", id);
    }
    if (lvl < need) {
        return tp_err(p, 403, "this needs %s on agent pool %s; you have %s",
                      tp_level_name(need), tp_row(*rows, 0, "name"),
                      tp_level_name(lvl));
    }
    return NULL;
}

static tp_err_t *send_pool(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_POOL_GET, &rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "agent pool %s not found", id);
    }
    return tp_send_json(req, status,
                        tp_jsonapi_doc(req->r->pool,
                                       pool_resource(req, rows, 0)));
}

/* Platform admins and auditors page in SQL; anyone else sees what pool
 * RBAC lets them read, decided per pool (pools are few). */
tp_err_t *tp_api_agent_pool_list(tp_req_t *req)
{
    if (req->who->grants.is_admin || req->who->grants.is_audit) {
        return tp_send_page(req, &SQL_POOL_PAGE, 0, NULL, pool_resource);
    }
    return tp_send_readable(req, &SQL_POOL_ALL, TP_AXIS_POOL, pool_resource);
}

tp_err_t *tp_api_agent_pool_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_pool_require(req, tp_param(&req->params, "id"),
                                    req->route->level, &rows);

    return err ? err : tp_send_json(req, 200,
                                    tp_jsonapi_doc(req->r->pool,
                                                   pool_resource(req, rows,
                                                                 0)));
}

/* Pool attributes as bound values; NULL leaves a column as it is. */
typedef struct {
    const char *name, *description, *labels;
} pool_input_t;

static tp_err_t *parse_pool(apr_pool_t *p, const tp_json_t *a,
                            pool_input_t *in)
{
    tp_err_t *err;
    int has;

    memset(in, 0, sizeof(*in));
    if ((err = tp_attr_string(p, a, "name", 90, &in->name, &has)) != NULL) {
        return err;
    }
    if (has && !tp_pool_name_valid(in->name)) {
        return tp_err(p, 422, "name must be 1 to 90 letters, digits, '-' "
                      "or '_'");
    }
    if ((err = tp_attr_string(p, a, "description", 1000, &in->description,
                              &has)) != NULL) {
        return err;
    }
    if (tp_json_type(a, "labels", NULL) != TP_JSON_ABSENT) {
        tp_json_t *labels = tp_json_get(a, "labels", NULL);

        if (tp_json_type(labels, NULL) != TP_JSON_OBJECT) {
            return tp_err(p, 422, "labels must be an object of label values");
        }
        if ((err = tp_labels_check(p, labels, "labels", 1)) != NULL) {
            return err;
        }
        in->labels = tp_json_dump(labels, p);
    }
    return NULL;
}

tp_err_t *tp_api_agent_pool_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id;
    tp_json_t *body, *a;
    pool_input_t in;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "agent-pools", &a)) != NULL
        || (err = parse_pool(p, a, &in)) != NULL) {
        return err;
    }
    if (!in.name) {
        return tp_err(p, 422, "name is required");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_pool_create(db, p, in.name, in.description, in.labels,
                                 req->who->grants.email, &id)) != NULL) {
        return err;
    }
    if (!id) {
        return tp_err(p, 409, "agent pool %s already exists", in.name);
    }
    return send_pool(req, 201, id);
}

tp_err_t *tp_api_agent_pool_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_json_t *body, *a;
    pool_input_t in;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_pool_require(req, id, req->route->level, &rows)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "agent-pools", &a)) != NULL
        || (err = parse_pool(p, a, &in)) != NULL) {
        return err;
    }
    if (in.name) {
        if ((err = tp_req_exec(req, &SQL_POOL_NAME_TAKEN, &rows,
                               TP_DB_ARGS(in.name, id))) != NULL) {
            return err;
        }
        if (rows->nrows) {
            return tp_err(p, 409, "agent pool %s already exists", in.name);
        }
    }
    if ((err = tp_req_exec(req, &SQL_POOL_UPDATE, NULL,
                           TP_DB_ARGS(in.name, in.description, in.labels,
                                      id))) != NULL) {
        return err;
    }
    return send_pool(req, 200, id);
}

tp_err_t *tp_api_agent_pool_delete(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_pool_require(req, id, req->route->level, &rows)) != NULL
        || (err = tp_req_exec(req, &SQL_POOL_DELETE, NULL, TP_DB_ARGS(id)))
           != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* ---- join tokens ---- */

static tp_json_t *ptok_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    static const char *const strs[][2] = {
        {"description", "description"}, {"created_by", "created-by"},
        {"created_at", "created-at"}, {"expires_at", "expires-at"},
        {"revoked_at", "revoked-at"}, {"last_used_at", "last-used-at"},
        {NULL, NULL}
    };
    tp_json_t *t = tp_jsonapi_resource(req->r->pool, "authentication-tokens",
                                       tp_row(rows, i, "id"));
    const char *max = tp_row(rows, i, "max_uses");
    int k;

    for (k = 0; strs[k][0]; k++) {
        tp_json_sets(t, tp_row(rows, i, strs[k][0]), "attributes", strs[k][1],
                     NULL);
    }
    tp_json_sets(t, "agent-pool", "attributes", "token-type", NULL);
    tp_json_seti(t, apr_atoi64(tp_row(rows, i, "uses")), "attributes",
                 "uses", NULL);
    if (max) {
        tp_json_seti(t, apr_atoi64(max), "attributes", "max-uses", NULL);
    }
    else {
        tp_json_setnull(t, "attributes", "max-uses", NULL);
    }
    tp_json_setb(t, tp_row(rows, i, "revoked_at") != NULL, "attributes",
                 "revoked", NULL);
    tp_jsonapi_relate_to(req->r->pool, t, "agent-pool", "agent-pools",
                         tp_row(rows, i, "pool_id"));
    return t;
}

/* RFC 3339 with a time zone: "2026-01-01T00:00:00Z", "...+02:00",
 * fractions allowed. The database parses it; this keeps garbage away. */
static int rfc3339_valid(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    int i;

    for (i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? !apr_isdigit(s[i]) : s[i] != shape[i]) {
            return 0;
        }
    }
    s += i;
    if (*s == '.') {
        for (s++; apr_isdigit(*s); s++) {
        }
    }
    if (*s == 'Z') {
        return s[1] == '\0';
    }
    return (*s == '+' || *s == '-') && apr_isdigit(s[1]) && apr_isdigit(s[2])
           && s[3] == ':' && apr_isdigit(s[4]) && apr_isdigit(s[5])
           && s[6] == '\0';
}

/* expires-at, or lifespan-hours from now; both absent: no expiry. */
static tp_err_t *token_expiry(tp_req_t *req, const tp_json_t *a,
                              const char **at, const char **hours)
{
    apr_pool_t *p = req->r->pool;
    long long h = 0;
    tp_rows_t *rows;
    tp_err_t *err;
    int has;

    *at = *hours = NULL;
    if ((err = tp_attr_string(p, a, "expires-at", 64, at, &has)) != NULL) {
        return err;
    }
    if (has) {
        if (!rfc3339_valid(*at)) {
            return tp_err(p, 422, "expires-at must be an RFC 3339 time");
        }
        err = tp_req_exec(req, &SQL_FUTURE, &rows, TP_DB_ARGS(*at));
        if (err && err->status == 500) {
            return tp_err(p, 422, "expires-at is not a valid time");
        }
        if (err) {
            return err;
        }
        if (!tp_row_bool(rows, 0, "future")) {
            return tp_err(p, 422, "expires-at must be in the future");
        }
        return NULL;
    }
    if ((err = tp_attr_int(p, a, "lifespan-hours", 1, TP_JOIN_TOKEN_MAX_HOURS, &h,
                           &has)) != NULL) {
        return err;
    }
    *hours = has ? apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)h) : NULL;
    return NULL;
}

tp_err_t *tp_api_pool_tokens_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *pool_id = tp_param(&req->params, "id");
    tp_join_token_spec_t spec = {0};
    const char *raw;
    long long uses;
    tp_json_t *body, *a, *doc;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    int has;

    if ((err = tp_pool_require(req, pool_id, req->route->level, &rows))
        != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "authentication-tokens",
                                        &a)) != NULL
        || (err = tp_attr_string(p, a, "description", 500, &spec.description,
                                 &has)) != NULL
        || (err = tp_attr_int(p, a, "max-uses", 1, TP_JOIN_TOKEN_MAX_USES,
                              &uses, &has)) != NULL
        || (err = token_expiry(req, a, &spec.expires_at,
                               &spec.lifespan_hours)) != NULL) {
        return err;
    }
    if (has) {
        spec.max_uses = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                     (apr_int64_t)uses);
    }
    spec.created_by = req->who->grants.email;
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_join_token_create(db, p, pool_id, &spec, &raw, &rows))
           != NULL) {
        return err;
    }
    doc = tp_jsonapi_doc(p, ptok_resource(req, rows, 0));
    /* the only time the join token is ever shown */
    tp_json_sets(doc, raw, "data", "attributes", "token", NULL);
    return tp_send_json(req, 201, doc);
}

tp_err_t *tp_api_pool_tokens_list(tp_req_t *req)
{
    const char *pool_id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_err_t *err = tp_pool_require(req, pool_id, req->route->level, &rows);

    return err ? err : tp_send_page(req, &SQL_PTOK_PAGE, TP_DB_ARGS(pool_id),
                                    ptok_resource);
}

/* Revoked tokens are kept (marked), so the list shows what happened. */
tp_err_t *tp_api_pool_token_revoke(tp_req_t *req)
{
    const char *pool_id = tp_param(&req->params, "id");
    const char *token_id = tp_param(&req->params, "token_id");
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_pool_require(req, pool_id, req->route->level, &rows))
        != NULL
        || (err = tp_req_exec(req, &SQL_PTOK_REVOKE, &rows,
                              TP_DB_ARGS(token_id, pool_id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "join token %s not found in agent "
                      "pool %s", token_id, pool_id);
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
