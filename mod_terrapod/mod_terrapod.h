/* Private header of the httpd glue: configuration, the request context the
 * API handlers receive, and the route table (its shape is tp_route.h's). */
#ifndef MOD_TERRAPOD_H
#define MOD_TERRAPOD_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_optional.h>
#include <apr_dbd.h>
#include <mod_dbd.h>

#include "tp_error.h"
#include "tp_json.h"
#include "tp_jsonapi.h"
#include "tp_route.h"
#include "tp_db.h"
#include "tp_auth.h"
#include "tp_storage.h"
#include "tp_rbac.h"
#include "tp_capability.h"
#include "tp_token.h"
#include "tp_runs.h"
#include "tp_oidc.h"
#include "tp_session.h"
#include "tp_ratelimit.h"
#include "tp_resource.h"
#include "tp_metrics.h"

APLOG_USE_MODULE(terrapod);
extern module AP_MODULE_DECLARE_DATA terrapod_module;

/* the module's release, as the API's description states it */
#define TP_VERSION               "0.1.0"

#define TP_DEFAULT_MAX_BODY      (10 * 1024 * 1024)
#define TP_DEFAULT_MAX_UPLOAD    ((apr_off_t)512 * 1024 * 1024)
#define TP_DEFAULT_SCHEMA_DIR    "/usr/share/mod_terrapod/sql"
#define TP_ORGANIZATION          "default"
#define TP_DEFAULT_POLL_WAIT     25   /* seconds runs/next may wait */
#define TP_DEFAULT_SESSION_IDLE  (12 * 3600)
#define TP_DEFAULT_SESSION_MAX   (7 * 86400)
#define TP_DEFAULT_AUDIT_QUEUE   8192 /* entries a process's writer holds */
#define TP_DEFAULT_TOKEN_CACHE   1    /* seconds a token lookup is believed */
#define TP_TOKEN_CACHE_MAX       300
#define TP_TOKEN_CACHE_ENTRIES   1000 /* tokens a process remembers */
#define TP_DEFAULT_READ_CACHE    1    /* seconds a read's answer is kept */
#define TP_READ_CACHE_MAX        60
#define TP_READ_CACHE_ENTRIES    500  /* answers a process keeps */
#define TP_READ_CACHE_ANSWER_MAX 16384 /* bytes of the largest kept */
#define TP_DBD_DEFAULT_MAX       10   /* mod_dbd's DBDMax default */
#define TP_DEFAULT_STREAM_LIFETIME 300 /* seconds an event stream lasts */
#define TP_DEFAULT_EVENT_KEEPALIVE 1  /* seconds between keep-alives */
#define TP_DEFAULT_EVENT_REPLAY  600  /* seconds a reconnect is replayed */

/* SQL: a listener (a row of listeners) is online while its heartbeats
 * keep coming */
#define TP_LISTENER_ONLINE "last_heartbeat_at > now() - interval '3 minutes'"

/* terraform login: the client the discovery document names and the ports
 * its loopback listener may use */
#define TP_LOGIN_CLIENT          "terraform-cli"
#define TP_LOGIN_PORT_MIN        10000
#define TP_LOGIN_PORT_MAX        10010

#define TP_SESSION_COOKIE        "terrapod_session"
#define TP_CSRF_COOKIE           "terrapod_csrf"    /* readable by pages */
#define TP_CSRF_HEADER           "X-CSRF-Token"

typedef struct tp_srv_conf {
    int enabled;                  /* -1: inherit */
    const char *public_url;       /* NULL: derived from each request */
    tp_storage_t storage;
    tp_s3_t s3;                   /* storage.s3 points here once a bucket
                                     is named; part_size, virtual_host and
                                     redirect -1: inherit */
    const char *hmac_key_file;
    apr_off_t max_body;           /* JSON request bodies; -1: inherit */
    apr_off_t max_upload;         /* state and configuration uploads */
    const char *listener_ca_cert;
    const char *listener_ca_key;
    /* reverse proxies (apr_ipsubnet_t *): where they connect from; the
     * file of the client certificates they prove themselves with, and
     * those certificates' SHA-256 fingerprints (loaded at post_config;
     * NULL: none configured); the header a proven proxy forwards the
     * client's certificate in */
    apr_array_header_t *trusted_proxies;
    const char *proxy_cert_file;
    apr_array_header_t *proxy_fingerprints;
    const char *client_cert_header;
    const char *schema_dir;
    /* seen in mod_dbd's own directives, for connections outside requests */
    const char *dbd_driver;
    const char *dbd_params;
    int dbd_max;                  /* DBDMax; -1: inherit, then mod_dbd's */
    apr_table_t *task_intervals;  /* task name -> seconds, overrides */
    int drift_max_concurrent;     /* drift runs in flight; -1: inherit */
    int listener_poll_wait;       /* seconds; -1: inherit */
    /* API token policy; -1: inherit (then the TP_*_DEFAULT of tp_auth.h) */
    int bound_idle_days;
    int service_max_ttl_hours;
    int expiry_warning_days;
    apr_array_header_t *oidc_providers;  /* tp_oidc_provider_t *; or NULL */
    apr_array_header_t *sso_roles;  /* roles only single sign-on may use */
    int session_idle;             /* seconds; -1: inherit */
    int session_max;              /* seconds; -1: inherit */
    /* per tp_rl_class_e: requests per second and user (authenticated),
     * per minute and client address (the others); 0: no limit, -1:
     * inherit */
    int rate_limits[TP_RL_NCLASSES];
    int audit_retention_days;     /* 0: forever; -1: inherit */
    int retention_run_days;       /* run artifacts; 0: forever; -1: inherit */
    int retention_cv_days;        /* configuration tarballs; likewise */
    int audit_queue;              /* entries; -1: inherit */
    int token_cache;              /* seconds; 0: off; -1: inherit */
    int read_cache;               /* seconds; 0: off; -1: inherit */
    int metrics;                  /* GET /metrics served; -1: inherit */
    /* who may read /metrics without a token (apr_ipsubnet_t *) */
    apr_array_header_t *metrics_allow;
    int max_held;                 /* requests; -1: derived at start-up */
    /* event streams (TerrapodMaxEventStreams ...); -1: inherit */
    int max_streams;              /* per process; -1: derived */
    int stream_lifetime;          /* seconds */
    int event_keepalive;          /* seconds */
    int event_replay;             /* seconds of the replay window */
    /* VCS connections: hosts a server-url may reach over plain http
     * (const char *), the CA file outbound HTTPS trusts besides the
     * system's, the webhook secret of connections without their own */
    apr_array_header_t *vcs_internal_hosts;
    const char *vcs_ca_file;
    const char *vcs_webhook_secret;
    /* notifications: the addresses the outbound guard lets through
     * (tp_cidr_t), the CA file their HTTPS and mail TLS trust besides
     * the system's, the mail server, the first retry's wait (seconds;
     * -1: inherit) */
    apr_array_header_t *outbound_allow;
    const char *outbound_ca_file;
    const char *smtp_url, *smtp_from, *smtp_user, *smtp_password;
    int smtp_require_tls;               /* -1: inherit */
    int notify_retry;
    /* the provider network mirror: the upstream registry's hostname and
     * where its discovery document is read (NULL: registry.terraform.io,
     * over https) */
    const char *registry_host;
    const char *registry_url;
    /* the binary cache: where releases of terraform and tofu come from
     * (tp_binary_upstream_t, keys read while the configuration is read) */
    apr_array_header_t *binary_upstreams;
    /* read at check_config */
    tp_key_t hmac;
    const char *listener_ca_pem;       /* NULL: listeners cannot join */
    const char *listener_ca_key_pem;
} tp_srv_conf_t;


struct tp_req {
    request_rec *r;
    tp_srv_conf_t *conf;
    const tp_route_t *route;
    /* the pattern the path matched, whatever the method (a 405 too);
     * NULL when none did: what logs mask credentials by */
    const char *pattern;
    tp_params_t params;
    tp_principal_t *who;   /* NULL for open routes */
    tp_db_t *db;           /* acquired on first use */
    apr_pool_t *db_pool;   /* owns db when it is borrowed (streams) */
    apr_table_t *args;     /* the query string, parsed on first use */
    void *ctx;             /* the handler's own, e.g. for list renderers */
    tp_json_t *meta;       /* extra members tp_send_page puts in meta */
    const char *client_ip; /* the real client, behind trusted proxies */
    const char *actor;     /* who authenticated, for the audit log */
    const char *answer;    /* the JSON of a 200 answer, for the read cache */
    /* a run's runner token on a remote_state route: the run's workspace,
     * which reads what other workspaces share with it (on a registry_read
     * route too, where it only counts the request as a runner's) */
    const char *reader_ws;
};

/* What VCS work needs of this configuration (mod_terrapod.c). */
struct tp_vcs_env;
void tp_vcs_env_from(const tp_srv_conf_t *conf, struct tp_vcs_env *env);
struct tp_notify_env;
void tp_notify_env_from(const tp_srv_conf_t *conf, struct tp_notify_env *env);
/* What the provider mirror needs of it (api/provider_mirror.c). */
struct tp_mirror_env;
void tp_mirror_env_from(const tp_srv_conf_t *conf, struct tp_mirror_env *env);
struct tp_binary_env;
void tp_binary_env_from(const tp_srv_conf_t *conf, struct tp_binary_env *env);

/* The route table (mod_terrapod_routes.c). */
extern const tp_route_t tp_routes[];

/* mod_terrapod_request.c */
int tp_handle(request_rec *r);
/* The token and read caches: their generations, shared by every process,
 * are set up once at start-up; each process then gets caches of its own. */
void tp_req_post_config(apr_pool_t *pconf, server_rec *s);
void tp_req_child_init(apr_pool_t *pchild, server_rec *s);
/* The counter of committed changes that drops the read caches' answers
 * (NULL: there are no read caches), for connections of our own that
 * write: tp_db_count_writes. */
volatile apr_uint32_t *tp_req_write_counter(void);
int tp_is_api_path(const char *path);
tp_err_t *tp_req_db(tp_req_t *req, tp_db_t **db);
/* Gives back the connection of a held route (tp_route_t.stream) before
 * it waits; a later tp_req_db borrows another. */
void tp_req_db_release(tp_req_t *req);
/* Runs a statement on the request's connection. */
tp_err_t *tp_req_exec(tp_req_t *req, const tp_stmt_t *stmt, tp_rows_t **rows,
                      int nargs, const char **args);

/* A JSON column of row i (NULL for SQL NULL). */
tp_json_t *tp_row_json(apr_pool_t *p, const tp_rows_t *rows, int i,
                       const char *column);

/* The caller's level on the labelled resource in row i (columns name,
 * owner_email and labels). */
tp_level_e tp_row_level(tp_req_t *req, const tp_rows_t *rows, int i,
                        tp_axis_e axis);

/* Renders row i of a result as a JSON:API resource. */
typedef tp_json_t *tp_render_fn(tp_req_t *req, const tp_rows_t *rows, int i);

/* Sends one page of a list: stmt takes args followed by LIMIT and OFFSET
 * (from page[size] and page[number]) and returns a "total" column with
 * the count of all matching rows. */
tp_err_t *tp_send_page(tp_req_t *req, const tp_stmt_t *stmt, int nargs,
                       const char **args, tp_render_fn *render);
/* Sends one page of the rows of stmt (no arguments) the caller may read
 * on axis (columns name, owner_email and labels), decided row by row:
 * for the few agent pools and registry providers, where reading them all
 * costs less than deciding in SQL. */
tp_err_t *tp_send_readable(tp_req_t *req, const tp_stmt_t *stmt,
                           tp_axis_e axis, tp_render_fn *render);
/* A described resource type (tp_resource.h) as the API loads and renders
 * it for include=. The statements take a JSON array of keys: by_id rows
 * whose id is one of them; by_parent the rows of a to-many relationship
 * whose parent's id (their "key" column) is. */
typedef struct tp_type {
    const tp_type_desc_t *desc;
    const tp_stmt_t *by_id;
    const tp_stmt_t *by_parent;
    /* row i as its own endpoint shows it; NULL when the caller may not
     * read it */
    tp_render_fn *render;
} tp_type_t;

/* SQL of the statements above: a column among the keys of %s. */
#define TP_AMONG_KEYS(column) \
    " " column " = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))"
/* The columns of workspace w that tp_row_ws_level decides on. */
#define TP_WS_ACCESS_COLUMNS \
    " w.name AS ws_name, w.owner_email AS ws_owner_email," \
    " w.labels::text AS ws_labels"

/* Which workspaces a caller may read, decided in SQL so that a list reads
 * only its page. A statement starts with TP_WS_RULES (binding the rules
 * of tp_ws_visibility) and has TP_WS_VISIBLE among its conditions on
 * workspaces w (binding the other two values). */
/* The caller's read rules (tp_rbac_read_rules) turned into arrays once
 * per statement: label pairs as one-pair objects for @>, names as text. */
#define TP_RULE_ARRAYS(kind) \
    " ARRAY(SELECT jsonb_build_object(l.key, l.value)" \
    "         FROM jsonb_each(r->'" kind "_labels') l) AS " kind "_pairs," \
    " ARRAY(SELECT jsonb_array_elements_text(r->'" kind "_names'))" \
    "   AS " kind "_names"
#define TP_WS_RULES \
    "WITH rules AS MATERIALIZED (SELECT" TP_RULE_ARRAYS("allow") "," \
    TP_RULE_ARRAYS("deny") " FROM jsonb_array_elements(%s::jsonb) r) "
/* A rule matches as tp_role_applies decides: any label pair or the name. */
#define TP_RULE_MATCHES(kind) \
    "(w.labels @> ANY(r." kind "_pairs) OR w.name = ANY(r." kind "_names))"
/* What the caller may read, as tp_rbac_level decides it: everything
 * (admins and auditors), what it owns, what everyone may read, and what
 * a role allows and does not deny. Decided here, so a list reads only
 * its page however many workspaces the caller cannot see. */
#define TP_WS_VISIBLE \
    " AND (%s::boolean OR w.owner_email = %s" \
    "      OR w.labels ->> 'access' = 'everyone'" \
    "      OR EXISTS (SELECT 1 FROM rules r WHERE " TP_RULE_MATCHES("allow") \
    "                    AND NOT " TP_RULE_MATCHES("deny") "))"

typedef struct {
    const char *rules;      /* TP_WS_RULES */
    const char *sees_all;   /* TP_WS_VISIBLE's two, in this order */
    const char *owner;
} tp_ws_visibility_t;
tp_ws_visibility_t tp_ws_visibility(tp_req_t *req);

/* The described types, each beside its handlers. */
extern const tp_type_t tp_type_organizations, tp_type_workspaces,
    tp_type_runs, tp_type_plans, tp_type_applies,
    tp_type_configuration_versions, tp_type_state_versions,
    tp_type_state_version_outputs, tp_type_users, tp_type_projects,
    tp_type_run_events, tp_type_ingress_attributes,
    tp_type_assessment_results;

/* Every described type (mod_terrapod_routes.c), and the one called type. */
extern const tp_type_t *const tp_types[];
const tp_type_t *tp_type_find(const char *type);
/* Answers a GET of resource id of type as its include= renders it: 404
 * ("<what> <id> not found") when there is none or the caller may not
 * read it (mod_terrapod_include.c). */
tp_err_t *tp_type_show(tp_req_t *req, const tp_type_t *type, const char *id,
                       const char *what);

/* Adds to doc the "included" documents its request's include= asks for
 * (mod_terrapod_include.c); tp_send_json calls it. */
tp_err_t *tp_include(tp_req_t *req, tp_json_t *doc);

/* Sends the list of what type t's to-many statement finds for parent
 * (mod_terrapod_include.c): a relationship's related link. */
tp_err_t *tp_send_children(tp_req_t *req, const tp_type_t *t,
                           const char *parent);

/* The caller's level on the workspace of row i (TP_WS_ACCESS_COLUMNS). */
tp_level_e tp_row_ws_level(tp_req_t *req, const tp_rows_t *rows, int i);

/* meta.pagination and the top-level page links of a list document. */
void tp_paginate(tp_req_t *req, tp_json_t *doc, const tp_page_t *pg,
                 long long total);
tp_err_t *tp_read_json(tp_req_t *req, tp_json_t **body);
/* Reads the raw body (at most max bytes) into memory. */
tp_err_t *tp_read_raw(tp_req_t *req, apr_off_t max, char **buf,
                      apr_size_t *len);
/* 1 when the request announces a body. */
int tp_has_body(tp_req_t *req);
const char *tp_query_arg(tp_req_t *req, const char *name);
const char *tp_base_url(tp_req_t *req);
/* Sends doc with what its include= asks for (200 and 201). */
tp_err_t *tp_send_json(tp_req_t *req, int status, tp_json_t *doc);
tp_err_t *tp_send_file(tp_req_t *req, const char *path, apr_off_t size,
                       const char *content_type);
/* The stored object key: a 302 to a presigned URL of the bucket when S3
 * downloads are redirected, else its bytes (streamed from the bucket as
 * they arrive on S3); absent when it is not stored. */
tp_err_t *tp_send_stored(tp_req_t *req, const char *key, const char *type,
                         tp_err_t *absent);
tp_err_t *tp_send_empty(tp_req_t *req, int status);
/* An empty answer with status (a 3xx) sending the client to location. */
tp_err_t *tp_send_redirect(tp_req_t *req, int status, const char *location);
/* A cookie of the request; NULL when absent. */
const char *tp_req_cookie(tp_req_t *req, const char *name);
/* Sets a cookie for the whole site (SameSite=Lax, Secure when the server
 * is reached over https); max_age 0 deletes it. */
void tp_set_cookie(tp_req_t *req, const char *name, const char *value,
                   long max_age, int http_only);
/* HMAC of purpose and subject under the deployment key: the CSRF tokens
 * of the sign-in form and of sessions. */
const char *tp_csrf_token(tp_req_t *req, const char *purpose,
                          const char *subject);
/* The principal of the browser's session cookie; *who is NULL when there
 * is no valid one. */
tp_err_t *tp_session_from_cookie(tp_req_t *req, tp_principal_t **who);
tp_err_t *tp_send_bytes(tp_req_t *req, int status, const char *content_type,
                        const char *buf, apr_size_t len);
/* Streams the request body into an upload (size cap enforced by it) and
 * ends it; on failure the upload is aborted. */
tp_err_t *tp_receive_upload(tp_req_t *req, tp_upload_t *up);
/* The same under a cap of its own. */
tp_err_t *tp_receive_upload_capped(tp_req_t *req, tp_upload_t *up,
                                   apr_off_t max);
/* An absolute capability URL for path, signed for kind and id (the
 * signature in the query string). */
const char *tp_capability_url(tp_req_t *req, const char *path,
                              const char *kind, const char *id,
                              apr_interval_time_t ttl);
/* The same with the signature as the last path segment, for clients that
 * rewrite the query string. */
const char *tp_capability_path_url(tp_req_t *req, const char *path,
                                   const char *kind, const char *id,
                                   apr_interval_time_t ttl);
void tp_log_err(request_rec *r, const tp_err_t *e);

/* The request note naming the fingerprint of the certificate a listener
 * was admitted with: renew replaces exactly that one. */
#define TP_LISTENER_NOTE "terrapod-listener-fingerprint"

/* Workspace ws_id's current state version: its id and file (both NULL
 * when it has none) and its size (api/state_versions.c). */
tp_err_t *tp_sv_current_file(tp_req_t *req, const char *ws_id,
                             const char **sv_id, const char **path,
                             apr_off_t *size);
/* Stores a state a run's apply produced as a new finalized version of
 * its workspace, created by no one and related to the run: the state's
 * own serial, or the next free one when that is taken. *sv_id receives
 * the new version's id. */
tp_err_t *tp_sv_store_for_run(tp_req_t *req, const char *ws_id,
                              const char *run_id, const char *buf,
                              apr_size_t len, const char **sv_id);

/* Single sign-on (mod_terrapod_sso.c). The configured OpenID Connect
 * provider called name, NULL when none (mod_terrapod.c). */
tp_oidc_provider_t *tp_sso_provider(const tp_srv_conf_t *conf,
                                    const char *name);

typedef struct tp_sso_result {
    const tp_oidc_provider_t *provider;
    tp_identity_t *identity;
    apr_array_header_t *roles;   /* the provider's roles, now assigned */
    const char *user_id;
    const char *return_to;       /* the path the sign-in began with */
} tp_sso_result_t;

/* Starts signing in through provider: keeps a single-use state (hashed)
 * with the nonce, the sealed PKCE verifier and return_to for ten minutes,
 * binds it to this browser with a cookie, and answers where to send the
 * browser. 404 for an unknown provider, 502 when it is unreachable. */
tp_err_t *tp_sso_begin(tp_req_t *req, const char *provider,
                       const char *return_to, const char **location);

/* Finishes the sign-in the provider redirected back with (state and code
 * from the callback, or refusal: its error parameter): consumes the
 * state, redeems the code, verifies the ID token and records the user
 * and the roles the provider's groups map to (replacing that provider's
 * earlier ones) in one transaction. 401 with the reason when anything
 * does not check out. */
tp_err_t *tp_sso_finish(tp_req_t *req, const char *state, const char *code,
                        const char *refusal, tp_sso_result_t **out);

/* 403 when email holds a role of TerrapodRequireSSOForRoles (through any
 * provider's assignments): such a person signs in only through single
 * sign-on, never with a local password. */
tp_err_t *tp_sso_local_password_check(tp_req_t *req, const char *email);
/* Sign-in (api/auth.c). The page with the password form and the SSO
 * providers, which sends the browser on to return_to once signed in;
 * message (may be NULL) says why it is shown again. */
tp_err_t *tp_signin_page(tp_req_t *req, int status, const char *return_to,
                         const char *message);
/* Signs in a person whose identity a provider verified (the local password
 * check, or an SSO callback once it has verified the identity provider's
 * answer): starts a session for the existing active user email, records
 * display_name when given, sets the session cookies and sends the browser
 * on to return_to (a local path). */
tp_err_t *tp_signin_complete(tp_req_t *req, const char *provider,
                             const char *email, const char *display_name,
                             const char *return_to);
/* mod_terrapod_ratelimit.c: the shared counters. */
void tp_rl_pre_config(apr_pool_t *pconf);
/* Why the configuration fails when a server has a limit and no shared
 * object cache provider is loaded (at check_config, so that httpd -t
 * finds out); NULL when all is well. */
const char *tp_rl_check_config(server_rec *s);
/* Creates the counters when any server has a limit. */
apr_status_t tp_rl_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                               server_rec *s);
void tp_rl_child_init(apr_pool_t *p, server_rec *s);
/* Counts the request in class c and sets the X-RateLimit-* headers;
 * a 429 when the client is over the class's limit. */
tp_err_t *tp_rl_admit(tp_req_t *req, tp_rl_class_e c);

/* mod_terrapod_metrics.c: the counters an operator scrapes, in shared
 * memory created at start-up when a server has TerrapodMetrics On. */
apr_status_t tp_metrics_post_config(apr_pool_t *pconf, server_rec *s);
void tp_metrics_child_init(apr_pool_t *pchild, server_rec *s);
int tp_metrics_log_transaction(request_rec *r);
/* The counters; NULL when no server has metrics on. */
tp_metrics_t *tp_metrics(void);
/* mod_dbd's connection for r (NULL when there is none), counted in the
 * metrics with the time spent waiting for it. */
ap_dbd_t *tp_dbd_acquire(request_rec *r);
/* The same, given back when p is cleaned up rather than with r: what a
 * request that stays open long borrows and gives back before it waits. */
ap_dbd_t *tp_dbd_borrow(request_rec *r, apr_pool_t *p);

/* mod_terrapod_audit.c: records each API request after its response,
 * through a writer thread per process that child_init starts. */
void tp_audit_child_init(apr_pool_t *pchild, server_rec *s);
int tp_audit_log_transaction(request_rec *r);
/* Before any log is written: the request line, path and query of an API
 * request as every log shows them, credentials masked as in the audit
 * log, so that mod_log_config's %r, %U and %q never show them. */
int tp_audit_mask_request(request_rec *r);

/* mod_terrapod_held.c: how many requests that wait (long polls) each
 * process holds at once: TerrapodMaxHeldRequests of the main server, or
 * half of ThreadsPerChild or of first's DBDMax, whichever is smaller. */
void tp_held_post_config(server_rec *s, const tp_srv_conf_t *first);
/* Counts req as held until its pool goes; past the maximum a 503 with
 * Retry-After instead. */
tp_err_t *tp_hold(tp_req_t *req);
/* The same for an event stream, against TerrapodMaxEventStreams (by
 * default a quarter of ThreadsPerChild). */
tp_err_t *tp_hold_stream(tp_req_t *req);
/* 1 once this Apache process is asked to stop or restart: a held
 * request then ends at once rather than hold the process up until Apache
 * kills it. */
int tp_process_stopping(void);

/* mod_terrapod_events.c: the event hub of each process (a thread with
 * its own database connection that LISTENs and fills a ring of recent
 * events) and the streams it feeds. */
void tp_events_child_init(apr_pool_t *pchild, server_rec *s);
/* Answers req with the stream of sub's events, from its Last-Event-ID
 * (within the replay window) or from now, until the stream's lifetime
 * ends, the client goes or the process stops. Gives back the request's
 * database connection before it waits. */
struct tp_ev_sub;
tp_err_t *tp_events_stream(tp_req_t *req, const struct tp_ev_sub *sub);
/* How many runs this process's hub has seen queued so far; then waits up
 * to timeout for one more than *seen (updated), 1 when one came. Without
 * a hub it only sleeps. What a long poll waits on instead of a LISTEN. */
apr_uint32_t tp_events_queued(void);
int tp_events_wait_queued(apr_uint32_t *seen, apr_interval_time_t timeout);

/* mod_terrapod_child.c */
apr_status_t tp_child_start(apr_pool_t *pconf, server_rec *s,
                            tp_srv_conf_t *conf);

/* A workspace as the caller may see it (api/workspaces.c). */
typedef struct tp_ws {
    const char *id;
    const char *name;
    tp_level_e level;        /* the caller's level on it */
    tp_rows_t *row;          /* every column, for rendering */
} tp_ws_t;

/* Loads a workspace by id (by_name: by name) for the caller: 404 when it
 * does not exist or the caller cannot read it, 403 below the route's
 * level. */
tp_err_t *tp_ws_load(tp_req_t *req, const char *key, int by_name,
                     tp_ws_t **out);
/* The same check for a workspace id reached through another resource. */
tp_err_t *tp_ws_require(tp_req_t *req, const char *ws_id, tp_level_e need,
                        tp_ws_t **out);
/* The same for a resource row with a workspace_id column (state versions,
 * configuration versions, runs): "<what> <id> not found" when there is no
 * row or its workspace is invisible to the caller, so neither leaks. */
tp_err_t *tp_ws_owner(tp_req_t *req, const tp_rows_t *rows, tp_level_e need,
                      const char *what, const char *id, tp_ws_t **out);
/* Checks the workspace settings among attributes a as a workspace's
 * create checks them (execution-mode, execution-backend,
 * terraform-version, resource-cpu, resource-memory): what an
 * autodiscovery rule gives the workspaces it creates. */
tp_err_t *tp_ws_settings_check(apr_pool_t *p, const tp_json_t *a);

/* Whether the run whose token made req (req->reader_ws) may read
 * workspace ws's state (need at most plan): its own, or one that shares
 * its state globally or lists it as a remote-state consumer; 403 saying
 * how to share it otherwise (api/remote_state_consumers.c). */
tp_err_t *tp_remote_state_admit(tp_req_t *req, tp_ws_t *ws, tp_level_e need);

/* Loads agent pool id as rows (every column) when the caller holds need
 * on it: 404 when it does not exist or the caller cannot read it, 403
 * below need (api/agent_pools.c). */
tp_err_t *tp_pool_require(tp_req_t *req, const char *id, tp_level_e need,
                          tp_rows_t **rows);

/* Locks project id for the rest of db's transaction, so that it is not
 * deleted before the workspace that names it is stored: 422 when there is
 * no such project (api/projects.c). */
tp_err_t *tp_project_hold(tp_db_t *db, apr_pool_t *p, const char *id);

/* API handlers, one file per resource under api/. */
tp_err_t *tp_api_health(tp_req_t *req);
tp_err_t *tp_api_ready(tp_req_t *req);
tp_err_t *tp_api_metrics(tp_req_t *req);
tp_err_t *tp_api_discovery(tp_req_t *req);
tp_err_t *tp_api_registry_module_list(tp_req_t *req);
tp_err_t *tp_api_registry_module_create(tp_req_t *req);
tp_err_t *tp_api_registry_module_show(tp_req_t *req);
tp_err_t *tp_api_registry_module_update(tp_req_t *req);
tp_err_t *tp_api_registry_module_delete(tp_req_t *req);
tp_err_t *tp_api_registry_module_versions(tp_req_t *req);
tp_err_t *tp_api_registry_module_version_show(tp_req_t *req);
tp_err_t *tp_api_registry_module_upload(tp_req_t *req);
tp_err_t *tp_api_registry_module_version_create(tp_req_t *req);
tp_err_t *tp_api_registry_module_upload_link(tp_req_t *req);
tp_err_t *tp_api_registry_module_version_delete(tp_req_t *req);
tp_err_t *tp_api_registry_module_links(tp_req_t *req);
tp_err_t *tp_api_registry_module_link_create(tp_req_t *req);
tp_err_t *tp_api_registry_module_link_delete(tp_req_t *req);
tp_err_t *tp_api_modules_v1_versions(tp_req_t *req);
tp_err_t *tp_api_modules_v1_download(tp_req_t *req);
tp_err_t *tp_api_module_archive(tp_req_t *req);
tp_err_t *tp_api_openapi(tp_req_t *req);
tp_err_t *tp_api_ping(tp_req_t *req);
tp_err_t *tp_api_account_details(tp_req_t *req);
tp_err_t *tp_api_account_update(tp_req_t *req);
tp_err_t *tp_api_organization_show(tp_req_t *req);
tp_err_t *tp_api_organization_list(tp_req_t *req);
tp_err_t *tp_api_entitlement_set(tp_req_t *req);
tp_err_t *tp_api_user_create(tp_req_t *req);
tp_err_t *tp_api_user_show(tp_req_t *req);
tp_err_t *tp_api_user_read(tp_req_t *req);
tp_err_t *tp_api_user_list(tp_req_t *req);
tp_err_t *tp_api_user_update(tp_req_t *req);
tp_err_t *tp_api_user_delete(tp_req_t *req);
tp_err_t *tp_api_workspace_list(tp_req_t *req);
tp_err_t *tp_api_workspace_create(tp_req_t *req);
tp_err_t *tp_api_workspace_show(tp_req_t *req);
tp_err_t *tp_api_workspace_update(tp_req_t *req);
tp_err_t *tp_api_workspace_delete(tp_req_t *req);
tp_err_t *tp_api_workspace_safe_delete(tp_req_t *req);
tp_err_t *tp_api_workspace_lock(tp_req_t *req);
tp_err_t *tp_api_workspace_unlock(tp_req_t *req);
tp_err_t *tp_api_workspace_force_unlock(tp_req_t *req);
tp_err_t *tp_api_notification_list(tp_req_t *req);
tp_err_t *tp_api_notification_create(tp_req_t *req);
tp_err_t *tp_api_notification_show(tp_req_t *req);
tp_err_t *tp_api_notification_update(tp_req_t *req);
tp_err_t *tp_api_notification_delete(tp_req_t *req);
tp_err_t *tp_api_notification_verify(tp_req_t *req);
tp_err_t *tp_api_vcs_connection_list(tp_req_t *req);
tp_err_t *tp_api_vcs_connection_create(tp_req_t *req);
tp_err_t *tp_api_vcs_connection_show(tp_req_t *req);
tp_err_t *tp_api_vcs_connection_update(tp_req_t *req);
tp_err_t *tp_api_vcs_connection_delete(tp_req_t *req);
tp_err_t *tp_api_vcs_connection_test(tp_req_t *req);
tp_err_t *tp_api_autodiscovery_rule_list(tp_req_t *req);
tp_err_t *tp_api_autodiscovery_rule_create(tp_req_t *req);
tp_err_t *tp_api_autodiscovery_rule_show(tp_req_t *req);
tp_err_t *tp_api_autodiscovery_rule_update(tp_req_t *req);
tp_err_t *tp_api_autodiscovery_rule_delete(tp_req_t *req);
tp_err_t *tp_api_autodiscovery_rule_preview(tp_req_t *req);
tp_err_t *tp_api_autodiscovery_rule_preview_unsaved(tp_req_t *req);
tp_err_t *tp_api_autodiscovery_rule_scan(tp_req_t *req);
tp_err_t *tp_api_vcs_events_github(tp_req_t *req);
tp_err_t *tp_api_vcs_events_gitlab(tp_req_t *req);
tp_err_t *tp_api_project_list(tp_req_t *req);
tp_err_t *tp_api_project_create(tp_req_t *req);
tp_err_t *tp_api_project_show(tp_req_t *req);
tp_err_t *tp_api_project_update(tp_req_t *req);
tp_err_t *tp_api_project_delete(tp_req_t *req);
tp_err_t *tp_api_tag_bindings_list(tp_req_t *req);
tp_err_t *tp_api_tag_bindings_update(tp_req_t *req);
tp_err_t *tp_api_effective_tag_bindings_list(tp_req_t *req);
tp_err_t *tp_api_tags_list(tp_req_t *req);
tp_err_t *tp_api_organization_tags(tp_req_t *req);
tp_err_t *tp_api_tags_add(tp_req_t *req);
tp_err_t *tp_api_tags_remove(tp_req_t *req);
tp_err_t *tp_api_state_version_list(tp_req_t *req);
tp_err_t *tp_api_state_version_list_filtered(tp_req_t *req);
tp_err_t *tp_api_workspace_resources(tp_req_t *req);
tp_err_t *tp_api_state_version_create(tp_req_t *req);
tp_err_t *tp_api_state_version_current(tp_req_t *req);
tp_err_t *tp_api_current_state_version_outputs(tp_req_t *req);
tp_err_t *tp_api_state_version_show(tp_req_t *req);
tp_err_t *tp_api_state_version_download(tp_req_t *req);
tp_err_t *tp_api_state_version_json_download(tp_req_t *req);
tp_err_t *tp_api_state_version_upload(tp_req_t *req);
tp_err_t *tp_api_state_version_json_upload(tp_req_t *req);
tp_err_t *tp_api_state_version_outputs(tp_req_t *req);
tp_err_t *tp_api_state_version_output_show(tp_req_t *req);
tp_err_t *tp_api_state_version_delete(tp_req_t *req);
tp_err_t *tp_api_state_version_rollback(tp_req_t *req);
tp_err_t *tp_api_state_version_raw_upload(tp_req_t *req);
tp_err_t *tp_api_cv_list(tp_req_t *req);
tp_err_t *tp_api_cv_create(tp_req_t *req);
tp_err_t *tp_api_cv_show(tp_req_t *req);
tp_err_t *tp_api_cv_ingress_attributes(tp_req_t *req);
tp_err_t *tp_api_workspace_vcs_refs(tp_req_t *req);
tp_err_t *tp_api_cv_upload(tp_req_t *req);
tp_err_t *tp_api_cv_download(tp_req_t *req);
tp_err_t *tp_api_cv_download_ticket(tp_req_t *req);
tp_err_t *tp_api_cv_download_by_ticket(tp_req_t *req);
tp_err_t *tp_api_cv_diff(tp_req_t *req);
tp_err_t *tp_api_run_create(tp_req_t *req);
tp_err_t *tp_api_run_show(tp_req_t *req);
tp_err_t *tp_api_run_list(tp_req_t *req);
tp_err_t *tp_api_run_apply(tp_req_t *req);
tp_err_t *tp_api_run_discard(tp_req_t *req);
tp_err_t *tp_api_run_cancel(tp_req_t *req);
tp_err_t *tp_api_run_force_cancel(tp_req_t *req);
tp_err_t *tp_api_run_force_execute(tp_req_t *req);
tp_err_t *tp_api_run_retry(tp_req_t *req);
tp_err_t *tp_api_workspace_check_drift(tp_req_t *req);
tp_err_t *tp_api_assessment_result_show(tp_req_t *req);
tp_err_t *tp_api_assessment_result_list(tp_req_t *req);
tp_err_t *tp_api_organization_runs(tp_req_t *req);
tp_err_t *tp_api_run_task_stages(tp_req_t *req);
tp_err_t *tp_api_run_event_list(tp_req_t *req);
tp_err_t *tp_api_run_event_show(tp_req_t *req);
tp_err_t *tp_api_run_queue(tp_req_t *req);
tp_err_t *tp_api_organization_capacity(tp_req_t *req);
tp_err_t *tp_api_plan_show(tp_req_t *req);
tp_err_t *tp_api_plan_json_output(tp_req_t *req);
tp_err_t *tp_api_run_plan_json_output(tp_req_t *req);
tp_err_t *tp_api_plan_logs(tp_req_t *req);
tp_err_t *tp_api_apply_show(tp_req_t *req);
tp_err_t *tp_api_apply_state_versions(tp_req_t *req);
tp_err_t *tp_api_apply_logs(tp_req_t *req);
tp_err_t *tp_api_run_plan(tp_req_t *req);
tp_err_t *tp_api_run_apply_phase(tp_req_t *req);
/* Queues a run for an uploaded configuration version whose
 * auto-queue-runs is set, on behalf of its creator. */
tp_err_t *tp_run_queue_for_cv(tp_req_t *req, const char *ws_id,
                              const char *cv_id, const char *created_by);
/* The configuration of a run asked for without one (api/workspace_vcs.c):
 * on a workspace bound to a repository, the commit of in->vcs_ref (a
 * branch, tag or SHA) or of the tracked branch's head is fetched and made
 * a configuration version with its ingress; a ref other than the tracked
 * branch makes it speculative, so the run is plan-only. Nothing is done
 * for an unbound workspace (a vcs-ref there is a 422). */
tp_err_t *tp_ws_vcs_run_config(tp_req_t *req, const tp_ws_t *ws,
                               tp_run_spec_t *in);
tp_err_t *tp_api_run_trigger_list(tp_req_t *req);
tp_err_t *tp_api_run_trigger_create(tp_req_t *req);
tp_err_t *tp_api_run_trigger_show(tp_req_t *req);
tp_err_t *tp_api_run_trigger_delete(tp_req_t *req);
tp_err_t *tp_api_remote_state_consumer_list(tp_req_t *req);
tp_err_t *tp_api_remote_state_consumer_create(tp_req_t *req);
tp_err_t *tp_api_remote_state_consumer_replace(tp_req_t *req);
tp_err_t *tp_api_remote_state_consumer_show(tp_req_t *req);
tp_err_t *tp_api_remote_state_consumer_delete(tp_req_t *req);
tp_err_t *tp_api_remote_state_consumers_tfe_list(tp_req_t *req);
tp_err_t *tp_api_remote_state_consumers_tfe_add(tp_req_t *req);
tp_err_t *tp_api_remote_state_consumers_tfe_replace(tp_req_t *req);
tp_err_t *tp_api_remote_state_consumers_tfe_remove(tp_req_t *req);
tp_err_t *tp_api_agent_pool_list(tp_req_t *req);
tp_err_t *tp_api_agent_pool_create(tp_req_t *req);
tp_err_t *tp_api_agent_pool_show(tp_req_t *req);
tp_err_t *tp_api_agent_pool_update(tp_req_t *req);
tp_err_t *tp_api_agent_pool_delete(tp_req_t *req);
tp_err_t *tp_api_pool_tokens_create(tp_req_t *req);
tp_err_t *tp_api_pool_tokens_list(tp_req_t *req);
tp_err_t *tp_api_pool_token_revoke(tp_req_t *req);
tp_err_t *tp_api_pool_listeners_list(tp_req_t *req);
tp_err_t *tp_api_listener_join(tp_req_t *req);
tp_err_t *tp_api_listener_heartbeat(tp_req_t *req);
tp_err_t *tp_api_listener_renew(tp_req_t *req);
tp_err_t *tp_api_listener_revoke(tp_req_t *req);
tp_err_t *tp_api_listener_delete(tp_req_t *req);
tp_err_t *tp_api_listener_run_next(tp_req_t *req);
tp_err_t *tp_api_listener_runner_token(tp_req_t *req);
tp_err_t *tp_api_listener_run_update(tp_req_t *req);
tp_err_t *tp_api_listener_run_show(tp_req_t *req);
tp_err_t *tp_api_artifact_config(tp_req_t *req);
tp_err_t *tp_api_artifact_state(tp_req_t *req);
tp_err_t *tp_api_artifact_state_upload(tp_req_t *req);
tp_err_t *tp_api_artifact_plan_file(tp_req_t *req);
tp_err_t *tp_api_artifact_plan_file_upload(tp_req_t *req);
tp_err_t *tp_api_artifact_plan_json(tp_req_t *req);
tp_err_t *tp_api_artifact_plan_json_upload(tp_req_t *req);
tp_err_t *tp_api_artifact_plan_artifacts(tp_req_t *req);
tp_err_t *tp_api_artifact_plan_artifacts_upload(tp_req_t *req);
tp_err_t *tp_api_artifact_log_put(tp_req_t *req);
tp_err_t *tp_api_artifact_log_append(tp_req_t *req);
tp_err_t *tp_api_run_resource_profile(tp_req_t *req);
/* The row stmt finds for the {id} of a signed file URL (.../{id}/
 * {filename}): 404 ("<what> <id> not found") unless there is one and its
 * filename column is the path's (api/provider_mirror.c). */
tp_err_t *tp_signed_file_row(tp_req_t *req, const tp_stmt_t *stmt,
                              const char *what, tp_rows_t **rows);
/* Holds the lock of one file fetched from upstream (what names it), until
 * tp_fetch_unlock, on the request's connection: a second request for it
 * waits for the first, then finds it kept (api/provider_mirror.c). */
tp_err_t *tp_fetch_lock(tp_req_t *req, const char *what);
void tp_fetch_unlock(tp_req_t *req, const char *what);
tp_err_t *tp_api_mirror_provider(tp_req_t *req);
tp_err_t *tp_api_mirror_archive(tp_req_t *req);
tp_err_t *tp_api_binary_cache_get(tp_req_t *req);
tp_err_t *tp_api_binary_cache_file(tp_req_t *req);
tp_err_t *tp_api_binary_cache_list(tp_req_t *req);
tp_err_t *tp_api_binary_cache_warm(tp_req_t *req);
tp_err_t *tp_api_binary_cache_delete(tp_req_t *req);
tp_err_t *tp_api_audit_log_list(tp_req_t *req);
tp_err_t *tp_api_workspace_events(tp_req_t *req);
tp_err_t *tp_api_workspaces_events(tp_req_t *req);
tp_err_t *tp_api_agent_pool_events(tp_req_t *req);
tp_err_t *tp_api_role_list(tp_req_t *req);
tp_err_t *tp_api_role_create(tp_req_t *req);
tp_err_t *tp_api_role_show(tp_req_t *req);
tp_err_t *tp_api_role_update(tp_req_t *req);
tp_err_t *tp_api_role_delete(tp_req_t *req);
tp_err_t *tp_api_role_assignment_list(tp_req_t *req);
tp_err_t *tp_api_role_assignment_put(tp_req_t *req);
tp_err_t *tp_api_role_assignment_delete(tp_req_t *req);
tp_err_t *tp_api_user_tokens_create(tp_req_t *req);
tp_err_t *tp_api_user_tokens_list(tp_req_t *req);
tp_err_t *tp_api_token_show(tp_req_t *req);
tp_err_t *tp_api_token_delete(tp_req_t *req);
tp_err_t *tp_api_token_update(tp_req_t *req);
tp_err_t *tp_api_token_rotate(tp_req_t *req);
tp_err_t *tp_api_token_list_all(tp_req_t *req);
tp_err_t *tp_api_token_expiring(tp_req_t *req);
tp_err_t *tp_api_token_revoke_all(tp_req_t *req);
tp_err_t *tp_api_auth_authorize(tp_req_t *req);
tp_err_t *tp_api_auth_callback(tp_req_t *req);
tp_err_t *tp_api_oauth_authorize(tp_req_t *req);
tp_err_t *tp_api_oauth_token(tp_req_t *req);
tp_err_t *tp_api_auth_providers(tp_req_t *req);
tp_err_t *tp_api_auth_authorize(tp_req_t *req);
tp_err_t *tp_api_auth_callback(tp_req_t *req);
tp_err_t *tp_api_auth_callback_post(tp_req_t *req);
tp_err_t *tp_api_auth_sessions(tp_req_t *req);
tp_err_t *tp_api_auth_logout(tp_req_t *req);

/* Variables of a workspace or of a variable set (api/vars.c), shared by
 * both kinds of owner: exactly one of the ids is set. */
typedef struct tp_var_owner {
    const char *ws_id;
    const char *varset_id;
} tp_var_owner_t;

tp_err_t *tp_vars_api_list(tp_req_t *req, const tp_var_owner_t *owner);
tp_err_t *tp_vars_api_show(tp_req_t *req, const tp_var_owner_t *owner,
                           const char *var_id);
tp_err_t *tp_vars_api_create(tp_req_t *req, const tp_var_owner_t *owner);
tp_err_t *tp_vars_api_update(tp_req_t *req, const tp_var_owner_t *owner,
                             const char *var_id);
tp_err_t *tp_vars_api_delete(tp_req_t *req, const tp_var_owner_t *owner,
                             const char *var_id);
tp_err_t *tp_api_var_list(tp_req_t *req);
tp_err_t *tp_api_var_show(tp_req_t *req);
tp_err_t *tp_api_var_create(tp_req_t *req);
tp_err_t *tp_api_var_update(tp_req_t *req);
tp_err_t *tp_api_var_delete(tp_req_t *req);
tp_err_t *tp_api_var_effective_list(tp_req_t *req);
tp_err_t *tp_api_vars_legacy_list(tp_req_t *req);
tp_err_t *tp_api_vars_legacy_create(tp_req_t *req);
tp_err_t *tp_api_vars_legacy_update(tp_req_t *req);
tp_err_t *tp_api_vars_legacy_delete(tp_req_t *req);
tp_err_t *tp_api_varset_list(tp_req_t *req);
tp_err_t *tp_api_varset_create(tp_req_t *req);
tp_err_t *tp_api_varset_show(tp_req_t *req);
tp_err_t *tp_api_varset_update(tp_req_t *req);
tp_err_t *tp_api_varset_delete(tp_req_t *req);
tp_err_t *tp_api_varset_var_list(tp_req_t *req);
tp_err_t *tp_api_varset_var_show(tp_req_t *req);
tp_err_t *tp_api_varset_var_create(tp_req_t *req);
tp_err_t *tp_api_varset_var_update(tp_req_t *req);
tp_err_t *tp_api_varset_var_delete(tp_req_t *req);
tp_err_t *tp_api_varset_workspaces_add(tp_req_t *req);
tp_err_t *tp_api_varset_workspaces_remove(tp_req_t *req);

#endif
