/* The document builder of described resource types (tp_resource.h) and
 * the parsing of include= into relationship paths. */
#include <string.h>
#include <apr_strings.h>
#include "tp_resource.h"
#include "tp_jsonapi.h"

#define INCLUDE_DEPTH 4

char *tp_resource_link(apr_pool_t *p, const char *pattern, const char *id)
{
    const char *at = strstr(pattern, "%s");

    if (!at) {
        return apr_pstrdup(p, pattern);
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, pattern, (apr_size_t)(at - pattern)),
                       id, at + 2, NULL);
}

static void set_attr(apr_pool_t *p, tp_json_t *r, const tp_attr_t *a,
                     const tp_rows_t *rows, int i)
{
    const char *v = tp_row(rows, i, a->column);

    switch (a->kind) {
    case TP_ATTR_BOOL:
        if (v) {
            tp_json_setb(r, tp_row_bool(rows, i, a->column), "attributes",
                         a->name, NULL);
            return;
        }
        break;
    case TP_ATTR_INT:
        if (v) {
            tp_json_seti(r, apr_atoi64(v), "attributes", a->name, NULL);
            return;
        }
        break;
    case TP_ATTR_JSON:
        if (v) {
            tp_json_setj(r, tp_json_parse(p, v, strlen(v), NULL),
                         "attributes", a->name, NULL);
            return;
        }
        break;
    case TP_ATTR_STRING:
        if (v) {
            tp_json_sets(r, v, "attributes", a->name, NULL);
            return;
        }
        break;
    }
    tp_json_setnull(r, "attributes", a->name, NULL);
}

/* The ids of a comma-separated column as {id, type} references. */
static tp_json_t *id_list(apr_pool_t *p, const char *type, const char *ids)
{
    tp_json_t *list = tp_json_array(p);
    char *id, *last;

    for (id = apr_strtok(apr_pstrdup(p, ids), ",", &last); id;
         id = apr_strtok(NULL, ",", &last)) {
        tp_json_t *ref = tp_json_object(p);

        tp_json_sets(ref, id, "id", NULL);
        tp_json_sets(ref, type, "type", NULL);
        tp_json_push(list, ref);
    }
    return list;
}

static void set_rel(apr_pool_t *p, tp_json_t *r, const tp_rel_t *rel,
                    const char *id, const tp_rows_t *rows, int i)
{
    const char *v = rel->column ? tp_row(rows, i, rel->column) : NULL;
    int has_column = 0, c;

    for (c = 0; rel->column && c < rows->ncols; c++) {
        has_column |= strcmp(rows->names[c], rel->column) == 0;
    }
    if (rel->kind == TP_REL_ONE) {
        const char *type = rel->type ? rel->type
                                     : tp_row(rows, i, rel->type_column);

        v = v && type ? v : NULL;
        if (rel->related) {
            tp_jsonapi_relate(r, rel->name, type, v);
        }
        else {
            tp_jsonapi_relate_to(p, r, rel->name, type, v);
        }
    }
    else if (has_column) {
        tp_json_setj(r, id_list(p, rel->type, v ? v : ""), "relationships",
                     rel->name, "data", NULL);
    }
    if (rel->related && *rel->related) {
        tp_json_sets(r, tp_resource_link(p, rel->related, id),
                     "relationships", rel->name, "links", "related", NULL);
    }
}

const char *tp_resource_id(const tp_type_desc_t *d, const tp_rows_t *rows,
                           int i)
{
    return tp_row(rows, i, d->id_column ? d->id_column : "id");
}

tp_json_t *tp_resource_render(apr_pool_t *p, const tp_type_desc_t *d,
                              const tp_rows_t *rows, int i)
{
    const char *id = tp_resource_id(d, rows, i);
    tp_json_t *r = tp_jsonapi_resource(p, d->type, id);
    const tp_attr_t *a;
    const tp_rel_t *rel;

    for (a = d->attrs; a && a->name; a++) {
        set_attr(p, r, a, rows, i);
    }
    for (rel = d->rels; rel && rel->name; rel++) {
        set_rel(p, r, rel, id, rows, i);
    }
    if (d->self) {
        tp_json_sets(r, tp_resource_link(p, d->self, id), "links", "self",
                     NULL);
    }
    return r;
}

const tp_rel_t *tp_resource_rel(const tp_type_desc_t *d, const char *name)
{
    const tp_rel_t *rel;

    for (rel = d->rels; rel && rel->name; rel++) {
        if (strcmp(rel->name, name) == 0) {
            return rel;
        }
    }
    return NULL;
}

apr_array_header_t *tp_include_paths(apr_pool_t *p, const char *include,
                                     int max)
{
    apr_array_header_t *paths = apr_array_make(p, 4, sizeof(void *));
    char *item, *last;

    if (!include) {
        return paths;
    }
    for (item = apr_strtok(apr_pstrdup(p, include), ",", &last);
         item && paths->nelts < max; item = apr_strtok(NULL, ",", &last)) {
        apr_array_header_t *path = apr_array_make(p, 2, sizeof(char *));
        char *name, *dot;

        for (name = apr_strtok(item, ".", &dot);
             name && path->nelts < INCLUDE_DEPTH;
             name = apr_strtok(NULL, ".", &dot)) {
            apr_collapse_spaces(name, name);
            if (*name) {
                APR_ARRAY_PUSH(path, const char *) = tp_kebab(p, name);
            }
        }
        if (path->nelts) {
            APR_ARRAY_PUSH(paths, apr_array_header_t *) = path;
        }
    }
    return paths;
}
