/* Who is calling: users, their API tokens and platform roles. */
#ifndef TP_AUTH_H
#define TP_AUTH_H

#include "tp_db.h"
#include "tp_rbac.h"

typedef struct tp_principal {
    tp_grants_t grants;   /* email, platform roles, custom roles */
    const char *user_id;
    const char *display_name;
    const char *token_id;
    int is_service_account;
} tp_principal_t;

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
