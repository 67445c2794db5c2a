/* What a plan and an apply do to resources, as TFE reports them on plans
 * and applies: counted from the plan as `terraform show -json` renders it,
 * and from the summary terraform prints at the end of an apply; and the
 * check of a state's JSON rendering. All read what a client uploaded: in
 * constant memory, in time linear in the input, and malformed input is an
 * error, never a crash. */
#ifndef TP_PLAN_H
#define TP_PLAN_H

#include <apr_pools.h>
#include "tp_error.h"

/* Containers nested deeper than this make a plan JSON unreadable. */
#define TP_PLAN_DEPTH_MAX 512
/* An apply summary is looked for in this many bytes of the log, at most. */
#define TP_APPLY_LOG_SCAN_MAX ((apr_off_t)64 * 1024 * 1024)
/* Lines are compared on this many bytes; a summary is far shorter. */
#define TP_APPLY_LINE_MAX 256

typedef struct tp_plan_counts {
    apr_int64_t additions;      /* created, replacements included */
    apr_int64_t changes;        /* updated in place */
    apr_int64_t destructions;   /* destroyed, replacements included */
    apr_int64_t imports;
    /* the plan's terraform_version, when it names one that looks like a
     * version; NULL otherwise and for an apply */
    const char *terraform_version;
} tp_plan_counts_t;

/* Fills buf with up to len bytes, *got of them; *got == 0 at the end. */
typedef apr_status_t tp_plan_read_fn(void *baton, char *buf, apr_size_t len,
                                     apr_size_t *got);

/* Counts the resource changes of a plan JSON read from read, as terraform
 * counts them for "Plan: N to import, N to add, N to change, N to
 * destroy.": resource_changes[].change.actions ["create"] adds,
 * ["update"] changes, ["delete"] destroys a managed resource, a
 * replacement (["delete","create"] or ["create","delete"]) adds and
 * destroys, ["create","forget"] adds; ["no-op"], ["read"] and ["forget"]
 * count nothing; a non-null change.importing imports. More than max
 * bytes, malformed JSON, or an object without format_version (no plan):
 * 422 saying why and where; a reader's failure: 503. */
tp_err_t *tp_plan_count(apr_pool_t *p, tp_plan_read_fn *read, void *baton,
                        apr_off_t max, tp_plan_counts_t *out);

/* The same over a buffer. */
tp_err_t *tp_plan_count_buf(apr_pool_t *p, const char *buf, apr_size_t len,
                            tp_plan_counts_t *out);

/* The same over a file; a file that cannot be read is a 503. */
tp_err_t *tp_plan_count_file(apr_pool_t *p, const char *path, apr_off_t max,
                             tp_plan_counts_t *out);

/* Checks the file at path is a state as `terraform show -json` renders
 * it (what a state version's hosted-json-state-upload-url receives): one
 * JSON object with a string format_version, at most max bytes, read as
 * the plan JSON is. 422 saying why and where otherwise; 503 when the file
 * cannot be read. */
tp_err_t *tp_state_json_check_file(apr_pool_t *p, const char *path,
                                   apr_off_t max);

/* An apply log read piece by piece, looking for the summary terraform
 * prints when an apply succeeds, at the start of a line:
 * "Apply complete! Resources: [N imported, ]N added, N changed, N
 * destroyed." or, applying a destroy plan, "Destroy complete! Resources: N
 * destroyed.". The first one counts: what follows it are outputs, which
 * may hold any text. */
typedef struct tp_apply_scan {
    char line[TP_APPLY_LINE_MAX];
    apr_size_t len;             /* bytes of the current line kept */
    int found;
    tp_plan_counts_t counts;
} tp_apply_scan_t;

void tp_apply_scan_init(tp_apply_scan_t *s);
void tp_apply_scan_feed(tp_apply_scan_t *s, const char *buf, apr_size_t len);
/* After the last piece: 1 with *out filled when a summary was found. */
int tp_apply_scan_end(tp_apply_scan_t *s, tp_plan_counts_t *out);

/* Scans at most the first TP_APPLY_LOG_SCAN_MAX bytes of the log at path;
 * *found says whether it holds a summary. A missing log holds none. */
tp_err_t *tp_apply_count_file(apr_pool_t *p, const char *path,
                              tp_plan_counts_t *out, int *found);

#endif
