/* Token authentication and the user records it needs. Raw tokens only pass
 * through here on their way to being hashed. */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "tp_auth.h"
#include "tp_json.h"
#include "tp_crypto.h"
#include "tp_token.h"

const char *const tp_token_kinds[] = {
    TP_TOKEN_INTERACTIVE, TP_TOKEN_BOUND, TP_TOKEN_DETACHED, NULL
};

/* The one place a token's effective roles are decided ("eff"):
 * interactive tokens hold what their owner holds, service_bound tokens the
 * pinned roles their owner still holds (so a role taken from the owner is
 * gone from the token at once), service_detached tokens exactly their
 * pinned roles. Roles since deleted drop out by the join. */
static const tp_stmt_t SQL_TOKEN_LOOKUP = {"token_lookup",
    "WITH t AS ("
    "  SELECT id, kind, user_email, pinned_roles, description,"
    "         (expires_at IS NOT NULL AND expires_at <= now()) AS expired,"
    "         (extract(epoch FROM expires_at) * 1000000)::bigint"
    "           AS expires_usec,"
    "         (last_used_at IS NULL"
    "          OR last_used_at < now() - interval '1 minute') AS stale"
    "    FROM api_tokens WHERE token_hash = %s),"
    " eff AS ("
    "  SELECT r.* FROM t, roles r"
    "   WHERE CASE WHEN t.kind = 'service_detached'"
    "              THEN r.name = ANY (t.pinned_roles)"
    "              ELSE EXISTS (SELECT 1 FROM role_assignments ra"
    "                            WHERE ra.email = t.user_email"
    "                              AND ra.role_name = r.name)"
    "                   AND (t.kind = 'interactive'"
    "                        OR r.name = ANY (t.pinned_roles)) END)"
    "SELECT t.id AS token_id, t.kind, t.description, t.expired, t.stale,"
    "       t.expires_usec,"
    "       u.email, u.id AS user_id, u.display_name, u.is_active,"
    "       u.is_service_account,"
    "       (t.kind = 'service_bound'"
    "        AND (u.last_login_at IS NULL OR u.last_login_at"
    "             < now() - make_interval(days => %s::int))) AS idle,"
    "       EXISTS (SELECT 1 FROM eff WHERE name = 'admin') AS is_admin,"
    "       EXISTS (SELECT 1 FROM eff WHERE name = 'audit') AS is_audit,"
    TP_ROLES_JSON " FROM eff r WHERE NOT r.built_in) AS roles"
    "  FROM t LEFT JOIN users u ON u.email = t.user_email"};

/* The condition is repeated so concurrent requests write at most once. */
static const tp_stmt_t SQL_TOKEN_TOUCH = {"token_touch",
    "UPDATE api_tokens SET last_used_at = now()"
    " WHERE id = %s AND (last_used_at IS NULL"
    "                    OR last_used_at < now() - interval '1 minute')"};

static const tp_stmt_t SQL_USER_UPSERT = {"user_upsert",
    "INSERT INTO users (email, id, password_hash) VALUES (%s, %s, %s)"
    " ON CONFLICT (email) DO UPDATE"
    "   SET password_hash = COALESCE(EXCLUDED.password_hash,"
    "                                users.password_hash),"
    "       updated_at = now()"};

static const tp_stmt_t SQL_USER_INSERT = {"user_insert",
    "INSERT INTO users (email, id, display_name, password_hash)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (email) DO NOTHING"
    " RETURNING " TP_USER_COLUMNS};

static const tp_stmt_t SQL_USER_GET = {"user_get",
    "SELECT " TP_USER_COLUMNS " FROM users WHERE email = %s"};

static const tp_stmt_t SQL_ROLE_GRANT = {"role_grant",
    "INSERT INTO role_assignments (provider_name, email, role_name)"
    " VALUES ('local', %s, %s) ON CONFLICT DO NOTHING"};

/* The owner must exist, except for detached tokens, which have none. */
static const tp_stmt_t SQL_TOKEN_INSERT = {"token_insert",
    "INSERT INTO api_tokens (id, token_hash, user_email, kind, description,"
    "                        pinned_roles, created_by, expires_at)"
    " SELECT %s, %s, u.email, %s, %s,"
    "        (SELECT array_agg(e) FROM json_array_elements_text(%s::json) e),"
    "        %s,"
    "        CASE WHEN %s::bigint = 0 THEN NULL"
    "             ELSE now() + make_interval(secs => %s::bigint) END"
    "   FROM (VALUES (%s::text)) AS owner (email)"
    "   LEFT JOIN users u ON u.email = owner.email"
    "  WHERE owner.email IS NULL OR u.email IS NOT NULL RETURNING id"};

/* SET reads the old rotated_at, so the lifespan carries over. */
static const tp_stmt_t SQL_TOKEN_ROTATE = {"token_rotate",
    "UPDATE api_tokens SET token_hash = %s, rotated_at = now(),"
    "       expires_at = now() + (expires_at"
    "                             - COALESCE(rotated_at, created_at))"
    " WHERE id = %s RETURNING id"};

/* A day after its expiry: until then its holder is told that the token
 * expired, not that it is unknown. */
static const tp_stmt_t SQL_TOKEN_PURGE = {"token_purge",
    "DELETE FROM api_tokens WHERE expires_at <= now() - interval '1 day'"
    " RETURNING id"};

/* Custom roles arrive as one JSON array built by the lookup statement. */
static apr_array_header_t *parse_roles(apr_pool_t *p, const char *json)
{
    apr_array_header_t *roles = apr_array_make(p, 4, sizeof(tp_role_t));
    tp_json_t *list = json ? tp_json_parse(p, json, strlen(json), NULL) : NULL;
    apr_size_t i, n = tp_json_len(list);

    for (i = 0; i < n; i++) {
        tp_role_t *r = tp_role_from_json(p, tp_json_at(list, i));

        if (r) {
            *(tp_role_t *)apr_array_push(roles) = *r;
        }
    }
    return roles;
}

/* Why a known, unexpired token may not act now; NULL when it may. */
static tp_err_t *token_refused(apr_pool_t *p, const tp_rows_t *rows,
                               int bound_idle_days)
{
    const char *kind = tp_row(rows, 0, "kind");

    if (tp_row_bool(rows, 0, "expired")) {
        return tp_err(p, 401, "API token has expired");
    }
    if (strcmp(kind, TP_TOKEN_DETACHED) == 0) {
        return NULL;
    }
    if (!tp_row_bool(rows, 0, "is_active")) {
        return tp_err(p, 401, "user account is deactivated");
    }
    if (tp_row_bool(rows, 0, "idle")) {
        return tp_err(p, 401, "this service_bound token's owner has not "
                      "signed in within %d days; the token works again "
                      "after the owner signs in", bound_idle_days);
    }
    return NULL;
}

tp_principal_t *tp_principal_from_row(apr_pool_t *p, const tp_rows_t *rows)
{
    tp_principal_t *who = apr_pcalloc(p, sizeof(*who));

    who->grants.email = tp_row(rows, 0, "email");
    who->user_id = tp_row(rows, 0, "user_id");
    who->display_name = tp_row(rows, 0, "display_name");
    who->is_service_account = tp_row_bool(rows, 0, "is_service_account");
    who->grants.is_admin = tp_row_bool(rows, 0, "is_admin");
    who->grants.is_audit = tp_row_bool(rows, 0, "is_audit");
    who->roles_json = tp_row(rows, 0, "roles");
    who->token_kind = TP_TOKEN_INTERACTIVE;   /* a session acts as its person */
    return who;
}

void tp_principal_roles(apr_pool_t *p, tp_principal_t *who)
{
    if (!who->grants.roles) {
        who->grants.roles = parse_roles(p, who->roles_json);
    }
}

/* Keeps the lookup row of a token that may act, until its expiry at the
 * latest. */
static void remember(tp_cache_t *cache, const char *key,
                     apr_uint32_t gen, const tp_rows_t *rows)
{
    const char *expires = tp_row(rows, 0, "expires_usec");

    tp_cache_put(cache, key, gen, rows,
                 expires ? apr_atoi64(expires) : 0);
}

/* The principal of an accepted token's lookup row. */
static tp_principal_t *token_principal(apr_pool_t *p, const tp_rows_t *rows)
{
    tp_principal_t *who = tp_principal_from_row(p, rows);

    who->token_id = tp_row(rows, 0, "token_id");
    who->token_kind = tp_row(rows, 0, "kind");
    who->grants.scoped = strcmp(who->token_kind, TP_TOKEN_INTERACTIVE) != 0;
    if (strcmp(who->token_kind, TP_TOKEN_DETACHED) == 0) {
        /* a detached token is nobody: it answers to a name of its own
         * that can never be an email address */
        who->grants.email = apr_pstrcat(p, "token:", who->token_id, NULL);
        who->user_id = who->token_id;
        who->display_name = tp_row(rows, 0, "description");
        who->is_service_account = 1;
    }
    return who;
}

tp_err_t *tp_auth_token(tp_db_t *db, apr_pool_t *p, tp_cache_t *cache,
                        const char *raw, int bound_idle_days,
                        tp_principal_t **out)
{
    const char *hash, *key;
    apr_uint32_t gen = 0;
    tp_rows_t *rows = NULL;
    tp_err_t *err;
    int hit;

    if (!tp_token_wellformed(raw)) {
        return tp_err(p, 401, "invalid API token");
    }
    hash = tp_token_hash(p, raw);
    /* the idle rule is part of the row: a key per rule */
    key = apr_psprintf(p, "%s/%d", hash, bound_idle_days);
    if (cache) {
        rows = tp_cache_get(cache, p, key, &gen);
    }
    hit = rows != NULL;
    if (!hit && (err = tp_db_exec(db, p, &SQL_TOKEN_LOOKUP, &rows,
                                  TP_DB_ARGS(hash,
                                             apr_itoa(p, bound_idle_days))))
                != NULL) {
        return err;
    }
    if (rows->nrows != 1) {
        return tp_err(p, 401, "invalid API token");
    }
    if ((err = token_refused(p, rows, bound_idle_days)) != NULL) {
        return err;
    }
    if (!hit && cache) {
        remember(cache, key, gen, rows);
    }
    /* a cached row was fresh when read: the touch is at most a cache
     * lifetime late */
    if (!hit && tp_row_bool(rows, 0, "stale")
        && (err = tp_db_exec(db, p, &SQL_TOKEN_TOUCH, NULL,
                             TP_DB_ARGS(tp_row(rows, 0, "token_id"))))
           != NULL) {
        return err;
    }
    *out = token_principal(p, rows);
    return NULL;
}

tp_err_t *tp_token_lifespan(apr_pool_t *p, const char *kind,
                            long long requested, int service_max_hours,
                            long long *hours)
{
    int service = strcmp(kind, TP_TOKEN_INTERACTIVE) != 0;
    long long cap = service ? service_max_hours
                            : TP_INTERACTIVE_TTL_HOURS_MAX;

    if (requested < 0 || requested > cap) {
        return tp_err(p, 422, "lifespan-hours of a%s %s token must be "
                      "between 1 and %" APR_INT64_T_FMT, service ? "" : "n", kind,
                      (apr_int64_t)cap);
    }
    *hours = requested == 0 && service ? cap : requested;
    return NULL;
}

/* The stored form of an optional password (NULL stays NULL); every
 * password set goes through here, so this is where strength is enforced. */
static tp_err_t *hash_if_given(apr_pool_t *p, const char *password,
                               const char **hash)
{
    const char *weak = password ? tp_password_weakness(password) : NULL;

    *hash = NULL;
    if (weak) {
        return tp_err(p, 422, "%s", weak);
    }
    if (password && !(*hash = tp_password_hash(p, password))) {
        return tp_err(p, 500, "password hashing failed");
    }
    return NULL;
}

const char *tp_password_weakness(const char *password)
{
    int lower = 0, upper = 0, digit = 0, other = 0;
    const char *c;

    if (tp_utf8_len(password) < TP_PASSWORD_MIN_LEN) {
        return "a password must have at least 12 characters";
    }
    for (c = password; *c; c++) {
        if (apr_islower(*c)) lower = 1;
        else if (apr_isupper(*c)) upper = 1;
        else if (apr_isdigit(*c)) digit = 1;
        else other = 1;
    }
    if (lower + upper + digit + other < 2) {
        return "a password must mix at least two kinds of characters "
               "(lower case, upper case, digits, others)";
    }
    return NULL;
}

tp_err_t *tp_user_ensure(tp_db_t *db, apr_pool_t *p, const char *email,
                         const char *password, int admin)
{
    const char *hash;
    tp_err_t *err = hash_if_given(p, password, &hash);

    if (err) {
        return err;
    }
    err = tp_db_exec(db, p, &SQL_USER_UPSERT, NULL,
                     TP_DB_ARGS(email, tp_id_generate(p, "user"), hash));
    if (!err && admin) {
        err = tp_db_exec(db, p, &SQL_ROLE_GRANT, NULL,
                         TP_DB_ARGS(email, "admin"));
    }
    return err;
}

char *tp_str_lower(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s), *c;

    for (c = out; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return out;
}

int tp_email_valid(const char *email)
{
    const char *at = email ? strchr(email, '@') : NULL;
    apr_size_t len = email ? strlen(email) : 0;

    return at && at != email && at[1] && !strchr(at + 1, '@') && len >= 3
           && len <= 254 && !strpbrk(email, " \t\r\n/");
}

tp_err_t *tp_user_create(tp_db_t *db, apr_pool_t *p, const char *email,
                         const char *display_name, const char *password,
                         tp_rows_t **row)
{
    const char *hash;
    tp_err_t *err = hash_if_given(p, password, &hash);

    if (err) {
        return err;
    }
    err = tp_db_exec(db, p, &SQL_USER_INSERT, row,
                     TP_DB_ARGS(email, tp_id_generate(p, "user"),
                                display_name ? display_name : "", hash));
    if (!err && (*row)->nrows == 0) {
        return tp_err(p, 409, "a user with email %s already exists", email);
    }
    return err;
}

tp_err_t *tp_user_get(tp_db_t *db, apr_pool_t *p, const char *email,
                      tp_rows_t **row)
{
    tp_err_t *err = tp_db_exec(db, p, &SQL_USER_GET, row, TP_DB_ARGS(email));

    if (!err && (*row)->nrows == 0) {
        return tp_err(p, 404, "user %s not found", email);
    }
    return err;
}

tp_err_t *tp_token_mint(tp_db_t *db, apr_pool_t *p,
                        const tp_token_spec_t *spec, const char **raw,
                        const char **id)
{
    const char *secret = tp_token_generate(p);
    const char *tid = tp_id_generate(p, "at");
    const char *life = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                    (apr_int64_t)spec->lifespan_seconds);
    tp_rows_t *rows;
    tp_err_t *err;

    err = tp_db_exec(db, p, &SQL_TOKEN_INSERT, &rows,
                     TP_DB_ARGS(tid, tp_token_hash(p, secret), spec->kind,
                                spec->description ? spec->description : "",
                                spec->pinned_json, spec->created_by, life,
                                life, spec->email));
    if (err) {
        return err;
    }
    if (rows->nrows != 1) {
        return tp_err(p, 404, "no user %s", spec->email);
    }
    *raw = secret;
    *id = tid;
    return NULL;
}

tp_err_t *tp_token_create(tp_db_t *db, apr_pool_t *p, const char *email,
                          const char *created_by, const char *description,
                          long long lifespan_seconds, const char **raw,
                          const char **id)
{
    tp_token_spec_t spec = {TP_TOKEN_INTERACTIVE, email, created_by,
                            description, NULL, lifespan_seconds};

    return tp_token_mint(db, p, &spec, raw, id);
}

tp_err_t *tp_token_rotate(tp_db_t *db, apr_pool_t *p, const char *id,
                          const char **raw)
{
    const char *secret = tp_token_generate(p);
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_TOKEN_ROTATE, &rows,
                               TP_DB_ARGS(tp_token_hash(p, secret), id));

    if (err) {
        return err;
    }
    if (rows->nrows != 1) {
        return tp_err(p, 404, "authentication token %s not found", id);
    }
    *raw = secret;
    return NULL;
}

tp_err_t *tp_auth_purge_expired(tp_db_t *db, apr_pool_t *p,
                                const char **summary)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_TOKEN_PURGE, &rows, 0, NULL);

    if (!err) {
        *summary = apr_psprintf(p, "removed %d expired token(s)",
                                rows->nrows);
    }
    return err;
}
