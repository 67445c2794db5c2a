/* Builds and reads JSON:API documents; the single error formatter lives
 * here so every status the server sends has the same body shape. */
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <apr_strings.h>
#include "tp_jsonapi.h"

tp_json_t *tp_jsonapi_resource(apr_pool_t *p, const char *type,
                               const char *id)
{
    tp_json_t *r = tp_json_object(p);

    tp_json_sets(r, id, "id", NULL);
    tp_json_sets(r, type, "type", NULL);
    tp_json_setj(r, tp_json_object(p), "attributes", NULL);
    return r;
}

tp_json_t *tp_jsonapi_doc(apr_pool_t *p, const tp_json_t *data)
{
    tp_json_t *doc = tp_json_object(p);

    tp_json_setj(doc, data, "data", NULL);
    return doc;
}

tp_json_t *tp_jsonapi_errors(apr_pool_t *p, const tp_err_t *e)
{
    tp_json_t *doc = tp_json_object(p);
    tp_json_t *list = tp_json_array(p);
    tp_json_t *item = tp_json_object(p);

    tp_json_sets(item, apr_itoa(p, e->status), "status", NULL);
    tp_json_sets(item, e->title ? e->title : tp_status_title(e->status),
                 "title", NULL);
    if (e->detail) {
        tp_json_sets(item, e->detail, "detail", NULL);
    }
    tp_json_push(list, item);
    tp_json_setj(doc, list, "errors", NULL);
    return doc;
}

void tp_jsonapi_relate(tp_json_t *resource, const char *name,
                       const char *type, const char *id)
{
    if (id) {
        tp_json_sets(resource, id, "relationships", name, "data", "id", NULL);
        tp_json_sets(resource, type, "relationships", name, "data", "type",
                     NULL);
    }
    else {
        tp_json_setnull(resource, "relationships", name, "data", NULL);
    }
}

/* A positive decimal integer, or -1. */
static long long positive(const char *s)
{
    char *end;
    long long v;

    if (!s || !*s || *s == '-' || *s == '+') {
        return -1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < 1) {
        return -1;
    }
    return v;
}

tp_err_t *tp_page_parse(apr_pool_t *p, const char *number, const char *size,
                        tp_page_t *out)
{
    out->number = 1;
    out->size = TP_PAGE_SIZE_DEFAULT;
    if (number) {
        out->number = positive(number);
        if (out->number < 1 || out->number > 1000000000LL) {
            return tp_err(p, 400, "page[number] must be a positive integer");
        }
    }
    if (size) {
        out->size = positive(size);
        if (out->size < 1) {
            return tp_err(p, 400, "page[size] must be a positive integer");
        }
        if (out->size > TP_PAGE_SIZE_MAX) {
            out->size = TP_PAGE_SIZE_MAX;
        }
    }
    return NULL;
}

long long tp_page_offset(const tp_page_t *pg)
{
    return (pg->number - 1) * pg->size;
}

void tp_jsonapi_paginate(tp_json_t *doc, const tp_page_t *pg,
                         long long total)
{
    long long pages = total > 0 ? (total + pg->size - 1) / pg->size : 1;

    tp_json_seti(doc, pg->number, "meta", "pagination", "current-page", NULL);
    if (pg->number > 1) {
        tp_json_seti(doc, pg->number - 1, "meta", "pagination", "prev-page",
                     NULL);
    }
    else {
        tp_json_setnull(doc, "meta", "pagination", "prev-page", NULL);
    }
    if (pg->number < pages) {
        tp_json_seti(doc, pg->number + 1, "meta", "pagination", "next-page",
                     NULL);
    }
    else {
        tp_json_setnull(doc, "meta", "pagination", "next-page", NULL);
    }
    tp_json_seti(doc, pages, "meta", "pagination", "total-pages", NULL);
    tp_json_seti(doc, total, "meta", "pagination", "total-count", NULL);
}

tp_err_t *tp_jsonapi_attributes(apr_pool_t *p, const tp_json_t *body,
                                const char *type, tp_json_t **attrs)
{
    const char *got;

    if (tp_json_type(body, "data", NULL) != TP_JSON_OBJECT) {
        return tp_err(p, 400, "request body must be a JSON:API document "
                      "with a data object");
    }
    got = tp_json_gets(body, "data", "type", NULL);
    if (type && got && strcmp(got, type) != 0) {
        return tp_err(p, 409, "data.type must be \"%s\", not \"%s\"", type,
                      got);
    }
    switch (tp_json_type(body, "data", "attributes", NULL)) {
    case TP_JSON_ABSENT:
        *attrs = tp_json_object(p);
        return NULL;
    case TP_JSON_OBJECT:
        *attrs = tp_json_get(body, "data", "attributes", NULL);
        return NULL;
    default:
        return tp_err(p, 400, "data.attributes must be an object");
    }
}
