/* Request documents as the API reads them: tp_json parsing, the JSON:API
 * member-name normalization and data/attributes extraction, the typed
 * attribute reads and label checks every resource handler uses, and
 * terraform state inspection and its resource listing. */
#include "fuzz.h"
#include "tp_json.h"
#include "tp_jsonapi.h"
#include "tp_rbac.h"
#include "tp_state.h"
#include <apr_strings.h>

static const char *const modes[] = {"remote", "local", "agent", NULL};

static void read_attributes(apr_pool_t *p, const tp_json_t *attrs)
{
    const char *s;
    long long n;
    int b, present;
    tp_json_t *list;
    tp_err_t *err;

    err = tp_attr_string(p, attrs, "name", 90, &s, &present);
    FUZZ_ASSERT(err || !present || tp_utf8_len(s) <= 90);
    err = tp_attr_int(p, attrs, "serial", 0, 1000000, &n, &present);
    FUZZ_ASSERT(err || !present || (n >= 0 && n <= 1000000));
    tp_attr_bool(p, attrs, "auto-apply", &b, &present);
    err = tp_attr_enum(p, attrs, "execution-mode", modes, &s, &present);
    FUZZ_ASSERT(err || !present || s);
    err = tp_attr_strings(p, attrs, "tag-names", 10, 64, &list, &present);
    FUZZ_ASSERT(err || !present || tp_json_len(list) <= 10);
    if (tp_json_type(attrs, "labels", NULL) != TP_JSON_ABSENT) {
        err = tp_labels_check(p, tp_json_get(attrs, "labels", NULL),
                              "labels", 1);
        FUZZ_ASSERT(!err || err->status == 422);
    }
}

/* Every member name normalize leaves is kebab-case. */
static int check_kebab(void *baton, const char *key, tp_json_t *val)
{
    const char *c;

    (void)baton;
    (void)val;
    for (c = key; *c; c++) {
        FUZZ_ASSERT(*c != '_' && !(*c >= 'A' && *c <= 'Z'));
    }
    return 0;
}

/* A state's resource instances: read whenever inspection succeeds, each
 * address naming its type and name. */
static void check_resources(apr_pool_t *p, const uint8_t *data, size_t size,
                            int is_state)
{
    apr_array_header_t *all = NULL;
    tp_err_t *err = tp_state_resources(p, (const char *)data, size, &all);
    int i;

    FUZZ_ASSERT(is_state ? !err && all : err && err->status == 422);
    for (i = 0; all && i < all->nelts; i++) {
        const tp_state_resource_t *r = &APR_ARRAY_IDX(all, i,
                                                      tp_state_resource_t);

        FUZZ_ASSERT(strstr(r->address, apr_pstrcat(p, r->type, ".", r->name,
                                                   NULL)) != NULL);
        FUZZ_ASSERT(r->module && r->provider);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    tp_json_t *body, *again, *attrs;
    tp_state_info_t info;
    tp_err_t *err;
    const char *why = NULL;
    char *dumped;

    apr_pool_create(&p, fuzz_root);
    body = tp_json_parse(p, (const char *)data, size, &why);
    FUZZ_ASSERT(body || why);
    if (body) {
        /* what we serialise we must read back identically */
        dumped = tp_json_dump(body, p);
        again = tp_json_parse(p, dumped, strlen(dumped), NULL);
        FUZZ_ASSERT(again && strcmp(tp_json_dump(again, p), dumped) == 0);
        tp_jsonapi_normalize(p, body);
        if (tp_json_type(body, "data", NULL) == TP_JSON_OBJECT) {
            tp_json_each(tp_json_get(body, "data", "attributes", NULL),
                         check_kebab, NULL);
            tp_json_each(tp_json_get(body, "data", "relationships", NULL),
                         check_kebab, NULL);
        }
        err = tp_jsonapi_attributes(p, body, "workspaces", &attrs);
        FUZZ_ASSERT(err ? err->status >= 400 && err->status < 500 : !!attrs);
        if (!err) {
            read_attributes(p, attrs);
        }
    }
    err = tp_state_inspect(p, (const char *)data, size, &info);
    FUZZ_ASSERT(!err || err->status == 422);
    check_resources(p, data, size, err == NULL);
    apr_pool_destroy(p);
    return 0;
}
