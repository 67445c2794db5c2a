/* Deletions that keep stored objects while a backup runs. */
#include "tp_backup.h"

/* Shared: deletions never wait for each other. Held until the deletion
 * commits, so a backup taking the lock waits for deletions under way, and
 * its dump, started after, never names what they deleted. */
static const tp_stmt_t SQL_NO_BACKUP = {"backup_try_shared",
    "SELECT pg_try_advisory_xact_lock_shared(%s::bigint) AS free"};

tp_err_t *tp_backup_hold_off(tp_db_t *db, apr_pool_t *p, int *no_backup)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_NO_BACKUP, &rows,
                               TP_DB_ARGS(TP_BACKUP_LOCK_KEY));

    *no_backup = !err && tp_row_bool(rows, 0, "free");
    return err;
}

tp_err_t *tp_backup_delete(tp_db_t *db, apr_pool_t *p, const tp_stmt_t *stmt,
                           int nargs, const char **args, int *remove)
{
    tp_err_t *err;
    int no_backup;

    *remove = 0;
    if ((err = tp_db_begin(db, p)) != NULL) {
        return err;
    }
    if ((err = tp_backup_hold_off(db, p, &no_backup)) != NULL
        || (err = tp_db_exec(db, p, stmt, NULL, nargs, args)) != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    *remove = no_backup;
    return NULL;
}
