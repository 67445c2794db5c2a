/* API tokens of the three kinds (tp_token_kinds): created (the secret is
 * shown once, and again on rotation), listed, converted, rotated and
 * deleted by their owner or a platform admin (audit may read); the admin
 * list, the expiry warning list and the offboarding revoke-all. */
#include <apr_strings.h>
#include "../mod_terrapod.h"

#define TOKEN_COLUMNS \
    "t.id, t.kind, t.description, t.user_email, t.created_by," \
    " to_json(t.pinned_roles)::text AS pinned_roles," \
    " tp_ts(t.created_at) AS created_at, tp_ts(t.rotated_at) AS rotated_at," \
    " tp_ts(t.last_used_at) AS last_used_at," \
    " tp_ts(t.expires_at) AS expires_at," \
    " (extract(epoch FROM t.expires_at - COALESCE(t.rotated_at," \
    "                                             t.created_at))" \
    "  / 3600)::bigint AS lifespan_hours"

/* A JSON array of role names as a text[] (NULL for a JSON null). */
#define PINNED_ARRAY(param) \
    "(SELECT array_agg(e) FROM json_array_elements_text(" param "::json) e)"

static const tp_stmt_t SQL_TOKENS_OF = {"tokens_of_user",
    "SELECT " TOKEN_COLUMNS ", count(*) OVER () AS total"
    "  FROM api_tokens t JOIN users u ON u.email = t.user_email"
    " WHERE u.id = %s ORDER BY t.created_at DESC"
    " LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_TOKENS_ALL = {"tokens_all",
    "SELECT " TOKEN_COLUMNS ", count(*) OVER () AS total"
    "  FROM api_tokens t WHERE %s::text IS NULL OR t.kind = %s"
    " ORDER BY t.created_at DESC, t.id LIMIT %s::bigint OFFSET %s::bigint"};
/* own bound service tokens, and every detached one for admins */
static const tp_stmt_t SQL_TOKENS_EXPIRING = {"tokens_expiring",
    "SELECT " TOKEN_COLUMNS ", count(*) OVER () AS total"
    "  FROM api_tokens t"
    " WHERE t.expires_at > now()"
    "   AND t.expires_at <= now() + make_interval(days => %s::int)"
    "   AND ((t.kind = 'service_bound' AND t.user_email = %s)"
    "        OR (t.kind = 'service_detached' AND %s::boolean))"
    " ORDER BY t.expires_at, t.id LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_TOKEN_GET = {"token_get",
    "SELECT " TOKEN_COLUMNS " FROM api_tokens t WHERE t.id = %s"};
static const tp_stmt_t SQL_USER_EMAIL = {"user_email_by_id",
    "SELECT email FROM users WHERE id = %s"};
static const tp_stmt_t SQL_TOKEN_DELETE = {"token_delete",
    "DELETE FROM api_tokens WHERE id = %s"};
static const tp_stmt_t SQL_ROLES_KNOWN = {"roles_known",
    "SELECT n AS name, EXISTS (SELECT 1 FROM roles WHERE name = n) AS known"
    "  FROM json_array_elements_text(%s::json) n"};
/* A service token always expires within the cap, whatever it was. */
static const tp_stmt_t SQL_TOKEN_CONVERT = {"token_convert",
    "UPDATE api_tokens SET kind = %s, user_email = %s,"
    "       pinned_roles = CASE WHEN %s::boolean"
    "                           THEN COALESCE(" PINNED_ARRAY("%s") ","
    "                                         pinned_roles) END,"
    "       expires_at = CASE WHEN %s::boolean"
    "                         THEN LEAST(COALESCE(expires_at, 'infinity'),"
    "                                    now() + make_interval("
    "                                              hours => %s::int))"
    "                         ELSE expires_at END"
    " WHERE id = %s RETURNING id"};
static const tp_stmt_t SQL_TOKENS_REVOKE_ALL = {"tokens_revoke_all",
    "DELETE FROM api_tokens WHERE user_email = %s RETURNING id"};

static int is_service(const char *kind)
{
    return strcmp(kind, TP_TOKEN_INTERACTIVE) != 0;
}

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
    tp_json_sets(t, tp_row(rows, i, "user_email") ? "user" : "service",
                 "attributes", "token-type", NULL);
    tp_json_setj(t, tp_row_json(p, rows, i, "pinned_roles"), "attributes",
                 "pinned-roles", NULL);
    if (hours) {
        tp_json_seti(t, apr_atoi64(hours), "attributes", "lifespan-hours",
                     NULL);
    }
    else {
        tp_json_setnull(t, "attributes", "lifespan-hours", NULL);
    }
    return t;
}

/* Answers token id as it is now, with its raw secret: the only times the
 * secret is ever shown are creation and rotation. */
static tp_err_t *send_with_secret(tp_req_t *req, int status, const char *id,
                                  const char *raw)
{
    tp_rows_t *rows;
    tp_json_t *doc;
    tp_err_t *err = tp_req_exec(req, &SQL_TOKEN_GET, &rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    doc = tp_jsonapi_doc(req->r->pool, token_resource(req, rows, 0));
    tp_json_sets(doc, raw, "data", "attributes", "token", NULL);
    return tp_send_json(req, status, doc);
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

/* The attribute's name as the request spells it: the native API documents
 * lifespan_hours and pinned_roles, JSON:API clients send dashes. */
static const char *spelled(const tp_json_t *a, const char *dashed,
                           const char *underscored)
{
    return tp_json_type(a, dashed, NULL) != TP_JSON_ABSENT ? dashed
                                                           : underscored;
}

/* pinned-roles as a JSON array text; NULL when absent or null. */
static tp_err_t *pins_attr(apr_pool_t *p, const tp_json_t *a,
                           const char **pins)
{
    const char *name = spelled(a, "pinned-roles", "pinned_roles");
    tp_json_t *list;
    int has;
    tp_err_t *err;

    *pins = NULL;
    if (tp_json_type(a, name, NULL) == TP_JSON_NULL) {
        return NULL;
    }
    err = tp_attr_strings(p, a, name, 100, 63, &list, &has);
    if (!err && has) {
        *pins = tp_json_dump(list, p);
    }
    return err;
}

/* Pins must name existing roles, at least one for a service kind and
 * none for an interactive token; a caller may pin only roles it holds
 * itself, except a platform admin, who may pin any. */
static tp_err_t *check_pins(tp_req_t *req, const char *kind,
                            const char *pins, int required)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if (!is_service(kind)) {
        return pins && strcmp(pins, "[]") != 0
               ? tp_err(p, 422, "pinned-roles apply to service tokens only")
               : NULL;
    }
    if (!pins || strcmp(pins, "[]") == 0) {
        return required ? tp_err(p, 422, "a %s token needs pinned-roles: "
                                 "the roles it may act with", kind) : NULL;
    }
    if ((err = tp_req_exec(req, &SQL_ROLES_KNOWN, &rows, TP_DB_ARGS(pins)))
        != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        const char *role = tp_row(rows, i, "name");

        if (!tp_row_bool(rows, i, "known")) {
            return tp_err(p, 422, "role %s does not exist", role);
        }
        if (!req->who->grants.is_admin
            && !tp_grants_hold(&req->who->grants, role)) {
            return tp_err(p, 403, "you cannot pin role %s: you do not hold "
                          "it", role);
        }
    }
    return NULL;
}

/* A service token must not hand its caller more than its own scope: unless
 * it is a platform admin's, it can neither obtain an interactive token
 * (which acts with all of the owner's roles) nor one pinned to a role it
 * lacks, by creating, converting or rotating one. */
static tp_err_t *within_scope(tp_req_t *req, const char *kind,
                              const tp_json_t *pins)
{
    const tp_grants_t *g = &req->who->grants;
    apr_size_t i;

    if (!g->scoped || g->is_admin) {
        return NULL;
    }
    if (!is_service(kind)) {
        return tp_err(req->r->pool, 403, "a service token cannot obtain an "
                      "interactive token");
    }
    for (i = 0; i < tp_json_len(pins); i++) {
        const char *role = tp_json_gets(tp_json_at(pins, i), NULL);

        if (role && !tp_grants_hold(g, role)) {
            return tp_err(req->r->pool, 403, "a service token cannot obtain "
                          "a token pinned to role %s, which it lacks", role);
        }
    }
    return NULL;
}

/* The request's token lifespan in hours after the kind's cap (0: none). */
static tp_err_t *lifespan_attr(tp_req_t *req, const tp_json_t *a,
                               const char *kind, long long *hours)
{
    apr_pool_t *p = req->r->pool;
    long long asked = 0;
    int has;
    tp_err_t *err = tp_attr_int(p, a, spelled(a, "lifespan-hours",
                                              "lifespan_hours"),
                                1, 1000000, &asked, &has);

    return err ? err : tp_token_lifespan(p, kind, asked,
                                         req->conf->service_max_ttl_hours,
                                         hours);
}

tp_err_t *tp_api_user_tokens_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_token_spec_t spec = {TP_TOKEN_INTERACTIVE, NULL, NULL, NULL, NULL, 0};
    long long hours;
    tp_json_t *body, *a;
    const char *raw, *id;
    tp_db_t *db;
    tp_err_t *err;
    int has;

    if ((err = target_user(req, 1, &spec.email)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "authentication-tokens", &a))
           != NULL
        || (err = tp_attr_string(p, a, "description", 500, &spec.description,
                                 &has)) != NULL
        || (err = tp_attr_enum(p, a, "kind", tp_token_kinds, &spec.kind,
                               &has)) != NULL) {
        return err;
    }
    if (!has) {
        spec.kind = TP_TOKEN_INTERACTIVE;
    }
    if (strcmp(spec.kind, TP_TOKEN_DETACHED) == 0) {
        if (!req->who->grants.is_admin) {
            return tp_err(p, 403, "only platform admins create "
                          "service_detached tokens");
        }
        spec.email = NULL;   /* unbound, whoever {user_id} names */
    }
    if ((err = within_scope(req, spec.kind, NULL)) != NULL
        || (err = lifespan_attr(req, a, spec.kind, &hours)) != NULL
        || (err = pins_attr(p, a, &spec.pinned_json)) != NULL
        || (err = check_pins(req, spec.kind, spec.pinned_json, 1)) != NULL) {
        return err;
    }
    spec.created_by = req->who->grants.email;
    spec.lifespan_seconds = hours * 3600;
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_token_mint(db, p, &spec, &raw, &id)) != NULL) {
        return err;
    }
    return send_with_secret(req, 201, id, raw);
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

tp_err_t *tp_api_token_list_all(tp_req_t *req)
{
    const char *kind = tp_query_arg(req, "filter[kind]");
    int i;

    if (!kind) {
        kind = tp_query_arg(req, "kind");
    }
    for (i = 0; kind && tp_token_kinds[i]; i++) {
        if (strcmp(kind, tp_token_kinds[i]) == 0) {
            break;
        }
    }
    if (kind && !tp_token_kinds[i]) {
        return tp_err(req->r->pool, 422, "kind must be interactive, "
                      "service_bound or service_detached");
    }
    return tp_send_page(req, &SQL_TOKENS_ALL, TP_DB_ARGS(kind, kind),
                        token_resource);
}

tp_err_t *tp_api_token_expiring(tp_req_t *req)
{
    const tp_grants_t *g = &req->who->grants;

    return tp_send_page(req, &SQL_TOKENS_EXPIRING,
                        TP_DB_ARGS(apr_itoa(req->r->pool,
                                            req->conf->expiry_warning_days),
                                   g->email, tp_db_bool(g->is_admin)),
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

/* Who owns a token converted from kind from to kind to: nobody when it
 * becomes detached, the converting admin when it stops being detached. */
static tp_err_t *new_owner(tp_req_t *req, const tp_rows_t *rows,
                           const char *from, const char *to,
                           const char **owner)
{
    apr_pool_t *p = req->r->pool;
    int was = strcmp(from, TP_TOKEN_DETACHED) == 0;
    int becomes = strcmp(to, TP_TOKEN_DETACHED) == 0;

    *owner = tp_row(rows, 0, "user_email");
    if (was == becomes) {
        return NULL;
    }
    if (!req->who->grants.is_admin) {
        return tp_err(p, 403, "only platform admins convert tokens to or "
                      "from service_detached");
    }
    if (becomes) {
        *owner = NULL;
        return NULL;
    }
    if (strcmp(req->who->token_kind, TP_TOKEN_DETACHED) == 0) {
        return tp_err(p, 422, "a service_detached token cannot take "
                      "ownership of a token; convert it with a user's "
                      "token");
    }
    *owner = req->who->grants.email;
    return NULL;
}

tp_err_t *tp_api_token_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *kind, *from, *pins, *owner, *service;
    tp_json_t *body, *a;
    tp_rows_t *rows;
    tp_err_t *err;
    int has;

    if ((err = load_token(req, 1, &rows)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "authentication-tokens", &a))
           != NULL
        || (err = tp_attr_enum(p, a, "kind", tp_token_kinds, &kind, &has))
           != NULL
        || (err = pins_attr(p, a, &pins)) != NULL) {
        return err;
    }
    from = tp_row(rows, 0, "kind");
    if (!has) {
        kind = from;
    }
    /* a token turning into a service token must be given its pins */
    if ((err = within_scope(req, kind, NULL)) != NULL
        || (err = check_pins(req, kind, pins,
                          !tp_row(rows, 0, "pinned_roles"))) != NULL
        || (err = new_owner(req, rows, from, kind, &owner)) != NULL) {
        return err;
    }
    service = tp_db_bool(is_service(kind));
    if ((err = tp_req_exec(req, &SQL_TOKEN_CONVERT, NULL,
                           TP_DB_ARGS(kind, owner, service, pins, service,
                                      apr_itoa(p, req->conf
                                                  ->service_max_ttl_hours),
                                      tp_row(rows, 0, "id")))) != NULL
        || (err = load_token(req, 0, &rows)) != NULL) {
        return err;
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, token_resource(req, rows,
                                                                   0)));
}

tp_err_t *tp_api_token_rotate(tp_req_t *req)
{
    const char *raw, *id;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = load_token(req, 1, &rows)) != NULL
        || (err = within_scope(req, tp_row(rows, 0, "kind"),
                               tp_row_json(req->r->pool, rows, 0,
                                           "pinned_roles"))) != NULL
        || (err = tp_req_db(req, &db)) != NULL) {
        return err;
    }
    id = tp_row(rows, 0, "id");
    if ((err = tp_token_rotate(db, req->r->pool, id, &raw)) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01200: token %s "
                  "rotated by %s", id, req->who->grants.email);
    return send_with_secret(req, 200, id, raw);
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

/* Offboarding: every token bound to the identity goes at once; detached
 * tokens belong to nobody and stay. The body is {"email": ...} (or the
 * same as JSON:API attributes). */
tp_err_t *tp_api_token_revoke_all(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *a, *out;
    const char *email;
    tp_rows_t *rows;
    tp_err_t *err;
    int has;

    if ((err = tp_read_json(req, &body)) != NULL) {
        return err;
    }
    a = tp_json_type(body, "email", NULL) != TP_JSON_ABSENT
        ? body : tp_json_get(body, "data", "attributes", NULL);
    if ((err = tp_attr_string(p, a, "email", 254, &email, &has)) != NULL) {
        return err;
    }
    if (!has || !tp_email_valid(email)) {
        return tp_err(p, 422, "email must be an address like "
                      "user@example.com");
    }
    email = tp_str_lower(p, email);
    if ((err = tp_req_exec(req, &SQL_TOKENS_REVOKE_ALL, &rows,
                           TP_DB_ARGS(email))) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01201: %d token(s) "
                  "of %s revoked by %s", rows->nrows, email,
                  req->who->grants.email);
    out = tp_json_object(p);
    tp_json_sets(out, email, "email", NULL);
    tp_json_seti(out, rows->nrows, "revoked", NULL);
    return tp_send_json(req, 200, tp_jsonapi_doc(p, out));
}
