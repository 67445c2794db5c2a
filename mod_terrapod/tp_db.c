/* The database adapter: apr_dbd connections (mod_dbd's or our own) and
 * transactions, with statements run through libpq as named prepared
 * statements of each session. The server parses and plans a statement
 * once per session instead of on every execution, which for the short
 * statements of hot reads was most of the database's work; values are
 * always bound. Transactions are BEGIN / COMMIT / ROLLBACK sent by this
 * adapter, not the driver's transaction calls: apr_dbd_pgsql's transaction
 * start dereferences a NULL transaction when BEGIN fails, as it does on a
 * connection whose server just died. */
#include <stdlib.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include <poll.h>
#include <libpq-fe.h>
#include "tp_db.h"

struct tp_db {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_pool_t *session_pool;   /* lives as long as the connection */
    int trans;          /* a transaction is open */
    apr_pool_t *trans_pool;
    int trans_failed;   /* a statement in the open transaction failed */
    int trans_wrote;    /* a statement in it may have changed data */
    volatile apr_uint32_t *writes;   /* NULL: changes are not counted */
};

/* What one session has prepared. A connection that was reset after a
 * database restart has a new backend, whose session starts empty. */
typedef struct {
    apr_pool_t *pool;        /* the names; cleared with a new backend */
    int backend_pid;
    apr_hash_t *names;       /* tp_stmt_t* -> statement name */
    unsigned next;
} session_t;

#define SESSION_KEY "tp_db_session"

apr_status_t tp_db_init(apr_pool_t *pconf)
{
    return apr_dbd_init(pconf);
}

tp_db_t *tp_db_wrap(apr_pool_t *p, const apr_dbd_driver_t *driver,
                    apr_dbd_t *handle, apr_pool_t *session_pool)
{
    tp_db_t *db = apr_pcalloc(p, sizeof(*db));

    db->driver = driver;
    db->handle = handle;
    db->session_pool = session_pool;
    return db;
}

static apr_status_t db_close(void *data)
{
    tp_db_t *db = data;

    apr_dbd_close(db->driver, db->handle);
    return APR_SUCCESS;
}

/* libpq's messages span lines ("server closed the connection
 * unexpectedly\n\tThis probably means ...\n"), which the error log would
 * show as literal \n and \t: one line, each run of white space one
 * space. */
static const char *one_line(apr_pool_t *p, const char *msg)
{
    char *out = apr_palloc(p, strlen(msg) + 1), *o = out;

    for (; *msg; msg++) {
        if (!apr_isspace(*msg)) {
            *o++ = *msg;
        }
        else if (o > out && o[-1] != ' ') {
            *o++ = ' ';
        }
    }
    if (o > out && o[-1] == ' ') {
        o--;
    }
    *o = '\0';
    return out;
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
                               why ? one_line(p, why) : "connect failed");
    }
    *out = tp_db_wrap(p, driver, handle, p);
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
                                   msg ? one_line(p, msg) : "unknown error");

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

static session_t *session_of(tp_db_t *db, PGconn *conn)
{
    session_t *s = NULL;

    apr_pool_userdata_get((void **)&s, SESSION_KEY, db->session_pool);
    if (!s) {
        s = apr_pcalloc(db->session_pool, sizeof(*s));
        apr_pool_create(&s->pool, db->session_pool);
        apr_pool_userdata_setn(s, SESSION_KEY, NULL, db->session_pool);
    }
    if (!s->names || s->backend_pid != PQbackendPID(conn)) {
        apr_pool_clear(s->pool);
        s->names = apr_hash_make(s->pool);
        s->backend_pid = PQbackendPID(conn);
    }
    return s;
}

/* The statement's %s placeholders as libpq's $1, $2, ...; %% is a %. */
static const char *numbered(apr_pool_t *p, const char *sql, int *nparams)
{
    char *out = apr_palloc(p, strlen(sql) * 2 + 1), *o = out;
    const char *c;

    *nparams = 0;
    for (c = sql; *c; c++) {
        if (c[0] == '%' && c[1] == 's') {
            o += sprintf(o, "$%d", ++*nparams);
            c++;
        }
        else {
            *o++ = *c;
            c += c[0] == '%' && c[1] == '%';
        }
    }
    *o = '\0';
    return out;
}

/* The statement's name on this session, preparing it at first use. */
static tp_err_t *prepared(tp_db_t *db, apr_pool_t *p, PGconn *conn,
                          const tp_stmt_t *stmt, const char **name)
{
    session_t *s = session_of(db, conn);
    const char *label, *sql;
    PGresult *res;
    int nparams, ok;

    *name = apr_hash_get(s->names, &stmt, sizeof(stmt));
    if (*name) {
        return NULL;
    }
    label = apr_psprintf(s->pool, "tp%u", s->next++);
    sql = numbered(p, stmt->sql, &nparams);
    res = PQprepare(conn, label, sql, nparams, NULL);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        return db_error(db, p, stmt, 1);
    }
    apr_hash_set(s->names, apr_pmemdup(s->pool, &stmt, sizeof(stmt)),
                 sizeof(stmt), label);
    *name = label;
    return NULL;
}

/* Runs the statement on the session; *res is the caller's to clear. */
static tp_err_t *run(tp_db_t *db, apr_pool_t *p, const tp_stmt_t *stmt,
                     int nargs, const char **args, PGresult **res)
{
    PGconn *conn = apr_dbd_native_handle(db->driver, db->handle);
    const char *name;
    tp_err_t *err = prepared(db, p, conn, stmt, &name);
    ExecStatusType st;

    if (err) {
        return err;
    }
    *res = PQexecPrepared(conn, name, nargs, args, NULL, NULL, 0);
    st = PQresultStatus(*res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        PQclear(*res);
        *res = NULL;
        return db_error(db, p, stmt, 1);
    }
    return NULL;
}

static tp_rows_t *copy_rows(apr_pool_t *p, PGresult *res)
{
    tp_rows_t *rows = apr_pcalloc(p, sizeof(*rows));
    int c, r;

    rows->ncols = PQnfields(res);
    rows->nrows = PQntuples(res);
    rows->changed = atoll(PQcmdTuples(res));    /* "" for a query */
    rows->names = apr_pcalloc(p, sizeof(char *) * (rows->ncols + 1));
    rows->cells = apr_pcalloc(p, sizeof(char *)
                                 * ((apr_size_t)rows->nrows * rows->ncols + 1));
    for (c = 0; c < rows->ncols; c++) {
        rows->names[c] = apr_pstrdup(p, PQfname(res, c));
    }
    for (r = 0; r < rows->nrows; r++) {
        for (c = 0; c < rows->ncols; c++) {
            /* SQL NULL stays NULL, unlike an empty string */
            if (!PQgetisnull(res, r, c)) {
                rows->cells[r * rows->ncols + c] =
                    apr_pstrmemdup(p, PQgetvalue(res, r, c),
                                   (apr_size_t)PQgetlength(res, r, c));
            }
        }
    }
    return rows;
}

void tp_db_count_writes(tp_db_t *db, volatile apr_uint32_t *counter)
{
    db->writes = counter;
}

static int name_char(char c)
{
    return apr_isalnum(c) || c == '_';
}

/* Whether at, in sql, follows "FOR " or "KEY ": the UPDATE of a row lock
 * (FOR UPDATE, FOR NO KEY UPDATE), which changes nothing. */
static int row_lock(const char *sql, const char *at)
{
    return (at - sql >= 4 && strncmp(at - 4, "FOR ", 4) == 0)
           || (at - sql >= 4 && strncmp(at - 4, "KEY ", 4) == 0);
}

/* Whether word (upper case, as this code writes SQL keywords) stands in
 * sql on its own, not as part of a longer name nor as a row lock. */
static int has_keyword(const char *sql, const char *word)
{
    apr_size_t n = strlen(word);
    const char *at;

    for (at = strstr(sql, word); at; at = strstr(at + n, word)) {
        if ((at == sql || !name_char(at[-1])) && !name_char(at[n])
            && !row_lock(sql, at)) {
            return 1;
        }
    }
    return 0;
}

/* Whether sql may change data: anything but a plain query (a row lock
 * changes nothing: what the transaction then writes counts). */
static int may_write(const char *sql)
{
    while (apr_isspace(*sql)) {
        sql++;
    }
    return (strncmp(sql, "SELECT", 6) != 0 && strncmp(sql, "WITH", 4) != 0)
           || has_keyword(sql, "INSERT") || has_keyword(sql, "UPDATE")
           || has_keyword(sql, "DELETE");
}

/* Whether res says its statement changed nothing: an INSERT, UPDATE,
 * DELETE or MERGE of no row (a purge or a claim with nothing to do). A
 * query that writes in a WITH answers as a SELECT and counts as it is. */
static int changed_nothing(PGresult *res)
{
    const char *status = PQcmdStatus(res);

    return (strncmp(status, "INSERT ", 7) == 0
            || strncmp(status, "UPDATE ", 7) == 0
            || strncmp(status, "DELETE ", 7) == 0
            || strncmp(status, "MERGE ", 6) == 0)
           && strcmp(PQcmdTuples(res), "0") == 0;
}

/* Counts a change made outside a transaction now, one made inside at its
 * commit. */
static void wrote(tp_db_t *db)
{
    if (!db->writes) {
        return;
    }
    if (db->trans) {
        db->trans_wrote = 1;
    } else {
        apr_atomic_inc32(db->writes);
    }
}

tp_err_t *tp_db_exec(tp_db_t *db, apr_pool_t *p, const tp_stmt_t *stmt,
                     tp_rows_t **rows, int nargs, const char **args)
{
    PGresult *res = NULL;
    tp_err_t *err = run(db, p, stmt, nargs, args, &res);

    if (err && !db->trans && reconnected(db, p)) {
        /* a pooled connection outlived a database restart: the statement
         * failed on the dead session, so it is prepared and sent once
         * more on the new */
        err = run(db, p, stmt, nargs, args, &res);
    }
    if (err) {
        db->trans_failed = db->trans;
        return err;
    }
    /* the statement's text is only looked at where changes are counted */
    if (db->writes && may_write(stmt->sql) && !changed_nothing(res)) {
        wrote(db);
    }
    if (rows) {
        *rows = copy_rows(p, res);
    }
    PQclear(res);
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
    wrote(db);
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
    db->trans_wrote = 0;
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
    /* counted even when COMMIT reports an error: a connection lost while
     * it ran may still have committed */
    if (db->trans_wrote) {
        wrote(db);
    }
    return rv ? db_error(db, p, NULL, rv) : NULL;
}

void tp_db_rollback(tp_db_t *db)
{
    trans_end(db, "ROLLBACK");
}

/* Drops what was heard so far; 1 when there was anything. Each of
 * channels (NULL-terminated; NULL: none) heard sets its bit in *bits. */
static int drain_notifies(PGconn *conn, const char *const *channels,
                          unsigned *bits)
{
    PGnotify *n;
    int any = 0, i;

    while ((n = PQnotifies(conn)) != NULL) {
        for (i = 0; channels && channels[i]; i++) {
            if (strcmp(channels[i], n->relname) == 0) {
                *bits |= 1u << i;
            }
        }
        PQfreemem(n);
        any = 1;
    }
    return any;
}

static apr_status_t unlisten(void *data)
{
    tp_db_t *db = data;
    PGconn *conn = apr_dbd_native_handle(db->driver, db->handle);
    int nrows;

    /* a pooled connection goes back to others deaf, with nothing queued */
    apr_dbd_query(db->driver, db->handle, &nrows, "UNLISTEN *");
    if (conn) {
        drain_notifies(conn, NULL, NULL);
    }
    return APR_SUCCESS;
}

tp_err_t *tp_db_listen(tp_db_t *db, apr_pool_t *p, const char *channel)
{
    tp_err_t *err = tp_db_script(db, p, apr_pstrcat(p, "LISTEN ", channel,
                                                    NULL));

    if (!err) {
        apr_pool_cleanup_register(p, db, unlisten, apr_pool_cleanup_null);
    }
    return err;
}

int tp_db_session(tp_db_t *db)
{
    PGconn *conn = apr_dbd_native_handle(db->driver, db->handle);

    return conn ? PQbackendPID(conn) : 0;
}

/* 1 when a notification was drained; -1 when reading found the
 * connection gone. */
static int heard(PGconn *conn, const char *const *channels, unsigned *bits)
{
    if (!PQconsumeInput(conn)) {
        return PQstatus(conn) == CONNECTION_OK ? 0 : -1;
    }
    return drain_notifies(conn, channels, bits);
}

int tp_db_notified_on(tp_db_t *db, apr_interval_time_t timeout,
                      const char *const *channels, unsigned *bits)
{
    PGconn *conn = apr_dbd_native_handle(db->driver, db->handle);
    struct pollfd pfd;
    int got;

    if (bits) {
        *bits = 0;
    }
    if (!conn || PQsocket(conn) < 0) {
        apr_sleep(timeout);
        return -1;
    }
    if ((got = heard(conn, channels, bits)) != 0) {
        return got;
    }
    pfd.fd = PQsocket(conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, (int)apr_time_as_msec(timeout)) <= 0) {
        return 0;
    }
    /* a dropped connection is readable too */
    return heard(conn, channels, bits);
}

int tp_db_notified(tp_db_t *db, apr_interval_time_t timeout)
{
    return tp_db_notified_on(db, timeout, NULL, NULL);
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

const char *tp_db_bool(int v)
{
    return v ? "true" : "false";
}
