/* Who is calling: users, their API tokens and platform roles. */
#ifndef TP_AUTH_H
#define TP_AUTH_H

#include "tp_db.h"
#include "tp_rbac.h"

typedef struct tp_principal {
    tp_grants_t grants;   /* email, platform roles, custom roles */
    const char *user_id;
    const char *display_name;
    const char *token_id;     /* NULL when signed in with a session */
    const char *session_id;   /* NULL when calling with an API token */
    int is_service_account;
} tp_principal_t;

/* The user columns every principal lookup selects (users aliased u). */
#define TP_PRINCIPAL_COLUMNS \
    " u.email, u.id AS user_id, u.display_name, u.is_active," \
    " u.is_service_account," \
    " EXISTS (SELECT 1 FROM role_assignments ra" \
    "         WHERE ra.email = u.email AND ra.role_name = 'admin')" \
    "   AS is_admin," \
    " EXISTS (SELECT 1 FROM role_assignments ra" \
    "         WHERE ra.email = u.email AND ra.role_name = 'audit')" \
    "   AS is_audit," \
    " (SELECT json_agg(json_build_object(" \
    "           'name', r.name," \
    "           'workspace_permission', r.workspace_permission," \
    "           'pool_permission', r.pool_permission," \
    "           'registry_permission', r.registry_permission," \
    "           'allow_labels', r.allow_labels," \
    "           'allow_names', r.allow_names," \
    "           'deny_labels', r.deny_labels," \
    "           'deny_names', r.deny_names))" \
    "    FROM role_assignments ra JOIN roles r ON r.name = ra.role_name" \
    "   WHERE ra.email = u.email AND NOT r.built_in) AS roles"

/* The principal in row 0 of a lookup selecting TP_PRINCIPAL_COLUMNS. */
tp_principal_t *tp_principal_from_row(apr_pool_t *p, const tp_rows_t *rows);

/* Resolves a raw API token: 401 when malformed, unknown, expired, or its
 * user is deactivated. Marks the token used at most once a minute. */
tp_err_t *tp_auth_token(tp_db_t *db, apr_pool_t *p, const char *raw,
                        tp_principal_t **out);

/* Creates a local user, or updates the password of an existing one when
 * password is not NULL; grants the admin role when admin is set. */
tp_err_t *tp_user_ensure(tp_db_t *db, apr_pool_t *p, const char *email,
                         const char *password, int admin);

/* Minimum length of a local password. */
#define TP_PASSWORD_MIN_LEN 12

/* NULL when password is strong enough to set (at least 12 characters of
 * at least two kinds: lower case, upper case, digits, others), else why
 * not. */
const char *tp_password_weakness(const char *password);

/* A lower-cased copy (emails are stored lower-case). */
char *tp_str_lower(apr_pool_t *p, const char *s);

/* 1 when email looks like an address (one @, no spaces, 3..254 chars). */
int tp_email_valid(const char *email);

/* Creates a local user; 409 when the email is taken. Returns the new row
 * (email, id, display_name, is_active, created_at). */
tp_err_t *tp_user_create(tp_db_t *db, apr_pool_t *p, const char *email,
                         const char *display_name, const char *password,
                         tp_rows_t **row);

/* The user row by email; 404 when there is none. */
tp_err_t *tp_user_get(tp_db_t *db, apr_pool_t *p, const char *email,
                      tp_rows_t **row);

/* Mints an interactive API token for email, issued by created_by, valid
 * lifespan_seconds (0: no expiry; negative values make an already expired
 * token, for tests of expiry). Returns the raw secret once; only its hash
 * is stored. */
tp_err_t *tp_token_create(tp_db_t *db, apr_pool_t *p, const char *email,
                          const char *created_by, const char *description,
                          long long lifespan_seconds, const char **raw,
                          const char **id);

/* Background task: deletes tokens past their expiry. */
tp_err_t *tp_auth_purge_expired(tp_db_t *db, apr_pool_t *p,
                                const char **summary);

#endif
