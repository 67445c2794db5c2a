/* Builds and reads JSON:API documents; the single error formatter lives
 * here so every status the server sends has the same body shape. */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
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

void tp_jsonapi_relate_to(apr_pool_t *p, tp_json_t *resource,
                          const char *name, const char *type,
                          const char *id)
{
    tp_jsonapi_relate(resource, name, type, id);
    if (id) {
        tp_json_sets(resource, apr_pstrcat(p, "/api/v2/", type, "/", id, NULL),
                     "relationships", name, "links", "related", NULL);
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

/* links.<name>: the list's URL at page n, or null when there is none. */
static void page_link(tp_json_t *doc, const char *name, const char *url,
                      long long n, long long size, apr_pool_t *p)
{
    if (n < 1) {
        tp_json_setnull(doc, "links", name, NULL);
        return;
    }
    tp_json_sets(doc, apr_psprintf(p, "%spage%%5Bnumber%%5D=%" APR_INT64_T_FMT
                                   "&page%%5Bsize%%5D=%" APR_INT64_T_FMT, url,
                                   (apr_int64_t)n, (apr_int64_t)size),
                 "links", name, NULL);
}

void tp_jsonapi_paginate(apr_pool_t *p, tp_json_t *doc, const tp_page_t *pg,
                         long long total, const char *url)
{
    long long pages = total > 0 ? (total + pg->size - 1) / pg->size : 1;

    if (url) {
        page_link(doc, "self", url, pg->number, pg->size, p);
        page_link(doc, "first", url, 1, pg->size, p);
        page_link(doc, "prev", url, pg->number > 1 ? pg->number - 1 : 0,
                  pg->size, p);
        page_link(doc, "next", url, pg->number < pages ? pg->number + 1 : 0,
                  pg->size, p);
        page_link(doc, "last", url, pages, pg->size, p);
    }

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

/* The expected plural type, or its singular: TFE accepts both, and the
 * npm wrapper cdktf uses sends "configuration-version". */
static int type_matches(const char *got, const char *type)
{
    apr_size_t n = strlen(got);

    return strcmp(got, type) == 0
           || (strncmp(got, type, n) == 0 && strcmp(type + n, "s") == 0);
}

char *tp_kebab(apr_pool_t *p, const char *key)
{
    apr_size_t i, n = strlen(key);
    char *out = apr_palloc(p, 2 * n + 1), *o = out;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        unsigned char prev = i ? (unsigned char)key[i - 1] : 0;
        unsigned char next = (unsigned char)key[i + 1];

        if (c == '_') {
            *o++ = '-';
            continue;
        }
        /* a word starts at a capital after a small letter or digit, or at
         * the last capital of a run followed by a small letter (URLPath) */
        if (apr_isupper(c) && i > 0
            && (apr_islower(prev) || apr_isdigit(prev)
                || (apr_isupper(prev) && apr_islower(next)))) {
            *o++ = '-';
        }
        *o++ = (char)apr_tolower(c);
    }
    *o = '\0';
    return out;
}

typedef struct {
    apr_pool_t *p;
    tp_json_t *out;
    int aliases;    /* 0: copy canonical keys, 1: then the aliases */
    int changed;
} rekey_t;

static int rekey_member(void *baton, const char *key, tp_json_t *val)
{
    rekey_t *k = baton;
    const char *canon = tp_kebab(k->p, key);
    int is_canon = strcmp(canon, key) == 0;

    if (!k->aliases && is_canon) {
        tp_json_setj(k->out, val, key, NULL);
    }
    else if (k->aliases && !is_canon) {
        /* the canonical spelling wins over an alias of it */
        if (tp_json_type(k->out, canon, NULL) == TP_JSON_ABSENT) {
            tp_json_setj(k->out, val, canon, NULL);
        }
        k->changed = 1;
    }
    return 0;
}

/* Replaces the member obj names with a copy whose keys are kebab-case. */
static void rekey(apr_pool_t *p, tp_json_t *data, const char *name)
{
    rekey_t k = {p, NULL, 0, 0};
    tp_json_t *obj = tp_json_get(data, name, NULL);

    if (tp_json_type(obj, NULL) != TP_JSON_OBJECT) {
        return;
    }
    k.out = tp_json_object(p);
    tp_json_each(obj, rekey_member, &k);
    k.aliases = 1;
    tp_json_each(obj, rekey_member, &k);
    if (k.changed) {
        tp_json_setj(data, k.out, name, NULL);
    }
}

void tp_jsonapi_normalize(apr_pool_t *p, tp_json_t *body)
{
    tp_json_t *data = tp_json_get(body, "data", NULL);

    if (tp_json_type(data, NULL) == TP_JSON_OBJECT) {
        rekey(p, data, "attributes");
        rekey(p, data, "relationships");
    }
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
    if (type && got && !type_matches(got, type)) {
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

tp_err_t *tp_attr_string(apr_pool_t *p, const tp_json_t *attrs,
                         const char *name, apr_size_t maxlen,
                         const char **out, int *present)
{
    *present = 0;
    switch (tp_json_type(attrs, name, NULL)) {
    case TP_JSON_ABSENT:
        return NULL;
    case TP_JSON_STRING:
        *out = tp_json_gets(attrs, name, NULL);
        if (tp_utf8_len(*out) > maxlen) {
            return tp_err(p, 422, "%s is longer than %" APR_SIZE_T_FMT
                          " characters", name, maxlen);
        }
        *present = 1;
        return NULL;
    default:
        return tp_err(p, 422, "%s must be a string", name);
    }
}

tp_err_t *tp_attr_bool(apr_pool_t *p, const tp_json_t *attrs,
                       const char *name, int *out, int *present)
{
    *present = 0;
    switch (tp_json_type(attrs, name, NULL)) {
    case TP_JSON_ABSENT:
        return NULL;
    case TP_JSON_BOOL:
        *out = tp_json_getb(attrs, name, NULL);
        *present = 1;
        return NULL;
    default:
        return tp_err(p, 422, "%s must be true or false", name);
    }
}

tp_err_t *tp_attr_int(apr_pool_t *p, const tp_json_t *attrs,
                      const char *name, long long min, long long max,
                      long long *out, int *present)
{
    *present = 0;
    switch (tp_json_type(attrs, name, NULL)) {
    case TP_JSON_ABSENT:
        return NULL;
    case TP_JSON_INTEGER:
        *out = tp_json_geti(attrs, name, NULL);
        if (*out < min || *out > max) {
            return tp_err(p, 422, "%s must be between %" APR_INT64_T_FMT
                          " and %" APR_INT64_T_FMT, name, (apr_int64_t)min,
                          (apr_int64_t)max);
        }
        *present = 1;
        return NULL;
    default:
        return tp_err(p, 422, "%s must be an integer", name);
    }
}

tp_err_t *tp_attr_enum(apr_pool_t *p, const tp_json_t *attrs,
                       const char *name, const char *const *values,
                       const char **out, int *present)
{
    tp_err_t *err = tp_attr_string(p, attrs, name, 64, out, present);
    const char *const *v;
    const char *list = "";

    if (err || !*present) {
        return err;
    }
    for (v = values; *v; v++) {
        if (strcmp(*v, *out) == 0) {
            return NULL;
        }
        list = apr_pstrcat(p, list, *list ? ", " : "", *v, NULL);
    }
    return tp_err(p, 422, "%s must be one of: %s", name, list);
}

tp_err_t *tp_attr_strings(apr_pool_t *p, const tp_json_t *attrs,
                          const char *name, apr_size_t maxn,
                          apr_size_t maxlen, tp_json_t **out, int *present)
{
    tp_json_t *arr;
    apr_size_t i, n;

    *present = 0;
    switch (tp_json_type(attrs, name, NULL)) {
    case TP_JSON_ABSENT:
        return NULL;
    case TP_JSON_ARRAY:
        break;
    default:
        return tp_err(p, 422, "%s must be a list of strings", name);
    }
    arr = tp_json_get(attrs, name, NULL);
    n = tp_json_len(arr);
    if (n > maxn) {
        return tp_err(p, 422, "%s has more than %" APR_SIZE_T_FMT " entries",
                      name, maxn);
    }
    for (i = 0; i < n; i++) {
        const char *v = tp_json_gets(tp_json_at(arr, i), NULL);

        if (!v) {
            return tp_err(p, 422, "%s must be a list of strings", name);
        }
        if (tp_utf8_len(v) > maxlen) {
            return tp_err(p, 422, "an entry of %s is longer than %"
                          APR_SIZE_T_FMT " characters", name, maxlen);
        }
    }
    *out = arr;
    *present = 1;
    return NULL;
}

char *tp_rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900,
                        x.tm_mon + 1, x.tm_mday, x.tm_hour, x.tm_min,
                        x.tm_sec);
}

/* Days in month m (1-12) of year y. */
static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return days[m - 1] + (m == 2 && leap);
}

apr_status_t tp_rfc3339_parse(const char *s, apr_time_t *out)
{
    apr_time_exp_t x = {0};
    int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
    long usec = 0, scale = 100000;
    const char *p;
    apr_time_t t;

    if (sscanf(s, "%4d-%2d-%2d%*[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
               &sec, &n) != 6 || n != 19 || y < 1970 || mo < 1 || mo > 12
        || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || sec > 59) {
        return APR_EINVAL;
    }
    p = s + n;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            usec += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p == '+' || *p == '-') {
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5
            || oh > 23 || om > 59) {
            return APR_EINVAL;
        }
        if (*p == '+') {
            oh = -oh;
            om = -om;
        }
        p += 6;
    }
    else if (*p == 'Z' || *p == 'z') {
        p++;
    }
    else {
        return APR_EINVAL;
    }
    if (*p) {
        return APR_EINVAL;
    }
    x.tm_year = y - 1900;
    x.tm_mon = mo - 1;
    x.tm_mday = d;
    x.tm_hour = h;
    x.tm_min = mi;
    x.tm_sec = sec;
    if (apr_time_exp_gmt_get(&t, &x) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *out = t + usec + apr_time_from_sec((apr_time_t)oh * 3600 + om * 60);
    return APR_SUCCESS;
}
