/* Private header of the httpd glue: configuration, the request context the
 * API handlers receive, and the route table's shape. */
#ifndef MOD_TERRAPOD_H
#define MOD_TERRAPOD_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_optional.h>

#include "tp_error.h"
#include "tp_json.h"
#include "tp_jsonapi.h"
#include "tp_route.h"
#include "tp_db.h"
#include "tp_auth.h"
#include "tp_storage.h"

APLOG_USE_MODULE(terrapod);
extern module AP_MODULE_DECLARE_DATA terrapod_module;

#define TP_DEFAULT_MAX_BODY      (10 * 1024 * 1024)
#define TP_DEFAULT_MAX_UPLOAD    ((apr_off_t)512 * 1024 * 1024)
#define TP_DEFAULT_SCHEMA_DIR    "/usr/share/mod_terrapod/sql"
#define TP_ORGANIZATION          "default"

typedef struct tp_srv_conf {
    int enabled;                  /* -1: inherit */
    const char *public_url;       /* NULL: derived from each request */
    tp_storage_t storage;
    const char *hmac_key_file;
    apr_off_t max_body;           /* JSON request bodies; -1: inherit */
    apr_off_t max_upload;         /* state and configuration uploads */
    const char *listener_ca_cert;
    const char *listener_ca_key;
    const char *schema_dir;
    /* seen in mod_dbd's own directives, for connections outside requests */
    const char *dbd_driver;
    const char *dbd_params;
    apr_table_t *task_intervals;  /* task name -> seconds, overrides */
    /* loaded at post_config */
    const unsigned char *hmac_key;
    apr_size_t hmac_key_len;
} tp_srv_conf_t;

typedef enum {
    TP_AUTH_NONE,     /* open: probes, discovery */
    TP_AUTH_USER      /* Authorization: Bearer <API token> */
} tp_auth_e;

typedef enum {
    TP_PERM_NONE,           /* no principal needed */
    TP_PERM_AUTHENTICATED,  /* any active user */
    TP_PERM_ADMIN           /* platform role admin */
} tp_perm_e;

typedef struct tp_req tp_req_t;
typedef tp_err_t *tp_handler_fn(tp_req_t *req);

typedef struct tp_route {
    const char *method;
    const char *pattern;
    tp_auth_e auth;
    tp_perm_e perm;
    tp_handler_fn *handler;
} tp_route_t;

struct tp_req {
    request_rec *r;
    tp_srv_conf_t *conf;
    const tp_route_t *route;
    tp_params_t params;
    tp_principal_t *who;   /* NULL for open routes */
    tp_db_t *db;           /* acquired on first use */
};

/* The route table (mod_terrapod_routes.c). */
extern const tp_route_t tp_routes[];

/* mod_terrapod_request.c */
int tp_handle(request_rec *r);
int tp_is_api_path(const char *path);
tp_err_t *tp_req_db(tp_req_t *req, tp_db_t **db);
tp_err_t *tp_read_json(tp_req_t *req, tp_json_t **body);
const char *tp_query_arg(tp_req_t *req, const char *name);
const char *tp_base_url(tp_req_t *req);
tp_err_t *tp_send_json(tp_req_t *req, int status, const tp_json_t *doc);
void tp_log_err(request_rec *r, const tp_err_t *e);

/* mod_terrapod_child.c */
apr_status_t tp_child_start(apr_pool_t *pconf, server_rec *s,
                            tp_srv_conf_t *conf);

/* API handlers, one file per resource under api/. */
tp_err_t *tp_api_health(tp_req_t *req);
tp_err_t *tp_api_ready(tp_req_t *req);
tp_err_t *tp_api_discovery(tp_req_t *req);
tp_err_t *tp_api_ping(tp_req_t *req);
tp_err_t *tp_api_account_details(tp_req_t *req);
tp_err_t *tp_api_organization_show(tp_req_t *req);
tp_err_t *tp_api_entitlement_set(tp_req_t *req);
tp_err_t *tp_api_user_create(tp_req_t *req);
tp_err_t *tp_api_user_show(tp_req_t *req);

#endif
