/* The schema migrator shared by Apache's start-up, the background child and
 * the admin tool. Each file runs in its own transaction with its record. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_tables.h>
#include <apr_lib.h>
#include "tp_migrate.h"

/* pg advisory lock key: "tpschema" read as a big-endian integer */
#define MIGRATE_LOCK_KEY "8390876132113425761"

static const tp_stmt_t SQL_LOCK = {"migrate_lock",
    "SELECT pg_advisory_lock(%s::bigint)"};
static const tp_stmt_t SQL_UNLOCK = {"migrate_unlock",
    "SELECT pg_advisory_unlock(%s::bigint)"};
static const tp_stmt_t SQL_APPLIED = {"migrate_applied",
    "SELECT version FROM schema_migrations WHERE version = %s"};
static const tp_stmt_t SQL_RECORD = {"migrate_record",
    "INSERT INTO schema_migrations (version) VALUES (%s)"};

static const char SQL_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* NNNN_name.sql */
static int is_migration(const char *name)
{
    apr_size_t len = strlen(name);

    return len > 9 && apr_isdigit(name[0]) && apr_isdigit(name[1])
           && apr_isdigit(name[2]) && apr_isdigit(name[3]) && name[4] == '_'
           && strcmp(name + len - 4, ".sql") == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static tp_err_t *list_files(apr_pool_t *p, const char *dir,
                            apr_array_header_t **out)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_array_header_t *names = apr_array_make(p, 16, sizeof(char *));

    if (apr_dir_open(&d, dir, p) != APR_SUCCESS) {
        return tp_err(p, 500, "cannot read schema directory %s", dir);
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS) {
        if (fi.filetype == APR_REG && is_migration(fi.name)) {
            *(char **)apr_array_push(names) = apr_pstrdup(p, fi.name);
        }
    }
    apr_dir_close(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(char *), by_name);
    *out = names;
    return NULL;
}

static tp_err_t *apply_one(tp_db_t *db, apr_pool_t *p, const char *dir,
                           const char *name, int *applied)
{
    const char *version = apr_pstrndup(p, name, strlen(name) - 4);
    char *path = apr_pstrcat(p, dir, "/", name, NULL);
    apr_file_t *f;
    apr_finfo_t fi;
    char *sql;
    apr_size_t len;
    tp_rows_t *rows;
    tp_err_t *err;

    err = tp_db_exec(db, p, &SQL_APPLIED, &rows, TP_DB_ARGS(version));
    if (err || rows->nrows > 0) {
        return err;
    }
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return tp_err(p, 500, "cannot read %s", path);
    }
    len = (apr_size_t)fi.size;
    sql = apr_palloc(p, len + 1);
    if (apr_file_read_full(f, sql, len, &len) != APR_SUCCESS) {
        apr_file_close(f);
        return tp_err(p, 500, "cannot read %s", path);
    }
    sql[len] = '\0';
    apr_file_close(f);

    if ((err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_script(db, p, sql)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RECORD, NULL, TP_DB_ARGS(version)))
           != NULL
        || (err = tp_db_commit(db)) != NULL) {
        tp_db_rollback(db);
        if (err->log) {
            err->log = apr_psprintf(p, "%s: %s", name, err->log);
        }
        return err;
    }
    (*applied)++;
    return NULL;
}

tp_err_t *tp_migrate(tp_db_t *db, apr_pool_t *p, const char *dir,
                     int *applied)
{
    apr_array_header_t *names = NULL;
    tp_err_t *err;
    int i;

    *applied = 0;
    if ((err = list_files(p, dir, &names)) != NULL
        || (err = tp_db_exec(db, p, &SQL_LOCK, NULL,
                             TP_DB_ARGS(MIGRATE_LOCK_KEY))) != NULL) {
        return err;
    }
    err = tp_db_script(db, p, SQL_TABLE);
    for (i = 0; !err && i < names->nelts; i++) {
        err = apply_one(db, p, dir, APR_ARRAY_IDX(names, i, const char *),
                        applied);
    }
    /* the lock is the session's: losing the connection releases it too */
    tp_db_exec(db, p, &SQL_UNLOCK, NULL, TP_DB_ARGS(MIGRATE_LOCK_KEY));
    return err;
}
