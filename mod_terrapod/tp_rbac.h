/* Label-based access control: permission levels, custom roles with
 * allow/deny rules on labels and names, and how they combine. */
#ifndef TP_RBAC_H
#define TP_RBAC_H

#include <apr_tables.h>
#include "tp_json.h"
#include "tp_error.h"

typedef enum {
    TP_LEVEL_NONE = 0,
    TP_LEVEL_READ,
    TP_LEVEL_PLAN,    /* workspaces only */
    TP_LEVEL_WRITE,
    TP_LEVEL_ADMIN
} tp_level_e;

typedef enum {
    TP_AXIS_WORKSPACE,
    TP_AXIS_POOL,
    TP_AXIS_REGISTRY
} tp_axis_e;

typedef struct tp_role {
    const char *name;
    tp_level_e level[3];          /* indexed by tp_axis_e */
    const tp_json_t *allow_labels;  /* {"key": "value"} */
    const tp_json_t *allow_names;   /* ["name"] */
    const tp_json_t *deny_labels;
    const tp_json_t *deny_names;
} tp_role_t;

/* What a caller is, for access decisions. */
typedef struct tp_grants {
    const char *email;
    int is_admin;
    int is_audit;
    const apr_array_header_t *roles;   /* tp_role_t, custom roles only */
    /* service tokens act only through their roles: owning a resource
     * grants them nothing */
    int scoped;
} tp_grants_t;

/* A labelled, owned resource (workspace, pool, module, provider). */
typedef struct tp_resource {
    const char *name;
    const char *owner_email;
    const tp_json_t *labels;
} tp_resource_t;

const char *tp_level_name(tp_level_e level);

/* Parses "read", "plan", "write", "admin"; plan only on the workspace
 * axis. Returns TP_LEVEL_NONE for anything else. */
tp_level_e tp_level_parse(const char *s, tp_axis_e axis);

/* 1 when the role applies to the resource: it matches an allow rule (any
 * label pair, or the name) and no deny rule (deny always wins). */
int tp_role_applies(const tp_role_t *role, const char *name,
                    const tp_json_t *labels);

/* The caller's level on a resource: the highest of platform admin
 * (admin), owner (admin, unless scoped), audit (read), every applying custom role's level
 * on the axis, and the everyone role (read where access=everyone). */
tp_level_e tp_rbac_level(const tp_grants_t *who, tp_axis_e axis,
                         const tp_resource_t *res);

/* 1 when the caller holds role: the platform roles by their flags,
 * everyone always, custom roles by name. */
int tp_grants_hold(const tp_grants_t *who, const char *role);
/* The rules of the caller's custom roles that grant at least read on
 * axis, as a JSON array of {allow_labels, allow_names, deny_labels,
 * deny_names}: what a database filter needs to decide visibility the way
 * tp_rbac_level does, without loading every candidate. */
tp_json_t *tp_rbac_read_rules(apr_pool_t *p, const tp_grants_t *who,
                              tp_axis_e axis);

#define TP_MAX_LABELS 64

/* Checks labels (or a role's label rule) named what: an object of at most
 * TP_MAX_LABELS string values of at most 255 characters, keys of 1 to 63
 * letters, digits, '-', '_', '.' or '/' starting with a letter or digit;
 * with reserved set, none of the keys the server keeps for itself. 422
 * naming the first offence. */
tp_err_t *tp_labels_check(apr_pool_t *p, const tp_json_t *labels,
                          const char *what, int reserved);

/* Role names: 1 to 63 of [a-z0-9_-], starting with a letter or digit. */
int tp_role_name_valid(const char *name);

/* Builds a role from its stored JSON form (as tp_auth loads it);
 * NULL when malformed. */
tp_role_t *tp_role_from_json(apr_pool_t *p, const tp_json_t *j);

#endif
