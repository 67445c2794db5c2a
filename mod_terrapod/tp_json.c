/* The jansson adapter. Every json_t we hand out is wrapped in a tp_json_t
 * whose reference is dropped by a cleanup on the owning pool. */
#include <stdarg.h>
#include <jansson.h>
#include <apr_strings.h>
#include "tp_json.h"

struct tp_json {
    json_t *j;
    apr_pool_t *p;
};

static apr_status_t json_release(void *data)
{
    json_decref(((tp_json_t *)data)->j);
    return APR_SUCCESS;
}

/* Takes ownership of one reference to j. */
static tp_json_t *wrap(apr_pool_t *p, json_t *j)
{
    tp_json_t *w;

    if (!j) {
        return NULL;
    }
    w = apr_palloc(p, sizeof(*w));
    w->j = j;
    w->p = p;
    apr_pool_cleanup_register(p, w, json_release, apr_pool_cleanup_null);
    return w;
}

tp_json_t *tp_json_object(apr_pool_t *p)
{
    return wrap(p, json_object());
}

tp_json_t *tp_json_array(apr_pool_t *p)
{
    return wrap(p, json_array());
}

tp_json_t *tp_json_parse(apr_pool_t *p, const char *buf, apr_size_t len,
                         const char **errmsg)
{
    json_error_t err;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                          &err);

    if (!j) {
        if (errmsg) {
            *errmsg = apr_psprintf(p, "%s at line %d column %d", err.text,
                                   err.line, err.column);
        }
        return NULL;
    }
    return wrap(p, j);
}

char *tp_json_dump(const tp_json_t *j, apr_pool_t *p)
{
    char *s = json_dumps(j->j, JSON_COMPACT | JSON_PRESERVE_ORDER
                               | JSON_ENCODE_ANY);
    char *copy = apr_pstrdup(p, s ? s : "null");

    free(s);
    return copy;
}

/* Follows a path of object keys; NULL when any step is missing. */
static json_t *walk(json_t *j, va_list ap)
{
    const char *key;

    while (j && (key = va_arg(ap, const char *)) != NULL) {
        j = json_is_object(j) ? json_object_get(j, key) : NULL;
    }
    return j;
}

/* Like walk, but creates objects for the missing steps and stops one key
 * short, returning the parent and the last key to set. */
static json_t *walk_create(json_t *j, va_list ap, const char **last)
{
    const char *key = va_arg(ap, const char *);
    const char *next;

    while (key && (next = va_arg(ap, const char *)) != NULL) {
        json_t *child = json_object_get(j, key);

        if (!json_is_object(child)) {
            child = json_object();
            json_object_set_new(j, key, child);
        }
        j = child;
        key = next;
    }
    *last = key;
    return j;
}

static tp_json_type_e type_of(const json_t *j)
{
    switch (j ? json_typeof(j) : (json_type)-1) {
    case JSON_OBJECT:  return TP_JSON_OBJECT;
    case JSON_ARRAY:   return TP_JSON_ARRAY;
    case JSON_STRING:  return TP_JSON_STRING;
    case JSON_INTEGER: return TP_JSON_INTEGER;
    case JSON_REAL:    return TP_JSON_REAL;
    case JSON_TRUE:
    case JSON_FALSE:   return TP_JSON_BOOL;
    case JSON_NULL:    return TP_JSON_NULL;
    default:           return TP_JSON_ABSENT;
    }
}

tp_json_type_e tp_json_type(const tp_json_t *j, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, j);
    v = j ? walk(j->j, ap) : NULL;
    va_end(ap);
    return type_of(v);
}

tp_json_t *tp_json_get(const tp_json_t *j, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, j);
    v = j ? walk(j->j, ap) : NULL;
    va_end(ap);
    return v ? wrap(j->p, json_incref(v)) : NULL;
}

const char *tp_json_gets(const tp_json_t *j, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, j);
    v = j ? walk(j->j, ap) : NULL;
    va_end(ap);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long tp_json_geti(const tp_json_t *j, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, j);
    v = j ? walk(j->j, ap) : NULL;
    va_end(ap);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

int tp_json_getb(const tp_json_t *j, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, j);
    v = j ? walk(j->j, ap) : NULL;
    va_end(ap);
    return json_is_true(v);
}

/* Sets the new reference v at the path given by ap. */
static void set_at(tp_json_t *j, json_t *v, va_list ap)
{
    const char *last;
    json_t *parent = walk_create(j->j, ap, &last);

    if (last && json_is_object(parent)) {
        json_object_set_new(parent, last, v);
    }
    else {
        json_decref(v);
    }
}

void tp_json_sets(tp_json_t *j, const char *value, ...)
{
    va_list ap;

    va_start(ap, value);
    set_at(j, value ? json_string(value) : json_null(), ap);
    va_end(ap);
}

void tp_json_seti(tp_json_t *j, long long value, ...)
{
    va_list ap;

    va_start(ap, value);
    set_at(j, json_integer(value), ap);
    va_end(ap);
}

void tp_json_setb(tp_json_t *j, int value, ...)
{
    va_list ap;

    va_start(ap, value);
    set_at(j, json_boolean(value), ap);
    va_end(ap);
}

void tp_json_setnull(tp_json_t *j, ...)
{
    va_list ap;

    va_start(ap, j);
    set_at(j, json_null(), ap);
    va_end(ap);
}

void tp_json_setj(tp_json_t *j, const tp_json_t *value, ...)
{
    va_list ap;

    va_start(ap, value);
    set_at(j, value ? json_incref(value->j) : json_null(), ap);
    va_end(ap);
}

apr_size_t tp_utf8_len(const char *s)
{
    apr_size_t n = 0;

    for (; *s; s++) {
        /* continuation bytes are 10xxxxxx */
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

void tp_json_del(tp_json_t *obj, const char *key)
{
    json_object_del(obj->j, key);
}

apr_size_t tp_json_len(const tp_json_t *arr)
{
    return arr && json_is_array(arr->j) ? json_array_size(arr->j) : 0;
}

tp_json_t *tp_json_at(const tp_json_t *arr, apr_size_t i)
{
    json_t *v = arr ? json_array_get(arr->j, i) : NULL;

    return v ? wrap(arr->p, json_incref(v)) : NULL;
}

void tp_json_push(tp_json_t *arr, const tp_json_t *value)
{
    json_array_append(arr->j, value->j);
}

void tp_json_pushs(tp_json_t *arr, const char *value)
{
    json_array_append_new(arr->j, json_string(value));
}

void tp_json_pushi(tp_json_t *arr, long long value)
{
    json_array_append_new(arr->j, json_integer(value));
}

int tp_json_each(const tp_json_t *obj, tp_json_member_fn *fn, void *baton)
{
    const char *key;
    json_t *val;
    int rc;

    if (!obj || !json_is_object(obj->j)) {
        return 0;
    }
    json_object_foreach(obj->j, key, val) {
        rc = fn(baton, key, wrap(obj->p, json_incref(val)));
        if (rc) {
            return rc;
        }
    }
    return 0;
}

tp_json_t *tp_json_strings(apr_pool_t *p, const apr_array_header_t *a)
{
    tp_json_t *list = tp_json_array(p);
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        tp_json_pushs(list, APR_ARRAY_IDX(a, i, const char *));
    }
    return list;
}

apr_array_header_t *tp_json_text_strings(apr_pool_t *p, const char *text)
{
    tp_json_t *j = text ? tp_json_parse(p, text, strlen(text), NULL) : NULL;
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    apr_size_t i;

    for (i = 0; i < tp_json_len(j); i++) {
        const char *s = tp_json_gets(tp_json_at(j, i), NULL);

        if (s) {
            APR_ARRAY_PUSH(a, const char *) = s;
        }
    }
    return a;
}
