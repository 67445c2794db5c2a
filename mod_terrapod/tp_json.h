/* JSON documents for the whole code base: the only wrapper around jansson.
 * Nodes live as long as the pool they were made or fetched in; paths are
 * NULL-terminated lists of object keys. */
#ifndef TP_JSON_H
#define TP_JSON_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct tp_json tp_json_t;

typedef enum {
    TP_JSON_ABSENT = 0,
    TP_JSON_OBJECT,
    TP_JSON_ARRAY,
    TP_JSON_STRING,
    TP_JSON_INTEGER,
    TP_JSON_REAL,
    TP_JSON_BOOL,
    TP_JSON_NULL
} tp_json_type_e;

tp_json_t *tp_json_object(apr_pool_t *p);
tp_json_t *tp_json_array(apr_pool_t *p);

/* Parses exactly one JSON value; on failure returns NULL and a message. */
tp_json_t *tp_json_parse(apr_pool_t *p, const char *buf, apr_size_t len,
                         const char **errmsg);

/* Compact serialisation, keys in insertion order. */
char *tp_json_dump(const tp_json_t *j, apr_pool_t *p);

tp_json_type_e tp_json_type(const tp_json_t *j, ...);
tp_json_t *tp_json_get(const tp_json_t *j, ...);
const char *tp_json_gets(const tp_json_t *j, ...);
long long tp_json_geti(const tp_json_t *j, ...);
int tp_json_getb(const tp_json_t *j, ...);

/* Setters create intermediate objects along the path. */
void tp_json_sets(tp_json_t *j, const char *value, ...);
void tp_json_seti(tp_json_t *j, long long value, ...);
void tp_json_setb(tp_json_t *j, int value, ...);
void tp_json_setnull(tp_json_t *j, ...);
void tp_json_setj(tp_json_t *j, const tp_json_t *value, ...);

/* Characters (not bytes) in a UTF-8 string, as limits are stated. */
apr_size_t tp_utf8_len(const char *s);

/* Removes a member of an object (no-op when absent). */
void tp_json_del(tp_json_t *obj, const char *key);

/* Arrays. */
apr_size_t tp_json_len(const tp_json_t *arr);
tp_json_t *tp_json_at(const tp_json_t *arr, apr_size_t i);
void tp_json_push(tp_json_t *arr, const tp_json_t *value);
void tp_json_pushs(tp_json_t *arr, const char *value);
void tp_json_pushi(tp_json_t *arr, long long value);
/* A new array of the strings in a (of const char *; NULL: empty). */
tp_json_t *tp_json_strings(apr_pool_t *p, const apr_array_header_t *a);
/* The strings (const char *) of the JSON array in text, anything else in
 * it skipped; none when text is NULL or no array. */
apr_array_header_t *tp_json_text_strings(apr_pool_t *p, const char *text);

/* Calls fn for each member of an object, in order; stops on non-zero. */
typedef int tp_json_member_fn(void *baton, const char *key, tp_json_t *val);
int tp_json_each(const tp_json_t *obj, tp_json_member_fn *fn, void *baton);

#endif
