/* Module addresses, semantic versions and the reading of a published
 * archive (tp_module.h). */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "tp_module.h"
#include "tp_hcl_scan.h"

int tp_module_name_valid(const char *name)
{
    const char *c;

    if (!name || !*name || strlen(name) > 64 || !apr_isalnum(*name)) {
        return 0;
    }
    for (c = name; *c; c++) {
        if (!apr_isalnum(*c) && *c != '-' && *c != '_') {
            return 0;
        }
    }
    return 1;
}

int tp_module_provider_valid(const char *provider)
{
    const char *c;

    if (!provider || !*provider || strlen(provider) > 64) {
        return 0;
    }
    for (c = provider; *c; c++) {
        if (!apr_islower(*c) && !apr_isdigit(*c)) {
            return 0;
        }
    }
    return 1;
}

/* A number without leading zeros, at most 15 digits; *s moves past it. */
static int number(const char **s, apr_int64_t *out)
{
    const char *c = *s;

    if (!apr_isdigit(*c) || (*c == '0' && apr_isdigit(c[1]))) {
        return 0;
    }
    for (*out = 0; apr_isdigit(*c); c++) {
        if (c - *s >= 15) {
            return 0;
        }
        *out = *out * 10 + (*c - '0');
    }
    *s = c;
    return 1;
}

/* Dot-separated non-empty identifiers of [0-9A-Za-z-]; numeric ones
 * without leading zeros. */
static int prerelease_valid(const char *s)
{
    while (*s) {
        const char *id = s;
        int numeric = 1;

        for (; *s && *s != '.'; s++) {
            if (!apr_isalnum(*s) && *s != '-') {
                return 0;
            }
            numeric &= apr_isdigit(*s) != 0;
        }
        if (s == id || (numeric && *id == '0' && s - id > 1)) {
            return 0;
        }
        if (*s == '.' && !*++s) {
            return 0;
        }
    }
    return 1;
}

int tp_semver_parse(apr_pool_t *p, const char *s, tp_semver_t *v)
{
    if (!s || !number(&s, &v->major) || *s++ != '.'
        || !number(&s, &v->minor) || *s++ != '.'
        || !number(&s, &v->patch)) {
        return 0;
    }
    if (*s == '\0') {
        v->prerelease = "";
        return 1;
    }
    if (*s != '-' || !s[1] || !prerelease_valid(s + 1)) {
        return 0;
    }
    v->prerelease = apr_pstrdup(p, s + 1);
    return 1;
}

const char *tp_module_key(apr_pool_t *p, const char *module_id,
                          const char *version)
{
    return apr_pstrcat(p, "registry/modules/", module_id, "/", version,
                       ".tar.gz", NULL);
}

static void add_vars(apr_pool_t *p, tp_json_t *list,
                     const apr_array_header_t *vars)
{
    int i;

    for (i = 0; i < vars->nelts; i++) {
        const tp_hcl_var_t *v = &APR_ARRAY_IDX(vars, i, tp_hcl_var_t);
        tp_json_t *j = tp_json_object(p);

        tp_json_sets(j, v->name, "name", NULL);
        tp_json_sets(j, v->type ? v->type : "any", "type", NULL);
        tp_json_sets(j, v->description ? v->description : "",
                     "description", NULL);
        tp_json_setb(j, !v->has_default, "required", NULL);
        tp_json_setb(j, v->sensitive, "sensitive", NULL);
        tp_json_push(list, j);
    }
}

static void add_outputs(apr_pool_t *p, tp_json_t *list,
                        const apr_array_header_t *outputs)
{
    int i;

    for (i = 0; i < outputs->nelts; i++) {
        const tp_hcl_output_t *o = &APR_ARRAY_IDX(outputs, i,
                                                  tp_hcl_output_t);
        tp_json_t *j = tp_json_object(p);

        tp_json_sets(j, o->name, "name", NULL);
        tp_json_sets(j, o->description ? o->description : "", "description",
                     NULL);
        tp_json_setb(j, o->sensitive, "sensitive", NULL);
        tp_json_push(list, j);
    }
}

static int at_root(const char *path)
{
    return strchr(path, '/') == NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    apr_size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

tp_err_t *tp_module_inspect(apr_pool_t *p, const char *path,
                            const tp_archive_limits_t *limits,
                            apr_size_t max_file, tp_json_t **iface,
                            const char **readme)
{
    apr_array_header_t *files, *vars, *outputs;
    tp_archive_info_t info;
    const char *plain_readme = NULL;
    tp_err_t *err;
    int i;

    if ((err = tp_archive_read(p, path, limits, max_file, &files, &info))
        != NULL) {
        return err;
    }
    vars = apr_array_make(p, 8, sizeof(tp_hcl_var_t));
    outputs = apr_array_make(p, 8, sizeof(tp_hcl_output_t));
    *readme = NULL;
    for (i = 0; i < files->nelts; i++) {
        const tp_archive_file_t *f = &APR_ARRAY_IDX(files, i,
                                                    tp_archive_file_t);

        if (!f->data || !at_root(f->path)) {
            continue;
        }
        if (ends_with(f->path, ".tf")
            && (err = tp_hcl_scan(p, f->data, f->len, vars, outputs))
               != NULL) {
            return tp_err(p, 422, "%s: %s", f->path, err->detail);
        }
        if (strcasecmp(f->path, "README.md") == 0) {
            *readme = f->data;
        }
        else if (strcasecmp(f->path, "README") == 0) {
            plain_readme = f->data;
        }
    }
    if (!*readme) {
        *readme = plain_readme ? plain_readme : "";
    }
    *iface = tp_json_object(p);
    tp_json_setj(*iface, tp_json_array(p), "variables", NULL);
    tp_json_setj(*iface, tp_json_array(p), "outputs", NULL);
    add_vars(p, tp_json_get(*iface, "variables", NULL), vars);
    add_outputs(p, tp_json_get(*iface, "outputs", NULL), outputs);
    return NULL;
}
