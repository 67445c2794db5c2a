/* Who is calling: users, their API tokens (of three kinds) and the roles
 * a token acts with. */
#ifndef TP_AUTH_H
#define TP_AUTH_H

#include "tp_db.h"
#include "tp_rbac.h"
#include "tp_cache.h"

typedef struct tp_principal {
    /* email, platform roles, and custom roles once tp_principal_roles
     * has read them */
    tp_grants_t grants;
    const char *roles_json;   /* the custom roles as the lookup gave them */
    const char *user_id;
    const char *display_name;
    const char *token_id;     /* NULL when signed in with a session */
    const char *token_kind;   /* one of tp_token_kinds; sessions: interactive */
    const char *session_id;   /* NULL when calling with an API token */
    int is_service_account;
} tp_principal_t;

/* The custom roles of the roles rows aliased r, as the one JSON array
 * tp_principal_from_row reads (its "roles" column). */
#define TP_ROLES_JSON \
    " (SELECT json_agg(json_build_object(" \
    "           'name', r.name," \
    "           'workspace_permission', r.workspace_permission," \
    "           'pool_permission', r.pool_permission," \
    "           'registry_permission', r.registry_permission," \
    "           'allow_labels', r.allow_labels," \
    "           'allow_names', r.allow_names," \
    "           'deny_labels', r.deny_labels," \
    "           'deny_names', r.deny_names))"

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
    TP_ROLES_JSON \
    "    FROM role_assignments ra JOIN roles r ON r.name = ra.role_name" \
    "   WHERE ra.email = u.email AND NOT r.built_in) AS roles"

/* The principal in row 0 of a lookup selecting TP_PRINCIPAL_COLUMNS. Its
 * custom roles stay unread JSON until tp_principal_roles. */
tp_principal_t *tp_principal_from_row(apr_pool_t *p, const tp_rows_t *rows);

/* Reads who's custom roles into who->grants, once. Call it before any
 * access decision: until then who acts with its platform roles only.
 * Parsing them was the largest part of the module's own work for a kept
 * answer, so a request answered from the read cache never does. */
void tp_principal_roles(apr_pool_t *p, tp_principal_t *who);

/* Token kinds: "interactive" acts with its owner's live roles;
 * "service_bound" with its pinned roles that the owner still holds, and
 * only while the owner signs in regularly; "service_detached" has no
 * owner and its pinned roles are its whole scope. NULL-terminated. */
extern const char *const tp_token_kinds[];
#define TP_TOKEN_INTERACTIVE "interactive"
#define TP_TOKEN_BOUND "service_bound"
#define TP_TOKEN_DETACHED "service_detached"

/* Defaults of the token directives. */
#define TP_BOUND_IDLE_DAYS_DEFAULT 7
#define TP_SERVICE_TTL_HOURS_DEFAULT 8760
#define TP_EXPIRY_WARNING_DAYS_DEFAULT 14
/* interactive tokens may last a year at most, or never expire */
#define TP_INTERACTIVE_TTL_HOURS_MAX 8760

/* Resolves a raw API token: 401 when malformed, unknown or expired, when
 * its owner is deactivated, or when it is service_bound and its owner has
 * not signed in for bound_idle_days. The principal's grants are the
 * token's effective roles (see tp_token_kinds). Marks the token used at
 * most once a minute. With a cache (NULL: none), the lookup of a token
 * that was accepted moments ago is taken from it. */
tp_err_t *tp_auth_token(tp_db_t *db, apr_pool_t *p, tp_cache_t *cache,
                        const char *raw, int bound_idle_days,
                        tp_principal_t **out);

/* The lifespan in hours a token of kind gets when requested hours are
 * asked for (0: none asked): interactive tokens may not expire and last at
 * most TP_INTERACTIVE_TTL_HOURS_MAX; service tokens always expire, after
 * service_max_hours unless asked for less. 422 beyond the cap. */
tp_err_t *tp_token_lifespan(apr_pool_t *p, const char *kind,
                            long long requested, int service_max_hours,
                            long long *hours);

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

/* The columns of a user row as the API shows it. */
#define TP_USER_COLUMNS \
    "email, id, display_name, is_active, is_service_account," \
    " to_char(created_at AT TIME ZONE 'UTC'," \
    "         'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at," \
    " to_char(last_login_at AT TIME ZONE 'UTC'," \
    "         'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_login_at"

/* Creates a local user; 409 when the email is taken. Returns the new row
 * (TP_USER_COLUMNS). */
tp_err_t *tp_user_create(tp_db_t *db, apr_pool_t *p, const char *email,
                         const char *display_name, const char *password,
                         tp_rows_t **row);

/* The user row by email; 404 when there is none. */
tp_err_t *tp_user_get(tp_db_t *db, apr_pool_t *p, const char *email,
                      tp_rows_t **row);

/* What a new token is. */
typedef struct tp_token_spec {
    const char *kind;          /* one of tp_token_kinds */
    const char *email;         /* the owner; NULL for service_detached */
    const char *created_by;
    const char *description;
    const char *pinned_json;   /* JSON array of role names; NULL when none */
    /* 0: no expiry; negative values make an already expired token, for
     * tests of expiry */
    long long lifespan_seconds;
} tp_token_spec_t;

/* Mints a token; 404 when its owner does not exist. Returns the raw
 * secret once; only its hash is stored. */
tp_err_t *tp_token_mint(tp_db_t *db, apr_pool_t *p,
                        const tp_token_spec_t *spec, const char **raw,
                        const char **id);

/* Gives token id a new secret (the old one stops working at once), sets
 * rotated_at and restarts its lifespan from now; 404 when it is gone. */
tp_err_t *tp_token_rotate(tp_db_t *db, apr_pool_t *p, const char *id,
                          const char **raw);

/* Mints an interactive API token for email, issued by created_by, valid
 * lifespan_seconds (as tp_token_spec_t). */
tp_err_t *tp_token_create(tp_db_t *db, apr_pool_t *p, const char *email,
                          const char *created_by, const char *description,
                          long long lifespan_seconds, const char **raw,
                          const char **id);

/* Background task: deletes tokens past their expiry. */
tp_err_t *tp_auth_purge_expired(tp_db_t *db, apr_pool_t *p,
                                const char **summary);

#endif
