/* The route table's shape, and its path patterns: literal segments and
 * {name} placeholders, each placeholder matching one non-empty segment.
 * The shape lives in the core so that what describes the API (the
 * OpenAPI document) reads the table without httpd. */
#ifndef TP_ROUTE_H
#define TP_ROUTE_H

#include <apr_pools.h>
#include "tp_error.h"
#include "tp_rbac.h"

#define TP_ROUTE_MAX_PARAMS 6

typedef enum {
    TP_AUTH_NONE,       /* open: probes, discovery */
    TP_AUTH_OPTIONAL,   /* open, but a valid API token makes it its owner's */
    TP_AUTH_USER,       /* Authorization: Bearer <API token> */
    TP_AUTH_CAPABILITY, /* a signed URL bound to the {id} of the path */
    TP_AUTH_LISTENER,   /* the client certificate of listener {id} */
    TP_AUTH_RUNNER      /* Authorization: Bearer runtok:... for {run_id} */
} tp_auth_e;

typedef enum {
    TP_PERM_NONE,           /* no principal needed */
    TP_PERM_AUTHENTICATED,  /* any active user */
    TP_PERM_ADMIN,          /* platform role admin */
    TP_PERM_AUDIT           /* platform role admin or audit */
} tp_perm_e;

/* The request a handler serves: the glue's (mod_terrapod.h). */
typedef struct tp_req tp_req_t;
typedef tp_err_t *tp_handler_fn(tp_req_t *req);

typedef struct tp_route {
    const char *method;
    const char *pattern;
    tp_auth_e auth;
    tp_perm_e perm;
    tp_handler_fn *handler;
    const char *capability;   /* kind of signed URL, for TP_AUTH_CAPABILITY */
    tp_level_e level;         /* level the handler demands on its resource */
    /* the handler changes who may do what (tokens, users, roles): cached
     * token lookups are dropped after it */
    int principals;
    /* a GET whose answers the read cache keeps (TerrapodReadCache) */
    int cached;
    tp_axis_e axis;           /* what level is demanded on */
    /* held open long (event streams, long polls): its database
     * connection is only borrowed, and tp_req_db_release gives it back */
    int stream;
    /* a USER route a run's runner token may call too: terraform reading
     * another workspace's state (terraform_remote_state), allowed per
     * workspace by what it shares (tp_remote_state_admit) */
    int remote_state;
    /* a USER route a running run's runner token may call too: terraform
     * init reading the registry, as the person the run is for */
    int registry_read;
    /* one line on what the route does, for the API's descriptions; rows
     * set it by name (.summary), and a row without one is still served
     * and described */
    const char *summary;
} tp_route_t;

typedef struct tp_params {
    int n;
    const char *names[TP_ROUTE_MAX_PARAMS];
    const char *values[TP_ROUTE_MAX_PARAMS];
} tp_params_t;

/* Matches path against pattern; on success fills params with the
 * percent-decoded placeholder values and returns 1. A single trailing
 * slash on the path is ignored. */
int tp_route_match(apr_pool_t *p, const char *pattern, const char *path,
                   tp_params_t *params);

const char *tp_param(const tp_params_t *params, const char *name);

/* Percent-encodes all but RFC 3986's unreserved characters, for query
 * strings and form bodies. */
char *tp_url_encode(apr_pool_t *p, const char *s);

#endif
