/* Drift detection's pure parts: the drift-ignore-rules grammar and the
 * classification of a drift run's plan JSON into drifted or not once the
 * rules have silenced what a team chose to ignore. Both read what users
 * and runners send: malformed input is an error, never a crash. */
#ifndef TP_DRIFT_H
#define TP_DRIFT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "tp_error.h"

#define TP_DRIFT_RULES_MAX 50
#define TP_DRIFT_RULE_LEN_MAX 500
/* A drift run's plan JSON larger than this is classified as errored. */
#define TP_DRIFT_PLAN_MAX ((apr_off_t)64 * 1024 * 1024)

/* Checks drift-ignore-rules (an array of const char *): at most
 * TP_DRIFT_RULES_MAX rules of 1 to TP_DRIFT_RULE_LEN_MAX characters, each
 * a resource address ([module.NAME.]...[data.]TYPE.NAME, brackets
 * balanced) optionally followed by a dotted attribute path, no spaces or
 * control characters. 422 naming the first bad rule. */
tp_err_t *tp_drift_rules_check(apr_pool_t *p, const apr_array_header_t *rules);

/* Whether rule (valid as above) silences a change of the resource at
 * address: path NULL asks for the whole resource (only a bare address
 * rule matches), otherwise for one changed attribute path (dotted, list
 * elements as [N]) — a rule naming the attribute or one of its parents
 * matches. In a segment `*` matches zero or more characters (never a '.'
 * between segments, but an index such as [0]), `[*]` any bracketed index;
 * a rule's attribute segment without an index also matches the segment
 * with one (terraform renders blocks as lists). */
int tp_drift_rule_matches(apr_pool_t *p, const char *rule,
                          const char *address, const char *path);

typedef struct tp_drift_result {
    int drifted;
    apr_int64_t resources_drifted;      /* distinct managed resources */
    apr_int64_t resources_undrifted;    /* the plan's other managed ones */
} tp_drift_result_t;

/* Classifies a plan JSON (`terraform show -json` of a drift run's plan):
 * a managed resource drifted when resource_changes plans anything but a
 * no-op for it, or resource_drift records a change made outside
 * terraform, unless the rules silence it: a bare address rule silences
 * any change; attribute rules silence an in-place update when they cover
 * every attribute it changes. 422 when buf is not such a plan. */
tp_err_t *tp_drift_classify(apr_pool_t *p, const char *buf, apr_size_t len,
                            const apr_array_header_t *rules,
                            tp_drift_result_t *out);

#endif
