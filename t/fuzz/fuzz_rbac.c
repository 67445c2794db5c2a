/* The label-rule evaluator: a custom role as stored (JSON), a resource
 * name and its labels, combined the way every access decision does. */
#include "fuzz.h"
#include "tp_json.h"
#include "tp_rbac.h"

/* Input: {"role": {...}, "name": "...", "labels": {...}, "owner": "..."} */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    tp_json_t *doc;
    tp_role_t *role;
    apr_array_header_t *roles;
    tp_grants_t who = {"fuzz@example.com", 0, 0, NULL};
    tp_resource_t res;
    tp_level_e level;
    int axis;

    apr_pool_create(&p, fuzz_root);
    doc = tp_json_parse(p, (const char *)data, size, NULL);
    role = doc ? tp_role_from_json(p, tp_json_get(doc, "role", NULL)) : NULL;
    if (role) {
        res.name = tp_json_gets(doc, "name", NULL);
        res.owner_email = tp_json_gets(doc, "owner", NULL);
        res.labels = tp_json_get(doc, "labels", NULL);
        tp_labels_check(p, res.labels, "labels", 1);
        tp_labels_check(p, role->allow_labels, "allow_labels", 0);
        tp_role_name_valid(role->name);
        roles = apr_array_make(p, 1, sizeof(tp_role_t));
        APR_ARRAY_PUSH(roles, tp_role_t) = *role;
        who.roles = roles;
        for (axis = TP_AXIS_WORKSPACE; axis <= TP_AXIS_REGISTRY; axis++) {
            level = tp_rbac_level(&who, axis, &res);
            FUZZ_ASSERT(level >= TP_LEVEL_NONE && level <= TP_LEVEL_ADMIN);
            /* a role grants at most its own level, unless ownership or
             * access=everyone gives more */
            FUZZ_ASSERT(!tp_role_applies(role, res.name, res.labels)
                        || level >= role->level[axis]);
            FUZZ_ASSERT(tp_role_applies(role, res.name, res.labels)
                        || level <= TP_LEVEL_READ
                        || (res.owner_email
                            && strcmp(res.owner_email, who.email) == 0));
            FUZZ_ASSERT(tp_level_name(level) != NULL);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
