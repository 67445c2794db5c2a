/* Sessions, authorization codes and sign-in throttling on PostgreSQL.
 * Secrets arrive raw and are hashed before any statement sees them. */
#include <string.h>
#include <apr_strings.h>
#include "tp_session.h"
#include "tp_token.h"
#include "tp_crypto.h"

static const tp_stmt_t SQL_SESSION_INSERT = {"session_insert",
    "INSERT INTO sessions (id, token_hash, user_email, provider_name,"
    "                      client_address, user_agent, expires_at,"
    "                      max_expires_at)"
    " SELECT %s, %s, email, %s, %s, %s,"
    "        now() + make_interval(secs => LEAST(%s::bigint, %s::bigint)),"
    "        now() + make_interval(secs => %s::bigint)"
    "   FROM users WHERE email = %s AND is_active RETURNING id"};

static const tp_stmt_t SQL_LOGIN_RECORD = {"login_record",
    "WITH u AS (UPDATE users SET last_login_at = now(),"
    "                  display_name = COALESCE(NULLIF(%s, ''), display_name)"
    "            WHERE email = %s)"
    " DELETE FROM login_failures WHERE email = %s"};

static const tp_stmt_t SQL_SESSION_LOOKUP = {"session_lookup",
    "SELECT s.id AS session_id, (s.expires_at <= now()) AS expired,"
    "       (s.last_seen_at < now() - interval '1 minute') AS stale,"
    TP_PRINCIPAL_COLUMNS
    "  FROM sessions s JOIN users u ON u.email = s.user_email"
    " WHERE s.token_hash = %s"};

/* The condition is repeated so concurrent requests slide it once. */
static const tp_stmt_t SQL_SESSION_SLIDE = {"session_slide",
    "UPDATE sessions SET last_seen_at = now(),"
    "       expires_at = LEAST(now() + make_interval(secs => %s::bigint),"
    "                          max_expires_at)"
    " WHERE id = %s AND last_seen_at < now() - interval '1 minute'"};

static const tp_stmt_t SQL_SESSION_DELETE = {"session_delete",
    "DELETE FROM sessions WHERE id = %s AND user_email = %s RETURNING id"};

static const tp_stmt_t SQL_SESSIONS_OF_DELETE = {"sessions_of_delete",
    "DELETE FROM sessions WHERE user_email = %s"};

static const tp_stmt_t SQL_CODE_INSERT = {"oauth_code_insert",
    "INSERT INTO oauth_codes (code_hash, client_id, redirect_uri,"
    "                         code_challenge, user_email, expires_at)"
    " VALUES (%s, %s, %s, %s, %s,"
    "         now() + make_interval(secs => %s::bigint))"};

/* DELETE ... RETURNING: of two racing requests only one gets the row. */
static const tp_stmt_t SQL_CODE_TAKE = {"oauth_code_take",
    "DELETE FROM oauth_codes c USING users u"
    " WHERE c.code_hash = %s AND u.email = c.user_email"
    " RETURNING c.client_id, c.redirect_uri, c.code_challenge, c.user_email,"
    "           c.expires_at > now() AS fresh, u.is_active"};

static const tp_stmt_t SQL_LOGIN_COUNTS = {"login_failure_counts",
    "SELECT (SELECT count(*) FROM login_failures WHERE email = %s"
    "          AND failed_at > now() - make_interval(mins => %s::int))"
    "         AS by_account,"
    "       (SELECT count(*) FROM login_failures WHERE client_address = %s"
    "          AND failed_at > now() - make_interval(mins => %s::int))"
    "         AS by_address"};

static const tp_stmt_t SQL_LOGIN_FAIL = {"login_failure_insert",
    "INSERT INTO login_failures (email, client_address) VALUES (%s, %s)"};

static const tp_stmt_t SQL_PASSWORD_OF = {"login_password_hash",
    "SELECT password_hash FROM users"
    " WHERE email = %s AND is_active AND password_hash IS NOT NULL"};

/* plain DELETEs: one that removes nothing is no change to the processes'
 * cached reads (tp_db) */
static const tp_stmt_t SQL_PURGE_SESSIONS = {"signin_purge_sessions",
    "DELETE FROM sessions WHERE expires_at <= now()"};
/* codes linger a while, so a late exchange hears "expired" */
static const tp_stmt_t SQL_PURGE_CODES = {"signin_purge_codes",
    "DELETE FROM oauth_codes WHERE expires_at <= now() - interval '10 minutes'"};
static const tp_stmt_t SQL_PURGE_FAILURES = {"signin_purge_failures",
    "DELETE FROM login_failures"
    " WHERE failed_at <= now() - make_interval(mins => %s::int)"};

static const char *num(apr_pool_t *p, long long v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

tp_err_t *tp_session_create(tp_db_t *db, apr_pool_t *p,
                            const tp_session_new_t *s, const char **raw,
                            const char **id)
{
    const char *secret = tp_secret_generate(p, TP_SESSION_PREFIX);
    const char *sid = tp_id_generate(p, "sess");
    const char *idle = num(p, s->idle), *max = num(p, s->max);
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_db_begin(db, p)) != NULL) {
        return err;
    }
    err = tp_db_exec(db, p, &SQL_SESSION_INSERT, &rows,
                     TP_DB_ARGS(sid, tp_token_hash(p, secret), s->provider,
                                s->address, s->user_agent, idle, max, max,
                                s->email));
    if (!err && rows->nrows != 1) {
        err = tp_err(p, 401, "no active account %s", s->email);
    }
    if (!err) {
        err = tp_db_exec(db, p, &SQL_LOGIN_RECORD, NULL,
                         TP_DB_ARGS(s->display_name ? s->display_name : "",
                                    s->email, s->email));
    }
    if (err) {
        tp_db_rollback(db);
        return err;
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    *raw = secret;
    *id = sid;
    return NULL;
}

tp_err_t *tp_session_auth(tp_db_t *db, apr_pool_t *p, const char *raw,
                          long idle, tp_principal_t **out)
{
    tp_rows_t *rows;
    tp_err_t *err;

    if (!tp_secret_wellformed(raw, TP_SESSION_PREFIX)) {
        return tp_err(p, 401, "invalid session");
    }
    err = tp_db_exec(db, p, &SQL_SESSION_LOOKUP, &rows,
                     TP_DB_ARGS(tp_token_hash(p, raw)));
    if (err) {
        return err;
    }
    if (rows->nrows != 1 || tp_row_bool(rows, 0, "expired")) {
        return tp_err(p, 401, "the session has ended; sign in again");
    }
    if (!tp_row_bool(rows, 0, "is_active")) {
        /* the trigger on users already did this; rows written around it
         * by a racing sign-in go here */
        tp_db_exec(db, p, &SQL_SESSIONS_OF_DELETE, NULL,
                   TP_DB_ARGS(tp_row(rows, 0, "email")));
        return tp_err(p, 401, "user account is deactivated");
    }
    *out = tp_principal_from_row(p, rows);
    (*out)->session_id = tp_row(rows, 0, "session_id");
    if (tp_row_bool(rows, 0, "stale")) {
        return tp_db_exec(db, p, &SQL_SESSION_SLIDE, NULL,
                          TP_DB_ARGS(num(p, idle), (*out)->session_id));
    }
    return NULL;
}

tp_err_t *tp_session_end(tp_db_t *db, apr_pool_t *p, const char *id,
                         const char *email, int *ended)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_SESSION_DELETE, &rows,
                               TP_DB_ARGS(id, email));

    if (!err) {
        *ended = rows->nrows == 1;
    }
    return err;
}

tp_err_t *tp_oauth_code_create(tp_db_t *db, apr_pool_t *p,
                               const char *client_id,
                               const char *redirect_uri,
                               const char *challenge, const char *email,
                               const char **code)
{
    const char *raw = tp_random_b64url(p, 32);
    tp_err_t *err = tp_db_exec(db, p, &SQL_CODE_INSERT, NULL,
                               TP_DB_ARGS(tp_token_hash(p, raw), client_id,
                                          redirect_uri, challenge, email,
                                          num(p, TP_OAUTH_CODE_TTL)));

    if (!err) {
        *code = raw;
    }
    return err;
}

tp_err_t *tp_oauth_code_consume(tp_db_t *db, apr_pool_t *p,
                                const char *code, tp_oauth_grant_t **out)
{
    tp_rows_t *rows;
    tp_oauth_grant_t *g;
    tp_err_t *err = tp_db_exec(db, p, &SQL_CODE_TAKE, &rows,
                               TP_DB_ARGS(tp_token_hash(p, code)));

    *out = NULL;
    if (err || rows->nrows != 1) {
        return err;
    }
    g = apr_pcalloc(p, sizeof(*g));
    g->client_id = tp_row(rows, 0, "client_id");
    g->redirect_uri = tp_row(rows, 0, "redirect_uri");
    g->code_challenge = tp_row(rows, 0, "code_challenge");
    g->email = tp_row(rows, 0, "user_email");
    g->fresh = tp_row_bool(rows, 0, "fresh");
    g->active = tp_row_bool(rows, 0, "is_active");
    *out = g;
    return NULL;
}

tp_err_t *tp_login_throttled(tp_db_t *db, apr_pool_t *p, const char *email,
                             const char *address, int *throttled)
{
    const char *window = num(p, TP_LOGIN_WINDOW_MINUTES);
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_LOGIN_COUNTS, &rows,
                               TP_DB_ARGS(email, window, address, window));

    if (!err) {
        *throttled = apr_atoi64(tp_row(rows, 0, "by_account"))
                         >= TP_LOGIN_MAX_PER_ACCOUNT
                     || apr_atoi64(tp_row(rows, 0, "by_address"))
                         >= TP_LOGIN_MAX_PER_ADDRESS;
    }
    return err;
}

tp_err_t *tp_login_failed(tp_db_t *db, apr_pool_t *p, const char *email,
                          const char *address)
{
    return tp_db_exec(db, p, &SQL_LOGIN_FAIL, NULL,
                      TP_DB_ARGS(email, address));
}

tp_err_t *tp_login_password_hash(tp_db_t *db, apr_pool_t *p,
                                 const char *email, const char **hash)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_PASSWORD_OF, &rows,
                               TP_DB_ARGS(email));

    if (!err) {
        *hash = rows->nrows ? tp_row(rows, 0, "password_hash") : NULL;
    }
    return err;
}

tp_err_t *tp_session_purge(tp_db_t *db, apr_pool_t *p, const char **summary)
{
    tp_rows_t *s, *c, *f;
    tp_err_t *err;

    if ((err = tp_db_exec(db, p, &SQL_PURGE_SESSIONS, &s, 0, NULL)) != NULL
        || (err = tp_db_exec(db, p, &SQL_PURGE_CODES, &c, 0, NULL)) != NULL
        || (err = tp_db_exec(db, p, &SQL_PURGE_FAILURES, &f, TP_DB_ARGS(
                                 num(p, TP_LOGIN_WINDOW_MINUTES)))) != NULL) {
        return err;
    }
    *summary = apr_psprintf(p, "removed %lld session(s), %lld code(s), "
                            "%lld failed sign-in(s)",
                            s->changed, c->changed, f->changed);
    return NULL;
}
