/* Database access through apr_dbd: prepared statements with bound values
 * only, results copied into pool memory, errors mapped to HTTP statuses
 * (503 when the database cannot be reached, 500 otherwise). */
#ifndef TP_DB_H
#define TP_DB_H

#include <apr_pools.h>
#include <apr_dbd.h>
#include "tp_error.h"

/* A statement lives next to the code that runs it. The SQL uses %s for
 * each bound value (apr_dbd turns them into $1..$n). */
typedef struct tp_stmt {
    const char *name;   /* for logs */
    const char *sql;
} tp_stmt_t;

typedef struct tp_db tp_db_t;

typedef struct tp_rows {
    int nrows;
    int ncols;
    const char **names;   /* ncols column names */
    const char **cells;   /* nrows * ncols values, NULL for SQL NULL */
    long long changed;    /* rows an INSERT, UPDATE, DELETE or MERGE
                             changed; 0 for a query */
} tp_rows_t;

/* Once per process, before any statement runs. */
apr_status_t tp_db_init(apr_pool_t *pconf);

/* Wraps a connection someone else owns (mod_dbd's pool) for the life of
 * p; session_pool lives as long as the connection itself and keeps what
 * its session has prepared. */
tp_db_t *tp_db_wrap(apr_pool_t *p, const apr_dbd_driver_t *driver,
                    apr_dbd_t *handle, apr_pool_t *session_pool);

/* Opens a connection of our own (background child, migrations, tools);
 * it is closed when p is cleared. */
tp_err_t *tp_db_open(apr_pool_t *p, const char *driver_name,
                     const char *params, tp_db_t **out);

/* Makes db count in *counter (shared memory) the changes committed
 * through it: a statement that may change data counts once it has run
 * outside a transaction, a transaction that ran one once its COMMIT has
 * been sent. What was read before the count moved may be stale, so the
 * read caches tied to the counter drop it. */
void tp_db_count_writes(tp_db_t *db, volatile apr_uint32_t *counter);

/* Runs a statement. rows may be NULL for statements whose result does not
 * matter; use RETURNING where the rows a change touched matter. */
tp_err_t *tp_db_exec(tp_db_t *db, apr_pool_t *p, const tp_stmt_t *stmt,
                     tp_rows_t **rows, int nargs, const char **args);

/* Convenience for statements taking at least one value. */
#define TP_DB_ARGS(...) \
    (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
    (const char *[]){__VA_ARGS__}

/* Runs SQL text with no bound values (schema files). */
tp_err_t *tp_db_script(tp_db_t *db, apr_pool_t *p, const char *sql);

/* Transactions: tp_db_commit ends it, committing unless a statement in it
 * failed; a transaction still open when p is cleaned up is rolled back. */
tp_err_t *tp_db_begin(tp_db_t *db, apr_pool_t *p);
tp_err_t *tp_db_commit(tp_db_t *db);
void tp_db_rollback(tp_db_t *db);

/* A cell by row and column name; NULL for SQL NULL or an unknown column. */
const char *tp_row(const tp_rows_t *rows, int row, const char *column);

/* A boolean cell: 1 for SQL true, 0 for false or NULL. */
int tp_row_bool(const tp_rows_t *rows, int row, const char *column);

/* A C truth value as a boolean parameter ("true" or "false"). */
const char *tp_db_bool(int v);

/* Wake-ups: LISTEN on a channel (a fixed identifier, never a value)
 * until p is cleaned up, then UNLISTEN; tp_db_notified waits at most
 * timeout for a NOTIFY on it and is 1 when one came, 0 when none did and
 * -1 when the connection is gone (the next statement reconnects it, and
 * the LISTEN must then be sent again). Nothing else may run on the
 * connection while it waits. */
tp_err_t *tp_db_listen(tp_db_t *db, apr_pool_t *p, const char *channel);
int tp_db_notified(tp_db_t *db, apr_interval_time_t timeout);
/* The same, telling which of channels (NULL-terminated) were heard: bit
 * i of *bits for channels[i]. */
int tp_db_notified_on(tp_db_t *db, apr_interval_time_t timeout,
                      const char *const *channels, unsigned *bits);
/* The server session of db (its backend's pid): another one after a
 * statement means the adapter reconnected, and LISTENs were lost. */
int tp_db_session(tp_db_t *db);

#endif
