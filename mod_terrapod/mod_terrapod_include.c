/* include=: the related documents a client asks to receive with an
 * answer, found by following the described relationships of its primary
 * data (tp_resource.h). Each step of an include path costs one statement
 * per related type, however many resources the answer holds; every
 * included document is rendered by its type as its own endpoint renders
 * it, and one the caller may not read is left out. */
#include <apr_hash.h>
#include <apr_strings.h>
#include "mod_terrapod.h"

#define MAX_INCLUDE_PATHS 16

const tp_type_t *tp_type_find(const char *type)
{
    int i;

    for (i = 0; type && tp_types[i]; i++) {
        if (strcmp(tp_types[i]->desc->type, type) == 0) {
            return tp_types[i];
        }
    }
    return NULL;
}

tp_err_t *tp_type_show(tp_req_t *req, const tp_type_t *type, const char *id,
                       const char *what)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *keys = tp_json_array(p), *doc = NULL;
    tp_rows_t *rows;
    tp_err_t *err;

    tp_json_pushs(keys, id);
    if ((err = tp_req_exec(req, type->by_id, &rows,
                           TP_DB_ARGS(tp_json_dump(keys, p)))) != NULL) {
        return err;
    }
    if (rows->nrows) {
        doc = type->render(req, rows, 0);
    }
    return doc ? tp_send_json(req, 200, tp_jsonapi_doc(p, doc))
               : tp_err(p, 404, "%s %s not found", what, id);
}

typedef struct {
    tp_req_t *req;
    apr_hash_t *known;      /* "type/id" -> document, primary and included */
    tp_json_t *included;
} inc_t;

/* The keys to load of one related type, and for a to-many relationship
 * the documents waiting for their lists. */
typedef struct {
    const tp_type_t *type;
    const tp_rel_t *rel;    /* the relationship followed (its kind) */
    tp_json_t *keys;        /* JSON array of distinct keys */
    apr_hash_t *seen;
    apr_array_header_t *waiting;    /* tp_json_t * of TP_REL_MANY */
} batch_t;

static const char *doc_key(apr_pool_t *p, const tp_json_t *d)
{
    return apr_pstrcat(p, tp_json_gets(d, "type", NULL), "/",
                       tp_json_gets(d, "id", NULL), NULL);
}

static void add_key(batch_t *b, const char *key)
{
    if (key && !apr_hash_get(b->seen, key, APR_HASH_KEY_STRING)) {
        apr_hash_set(b->seen, key, APR_HASH_KEY_STRING, key);
        tp_json_pushs(b->keys, key);
    }
}

static batch_t *batch_of(apr_pool_t *p, apr_hash_t *batches,
                         const tp_type_t *type, const tp_rel_t *rel)
{
    const char *name = apr_pstrcat(p, type->desc->type, "/",
                                   rel->kind == TP_REL_MANY ? rel->name : "",
                                   NULL);
    batch_t *b = apr_hash_get(batches, name, APR_HASH_KEY_STRING);

    if (!b) {
        b = apr_pcalloc(p, sizeof(*b));
        b->type = type;
        b->rel = rel;
        b->keys = tp_json_array(p);
        b->seen = apr_hash_make(p);
        b->waiting = apr_array_make(p, 4, sizeof(tp_json_t *));
        apr_hash_set(batches, name, APR_HASH_KEY_STRING, b);
    }
    return b;
}

/* Sorts what doc's relationship name points to into its batch. */
static void collect(apr_pool_t *p, apr_hash_t *batches, tp_json_t *doc,
                    const char *name)
{
    const tp_type_t *t = tp_type_find(tp_json_gets(doc, "type", NULL));
    const tp_rel_t *rel = t ? tp_resource_rel(t->desc, name) : NULL;
    const tp_type_t *target;
    batch_t *b;

    if (!rel) {
        return;     /* unknown include names are ignored, as TFE does */
    }
    if (rel->kind == TP_REL_ONE) {
        target = tp_type_find(tp_json_gets(doc, "relationships", name, "data",
                                           "type", NULL));
        if (target && target->by_id) {
            add_key(batch_of(p, batches, target, rel),
                    tp_json_gets(doc, "relationships", name, "data", "id",
                                 NULL));
        }
        return;
    }
    target = tp_type_find(rel->type);
    if (target && target->by_parent) {
        b = batch_of(p, batches, target, rel);
        add_key(b, rel->via ? tp_json_gets(doc, "relationships", rel->via,
                                           "data", "id", NULL)
                            : tp_json_gets(doc, "id", NULL));
        APR_ARRAY_PUSH(b->waiting, tp_json_t *) = doc;
    }
}

/* The document of row i, the one already known when it is. */
static tp_json_t *known_doc(inc_t *inc, const tp_type_t *t,
                            const tp_rows_t *rows, int i)
{
    apr_pool_t *p = inc->req->r->pool;
    const char *key = apr_pstrcat(p, t->desc->type, "/",
                                  tp_resource_id(t->desc, rows, i), NULL);
    tp_json_t *d = apr_hash_get(inc->known, key, APR_HASH_KEY_STRING);

    if (!d && (d = t->render(inc->req, rows, i)) != NULL) {
        apr_hash_set(inc->known, key, APR_HASH_KEY_STRING, d);
        tp_json_push(inc->included, d);
    }
    return d;
}

/* Gives each document waiting on a to-many relationship the list of the
 * related documents loaded for its key. */
static void fill_lists(apr_pool_t *p, const batch_t *b, apr_hash_t *lists)
{
    int i;

    for (i = 0; i < b->waiting->nelts; i++) {
        tp_json_t *doc = APR_ARRAY_IDX(b->waiting, i, tp_json_t *);
        const char *key = b->rel->via
            ? tp_json_gets(doc, "relationships", b->rel->via, "data", "id",
                           NULL)
            : tp_json_gets(doc, "id", NULL);
        tp_json_t *list = key ? apr_hash_get(lists, key, APR_HASH_KEY_STRING)
                              : NULL;

        tp_json_setj(doc, list ? list : tp_json_array(p), "relationships",
                     b->rel->name, "data", NULL);
    }
}

static void push_ref(apr_pool_t *p, apr_hash_t *lists, const char *key,
                     const tp_json_t *d)
{
    tp_json_t *list = apr_hash_get(lists, key, APR_HASH_KEY_STRING);
    tp_json_t *ref = tp_json_object(p);

    if (!list) {
        list = tp_json_array(p);
        apr_hash_set(lists, key, APR_HASH_KEY_STRING, list);
    }
    tp_json_sets(ref, tp_json_gets(d, "id", NULL), "id", NULL);
    tp_json_sets(ref, tp_json_gets(d, "type", NULL), "type", NULL);
    tp_json_push(list, ref);
}

/* Loads one batch with one statement; the documents reached join next. */
static tp_err_t *load(inc_t *inc, const batch_t *b, tp_json_t *next)
{
    apr_pool_t *p = inc->req->r->pool;
    int many = b->rel->kind == TP_REL_MANY;
    apr_hash_t *lists = apr_hash_make(p);
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if (tp_json_len(b->keys) == 0) {
        return NULL;
    }
    err = tp_req_exec(inc->req, many ? b->type->by_parent : b->type->by_id,
                      &rows, TP_DB_ARGS(tp_json_dump(b->keys, p)));
    if (err) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        tp_json_t *d = known_doc(inc, b->type, rows, i);

        if (d) {
            tp_json_push(next, d);
            if (many) {
                push_ref(p, lists, tp_row(rows, i, "key"), d);
            }
        }
    }
    if (many) {
        fill_lists(p, b, lists);
    }
    return NULL;
}

/* One step of a path: from docs along the relationship name. */
static tp_err_t *follow(inc_t *inc, const tp_json_t *docs, const char *name,
                        tp_json_t **next)
{
    apr_pool_t *p = inc->req->r->pool;
    apr_hash_t *batches = apr_hash_make(p);
    apr_hash_index_t *hi;
    tp_err_t *err;
    apr_size_t i;

    *next = tp_json_array(p);
    for (i = 0; i < tp_json_len(docs); i++) {
        collect(p, batches, tp_json_at(docs, i), name);
    }
    for (hi = apr_hash_first(p, batches); hi; hi = apr_hash_next(hi)) {
        if ((err = load(inc, apr_hash_this_val(hi), *next)) != NULL) {
            return err;
        }
    }
    return NULL;
}

tp_err_t *tp_send_children(tp_req_t *req, const tp_type_t *t,
                           const char *parent)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *keys = tp_json_array(p), *list = tp_json_array(p);
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    tp_json_pushs(keys, parent);
    if ((err = tp_req_exec(req, t->by_parent, &rows,
                           TP_DB_ARGS(tp_json_dump(keys, p)))) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        tp_json_t *d = t->render(req, rows, i);

        if (d) {
            tp_json_push(list, d);
        }
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, list));
}

tp_err_t *tp_include(tp_req_t *req, tp_json_t *doc)
{
    apr_pool_t *p = req->r->pool;
    apr_array_header_t *paths = tp_include_paths(p,
        tp_query_arg(req, "include"), MAX_INCLUDE_PATHS);
    tp_json_t *primary = tp_json_get(doc, "data", NULL);
    inc_t inc = {req, apr_hash_make(p), tp_json_array(p)};
    tp_err_t *err;
    apr_size_t d;
    int i, k;

    if (paths->nelts == 0 || !primary) {
        return NULL;
    }
    if (tp_json_type(primary, NULL) == TP_JSON_OBJECT) {
        tp_json_t *one = tp_json_array(p);

        tp_json_push(one, primary);
        primary = one;
    }
    for (d = 0; d < tp_json_len(primary); d++) {
        apr_hash_set(inc.known, doc_key(p, tp_json_at(primary, d)),
                     APR_HASH_KEY_STRING, tp_json_at(primary, d));
    }
    for (i = 0; i < paths->nelts; i++) {
        apr_array_header_t *path = APR_ARRAY_IDX(paths, i,
                                                 apr_array_header_t *);
        const tp_json_t *docs = primary;
        tp_json_t *next;

        for (k = 0; k < path->nelts && tp_json_len(docs); k++) {
            err = follow(&inc, docs, APR_ARRAY_IDX(path, k, const char *),
                         &next);
            if (err) {
                return err;
            }
            docs = next;
        }
    }
    tp_json_setj(doc, inc.included, "included", NULL);
    return NULL;
}
