/* Agent pools and join tokens as records (see tp_pool.h). */
#include <apr_strings.h>
#include <apr_lib.h>
#include "tp_pool.h"
#include "tp_token.h"

static const tp_stmt_t SQL_POOL_INSERT = {"pool_insert",
    "INSERT INTO agent_pools (id, name, description, labels, owner_email)"
    " VALUES (%s, %s, %s, COALESCE(%s::jsonb, '{}'), %s)"
    " ON CONFLICT (name) DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_POOL_FIND = {"pool_find",
    "SELECT id FROM agent_pools WHERE name = %s"};
static const tp_stmt_t SQL_JOIN_TOKEN_INSERT = {"pool_token_insert",
    "INSERT INTO agent_pool_tokens (id, pool_id, token_hash, description,"
    " max_uses, expires_at, created_by)"
    " VALUES (%s, %s, %s, %s, %s::integer,"
    "  COALESCE(%s::timestamptz, now() + %s::bigint * interval '1 hour'), %s)"
    " RETURNING " TP_JOIN_TOKEN_COLUMNS};

int tp_pool_name_valid(const char *name)
{
    apr_size_t n = 0;

    for (; name[n]; n++) {
        if (!apr_isalnum(name[n]) && name[n] != '-' && name[n] != '_') {
            return 0;
        }
    }
    return n >= 1 && n <= 90;
}

tp_err_t *tp_pool_create(tp_db_t *db, apr_pool_t *p, const char *name,
                         const char *description, const char *labels,
                         const char *owner_email, const char **id)
{
    const char *new_id = tp_id_generate(p, "apool");
    tp_rows_t *rows;
    tp_err_t *err;

    *id = NULL;
    if (!tp_pool_name_valid(name)) {
        return tp_err(p, 422, "name must be 1 to 90 letters, digits, '-' "
                      "or '_'");
    }
    err = tp_db_exec(db, p, &SQL_POOL_INSERT, &rows,
                     TP_DB_ARGS(new_id, name, description ? description : "",
                                labels, owner_email));
    if (!err && rows->nrows) {
        *id = new_id;
    }
    return err;
}

tp_err_t *tp_pool_find(tp_db_t *db, apr_pool_t *p, const char *name,
                       const char **id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_POOL_FIND, &rows,
                               TP_DB_ARGS(name));

    *id = !err && rows->nrows ? tp_row(rows, 0, "id") : NULL;
    return err;
}

tp_err_t *tp_join_token_create(tp_db_t *db, apr_pool_t *p,
                               const char *pool_id,
                               const tp_join_token_spec_t *spec,
                               const char **raw, tp_rows_t **row)
{
    *raw = tp_token_generate(p);
    return tp_db_exec(db, p, &SQL_JOIN_TOKEN_INSERT, row,
                      TP_DB_ARGS(tp_id_generate(p, "apt"), pool_id,
                                 tp_token_hash(p, *raw),
                                 spec->description ? spec->description : "",
                                 spec->max_uses, spec->expires_at,
                                 spec->lifespan_hours, spec->created_by));
}
