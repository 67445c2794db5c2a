/* A user's own API tokens: created (the secret is shown once), listed and
 * deleted by the user, or by a platform admin (audit may read). */
#include <apr_strings.h>
#include "../mod_terrapod.h"

#define TOKEN_COLUMNS \
    "t.id, t.kind, t.description, t.user_email, t.created_by," \
    " tp_ts(t.created_at) AS created_at, tp_ts(t.rotated_at) AS rotated_at," \
    " tp_ts(t.last_used_at) AS last_used_at," \
    " tp_ts(t.expires_at) AS expires_at," \
    " (extract(epoch FROM t.expires_at - t.created_at) / 3600)::bigint" \
    "   AS lifespan_hours"

static const tp_stmt_t SQL_TOKENS_OF = {"tokens_of_user",
    "SELECT " TOKEN_COLUMNS ", count(*) OVER () AS total"
    "  FROM api_tokens t JOIN users u ON u.email = t.user_email"
    " WHERE u.id = %s ORDER BY t.created_at DESC"
    " LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_TOKEN_GET = {"token_get",
    "SELECT " TOKEN_COLUMNS " FROM api_tokens t WHERE t.id = %s"};
static const tp_stmt_t SQL_USER_EMAIL = {"user_email_by_id",
    "SELECT email FROM users WHERE id = %s"};
static const tp_stmt_t SQL_TOKEN_DELETE = {"token_delete",
    "DELETE FROM api_tokens WHERE id = %s"};

#define MAX_LIFESPAN_HOURS 8760

static tp_json_t *token_resource(tp_req_t *req, const tp_rows_t *rows,
                                 int i)
{
    apr_pool_t *p = req->r->pool;
    static const char *const strs[][2] = {
        {"kind", "kind"}, {"description", "description"},
        {"user_email", "bound-to"}, {"created_by", "created-by"},
        {"created_at", "created-at"}, {"rotated_at", "rotated-at"},
        {"last_used_at", "last-used-at"}, {"expires_at", "expires-at"},
        {NULL, NULL}
    };
    tp_json_t *t = tp_jsonapi_resource(p, "authentication-tokens",
                                       tp_row(rows, i, "id"));
    const char *hours = tp_row(rows, i, "lifespan_hours");
    int k;

    for (k = 0; strs[k][0]; k++) {
        tp_json_sets(t, tp_row(rows, i, strs[k][0]), "attributes", strs[k][1],
                     NULL);
    }
    tp_json_sets(t, "user", "attributes", "token-type", NULL);
    tp_json_setnull(t, "attributes", "pinned-roles", NULL);
    if (hours) {
        tp_json_seti(t, apr_atoi64(hours), "attributes", "lifespan-hours",
                     NULL);
    }
    else {
        tp_json_setnull(t, "attributes", "lifespan-hours", NULL);
    }
    return t;
}

/* The user a {user_id} path names, when the caller may act for it. */
static tp_err_t *target_user(tp_req_t *req, int write, const char **email)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "user_id");
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_USER_EMAIL, &rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    *email = rows->nrows ? tp_row(rows, 0, "email") : NULL;
    if (*email && strcmp(*email, req->who->grants.email) == 0) {
        return NULL;
    }
    if (!*email || !(req->who->grants.is_admin
                     || (!write && req->who->grants.is_audit))) {
        return tp_err(p, 404, "user %s not found", id);
    }
    return NULL;
}

tp_err_t *tp_api_user_tokens_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *email, *description, *raw, *id;
    long long hours = 0;
    tp_json_t *body, *a, *doc;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    int has;

    if ((err = target_user(req, 1, &email)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "authentication-tokens", &a))
           != NULL
        || (err = tp_attr_string(p, a, "description", 500, &description,
                                 &has)) != NULL) {
        return err;
    }
    if (!has) {
        description = "";
    }
    /* lifespan-hours, or lifespan_hours as the native docs spell it */
    err = tp_attr_int(p, a, "lifespan-hours", 1, MAX_LIFESPAN_HOURS, &hours,
                      &has);
    if (!err && !has) {
        err = tp_attr_int(p, a, "lifespan_hours", 1, MAX_LIFESPAN_HOURS,
                          &hours, &has);
    }
    if (err) {
        return err;
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_token_create(db, p, email, req->who->grants.email,
                                  description, hours * 3600, &raw, &id))
           != NULL
        || (err = tp_db_exec(db, p, &SQL_TOKEN_GET, &rows, TP_DB_ARGS(id)))
           != NULL) {
        return err;
    }
    doc = tp_jsonapi_doc(p, token_resource(req, rows, 0));
    /* the only time the secret is ever shown */
    tp_json_sets(doc, raw, "data", "attributes", "token", NULL);
    return tp_send_json(req, 201, doc);
}

tp_err_t *tp_api_user_tokens_list(tp_req_t *req)
{
    const char *email;
    tp_err_t *err = target_user(req, 0, &email);

    return err ? err : tp_send_page(req, &SQL_TOKENS_OF,
                                    TP_DB_ARGS(tp_param(&req->params,
                                                        "user_id")),
                                    token_resource);
}

/* A token by id, when the caller owns it or may administer (write) or
 * read (audit) it; 404 otherwise. */
static tp_err_t *load_token(tp_req_t *req, int write, tp_rows_t **rows)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    const char *owner;
    tp_err_t *err = tp_req_exec(req, &SQL_TOKEN_GET, rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    owner = (*rows)->nrows ? tp_row(*rows, 0, "user_email") : NULL;
    if ((*rows)->nrows
        && ((owner && strcmp(owner, req->who->grants.email) == 0)
            || req->who->grants.is_admin
            || (!write && req->who->grants.is_audit))) {
        return NULL;
    }
    return tp_err(p, 404, "authentication token %s not found", id);
}

tp_err_t *tp_api_token_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_token(req, 0, &rows);

    return err ? err : tp_send_json(req, 200,
                                    tp_jsonapi_doc(req->r->pool,
                                                   token_resource(req, rows,
                                                                  0)));
}

tp_err_t *tp_api_token_delete(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = load_token(req, 1, &rows)) != NULL
        || (err = tp_req_exec(req, &SQL_TOKEN_DELETE, NULL,
                              TP_DB_ARGS(tp_row(rows, 0, "id")))) != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
