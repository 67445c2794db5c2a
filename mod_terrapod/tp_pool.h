/* Agent pools and their join tokens as records: what the API and
 * terrapod-admin both create. Who may create them is decided by callers. */
#ifndef TP_POOL_H
#define TP_POOL_H

#include "tp_db.h"

#define TP_JOIN_TOKEN_MAX_HOURS 8760
#define TP_JOIN_TOKEN_MAX_USES  1000000

/* The columns of a join token row, as tp_join_token_create returns it. */
#define TP_JOIN_TOKEN_COLUMNS \
    "id, pool_id, description, max_uses, uses, created_by," \
    " tp_ts(expires_at) AS expires_at, tp_ts(revoked_at) AS revoked_at," \
    " tp_ts(last_used_at) AS last_used_at, tp_ts(created_at) AS created_at"

/* 1 when name is 1 to 90 letters, digits, '-' or '_'. */
int tp_pool_name_valid(const char *name);

/* A new pool named name (checked: 422); labels is a JSON object or NULL,
 * owner_email may be NULL. *id is the new pool's id, or NULL when a pool
 * of that name exists: then nothing changed. */
tp_err_t *tp_pool_create(tp_db_t *db, apr_pool_t *p, const char *name,
                         const char *description, const char *labels,
                         const char *owner_email, const char **id);

/* The id of the pool named name; NULL when there is none. */
tp_err_t *tp_pool_find(tp_db_t *db, apr_pool_t *p, const char *name,
                       const char **id);

/* What a join token is made with, as bound values; NULL: not set.
 * expires_at (an RFC 3339 time the caller checked) wins over
 * lifespan_hours; with neither the token does not expire. */
typedef struct {
    const char *description;
    const char *max_uses;
    const char *expires_at;
    const char *lifespan_hours;
    const char *created_by;
} tp_join_token_spec_t;

/* A new join token of pool pool_id: *raw is the token itself, which only
 * the caller ever sees (its hash is stored), *row the stored token
 * (TP_JOIN_TOKEN_COLUMNS). */
tp_err_t *tp_join_token_create(tp_db_t *db, apr_pool_t *p,
                               const char *pool_id,
                               const tp_join_token_spec_t *spec,
                               const char **raw, tp_rows_t **row);

#endif
