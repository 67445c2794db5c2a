/* JSON:API documents: resources, errors and pagination, shaped the way
 * terraform and go-tfe read them. */
#ifndef TP_JSONAPI_H
#define TP_JSONAPI_H

#include <apr_time.h>
#include "tp_json.h"
#include "tp_error.h"

#define TP_PAGE_SIZE_DEFAULT 20
#define TP_PAGE_SIZE_MAX 100

typedef struct tp_page {
    long long number;   /* 1-based */
    long long size;
} tp_page_t;

/* {"id": id, "type": type, "attributes": {}} */
tp_json_t *tp_jsonapi_resource(apr_pool_t *p, const char *type,
                               const char *id);

/* {"data": data}; data may be a resource, an array or NULL (JSON null). */
tp_json_t *tp_jsonapi_doc(apr_pool_t *p, const tp_json_t *data);

/* {"errors": [{"status", "title", "detail"}]} */
tp_json_t *tp_jsonapi_errors(apr_pool_t *p, const tp_err_t *e);

/* Sets relationships.<name>.data to {id, type}, or null when id is NULL. */
void tp_jsonapi_relate(tp_json_t *resource, const char *name,
                       const char *type, const char *id);

/* The same, with links.related at the related resource's own address,
 * /api/v2/<type>/<id> (none when id is NULL). */
void tp_jsonapi_relate_to(apr_pool_t *p, tp_json_t *resource,
                          const char *name, const char *type,
                          const char *id);

/* Reads page[number] and page[size] (either may be NULL); the size is
 * clamped to TP_PAGE_SIZE_MAX, anything non-numeric or < 1 is a 400. */
tp_err_t *tp_page_parse(apr_pool_t *p, const char *number, const char *size,
                        tp_page_t *out);

long long tp_page_offset(const tp_page_t *pg);

/* meta.pagination for a list of total items and, when url is not NULL,
 * the top-level links self, first, prev, next and last: url is the list's
 * address up to where the page parameters go (ending in '?' or '&'). */
void tp_jsonapi_paginate(apr_pool_t *p, tp_json_t *doc, const tp_page_t *pg,
                         long long total, const char *url);

/* A member name in the API's kebab-case: snake_case and camelCase
 * ("auto_queue_runs", "autoQueueRuns") become "auto-queue-runs". */
char *tp_kebab(apr_pool_t *p, const char *key);

/* Rewrites the member names of data.attributes and data.relationships of
 * a request body to kebab-case, as TFE reads cdktf's camelCase bodies;
 * where both spellings are sent, the kebab-case one wins. Nested values
 * (labels, variables) keep their keys. */
void tp_jsonapi_normalize(apr_pool_t *p, tp_json_t *body);

/* Extracts data.attributes from a request body, checking data.type when
 * type is not NULL: the type named, its singular, or none. */
tp_err_t *tp_jsonapi_attributes(apr_pool_t *p, const tp_json_t *body,
                                const char *type, tp_json_t **attrs);

/* RFC 3339 in UTC ("2026-01-01T00:00:00Z"), the API's timestamp form. */
char *tp_rfc3339(apr_pool_t *p, apr_time_t t);

/* Parses an RFC 3339 timestamp ("2026-01-01T00:00:00Z", optional
 * fraction, Z or a +hh:mm offset); APR_EINVAL for anything else,
 * including impossible dates. */
apr_status_t tp_rfc3339_parse(const char *s, apr_time_t *out);

/* Typed reads of optional request attributes. Each returns NULL and sets
 * *present to 0 when the attribute is absent (or null, where null is not
 * meaningful), and answers 422 naming the attribute when it has the wrong
 * type or breaks the bound given. */
tp_err_t *tp_attr_string(apr_pool_t *p, const tp_json_t *attrs,
                         const char *name, apr_size_t maxlen,
                         const char **out, int *present);
tp_err_t *tp_attr_bool(apr_pool_t *p, const tp_json_t *attrs,
                       const char *name, int *out, int *present);
tp_err_t *tp_attr_int(apr_pool_t *p, const tp_json_t *attrs,
                      const char *name, long long min, long long max,
                      long long *out, int *present);
/* A string that must be one of a NULL-terminated list of values. */
tp_err_t *tp_attr_enum(apr_pool_t *p, const tp_json_t *attrs,
                       const char *name, const char *const *values,
                       const char **out, int *present);
/* An array of at most maxn strings of at most maxlen each. */
tp_err_t *tp_attr_strings(apr_pool_t *p, const tp_json_t *attrs,
                          const char *name, apr_size_t maxn,
                          apr_size_t maxlen, tp_json_t **out, int *present);

#endif
