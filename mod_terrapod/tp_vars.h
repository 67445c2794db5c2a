/* Variables a run receives, from its workspace and the variable sets that
 * apply to it: the rules for keys and values, which definition of a key
 * wins, and the loading of a workspace's merged set. */
#ifndef TP_VARS_H
#define TP_VARS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "tp_json.h"
#include "tp_error.h"
#include "tp_db.h"
#include "tp_capability.h"

#define TP_VAR_KEY_MAX          128
#define TP_VAR_VALUE_MAX        (256 * 1024)   /* bytes */
#define TP_VAR_DESCRIPTION_MAX  512            /* characters */
/* what sensitive values are sealed for (tp_seal) */
#define TP_VAR_SEAL_PURPOSE     "variables"

typedef enum {
    TP_VAR_FROM_VARSET,
    TP_VAR_FROM_WORKSPACE
} tp_var_source_e;

/* TFE's version-id of a variable v, as a column: it changes whenever the
 * variable does. */
#define TP_VAR_VERSION_ID "md5(v.id || v.updated_at::text) AS version_id"

typedef struct tp_var {
    const char *id;
    const char *key;
    const char *category;      /* "terraform" or "env" */
    const char *value;         /* NULL for a sensitive one not unsealed */
    const char *sealed;        /* a sensitive value as stored, or NULL */
    const char *description;
    const char *created_at;
    const char *version_id;    /* changes with every update */
    int hcl;
    int sensitive;
    tp_var_source_e source;
    const char *source_id;     /* the workspace or the variable set */
    const char *set_name;      /* for a set's variable: the set's */
    int global;                /* ... whether it applies everywhere */
    long long priority;        /* ... and its rank among sets */
} tp_var_t;

/* A variable's attributes as a request sends them; NULL (or has_* 0) for
 * each it leaves out. */
typedef struct tp_var_input {
    const char *key;
    const char *category;
    const char *value;
    const char *description;
    int hcl, has_hcl;
    int sensitive, has_sensitive;
} tp_var_input_t;

/* 1 when key matches ^[A-Za-z_][A-Za-z0-9_-]{0,127}$. */
int tp_var_key_valid(const char *key);

/* Reads and checks a variable's attributes; with create, key and
 * category are required. 422 naming the first offence. */
tp_err_t *tp_var_parse(apr_pool_t *p, const tp_json_t *attrs, int create,
                       tp_var_input_t *in);

/* A variable from a result row with the columns id, key, value, category,
 * hcl, sensitive, description, created_at, workspace_id and varset_id,
 * and where present sealed_value, set_name, global and priority. A
 * sensitive variable's value is left NULL. */
void tp_var_from_row(const tp_rows_t *rows, int i, tp_var_t *out);

/* The winners among vars (tp_var_t) for each key and category, sorted by
 * category and key. A workspace's own variable beats any set's; between
 * sets the higher priority wins, then a set assigned to the workspace
 * beats a global one, then the set whose name sorts first. */
apr_array_header_t *tp_vars_merge(apr_pool_t *p,
                                  const apr_array_header_t *vars);

/* The merged set a workspace's runs see: its own variables, those of the
 * global sets and those of the sets assigned to it. Sensitive values stay
 * sealed (value NULL). */
tp_err_t *tp_vars_effective(tp_db_t *db, apr_pool_t *p, const char *ws_id,
                            apr_array_header_t **out);

/* Unseals the sensitive values of vars (tp_var_t) in place, for handing
 * them to a run; 500 when one was not sealed with key. */
tp_err_t *tp_vars_unseal(apr_pool_t *p, const tp_key_t *key,
                         apr_array_header_t *vars);

#endif
