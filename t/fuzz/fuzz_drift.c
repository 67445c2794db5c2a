/* Drift ignore rules and drift runs' plans: any bytes are a plan to
 * classify or a 422, never a crash; rules only ever silence (with them a
 * plan has no more drifted and no fewer undrifted resources than without
 * them); any rules and addresses are matched or not, never a crash. The
 * input's first line holds rules separated by spaces, the rest the plan. */
#include "fuzz.h"
#include "tp_drift.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *head, *plan, *word;
    char *last, *copy;
    apr_array_header_t *rules;
    tp_drift_result_t bare, with;
    tp_err_t *err, *rerr;
    int i, j;

    apr_pool_create(&p, fuzz_root);
    fuzz_split(p, data, size, &head, &plan);
    rules = apr_array_make(p, 8, sizeof(const char *));
    copy = apr_pstrdup(p, head);
    for (word = apr_strtok(copy, " ", &last); word;
         word = apr_strtok(NULL, " ", &last)) {
        APR_ARRAY_PUSH(rules, const char *) = word;
    }
    err = tp_drift_rules_check(p, rules);
    FUZZ_ASSERT(!err || err->status == 422);
    for (i = 0; i < rules->nelts && i < 8; i++) {
        for (j = 0; j < rules->nelts && j < 8; j++) {
            (void)tp_drift_rule_matches(p, APR_ARRAY_IDX(rules, i, const char *),
                                        APR_ARRAY_IDX(rules, j, const char *),
                                        NULL);
            (void)tp_drift_rule_matches(p, APR_ARRAY_IDX(rules, i, const char *),
                                        "a.b", APR_ARRAY_IDX(rules, j,
                                                             const char *));
        }
    }
    err = tp_drift_classify(p, plan, strlen(plan), NULL, &bare);
    rerr = tp_drift_classify(p, plan, strlen(plan), rules, &with);
    FUZZ_ASSERT(!err == !rerr);
    FUZZ_ASSERT(!err || err->status == 422);
    FUZZ_ASSERT(err || (with.resources_drifted <= bare.resources_drifted
                        && with.resources_undrifted >= bare.resources_undrifted
                        && bare.drifted == (bare.resources_drifted > 0)
                        && with.drifted == (with.resources_drifted > 0)));
    apr_pool_destroy(p);
    return 0;
}
