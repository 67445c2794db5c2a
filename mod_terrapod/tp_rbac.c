/* The access-control evaluator. Pure functions of the caller's grants and
 * the resource's name, owner and labels, so every path that decides
 * access (requests, lists, the self-lockout check) agrees. */
#include <string.h>
#include <apr_lib.h>
#include "tp_rbac.h"

static const char *const level_names[] = {
    "none", "read", "plan", "write", "admin"
};

const char *tp_level_name(tp_level_e level)
{
    return level_names[level];
}

tp_level_e tp_level_parse(const char *s, tp_axis_e axis)
{
    int i;

    for (i = TP_LEVEL_READ; s && i <= TP_LEVEL_ADMIN; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            if (i == TP_LEVEL_PLAN && axis != TP_AXIS_WORKSPACE) {
                return TP_LEVEL_NONE;
            }
            return (tp_level_e)i;
        }
    }
    return TP_LEVEL_NONE;
}

typedef struct {
    const tp_json_t *labels;
    int matched;
} pair_match_t;

static int match_pair(void *baton, const char *key, tp_json_t *want)
{
    pair_match_t *m = baton;
    const char *have = tp_json_gets(m->labels, key, NULL);
    const char *w = tp_json_gets(want, NULL);

    if (have && w && strcmp(have, w) == 0) {
        m->matched = 1;
        return 1;   /* one pair is enough */
    }
    return 0;
}

/* Any key/value pair of rule present in labels. */
static int labels_match(const tp_json_t *rule, const tp_json_t *labels)
{
    pair_match_t m = {labels, 0};

    if (rule && labels) {
        tp_json_each(rule, match_pair, &m);
    }
    return m.matched;
}

static int name_listed(const tp_json_t *names, const char *name)
{
    apr_size_t i, n = tp_json_len(names);

    for (i = 0; name && i < n; i++) {
        const char *v = tp_json_gets(tp_json_at(names, i), NULL);

        if (v && strcmp(v, name) == 0) {
            return 1;
        }
    }
    return 0;
}

int tp_role_applies(const tp_role_t *role, const char *name,
                    const tp_json_t *labels)
{
    int allowed = labels_match(role->allow_labels, labels)
                  || name_listed(role->allow_names, name);
    int denied = labels_match(role->deny_labels, labels)
                 || name_listed(role->deny_names, name);

    return allowed && !denied;
}

#define RAISE(lvl, v) do { if ((v) > (lvl)) (lvl) = (v); } while (0)

tp_level_e tp_rbac_level(const tp_grants_t *who, tp_axis_e axis,
                         const tp_resource_t *res)
{
    tp_level_e level = TP_LEVEL_NONE;
    const char *everyone;
    int i;

    if (!who) {
        return TP_LEVEL_NONE;
    }
    if (who->is_admin || (!who->scoped && who->email && res->owner_email
                          && strcmp(who->email, res->owner_email) == 0)) {
        return TP_LEVEL_ADMIN;
    }
    if (who->is_audit) {
        level = TP_LEVEL_READ;
    }
    for (i = 0; who->roles && i < who->roles->nelts; i++) {
        const tp_role_t *role = &APR_ARRAY_IDX(who->roles, i, tp_role_t);

        if (tp_role_applies(role, res->name, res->labels)) {
            RAISE(level, role->level[axis]);
        }
    }
    everyone = tp_json_gets(res->labels, "access", NULL);
    if (everyone && strcmp(everyone, "everyone") == 0) {
        RAISE(level, TP_LEVEL_READ);
    }
    return level;
}

int tp_grants_hold(const tp_grants_t *who, const char *role)
{
    int i;

    if (strcmp(role, "admin") == 0) {
        return who->is_admin;
    }
    if (strcmp(role, "audit") == 0) {
        return who->is_audit;
    }
    if (strcmp(role, "everyone") == 0) {
        return 1;
    }
    for (i = 0; who->roles && i < who->roles->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(who->roles, i, tp_role_t).name, role) == 0) {
            return 1;
        }
    }
    return 0;
}

tp_json_t *tp_rbac_read_rules(apr_pool_t *p, const tp_grants_t *who,
                              tp_axis_e axis)
{
    static const char *const keys[] = {
        "allow_labels", "allow_names", "deny_labels", "deny_names", NULL
    };
    tp_json_t *rules = tp_json_array(p);
    int i, k;

    for (i = 0; who->roles && i < who->roles->nelts; i++) {
        const tp_role_t *role = &APR_ARRAY_IDX(who->roles, i, tp_role_t);
        const tp_json_t *vals[] = {role->allow_labels, role->allow_names,
                                   role->deny_labels, role->deny_names};
        tp_json_t *rule = tp_json_object(p);

        if (role->level[axis] < TP_LEVEL_READ) {
            continue;
        }
        /* an absent rule stays absent: the filter reads it as empty */
        for (k = 0; keys[k]; k++) {
            if (vals[k]) {
                tp_json_setj(rule, vals[k], keys[k], NULL);
            }
        }
        tp_json_push(rules, rule);
    }
    return rules;
}

tp_role_t *tp_role_from_json(apr_pool_t *p, const tp_json_t *j)
{
    tp_role_t *r = apr_pcalloc(p, sizeof(*r));

    r->name = tp_json_gets(j, "name", NULL);
    r->level[TP_AXIS_WORKSPACE] = tp_level_parse(
        tp_json_gets(j, "workspace_permission", NULL), TP_AXIS_WORKSPACE);
    r->level[TP_AXIS_POOL] = tp_level_parse(
        tp_json_gets(j, "pool_permission", NULL), TP_AXIS_POOL);
    r->level[TP_AXIS_REGISTRY] = tp_level_parse(
        tp_json_gets(j, "registry_permission", NULL), TP_AXIS_REGISTRY);
    r->allow_labels = tp_json_get(j, "allow_labels", NULL);
    r->allow_names = tp_json_get(j, "allow_names", NULL);
    r->deny_labels = tp_json_get(j, "deny_labels", NULL);
    r->deny_names = tp_json_get(j, "deny_names", NULL);
    return r->name ? r : NULL;
}

static const char *const reserved_keys[] = {
    "status", "pool", "mode", "backend", "owner", "drift", "version", "vcs",
    "locked", "branch", NULL
};

typedef struct {
    apr_pool_t *p;
    const char *what;
    int reserved;
    int count;
    tp_err_t *err;
} label_check_t;

static int key_valid(const char *key)
{
    const char *c;

    if (!*key || strlen(key) > 63 || !apr_isalnum(*key)) {
        return 0;
    }
    for (c = key; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("-_./", *c)) {
            return 0;
        }
    }
    return 1;
}

static int check_label(void *baton, const char *key, tp_json_t *val)
{
    label_check_t *c = baton;
    const char *v = tp_json_gets(val, NULL);
    int i;

    if (++c->count > TP_MAX_LABELS) {
        c->err = tp_err(c->p, 422, "%s has more than %d entries", c->what,
                        TP_MAX_LABELS);
        return 1;
    }
    if (!key_valid(key)) {
        c->err = tp_err(c->p, 422, "%s key \"%s\" must be 1 to 63 letters, "
                        "digits, '-', '_', '.' or '/', starting with a letter "
                        "or digit", c->what, key);
        return 1;
    }
    for (i = 0; c->reserved && reserved_keys[i]; i++) {
        if (strcmp(key, reserved_keys[i]) == 0) {
            c->err = tp_err(c->p, 422, "%s key \"%s\" is reserved", c->what,
                            key);
            return 1;
        }
    }
    if (!v || tp_utf8_len(v) > 255) {
        c->err = tp_err(c->p, 422, "%s \"%s\" must have a string value of at "
                        "most 255 characters", c->what, key);
        return 1;
    }
    return 0;
}

tp_err_t *tp_labels_check(apr_pool_t *p, const tp_json_t *labels,
                          const char *what, int reserved)
{
    label_check_t c = {p, what, reserved, 0, NULL};

    if (tp_json_type(labels, NULL) != TP_JSON_OBJECT) {
        return tp_err(p, 422, "%s must be an object of strings", what);
    }
    tp_json_each(labels, check_label, &c);
    return c.err;
}

int tp_role_name_valid(const char *name)
{
    const char *c;

    if (!name || !*name || strlen(name) > 63 || !apr_isalnum(*name)) {
        return 0;
    }
    for (c = name; *c; c++) {
        if (!(apr_islower(*c) || apr_isdigit(*c) || *c == '-' || *c == '_')) {
            return 0;
        }
    }
    return 1;
}
