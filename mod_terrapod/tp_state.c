/* Reading and re-serialling terraform state files (format version 4). */
#include <string.h>
#include <apr_strings.h>
#include "tp_state.h"

static tp_json_t *parse_state(apr_pool_t *p, const char *buf, apr_size_t len,
                              tp_err_t **err)
{
    const char *why = NULL;
    tp_json_t *j = tp_json_parse(p, buf, len, &why);

    *err = NULL;
    if (!j || tp_json_type(j, NULL) != TP_JSON_OBJECT) {
        *err = tp_err(p, 422, "not a terraform state: %s",
                      why ? why : "not a JSON object");
        return NULL;
    }
    if (tp_json_type(j, "version", NULL) != TP_JSON_INTEGER
        || tp_json_geti(j, "version", NULL) != 4
        || tp_json_type(j, "serial", NULL) != TP_JSON_INTEGER
        || tp_json_geti(j, "serial", NULL) < 0) {
        *err = tp_err(p, 422, "not a terraform state: needs \"version\": 4 "
                      "and a non-negative integer \"serial\"");
        return NULL;
    }
    return j;
}

/* Resource i of a state's resources when it is a managed one, else NULL
 * (data sources are read, not managed). */
static tp_json_t *managed(const tp_json_t *resources, apr_size_t i)
{
    tp_json_t *r = tp_json_at(resources, i);
    const char *mode = tp_json_gets(r, "mode", NULL);

    return mode && strcmp(mode, "managed") == 0 ? r : NULL;
}

tp_err_t *tp_state_inspect(apr_pool_t *p, const char *buf, apr_size_t len,
                           tp_state_info_t *info)
{
    tp_err_t *err;
    tp_json_t *j = parse_state(p, buf, len, &err);
    tp_json_t *resources;
    apr_size_t i;

    if (!j) {
        return err;
    }
    info->serial = tp_json_geti(j, "serial", NULL);
    info->lineage = tp_json_gets(j, "lineage", NULL);
    info->terraform_version = tp_json_gets(j, "terraform_version", NULL);
    info->outputs = tp_json_get(j, "outputs", NULL);
    if (tp_json_type(info->outputs, NULL) != TP_JSON_OBJECT) {
        info->outputs = tp_json_object(p);
    }
    info->resources = 0;
    resources = tp_json_get(j, "resources", NULL);
    for (i = 0; i < tp_json_len(resources); i++) {
        info->resources += managed(resources, i) != NULL;
    }
    return NULL;
}

#define REGISTRY_PREFIX "registry.terraform.io/"

/* provider["registry.terraform.io/hashicorp/null"] -> hashicorp/null;
 * any other spelling is kept as it is. */
static const char *provider_of(apr_pool_t *p, const char *s)
{
    const char *open = s ? strstr(s, "[\"") : NULL;
    const char *close = open ? strstr(open + 2, "\"]") : NULL;

    if (!close) {
        return s ? s : "";
    }
    open += 2;
    if (strncmp(open, REGISTRY_PREFIX, strlen(REGISTRY_PREFIX)) == 0) {
        open += strlen(REGISTRY_PREFIX);
    }
    return apr_pstrmemdup(p, open, (apr_size_t)(close - open));
}

/* An instance's index_key as the address writes it; NULL without one. */
static const char *index_of(apr_pool_t *p, const tp_json_t *instance)
{
    tp_json_t *key = tp_json_get(instance, "index_key", NULL);

    switch (tp_json_type(key, NULL)) {
    case TP_JSON_INTEGER:
        return apr_psprintf(p, "%" APR_INT64_T_FMT,
                            (apr_int64_t)tp_json_geti(key, NULL));
    case TP_JSON_STRING:
        return tp_json_dump(key, p);    /* quoted and escaped, as HCL */
    default:
        return NULL;
    }
}

static void add_instances(apr_pool_t *p, const tp_json_t *r,
                          apr_array_header_t *out)
{
    const char *module = tp_json_gets(r, "module", NULL);
    const char *type = tp_json_gets(r, "type", NULL);
    const char *name = tp_json_gets(r, "name", NULL);
    tp_json_t *instances = tp_json_get(r, "instances", NULL);
    apr_size_t k;

    if (!type || !name) {
        return;
    }
    for (k = 0; k < tp_json_len(instances); k++) {
        tp_state_resource_t *res = apr_array_push(out);

        res->name = name;
        res->type = type;
        res->module = module ? module : "root";
        res->provider = provider_of(p, tp_json_gets(r, "provider", NULL));
        res->index = index_of(p, tp_json_at(instances, k));
        res->address = apr_pstrcat(p, module ? module : "", module ? "." : "",
                                   type, ".", name, res->index ? "[" : "",
                                   res->index ? res->index : "",
                                   res->index ? "]" : "", NULL);
    }
}

tp_err_t *tp_state_resources(apr_pool_t *p, const char *buf, apr_size_t len,
                             apr_array_header_t **out)
{
    tp_err_t *err;
    tp_json_t *j = parse_state(p, buf, len, &err);
    tp_json_t *resources = j ? tp_json_get(j, "resources", NULL) : NULL;
    apr_size_t i;

    if (!j) {
        return err;
    }
    *out = apr_array_make(p, 8, sizeof(tp_state_resource_t));
    for (i = 0; i < tp_json_len(resources); i++) {
        tp_json_t *r = managed(resources, i);

        if (r) {
            add_instances(p, r, *out);
        }
    }
    return NULL;
}

tp_err_t *tp_state_reserial(apr_pool_t *p, const char *buf, apr_size_t len,
                            long long serial, const char *lineage,
                            char **out)
{
    tp_err_t *err;
    tp_json_t *j = parse_state(p, buf, len, &err);

    if (!j) {
        return err;
    }
    tp_json_seti(j, serial, "serial", NULL);
    if (lineage && !tp_json_gets(j, "lineage", NULL)) {
        tp_json_sets(j, lineage, "lineage", NULL);
    }
    *out = tp_json_dump(j, p);
    return NULL;
}

static const char *from_value(const tp_json_t *value)
{
    switch (tp_json_type(value, NULL)) {
    case TP_JSON_STRING:  return "string";
    case TP_JSON_INTEGER:
    case TP_JSON_REAL:    return "number";
    case TP_JSON_BOOL:    return "boolean";
    case TP_JSON_ARRAY:   return "array";
    case TP_JSON_OBJECT:  return "object";
    default:              return "string";
    }
}

const char *tp_output_type(const tp_json_t *detailed_type,
                           const tp_json_t *value)
{
    const char *t = tp_json_gets(detailed_type, NULL);

    if (!t && tp_json_len(detailed_type) > 0) {
        t = tp_json_gets(tp_json_at(detailed_type, 0), NULL);
    }
    if (!t || strcmp(t, "dynamic") == 0) {
        return from_value(value);
    }
    if (strcmp(t, "bool") == 0) return "boolean";
    if (strcmp(t, "list") == 0 || strcmp(t, "set") == 0
        || strcmp(t, "tuple") == 0) return "array";
    if (strcmp(t, "map") == 0 || strcmp(t, "object") == 0) return "object";
    return t;   /* string, number */
}

static const tp_stmt_t SQL_DISCARD_STALE = {"sv_discard_stale",
    "UPDATE state_versions SET status = 'discarded'"
    " WHERE status = 'pending' AND created_at < now() - interval '1 hour'"
    " RETURNING id"};

tp_err_t *tp_state_discard_stale(tp_db_t *db, apr_pool_t *p,
                                 const char **summary)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_DISCARD_STALE, &rows, 0, NULL);

    if (!err) {
        *summary = apr_psprintf(p, "discarded %d stale pending state "
                                "version(s)", rows->nrows);
    }
    return err;
}
