/* Signing people in: browser sessions with sliding expiry, the single-use
 * authorization codes of `terraform login`, and the throttling of failed
 * password attempts. State lives in PostgreSQL, shared by every process. */
#ifndef TP_SESSION_H
#define TP_SESSION_H

#include "tp_db.h"
#include "tp_auth.h"

/* Failed sign-ins within TP_LOGIN_WINDOW that refuse further attempts,
 * per account (the email as typed) and per client address. */
#define TP_LOGIN_WINDOW_MINUTES 15
#define TP_LOGIN_MAX_PER_ACCOUNT 5
#define TP_LOGIN_MAX_PER_ADDRESS 20

#define TP_OAUTH_CODE_TTL 60   /* seconds an authorization code lives */

typedef struct tp_session_new {
    const char *email;
    const char *display_name;  /* recorded when not NULL or empty */
    const char *provider;      /* "local" or an SSO provider's name */
    const char *address;       /* the client's address */
    const char *user_agent;
    long idle;                 /* seconds of idleness that end it */
    long max;                  /* seconds it may live at most */
} tp_session_new_t;

/* Starts a session: *raw is the secret (shown once, stored hashed). 401
 * when the user does not exist or is deactivated. Also records the
 * sign-in (users.last_login_at) and forgets the account's failures. */
tp_err_t *tp_session_create(tp_db_t *db, apr_pool_t *p,
                            const tp_session_new_t *s, const char **raw,
                            const char **id);

/* The principal of a raw session secret: 401 when unknown, expired or its
 * user is deactivated (whose sessions are then deleted). Used at least a
 * minute after the last time, its idle expiry moves to now + idle (never
 * past its maximum lifetime). */
tp_err_t *tp_session_auth(tp_db_t *db, apr_pool_t *p, const char *raw,
                          long idle, tp_principal_t **out);

/* Ends session id of email; *ended is 0 when there was no such session. */
tp_err_t *tp_session_end(tp_db_t *db, apr_pool_t *p, const char *id,
                         const char *email, int *ended);

/* An authorization code for email (returned raw once, stored hashed),
 * bound to the client, its redirect URI and PKCE challenge; it expires
 * after TP_OAUTH_CODE_TTL seconds. */
tp_err_t *tp_oauth_code_create(tp_db_t *db, apr_pool_t *p,
                               const char *client_id,
                               const char *redirect_uri,
                               const char *challenge, const char *email,
                               const char **code);

typedef struct tp_oauth_grant {
    const char *client_id;
    const char *redirect_uri;
    const char *code_challenge;
    const char *email;
    int fresh;                 /* not expired */
    int active;                /* the user is active */
} tp_oauth_grant_t;

/* Takes code out of the store, so it is used at most once even when two
 * requests race; *out is NULL when the code is unknown or already used. */
tp_err_t *tp_oauth_code_consume(tp_db_t *db, apr_pool_t *p,
                                const char *code, tp_oauth_grant_t **out);

/* *throttled is 1 when email or address has had too many failed sign-ins
 * lately. */
tp_err_t *tp_login_throttled(tp_db_t *db, apr_pool_t *p, const char *email,
                             const char *address, int *throttled);

/* Records a failed sign-in of email from address. */
tp_err_t *tp_login_failed(tp_db_t *db, apr_pool_t *p, const char *email,
                          const char *address);

/* The password hash of an active local user, NULL when there is none. */
tp_err_t *tp_login_password_hash(tp_db_t *db, apr_pool_t *p,
                                 const char *email, const char **hash);

/* Background task: deletes expired sessions and codes and failures older
 * than the throttling window. */
tp_err_t *tp_session_purge(tp_db_t *db, apr_pool_t *p, const char **summary);

#endif
