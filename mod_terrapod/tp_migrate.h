/* Schema files sql/NNNN_name.sql, applied in order, each exactly once,
 * under a PostgreSQL advisory lock so concurrent starters serialise. */
#ifndef TP_MIGRATE_H
#define TP_MIGRATE_H

#include "tp_db.h"

/* Applies the files of dir not yet recorded in schema_migrations; sets
 * *applied to how many it applied. */
tp_err_t *tp_migrate(tp_db_t *db, apr_pool_t *p, const char *dir,
                     int *applied);

#endif
