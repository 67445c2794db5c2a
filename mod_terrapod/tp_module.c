/* Module addresses, semantic versions, the reading of a published
 * archive, recording versions and their impact runs (tp_module.h). */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "tp_module.h"
#include "tp_hcl_scan.h"
#include "tp_runs.h"

static const tp_stmt_t SQL_VERSION_ADD = {"module_version_add",
    "INSERT INTO registry_module_versions (id, module_id, version, major,"
    "  minor, patch, prerelease, prerelease_order, size, interface, readme,"
    "  created_by, vcs_tag, vcs_commit_sha)"
    " VALUES (%s, %s, %s, %s::bigint, %s::bigint, %s::bigint, %s, %s,"
    "         %s::bigint, %s::jsonb, %s, %s, %s, %s)"
    " ON CONFLICT DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_LINKED = {"module_linked_ws",
    "SELECT l.workspace_id, w.execution_mode FROM registry_module_links l"
    "  JOIN workspaces w ON w.id = l.workspace_id WHERE l.module_id = %s"
    " ORDER BY l.created_at, l.id"};

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

#define ID_DIGITS 15

/* Dot-separated non-empty identifiers of [0-9A-Za-z-]; numeric ones
 * without leading zeros and of at most ID_DIGITS digits. *order gets
 * the identifiers as precedence orders them byte by byte: a numeric one
 * as '0' and its number zero-padded (below any other, compared as
 * numbers), any other as '1' and itself, separated by a space (below
 * every identifier character, so that fewer identifiers come first). */
static int prerelease_parse(apr_pool_t *p, const char *s, const char **order)
{
    char *key = apr_palloc(p, strlen(s) * (ID_DIGITS + 2) + 1), *k = key;

    while (*s) {
        const char *id = s;
        int numeric = 1;

        for (; *s && *s != '.'; s++) {
            if (!apr_isalnum(*s) && *s != '-') {
                return 0;
            }
            numeric &= apr_isdigit(*s) != 0;
        }
        if (s == id || (numeric && ((*id == '0' && s - id > 1)
                                    || s - id > ID_DIGITS))) {
            return 0;
        }
        if (k > key) {
            *k++ = ' ';
        }
        *k++ = numeric ? '0' : '1';
        if (numeric) {
            memset(k, '0', (apr_size_t)(ID_DIGITS - (s - id)));
            k += ID_DIGITS - (s - id);
        }
        memcpy(k, id, (apr_size_t)(s - id));
        k += s - id;
        if (*s == '.' && !*++s) {
            return 0;
        }
    }
    *k = '\0';
    *order = key;
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
        v->prerelease = v->order = "";
        return 1;
    }
    if (*s != '-' || !s[1] || !prerelease_parse(p, s + 1, &v->order)) {
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

static int ends_with(const char *s, const char *suffix)
{
    apr_size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* What the registry reads of a module: its root's .tf files and README. */
static int module_file(const char *path)
{
    return !strchr(path, '/')
           && (ends_with(path, ".tf") || strcasecmp(path, "README.md") == 0
               || strcasecmp(path, "README") == 0);
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

    if ((err = tp_archive_read_some(p, path, limits, max_file, module_file,
                                    &files, &info)) != NULL) {
        return err;
    }
    vars = apr_array_make(p, 8, sizeof(tp_hcl_var_t));
    outputs = apr_array_make(p, 8, sizeof(tp_hcl_output_t));
    *readme = NULL;
    for (i = 0; i < files->nelts; i++) {
        const tp_archive_file_t *f = &APR_ARRAY_IDX(files, i,
                                                    tp_archive_file_t);

        if (!f->data) {
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

tp_err_t *tp_module_version_add(tp_db_t *db, apr_pool_t *p,
                                const tp_module_version_t *v, int *added)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_VERSION_ADD, &rows,
        TP_DB_ARGS(v->id, v->module_id, v->version,
                   apr_psprintf(p, "%" APR_INT64_T_FMT, v->sv.major),
                   apr_psprintf(p, "%" APR_INT64_T_FMT, v->sv.minor),
                   apr_psprintf(p, "%" APR_INT64_T_FMT, v->sv.patch),
                   v->sv.prerelease, v->sv.order, apr_off_t_toa(p, v->size),
                   tp_json_dump(v->iface, p), v->readme, v->created_by,
                   v->vcs_tag, v->vcs_sha));

    *added = !err && rows->nrows > 0;
    return err;
}

tp_json_t *tp_module_impact_runs(tp_db_t *db, apr_pool_t *p,
                                 const char *module_id, const char *address,
                                 const char *version)
{
    tp_json_t *runs = tp_json_array(p);
    tp_run_spec_t spec;
    tp_rows_t *links;
    tp_err_t *err;
    int i;

    if ((err = tp_db_exec(db, p, &SQL_LINKED, &links,
                          TP_DB_ARGS(module_id))) != NULL) {
        tp_json_t *r = tp_json_object(p);

        tp_json_sets(r, err->detail, "error", NULL);
        tp_json_push(runs, r);
        return runs;
    }
    memset(&spec, 0, sizeof(spec));
    spec.plan_only = 1;
    spec.refresh = 1;
    spec.vcs_ref = "";
    spec.target_addrs = spec.replace_addrs = spec.variables = "[]";
    spec.level = TP_LEVEL_ADMIN;        /* the server's own run */
    spec.message = apr_psprintf(p, "Module impact: %s %s published", address,
                                version);
    for (i = 0; i < links->nrows; i++) {
        const char *ws_id = tp_row(links, i, "workspace_id"), *run_id = NULL;
        tp_json_t *r = tp_json_object(p);

        err = strcmp(tp_row(links, i, "execution_mode"), "local") == 0
              ? tp_err(p, 422, "the workspace runs terraform locally")
              : tp_run_create(db, p, ws_id, &spec, NULL, &run_id);
        tp_json_sets(r, ws_id, "workspace-id", NULL);
        if (err) {
            tp_json_sets(r, err->detail, "error", NULL);
        }
        else {
            tp_json_sets(r, run_id, "run-id", NULL);
        }
        tp_json_push(runs, r);
    }
    return runs;
}
