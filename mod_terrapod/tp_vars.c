/* Variables: the rules a definition must follow, and the precedence that
 * collapses a workspace's own variables and its variable sets' into the
 * one set its runs see. Sensitive values are only ever handled sealed
 * here, unless a caller asks for them to be unsealed for a run. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "tp_vars.h"
#include "tp_jsonapi.h"
#include "tp_crypto.h"

/* A set applies to the workspace when it is global or assigned to it. */
static const tp_stmt_t SQL_VARS_EFFECTIVE = {"vars_effective",
    "SELECT v.id, v.key, v.value, v.sealed_value, v.category, v.hcl,"
    "       v.sensitive, v.description, tp_ts(v.created_at) AS created_at,"
    "       " TP_VAR_VERSION_ID ","
    "       v.workspace_id, v.varset_id, s.name AS set_name, s.global,"
    "       s.priority"
    "  FROM variables v LEFT JOIN variable_sets s ON s.id = v.varset_id"
    " WHERE v.workspace_id = %s"
    "    OR s.global"
    "    OR v.varset_id IN (SELECT a.varset_id FROM variable_set_workspaces a"
    "                        WHERE a.workspace_id = %s)"};

int tp_var_key_valid(const char *key)
{
    apr_size_t n;

    if (!key || !(apr_isalpha(key[0]) || key[0] == '_')) {
        return 0;
    }
    for (n = 1; key[n]; n++) {
        if (!(apr_isalnum(key[n]) || key[n] == '_' || key[n] == '-')
            || n >= TP_VAR_KEY_MAX) {
            return 0;
        }
    }
    return 1;
}

tp_err_t *tp_var_parse(apr_pool_t *p, const tp_json_t *attrs, int create,
                       tp_var_input_t *in)
{
    static const char *const categories[] = {"terraform", "env", NULL};
    tp_err_t *err;
    int has;

    memset(in, 0, sizeof(*in));
    /* a key of the wrong type or too long breaks the same shape rules */
    err = tp_attr_string(p, attrs, "key", TP_VAR_KEY_MAX, &in->key, &has);
    if (err || (has && !tp_var_key_valid(in->key))) {
        return tp_err(p, 422, "key must be 1 to %d letters, digits, '_' or "
                      "'-', starting with a letter or '_'", TP_VAR_KEY_MAX);
    }
    if ((err = tp_attr_enum(p, attrs, "category", categories, &in->category,
                            &has)) != NULL
        || (err = tp_attr_string(p, attrs, "value", TP_VAR_VALUE_MAX,
                                 &in->value, &has)) != NULL) {
        return err;
    }
    if (has && strlen(in->value) > TP_VAR_VALUE_MAX) {
        return tp_err(p, 422, "value is larger than %d bytes",
                      TP_VAR_VALUE_MAX);
    }
    if ((err = tp_attr_string(p, attrs, "description", TP_VAR_DESCRIPTION_MAX,
                              &in->description, &has)) != NULL
        || (err = tp_attr_bool(p, attrs, "hcl", &in->hcl, &in->has_hcl))
           != NULL
        || (err = tp_attr_bool(p, attrs, "sensitive", &in->sensitive,
                               &in->has_sensitive)) != NULL) {
        return err;
    }
    if (create && !in->key) {
        return tp_err(p, 422, "key is required");
    }
    if (create && !in->category) {
        return tp_err(p, 422, "category is required (terraform or env)");
    }
    return NULL;
}

void tp_var_from_row(const tp_rows_t *rows, int i, tp_var_t *out)
{
    const char *ws = tp_row(rows, i, "workspace_id");
    const char *priority = tp_row(rows, i, "priority");

    memset(out, 0, sizeof(*out));
    out->id = tp_row(rows, i, "id");
    out->key = tp_row(rows, i, "key");
    out->category = tp_row(rows, i, "category");
    out->sensitive = tp_row_bool(rows, i, "sensitive");
    out->value = out->sensitive ? NULL : tp_row(rows, i, "value");
    out->sealed = out->sensitive ? tp_row(rows, i, "sealed_value") : NULL;
    out->description = tp_row(rows, i, "description");
    out->created_at = tp_row(rows, i, "created_at");
    out->version_id = tp_row(rows, i, "version_id");
    out->hcl = tp_row_bool(rows, i, "hcl");
    out->source = ws ? TP_VAR_FROM_WORKSPACE : TP_VAR_FROM_VARSET;
    out->source_id = ws ? ws : tp_row(rows, i, "varset_id");
    out->set_name = tp_row(rows, i, "set_name");
    out->global = tp_row_bool(rows, i, "global");
    out->priority = priority ? apr_atoi64(priority) : 0;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Negative when a wins over b for the same key and category. */
static int outranks(const tp_var_t *a, const tp_var_t *b)
{
    int c;

    if (a->source != b->source) {
        return a->source == TP_VAR_FROM_WORKSPACE ? -1 : 1;
    }
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    if (a->global != b->global) {
        return a->global ? 1 : -1;
    }
    if ((c = strcmp(nz(a->set_name), nz(b->set_name))) != 0) {
        return c;
    }
    return strcmp(nz(a->id), nz(b->id));
}

/* Groups each key and category together, the winner first. */
static int by_slot(const void *x, const void *y)
{
    const tp_var_t *a = *(const tp_var_t *const *)x;
    const tp_var_t *b = *(const tp_var_t *const *)y;
    int c;

    if ((c = strcmp(nz(a->category), nz(b->category))) != 0
        || (c = strcmp(nz(a->key), nz(b->key))) != 0) {
        return c;
    }
    return outranks(a, b);
}

apr_array_header_t *tp_vars_merge(apr_pool_t *p,
                                  const apr_array_header_t *vars)
{
    int n = vars->nelts, i;
    const tp_var_t **order = apr_pcalloc(p, sizeof(*order) * (n + 1));
    apr_array_header_t *out = apr_array_make(p, n ? n : 1, sizeof(tp_var_t));
    const tp_var_t *last = NULL;

    for (i = 0; i < n; i++) {
        order[i] = &APR_ARRAY_IDX(vars, i, tp_var_t);
    }
    qsort(order, (size_t)n, sizeof(*order), by_slot);
    for (i = 0; i < n; i++) {
        if (last && strcmp(nz(last->category), nz(order[i]->category)) == 0
            && strcmp(nz(last->key), nz(order[i]->key)) == 0) {
            continue;
        }
        last = order[i];
        APR_ARRAY_PUSH(out, tp_var_t) = *last;
    }
    return out;
}

tp_err_t *tp_vars_effective(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                            apr_array_header_t **out)
{
    apr_array_header_t *all;
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if ((err = tp_db_exec(db, p, &SQL_VARS_EFFECTIVE, &rows,
                          TP_DB_ARGS(ws_id, ws_id))) != NULL) {
        return err;
    }
    all = apr_array_make(p, rows->nrows ? rows->nrows : 1, sizeof(tp_var_t));
    for (i = 0; i < rows->nrows; i++) {
        tp_var_from_row(rows, i, apr_array_push(all));
    }
    *out = tp_vars_merge(p, all);
    return NULL;
}

tp_err_t *tp_vars_unseal(apr_pool_t *p, const tp_key_t *key,
                         apr_array_header_t *vars)
{
    int i;

    for (i = 0; i < vars->nelts; i++) {
        tp_var_t *v = &APR_ARRAY_IDX(vars, i, tp_var_t);

        if (!v->sensitive) {
            continue;
        }
        v->value = v->sealed ? tp_unseal(p, key->bytes, key->len,
                                         TP_VAR_SEAL_PURPOSE, v->sealed)
                             : NULL;
        if (!v->value) {
            return tp_err_internal(p, 500, "a sensitive variable could not "
                                   "be unsealed",
                                   apr_psprintf(p, "variable %s (key %s)",
                                                v->id, v->key));
        }
    }
    return NULL;
}
