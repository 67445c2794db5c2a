/* The server's side of a backup taken while it serves (docs/backup.md).
 * A backup holds an advisory lock exclusively from before its database
 * dump until its copy of storage is complete. Rows always point at objects
 * already stored, so the only way the copy could miss an object the dump
 * names is a deletion in between: while the lock is held, deletions keep
 * the objects of the rows they delete. */
#ifndef TP_BACKUP_H
#define TP_BACKUP_H

#include "tp_db.h"

/* "tpbackup" read as a big-endian integer; tools/terrapod-backup holds it */
#define TP_BACKUP_LOCK_KEY "8390314276210570608"

/* In the caller's transaction: takes the backup lock shared, without
 * waiting, until the transaction ends; *no_backup is 0 when a backup
 * holds it
 * (the objects of rows changed now must then stay). */
tp_err_t *tp_backup_hold_off(tp_db_t *db, apr_pool_t *p, int *no_backup);

/* Runs the deleting stmt (with args) in a transaction of its own. *remove
 * is 1 when the stored objects of the deleted rows may be removed now, 0
 * while a backup runs: they then stay behind as orphans, which nothing
 * reads and a restore carries harmlessly. */
tp_err_t *tp_backup_delete(tp_db_t *db, apr_pool_t *p, const tp_stmt_t *stmt,
                           int nargs, const char **args, int *remove);

#endif
