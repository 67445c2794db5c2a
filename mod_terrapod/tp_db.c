/* The apr_dbd adapter. Statements are prepared once per process without a
 * server-side name: the pgsql driver then sends them with PQexecParams, so
 * values are always bound and the prepared handles stay valid when a
 * pooled connection reconnects after a database restart. Transactions are
 * BEGIN / COMMIT / ROLLBACK sent by this adapter, not the driver's
 * transaction calls: apr_dbd_pgsql's transaction start dereferences a NULL
 * transaction when BEGIN fails, as it does on a connection whose server
 * just died. */
#include <string.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_thread_mutex.h>
#include <libpq-fe.h>
#include "tp_db.h"

struct tp_db {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    int trans;          /* a transaction is open */
    apr_pool_t *trans_pool;
    int trans_failed;   /* a statement in the open transaction failed */
};

static apr_pool_t *stmt_pool;
static apr_hash_t *stmt_cache;        /* tp_stmt_t* -> apr_dbd_prepared_t* */
static apr_thread_mutex_t *stmt_lock;

apr_status_t tp_db_init(apr_pool_t *pconf)
{
    apr_status_t rv;

    rv = apr_pool_create(&stmt_pool, pconf);
    if (rv == APR_SUCCESS) {
        stmt_cache = apr_hash_make(stmt_pool);
        rv = apr_thread_mutex_create(&stmt_lock, APR_THREAD_MUTEX_DEFAULT,
                                     stmt_pool);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_dbd_init(pconf);
    }
    return rv;
}

tp_db_t *tp_db_wrap(apr_pool_t *p, const apr_dbd_driver_t *driver,
                    apr_dbd_t *handle)
{
    tp_db_t *db = apr_pcalloc(p, sizeof(*db));

    db->driver = driver;
    db->handle = handle;
    return db;
}

static apr_status_t db_close(void *data)
{
    tp_db_t *db = data;

    apr_dbd_close(db->driver, db->handle);
    return APR_SUCCESS;
}

tp_err_t *tp_db_open(apr_pool_t *p, const char *driver_name,
                     const char *params, tp_db_t **out)
{
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle = NULL;
    const char *why = NULL;

    if (apr_dbd_get_driver(p, driver_name, &driver) != APR_SUCCESS) {
        return tp_err_internal(p, 503, "database unavailable",
                               apr_psprintf(p, "no apr_dbd driver %s",
                                            driver_name));
    }
    if (apr_dbd_open_ex(driver, p, params, &handle, &why) != APR_SUCCESS
        || !handle) {
        return tp_err_internal(p, 503, "database unavailable",
                               why ? why : "connect failed");
    }
    *out = tp_db_wrap(p, driver, handle);
    apr_pool_cleanup_register(p, *out, db_close, apr_pool_cleanup_null);
    return NULL;
}

/* A failed statement is 503 when the connection is gone, 500 otherwise. */
static tp_err_t *db_error(tp_db_t *db, apr_pool_t *p, const tp_stmt_t *stmt,
                          int rv)
{
    PGconn *conn = apr_dbd_native_handle(db->driver, db->handle);
    const char *msg = apr_dbd_error(db->driver, db->handle, rv);
    const char *log = apr_psprintf(p, "%s: %s", stmt ? stmt->name : "sql",
                                   msg ? msg : "unknown error");

    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        return tp_err_internal(p, 503, "database unavailable", log);
    }
    return tp_err_internal(p, 500, "database error", log);
}

/* 1 when the connection had dropped and is usable again after a reset. */
static int reconnected(tp_db_t *db, apr_pool_t *p)
{
    PGconn *conn = apr_dbd_native_handle(db->driver, db->handle);

    return conn && PQstatus(conn) != CONNECTION_OK
           && apr_dbd_check_conn(db->driver, p, db->handle) == APR_SUCCESS;
}

static tp_err_t *prepared(tp_db_t *db, apr_pool_t *p, const tp_stmt_t *stmt,
                          apr_dbd_prepared_t **out)
{
    int rv = 0;

    apr_thread_mutex_lock(stmt_lock);
    *out = apr_hash_get(stmt_cache, &stmt, sizeof(stmt));
    if (!*out) {
        rv = apr_dbd_prepare(db->driver, stmt_pool, db->handle, stmt->sql,
                             NULL, out);
        if (rv == 0) {
            apr_hash_set(stmt_cache, apr_pmemdup(stmt_pool, &stmt,
                                                 sizeof(stmt)),
                         sizeof(stmt), *out);
        }
    }
    apr_thread_mutex_unlock(stmt_lock);
    return rv ? db_error(db, p, stmt, rv) : NULL;
}

static tp_rows_t *copy_rows(tp_db_t *db, apr_pool_t *p, apr_dbd_results_t *res)
{
    tp_rows_t *rows = apr_pcalloc(p, sizeof(*rows));
    apr_dbd_row_t *row = NULL;
    int c, r;

    rows->ncols = apr_dbd_num_cols(db->driver, res);
    rows->nrows = apr_dbd_num_tuples(db->driver, res);
    rows->names = apr_pcalloc(p, sizeof(char *) * (rows->ncols + 1));
    rows->cells = apr_pcalloc(p, sizeof(char *)
                                 * ((apr_size_t)rows->nrows * rows->ncols + 1));
    for (c = 0; c < rows->ncols; c++) {
        rows->names[c] = apr_pstrdup(p, apr_dbd_get_name(db->driver, res, c));
    }
    for (r = 0; r < rows->nrows; r++) {
        if (apr_dbd_get_row(db->driver, p, res, &row, -1) != 0) {
            break;
        }
        for (c = 0; c < rows->ncols; c++) {
            char *v = NULL;

            /* datum_get tells SQL NULL (APR_ENOENT) from an empty string */
            if (apr_dbd_datum_get(db->driver, row, c, APR_DBD_TYPE_STRING,
                                  &v) == APR_SUCCESS) {
                rows->cells[r * rows->ncols + c] = apr_pstrdup(p, v);
            }
        }
    }
    return rows;
}

tp_err_t *tp_db_exec(tp_db_t *db, apr_pool_t *p, const tp_stmt_t *stmt,
                     tp_rows_t **rows, int nargs, const char **args)
{
    apr_dbd_prepared_t *ps;
    apr_dbd_results_t *res = NULL;
    tp_err_t *err;
    int rv;

    err = prepared(db, p, stmt, &ps);
    if (err) {
        return err;
    }
    rv = apr_dbd_pselect(db->driver, p, db->handle, &res, ps, 1, nargs,
                         args);
    if (rv != 0 && !db->trans && reconnected(db, p)) {
        /* a pooled connection outlived a database restart: the statement
         * failed on the dead session, so it is sent once more on the new */
        rv = apr_dbd_pselect(db->driver, p, db->handle, &res, ps, 1, nargs,
                             args);
    }
    if (rv != 0) {
        db->trans_failed = db->trans;
        return db_error(db, p, stmt, rv);
    }
    if (rows) {
        *rows = copy_rows(db, p, res);
    }
    return NULL;
}

tp_err_t *tp_db_script(tp_db_t *db, apr_pool_t *p, const char *sql)
{
    int nrows = 0;
    int rv = apr_dbd_query(db->driver, db->handle, &nrows, sql);

    if (rv != 0) {
        db->trans_failed = db->trans;
        return db_error(db, p, NULL, rv);
    }
    return NULL;
}

static apr_status_t trans_cleanup(void *data)
{
    tp_db_rollback(data);
    return APR_SUCCESS;
}

/* One statement of transaction control, without parameters. */
static int control(tp_db_t *db, const char *sql)
{
    int nrows = 0;

    return apr_dbd_query(db->driver, db->handle, &nrows, sql);
}

tp_err_t *tp_db_begin(tp_db_t *db, apr_pool_t *p)
{
    int rv = control(db, "BEGIN");

    if (rv != 0 && reconnected(db, p)) {
        /* nothing ran on the dead session yet: begin on the new one */
        rv = control(db, "BEGIN");
    }
    if (rv != 0) {
        return db_error(db, p, NULL, rv);
    }
    db->trans = 1;
    db->trans_pool = p;
    db->trans_failed = 0;
    apr_pool_cleanup_register(p, db, trans_cleanup, apr_pool_cleanup_null);
    return NULL;
}

static int trans_end(tp_db_t *db, const char *how)
{
    int rv = 0;

    if (db->trans) {
        rv = control(db, how);
        db->trans = 0;
        apr_pool_cleanup_kill(db->trans_pool, db, trans_cleanup);
    }
    return rv;
}

tp_err_t *tp_db_commit(tp_db_t *db)
{
    apr_pool_t *p = db->trans_pool;
    int failed = db->trans_failed;
    int rv;

    if (failed) {
        tp_db_rollback(db);
        return tp_err_internal(p, 500, "database error",
                               "commit after a failed statement");
    }
    rv = trans_end(db, "COMMIT");

    return rv ? db_error(db, p, NULL, rv) : NULL;
}

void tp_db_rollback(tp_db_t *db)
{
    trans_end(db, "ROLLBACK");
}

const char *tp_row(const tp_rows_t *rows, int row, const char *column)
{
    int c;

    if (!rows || row < 0 || row >= rows->nrows) {
        return NULL;
    }
    for (c = 0; c < rows->ncols; c++) {
        if (strcmp(rows->names[c], column) == 0) {
            return rows->cells[row * rows->ncols + c];
        }
    }
    return NULL;
}

int tp_row_bool(const tp_rows_t *rows, int row, const char *column)
{
    const char *v = tp_row(rows, row, column);

    return v && v[0] == 't';
}

int tp_db_alive(tp_db_t *db, apr_pool_t *p)
{
    return apr_dbd_check_conn(db->driver, p, db->handle) == APR_SUCCESS;
}
