/* Resource types described once: the attributes a database row gives, the
 * relationships with the links clients follow, and the self link. One
 * document builder renders every described type from its row; the include
 * resolver follows the same relationships, so links, relationships and
 * included documents cannot drift apart between handlers. Handlers add
 * only what is computed: permissions, actions, signed URLs. */
#ifndef TP_RESOURCE_H
#define TP_RESOURCE_H

#include "tp_db.h"
#include "tp_json.h"

typedef enum {
    TP_ATTR_STRING,     /* text; null for SQL NULL */
    TP_ATTR_BOOL,       /* boolean; null for SQL NULL */
    TP_ATTR_INT,        /* integer; null for SQL NULL */
    TP_ATTR_JSON        /* JSON text; null for SQL NULL */
} tp_attr_kind_e;

typedef struct tp_attr {
    const char *name;       /* the attribute, kebab-case */
    const char *column;
    tp_attr_kind_e kind;
} tp_attr_t;

typedef enum {
    /* column holds the related id: data {id, type}, null without one */
    TP_REL_ONE,
    /* the related resources are found by a key: this resource's id, or
     * the id the relationship named by via points to; column, when the
     * row has it, lists their ids separated by commas */
    TP_REL_MANY
} tp_rel_kind_e;

typedef struct tp_rel {
    const char *name;       /* "current-state-version" */
    const char *type;       /* target type; NULL: type_column says */
    tp_rel_kind_e kind;
    const char *column;
    /* links.related, "%s" standing for this resource's id; NULL: for
     * TP_REL_ONE the related resource's own address, /api/v2/<type>/<id>,
     * and none for TP_REL_MANY; "": none */
    const char *related;
    const char *type_column;    /* ONE of several types: the type's column */
    const char *via;            /* MANY: the relationship holding the key */
} tp_rel_t;

typedef struct tp_type_desc {
    const char *type;       /* "runs" */
    const char *id_column;  /* NULL: "id" */
    const char *self;       /* links.self, "%s" standing for the id */
    const tp_attr_t *attrs; /* ends with a NULL name */
    const tp_rel_t *rels;   /* ends with a NULL name */
} tp_type_desc_t;

/* The id of row i as a resource of type d. */
const char *tp_resource_id(const tp_type_desc_t *d, const tp_rows_t *rows,
                           int i);

/* Row i as a resource of type d: id, type, the described
 * attributes and relationships, links.self. A MANY relationship whose
 * column the row lacks has links only. */
tp_json_t *tp_resource_render(apr_pool_t *p, const tp_type_desc_t *d,
                              const tp_rows_t *rows, int i);

/* The relationship of d called name (kebab-case), or NULL. */
const tp_rel_t *tp_resource_rel(const tp_type_desc_t *d, const char *name);

/* A link pattern with its one "%s" replaced by id. */
char *tp_resource_link(apr_pool_t *p, const char *pattern, const char *id);

/* The include= value as paths of relationship names: "current_run.plan,
 * outputs" gives {"current-run", "plan"} and {"outputs"}, each an array
 * of const char *. Empty names are dropped; at most max paths of at most
 * four names each are kept. */
apr_array_header_t *tp_include_paths(apr_pool_t *p, const char *include,
                                     int max);

#endif
