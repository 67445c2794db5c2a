/* The audit log: what an entry records about a request (the resource it
 * touched, its path with credentials masked), the statement that appends
 * one, and the retention task that deletes old entries. Apache's access
 * log shows requests with the same masking. */
#ifndef TP_AUDIT_H
#define TP_AUDIT_H

#include "tp_db.h"
#include "tp_route.h"

#define TP_AUDIT_RETENTION_DAYS_DEFAULT 90

typedef struct tp_audit_entry {
    apr_time_t at;               /* when the request arrived */
    const char *actor;           /* email, listener name, or "anonymous" */
    const char *token_id;        /* NULL when no API token was used */
    const char *method;
    const char *path;            /* see tp_audit_path */
    const char *resource_type;   /* NULL when no route matched */
    const char *resource_id;     /* NULL when the route names none */
    const char *client_ip;
    int status;
    long long duration_ms;
} tp_audit_entry_t;

/* The resource a request on pattern touched: the last path parameter
 * (credentials aside) and the literal segment before it, e.g.
 * ("workspaces", "ws-1") for /api/v2/workspaces/{id}/actions/lock;
 * without parameters the last segment ("runs" for POST /api/v2/runs)
 * and a NULL id. */
void tp_audit_resource(apr_pool_t *p, const char *pattern,
                       const tp_params_t *params, const char **type,
                       const char **id);

/* path as recorded for a route's pattern: segments that carry a
 * credential ({cap} signatures, download {ticket}s) are replaced by the
 * placeholder's name. pattern may be NULL (no route matched). */
const char *tp_audit_path(apr_pool_t *p, const char *pattern,
                          const char *path);

/* query (NULL: none) as logged: the value of each parameter that is a
 * credential (an upload URL's signature, the code and state a single
 * sign-on provider sends back) is replaced by the parameter's name in
 * braces, "signature={signature}", however the name is percent-encoded.
 * The query itself when it holds none. */
const char *tp_audit_query(apr_pool_t *p, const char *query);

/* Appends n entries with one bound INSERT (a transaction of its own). */
tp_err_t *tp_audit_record(tp_db_t *db, apr_pool_t *p,
                          const tp_audit_entry_t *const *entries, int n);

/* Days the retention task keeps entries; 0 keeps them forever. Set once
 * by the server before the background child starts. */
void tp_audit_set_retention(int days);

/* Background task: deletes entries older than the retention, in batches. */
tp_err_t *tp_audit_purge(tp_db_t *db, apr_pool_t *p, const char **summary);

#endif
