/* What the server reads out of a terraform state file: its identity
 * (serial, lineage), how many managed resources it holds, and its root
 * outputs; and the one change it makes to one (a new serial). */
#ifndef TP_STATE_H
#define TP_STATE_H

#include "tp_json.h"
#include "tp_error.h"
#include "tp_db.h"
#include <apr_tables.h>

/* States larger than this are stored and served but not inspected. */
#define TP_STATE_INSPECT_MAX (8 * 1024 * 1024)

typedef struct tp_state_info {
    long long serial;
    const char *lineage;
    const char *terraform_version;
    int resources;            /* managed resources */
    tp_json_t *outputs;       /* {"name": {"value", "type", "sensitive"}} */
} tp_state_info_t;

/* 422 when buf is not a terraform state (version 4 JSON object). */
tp_err_t *tp_state_inspect(apr_pool_t *p, const char *buf, apr_size_t len,
                           tp_state_info_t *info);

/* A managed resource instance of a state, as TFE's workspace resources
 * show it. */
typedef struct tp_state_resource {
    const char *address;    /* module.m.aws_instance.web["a"] */
    const char *name;       /* web */
    const char *module;     /* module.m, or "root" */
    const char *type;       /* aws_instance */
    const char *provider;   /* hashicorp/aws (registry host left out) */
    const char *index;      /* "a" or 0 as in the address; NULL: none */
} tp_state_resource_t;

/* The managed resource instances of a state (tp_state_resource_t), in
 * the state's order; 422 when buf is not a terraform state. */
tp_err_t *tp_state_resources(apr_pool_t *p, const char *buf, apr_size_t len,
                             apr_array_header_t **out);

/* The state with its serial (and lineage, when it has none) replaced. */
tp_err_t *tp_state_reserial(apr_pool_t *p, const char *buf, apr_size_t len,
                            long long serial, const char *lineage,
                            char **out);

/* TFE's coarse output type for a terraform type expression: "string",
 * "number", "boolean", "array" or "object". */
const char *tp_output_type(const tp_json_t *detailed_type,
                           const tp_json_t *value);

/* Background task: pending versions whose bytes never arrived within an
 * hour are discarded, freeing their serial for a new attempt. */
tp_err_t *tp_state_discard_stale(tp_db_t *db, apr_pool_t *p,
                                 const char **summary);

#endif
