/* Moving an instance's objects between the storage directory and an
 * S3-compatible bucket (terrapod-admin storage-migrate): the same keys on
 * both sides, each copy verified by its MD5, and an object already on the
 * other side with the same MD5 left alone, so a move that stopped half-way
 * resumes where it stopped. */
#ifndef TP_STORAGE_MOVE_H
#define TP_STORAGE_MOVE_H

#include <apr_pools.h>
#include "tp_error.h"
#include "tp_s3.h"

typedef struct tp_move_stats {
    int copied;         /* sent (or fetched) and verified */
    int kept;           /* already there with the same MD5 (or size) */
} tp_move_stats_t;

/* Copies every object under dir to the bucket (to_s3), or every object of
 * the bucket under its prefix into dir, a log's chunks merged into one
 * file. Staging files of a running server are not objects. Nothing is
 * removed from the source. */
tp_err_t *tp_storage_move(apr_pool_t *p, const char *dir, const tp_s3_t *s3,
                          int to_s3, tp_move_stats_t *stats);

#endif
