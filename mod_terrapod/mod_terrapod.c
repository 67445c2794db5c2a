/* mod_terrapod: the module record, its directives and the server-level
 * hooks (schema migration at start-up, the background child, routing). */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_mpm.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <stdlib.h>

#include "mod_terrapod.h"
#include "tp_migrate.h"
#include "tp_crypto.h"
#include "tp_tasks.h"
#include "tp_audit.h"

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    tp_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));
    int i;

    (void)s;
    c->enabled = -1;
    c->max_body = -1;
    c->max_upload = -1;
    c->task_intervals = apr_table_make(p, 4);
    c->listener_poll_wait = -1;
    for (i = 0; i < TP_RL_NCLASSES; i++) {
        c->rate_limits[i] = -1;
    }
    c->audit_retention_days = -1;
    return c;
}

#define MERGE(f) (add->f ? add->f : base->f)
static void *merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    tp_srv_conf_t *base = basev, *add = addv;
    tp_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));
    int i;

    c->enabled = add->enabled != -1 ? add->enabled : base->enabled;
    c->max_body = add->max_body != -1 ? add->max_body : base->max_body;
    c->max_upload = add->max_upload != -1 ? add->max_upload
                                          : base->max_upload;
    c->public_url = MERGE(public_url);
    c->storage.root = MERGE(storage.root);
    c->hmac_key_file = MERGE(hmac_key_file);
    c->listener_ca_cert = MERGE(listener_ca_cert);
    c->listener_ca_key = MERGE(listener_ca_key);
    c->trusted_proxies = MERGE(trusted_proxies);
    c->client_cert_header = MERGE(client_cert_header);
    c->schema_dir = MERGE(schema_dir);
    c->dbd_driver = MERGE(dbd_driver);
    c->dbd_params = MERGE(dbd_params);
    c->task_intervals = apr_table_overlay(p, base->task_intervals,
                                          add->task_intervals);
    c->listener_poll_wait = add->listener_poll_wait != -1
                            ? add->listener_poll_wait
                            : base->listener_poll_wait;
    for (i = 0; i < TP_RL_NCLASSES; i++) {
        c->rate_limits[i] = add->rate_limits[i] != -1 ? add->rate_limits[i]
                                                      : base->rate_limits[i];
    }
    c->audit_retention_days = add->audit_retention_days != -1
                              ? add->audit_retention_days
                              : base->audit_retention_days;
    return c;
}

static tp_srv_conf_t *srv_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &terrapod_module);
}

static const char *set_enabled(cmd_parms *cmd, void *dc, int on)
{
    (void)dc;
    srv_conf(cmd->server)->enabled = on;
    return NULL;
}

/* Stores a string directive at the offset given in cmd->info. */
static const char *set_string(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    *(const char **)((char *)srv_conf(cmd->server)
                     + (apr_size_t)cmd->info) = arg;
    return NULL;
}

static const char *set_path(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *abs = ap_server_root_relative(cmd->pool, arg);

    if (!abs) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": bad path ", arg,
                           NULL);
    }
    return set_string(cmd, dc, abs);
}

static const char *set_public_url(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_size_t len = strlen(arg);

    if (strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0) {
        return "TerrapodPublicURL must be an absolute http(s) URL";
    }
    while (len > 0 && arg[len - 1] == '/') {
        len--;
    }
    return set_string(cmd, dc, apr_pstrmemdup(cmd->pool, arg, len));
}

static const char *set_size(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_off_t v;
    char *end;

    (void)dc;
    if (apr_strtoff(&v, arg, &end, 10) != APR_SUCCESS || *end || v < 1) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " takes a positive number of bytes", NULL);
    }
    *(apr_off_t *)((char *)srv_conf(cmd->server)
                   + (apr_size_t)cmd->info) = v;
    return NULL;
}

static const char *set_task_interval(cmd_parms *cmd, void *dc,
                                     const char *name, const char *secs)
{
    const tp_task_t *t;
    char *end;
    long v = strtol(secs, &end, 10);

    (void)dc;
    for (t = tp_tasks; t->name && strcmp(t->name, name) != 0; t++) {
    }
    if (!t->name) {
        return apr_pstrcat(cmd->pool, "TerrapodTaskInterval: no task named ",
                           name, NULL);
    }
    if (*end || v < 1 || v > 86400 * 7) {
        return "TerrapodTaskInterval takes 1 to 604800 seconds";
    }
    apr_table_set(srv_conf(cmd->server)->task_intervals, name, secs);
    return NULL;
}

/* Each address or CIDR block of a reverse proxy whose forwarded client
 * certificate is believed. */
static const char *add_trusted_proxy(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    tp_srv_conf_t *c = srv_conf(cmd->server);
    char *ip = apr_pstrdup(cmd->pool, arg), *mask = strchr(ip, '/');
    apr_ipsubnet_t *net;

    (void)dc;
    if (mask) {
        *mask++ = '\0';
    }
    if (apr_ipsubnet_create(&net, ip, mask, cmd->pool) != APR_SUCCESS) {
        return apr_pstrcat(cmd->pool, "TerrapodTrustedProxy: not an IP "
                           "address or CIDR block: ", arg, NULL);
    }
    if (!c->trusted_proxies) {
        c->trusted_proxies = apr_array_make(cmd->pool, 2, sizeof(net));
    }
    APR_ARRAY_PUSH(c->trusted_proxies, apr_ipsubnet_t *) = net;
    return NULL;
}

/* mod_dbd keeps its settings private; seeing its directives first (this
 * module is loaded after mod_dbd, so httpd asks it first) lets the
 * background child and the migrator open connections of their own. */
static const char *see_dbd(cmd_parms *cmd, void *dc, const char *arg)
{
    set_string(cmd, dc, arg);
    return DECLINE_CMD;
}

static const char *set_poll_wait(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    long secs = strtol(arg, &end, 10);

    (void)dc;
    if (*end || end == arg || secs < 0 || secs > 300) {
        return "TerrapodListenerPollWait takes 0 to 300 seconds";
    }
    srv_conf(cmd->server)->listener_poll_wait = (int)secs;
    return NULL;
}

/* TerrapodRateLimit <class> <requests per minute> */
static const char *set_rate_limit(cmd_parms *cmd, void *dc, const char *cls,
                                  const char *limit)
{
    int c = tp_rl_class_named(cls), v;
    const char *why;

    (void)dc;
    if (c < 0) {
        return apr_pstrcat(cmd->pool, "TerrapodRateLimit: no class named ",
                           cls, " (unauthenticated, authenticated, "
                           "sign-in)", NULL);
    }
    if ((why = tp_rl_parse_limit(limit, &v)) != NULL) {
        return apr_pstrcat(cmd->pool, "TerrapodRateLimit ", why, NULL);
    }
    srv_conf(cmd->server)->rate_limits[c] = v;
    return NULL;
}

static const char *set_retention(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    long days = strtol(arg, &end, 10);

    (void)dc;
    if (*end || end == arg || days < 0 || days > 36500) {
        return "TerrapodAuditRetentionDays takes 0 (keep forever) to 36500 "
               "days";
    }
    srv_conf(cmd->server)->audit_retention_days = (int)days;
    return NULL;
}

#define OFF(f) (void *)APR_OFFSETOF(tp_srv_conf_t, f)
static const command_rec tp_cmds[] = {
    AP_INIT_FLAG("Terrapod", set_enabled, NULL, RSRC_CONF,
                 "Serve the mod_terrapod API in this server (On|Off)"),
    AP_INIT_TAKE1("TerrapodPublicURL", set_public_url, OFF(public_url), RSRC_CONF,
                  "External base URL for capability URLs"),
    AP_INIT_TAKE1("TerrapodStorageDir", set_path, OFF(storage.root),
                  RSRC_CONF, "Directory for state, configuration and logs"),
    AP_INIT_TAKE1("TerrapodHMACKeyFile", set_path, OFF(hmac_key_file),
                  RSRC_CONF, "File holding the HMAC signing key"),
    AP_INIT_TAKE1("TerrapodMaxBodySize", set_size, OFF(max_body), RSRC_CONF,
                  "Largest JSON request body in bytes"),
    AP_INIT_TAKE1("TerrapodMaxUploadSize", set_size, OFF(max_upload),
                  RSRC_CONF, "Largest state or configuration upload"),
    AP_INIT_TAKE1("TerrapodListenerCACert", set_path, OFF(listener_ca_cert),
                  RSRC_CONF, "CA certificate that signs listener certs"),
    AP_INIT_TAKE1("TerrapodListenerCAKey", set_path, OFF(listener_ca_key),
                  RSRC_CONF, "Private key of the listener CA"),
    AP_INIT_ITERATE("TerrapodTrustedProxy", add_trusted_proxy, NULL,
                    RSRC_CONF, "Reverse proxies (IP addresses or CIDR "
                    "blocks) trusted to forward a verified client "
                    "certificate"),
    AP_INIT_TAKE1("TerrapodClientCertHeader", set_string,
                  OFF(client_cert_header), RSRC_CONF,
                  "Request header carrying a trusted proxy's URL-encoded "
                  "PEM client certificate"),
    AP_INIT_TAKE1("TerrapodSchemaDir", set_path, OFF(schema_dir), RSRC_CONF,
                  "Directory of the NNNN_name.sql schema files"),
    AP_INIT_TAKE1("TerrapodListenerPollWait", set_poll_wait, NULL, RSRC_CONF,
                  "Longest wait of a listener's runs/next long poll, in "
                  "seconds"),
    AP_INIT_TAKE2("TerrapodTaskInterval", set_task_interval, NULL, RSRC_CONF,
                  "Seconds between runs of a background task"),
    AP_INIT_TAKE2("TerrapodRateLimit", set_rate_limit, NULL, RSRC_CONF,
                  "Requests per minute and client address of a class "
                  "(unauthenticated, authenticated, sign-in); 0: no limit"),
    AP_INIT_TAKE1("TerrapodAuditRetentionDays", set_retention, NULL,
                  RSRC_CONF, "Days audit log entries are kept (0: forever)"),
    AP_INIT_TAKE1("DBDriver", see_dbd, OFF(dbd_driver), RSRC_CONF,
                  "(seen for mod_dbd)"),
    AP_INIT_TAKE1("DBDParams", see_dbd, OFF(dbd_params), RSRC_CONF,
                  "(seen for mod_dbd)"),
    {NULL}
};

/* Reads the signing key; a missing or short key stops start-up, since
 * every capability URL depends on it. */
static apr_status_t load_hmac_key(apr_pool_t *p, server_rec *s,
                                  tp_srv_conf_t *c)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    if (!c->hmac_key_file) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TP00001: "
                     "TerrapodHMACKeyFile is required with Terrapod On");
        return APR_EINVAL;
    }
    rv = apr_file_open(&f, c->hmac_key_file, APR_FOPEN_READ, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
        if (rv == APR_SUCCESS && fi.size <= 4096) {
            len = (apr_size_t)fi.size;
            buf = apr_palloc(p, len + 1);
            rv = apr_file_read_full(f, buf, len, &len);
        }
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS || len < 32) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "TP00002: cannot use "
                     "HMAC key file %s (need at least 32 bytes)",
                     c->hmac_key_file);
        return rv ? rv : APR_EINVAL;
    }
    c->hmac.bytes = (const unsigned char *)buf;
    c->hmac.len = len;
    return APR_SUCCESS;
}

static apr_status_t read_pem(apr_pool_t *p, const char *path, char **out)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t len = 0;
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS && (fi.size < 1 || fi.size > 65536)) {
        rv = APR_EINVAL;
    }
    if (rv == APR_SUCCESS) {
        len = (apr_size_t)fi.size;
        *out = apr_palloc(p, len + 1);
        rv = apr_file_read_full(f, *out, len, &len);
        (*out)[len] = '\0';
    }
    apr_file_close(f);
    return rv;
}

/* The listener CA is read here, while httpd still runs as root: its key
 * is usually readable by root alone. Without one, listeners cannot join;
 * a broken one stops start-up. */
static apr_status_t load_listener_ca(apr_pool_t *p, server_rec *s,
                                     tp_srv_conf_t *c)
{
    char *cert = NULL, *key = NULL;
    const char *why = NULL, *path;
    apr_status_t rv;

    if (!c->listener_ca_cert && !c->listener_ca_key) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "TP00700: no "
                     "TerrapodListenerCACert: listeners cannot join");
        return APR_SUCCESS;
    }
    if (!c->listener_ca_cert || !c->listener_ca_key) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TP00701: "
                     "TerrapodListenerCACert and TerrapodListenerCAKey go "
                     "together");
        return APR_EINVAL;
    }
    path = c->listener_ca_cert;
    rv = read_pem(p, path, &cert);
    if (rv == APR_SUCCESS) {
        path = c->listener_ca_key;
        rv = read_pem(p, path, &key);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "TP00702: cannot read "
                     "%s", path);
        return rv;
    }
    if (tp_x509_ca_check(p, cert, key, &why) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TP00703: listener CA "
                     "%s / %s: %s", c->listener_ca_cert, c->listener_ca_key,
                     why);
        return APR_EINVAL;
    }
    c->listener_ca_pem = cert;
    c->listener_ca_key_pem = key;
    return APR_SUCCESS;
}

static void finish_rate_limits(int *limits)
{
    static const int defaults[TP_RL_NCLASSES] = {
        TP_RL_DEFAULT_UNAUTHENTICATED, TP_RL_DEFAULT_AUTHENTICATED,
        TP_RL_DEFAULT_SIGN_IN
    };
    int i;

    for (i = 0; i < TP_RL_NCLASSES; i++) {
        if (limits[i] == -1) {
            limits[i] = defaults[i];
        }
    }
}

/* Fills in defaults so request code never meets an unset value. */
static void finish_conf(tp_srv_conf_t *c)
{
    if (c->max_body == -1) c->max_body = TP_DEFAULT_MAX_BODY;
    if (c->max_upload == -1) c->max_upload = TP_DEFAULT_MAX_UPLOAD;
    if (!c->schema_dir) c->schema_dir = TP_DEFAULT_SCHEMA_DIR;
    if (c->audit_retention_days == -1) {
        c->audit_retention_days = TP_AUDIT_RETENTION_DAYS_DEFAULT;
    }
    finish_rate_limits(c->rate_limits);
}

static void migrate(apr_pool_t *ptemp, server_rec *s, tp_srv_conf_t *c)
{
    tp_db_t *db;
    tp_err_t *err;
    int applied = 0;

    err = tp_db_open(ptemp, c->dbd_driver, c->dbd_params, &db);
    if (!err) {
        err = tp_migrate(db, ptemp, c->schema_dir, &applied);
    }
    if (err) {
        /* not fatal: the background child retries once the database is
         * reachable, and /ready reports the database until then */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "TP00003: schema "
                     "migration from %s failed: %s: %s", c->schema_dir,
                     err->detail, err->log ? err->log : "");
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "TP00004: schema up to "
                 "date (%d file(s) applied from %s)", applied, c->schema_dir);
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    server_rec *vs;
    tp_srv_conf_t *first = NULL;

    (void)plog;
    if (tp_db_init(pconf) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (vs = s; vs; vs = vs->next) {
        tp_srv_conf_t *c = srv_conf(vs);

        if (c->enabled != 1) {
            continue;
        }
        finish_conf(c);
        if (load_hmac_key(pconf, vs, c) != APR_SUCCESS
            || load_listener_ca(pconf, vs, c) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!c->dbd_driver || !c->dbd_params) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, vs, "TP00005: Terrapod "
                         "needs DBDriver and DBDParams (and LoadModule "
                         "terrapod_module after dbd_module)");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!first) {
            first = c;
        }
    }
    /* httpd reads its configuration twice at start; act on the real one */
    if (!first || ap_state_query(AP_SQ_MAIN_STATE)
                  == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (tp_rl_post_config(pconf, ptemp, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    migrate(ptemp, s, first);
    /* the background child inherits it with the fork */
    tp_audit_set_retention(first->audit_retention_days);
    return tp_child_start(pconf, s, first) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* API paths never map to files, so httpd need not walk the filesystem. */
static int map_to_storage(request_rec *r)
{
    tp_srv_conf_t *c = srv_conf(r->server);

    if (c->enabled == 1 && tp_is_api_path(r->parsed_uri.path)) {
        return OK;
    }
    return DECLINED;
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                      apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    tp_rl_pre_config(pconf);
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_dbd[] = {"mod_dbd.c", NULL};

    (void)p;
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, after_dbd, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tp_rl_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(tp_audit_log_transaction, NULL, NULL,
                            APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(tp_handle, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA terrapod_module = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_srv_conf,
    merge_srv_conf,
    tp_cmds,
    register_hooks,
    0
};
