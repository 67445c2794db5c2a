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
#include <apr_lib.h>
#include <apr_file_io.h>
#include <apr_lib.h>
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
    c->bound_idle_days = -1;
    c->service_max_ttl_hours = -1;
    c->expiry_warning_days = -1;
    c->session_idle = -1;
    c->session_max = -1;
    for (i = 0; i < TP_RL_NCLASSES; i++) {
        c->rate_limits[i] = -1;
    }
    c->audit_retention_days = -1;
    c->audit_queue = -1;
    c->token_cache = -1;
    c->read_cache = -1;
    c->max_held = -1;
    return c;
}

#define MERGE(f) (add->f ? add->f : base->f)
#define MERGE_INT(f) (add->f != -1 ? add->f : base->f)
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
    c->proxy_cert_file = MERGE(proxy_cert_file);
    c->client_cert_header = MERGE(client_cert_header);
    c->schema_dir = MERGE(schema_dir);
    c->dbd_driver = MERGE(dbd_driver);
    c->dbd_params = MERGE(dbd_params);
    c->dbd_max = MERGE(dbd_max);
    c->task_intervals = apr_table_overlay(p, base->task_intervals,
                                          add->task_intervals);
    c->oidc_providers = MERGE(oidc_providers);
    c->sso_roles = MERGE(sso_roles);
    c->listener_poll_wait = MERGE_INT(listener_poll_wait);
    c->bound_idle_days = MERGE_INT(bound_idle_days);
    c->service_max_ttl_hours = MERGE_INT(service_max_ttl_hours);
    c->expiry_warning_days = MERGE_INT(expiry_warning_days);
    c->session_idle = MERGE_INT(session_idle);
    c->session_max = MERGE_INT(session_max);
    for (i = 0; i < TP_RL_NCLASSES; i++) {
        c->rate_limits[i] = MERGE_INT(rate_limits[i]);
    }
    c->audit_retention_days = MERGE_INT(audit_retention_days);
    c->audit_queue = MERGE_INT(audit_queue);
    c->token_cache = MERGE_INT(token_cache);
    c->read_cache = MERGE_INT(read_cache);
    c->max_held = MERGE_INT(max_held);
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

/* Each address or CIDR block a reverse proxy connects from. */
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
 * background child and the migrator open connections of their own, and
 * bounds the long polls by the connections a process has. */
static const char *see_dbd(cmd_parms *cmd, void *dc, const char *arg)
{
    set_string(cmd, dc, arg);
    return DECLINE_CMD;
}

/* An integer directive: where it goes and the range it accepts. */
typedef struct {
    apr_size_t offset;
    int min, max;
} int_directive_t;

static const int_directive_t bound_idle_days = {
    APR_OFFSETOF(tp_srv_conf_t, bound_idle_days), 1, 3650};
static const int_directive_t service_max_ttl_hours = {
    APR_OFFSETOF(tp_srv_conf_t, service_max_ttl_hours), 1, 87600};
static const int_directive_t expiry_warning_days = {
    APR_OFFSETOF(tp_srv_conf_t, expiry_warning_days), 1, 365};
static const int_directive_t listener_poll_wait = {
    APR_OFFSETOF(tp_srv_conf_t, listener_poll_wait), 0, 300};
static const int_directive_t session_idle = {
    APR_OFFSETOF(tp_srv_conf_t, session_idle), 60, 86400 * 365};
static const int_directive_t session_max = {
    APR_OFFSETOF(tp_srv_conf_t, session_max), 60, 86400 * 365};

static const char *set_int(cmd_parms *cmd, void *dc, const char *arg)
{
    const int_directive_t *d = cmd->info;
    char *end;
    long v = strtol(arg, &end, 10);

    (void)dc;
    if (*end || end == arg || v < d->min || v > d->max) {
        return apr_psprintf(cmd->pool, "%s takes a number from %d to %d",
                            cmd->cmd->name, d->min, d->max);
    }
    *(int *)((char *)srv_conf(cmd->server) + d->offset) = (int)v;
    return NULL;
}

/* ---- single sign-on providers ---- */

static int name_ok(const char *s)
{
    apr_size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-");

    return n >= 1 && n <= 63 && s[n] == '\0' && s[0] != '_' && s[0] != '-';
}

/* https, or http to this machine (a provider on loopback). */
static int issuer_ok(const char *url)
{
    static const char *const loopback[] = {"http://127.0.0.1",
                                           "http://localhost",
                                           "http://[::1]", NULL};
    int i;

    if (strncmp(url, "https://", 8) == 0) {
        return url[8] != '\0';
    }
    for (i = 0; loopback[i]; i++) {
        apr_size_t n = strlen(loopback[i]);

        if (strncmp(url, loopback[i], n) == 0
            && (url[n] == '\0' || url[n] == ':' || url[n] == '/')) {
            return 1;
        }
    }
    return 0;
}

static tp_oidc_provider_t *find_provider(const apr_array_header_t *list,
                                         const char *name)
{
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        tp_oidc_provider_t *prov = APR_ARRAY_IDX(list, i,
                                                 tp_oidc_provider_t *);

        if (strcmp(prov->name, name) == 0) {
            return prov;
        }
    }
    return NULL;
}

tp_oidc_provider_t *tp_sso_provider(const tp_srv_conf_t *conf,
                                    const char *name)
{
    return name ? find_provider(conf->oidc_providers, name) : NULL;
}

/* TerrapodOIDCProvider name issuer client-id client-secret-file */
static const char *add_oidc_provider(cmd_parms *cmd, void *dc, int argc,
                                     char *const argv[])
{
    tp_srv_conf_t *c = srv_conf(cmd->server);
    const char *secret;

    (void)dc;
    if (argc != 4) {
        return "TerrapodOIDCProvider takes a name, the issuer URL, the "
               "client id and the file holding the client secret";
    }
    if (!name_ok(argv[0]) || strcmp(argv[0], "local") == 0) {
        return "TerrapodOIDCProvider: the name is 1-63 of a-z 0-9 _ - and "
               "not \"local\"";
    }
    if (!issuer_ok(argv[1])) {
        return "TerrapodOIDCProvider: the issuer must be an https URL (or "
               "http on loopback)";
    }
    if (!(secret = ap_server_root_relative(cmd->pool, argv[3]))) {
        return "TerrapodOIDCProvider: bad client secret file path";
    }
    if (!c->oidc_providers) {
        c->oidc_providers = apr_array_make(cmd->pool, 2,
                                           sizeof(tp_oidc_provider_t *));
    }
    if (find_provider(c->oidc_providers, argv[0])) {
        return apr_pstrcat(cmd->pool, "TerrapodOIDCProvider: ", argv[0],
                           " is declared twice", NULL);
    }
    APR_ARRAY_PUSH(c->oidc_providers, tp_oidc_provider_t *) =
        tp_oidc_provider_make(cmd->pool, argv[0], argv[1], argv[2], secret);
    return NULL;
}

/* The provider a per-provider directive names; declared before it. */
static const char *provider_arg(cmd_parms *cmd, const char *name,
                                tp_oidc_provider_t **prov)
{
    *prov = find_provider(srv_conf(cmd->server)->oidc_providers, name);
    return *prov ? NULL : apr_pstrcat(cmd->pool, cmd->cmd->name, ": no "
                                      "TerrapodOIDCProvider named ", name,
                                      " before it", NULL);
}

static const char *set_oidc_client_auth(cmd_parms *cmd, void *dc,
                                        const char *name, const char *how)
{
    tp_oidc_provider_t *prov;
    const char *err = provider_arg(cmd, name, &prov);

    (void)dc;
    if (err) {
        return err;
    }
    if (strcmp(how, "basic") != 0 && strcmp(how, "post") != 0) {
        return "TerrapodOIDCClientAuth takes basic (client_secret_basic) "
               "or post (client_secret_post)";
    }
    prov->secret_post = strcmp(how, "post") == 0;
    return NULL;
}

static const char *set_oidc_groups_claim(cmd_parms *cmd, void *dc,
                                         const char *name, const char *claim)
{
    tp_oidc_provider_t *prov;
    const char *err = provider_arg(cmd, name, &prov);

    (void)dc;
    if (!err) {
        prov->groups_claim = claim;
    }
    return err;
}

static const char *set_oidc_ca(cmd_parms *cmd, void *dc, const char *name,
                               const char *file)
{
    tp_oidc_provider_t *prov;
    const char *err = provider_arg(cmd, name, &prov);

    (void)dc;
    if (!err && !(prov->ca_file = ap_server_root_relative(cmd->pool,
                                                          file))) {
        return "TerrapodOIDCCACertificate: bad path";
    }
    return err;
}

/* TerrapodOIDCScopes name scope... (after openid email profile) */
static const char *set_oidc_scopes(cmd_parms *cmd, void *dc, int argc,
                                   char *const argv[])
{
    tp_oidc_provider_t *prov;
    const char *err;
    int i;

    (void)dc;
    if (argc < 2) {
        return "TerrapodOIDCScopes takes a provider name and scopes";
    }
    if ((err = provider_arg(cmd, argv[0], &prov)) != NULL) {
        return err;
    }
    prov->extra_scopes = "";
    for (i = 1; i < argc; i++) {
        prov->extra_scopes = apr_pstrcat(cmd->pool, prov->extra_scopes,
                                         i > 1 ? " " : "", argv[i], NULL);
    }
    return NULL;
}

/* TerrapodOIDCGroupRole name group role */
static const char *add_oidc_group_role(cmd_parms *cmd, void *dc,
                                       const char *name, const char *group,
                                       const char *role)
{
    tp_oidc_provider_t *prov;
    tp_oidc_group_role_t *m;
    const char *err = provider_arg(cmd, name, &prov);

    (void)dc;
    if (err) {
        return err;
    }
    if (!name_ok(role)) {
        return apr_pstrcat(cmd->pool, "TerrapodOIDCGroupRole: ", role,
                           " is not a role name", NULL);
    }
    m = apr_array_push(prov->group_roles);
    m->group = group;
    m->role = role;
    return NULL;
}

static const char *add_sso_role(cmd_parms *cmd, void *dc, const char *role)
{
    tp_srv_conf_t *c = srv_conf(cmd->server);

    (void)dc;
    if (!name_ok(role)) {
        return apr_pstrcat(cmd->pool, "TerrapodRequireSSOForRoles: ", role,
                           " is not a role name", NULL);
    }
    if (!c->sso_roles) {
        c->sso_roles = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->sso_roles, const char *) = role;
    return NULL;
}

static const int_directive_t audit_retention_days = {
    APR_OFFSETOF(tp_srv_conf_t, audit_retention_days), 0, 36500};
static const int_directive_t audit_queue = {
    APR_OFFSETOF(tp_srv_conf_t, audit_queue), 1, 1000000};
static const int_directive_t token_cache = {
    APR_OFFSETOF(tp_srv_conf_t, token_cache), 0, TP_TOKEN_CACHE_MAX};
static const int_directive_t read_cache = {
    APR_OFFSETOF(tp_srv_conf_t, read_cache), 0, TP_READ_CACHE_MAX};
static const int_directive_t max_held = {
    APR_OFFSETOF(tp_srv_conf_t, max_held), 1, 100000};

static const int_directive_t user_rate_limit = {
    APR_OFFSETOF(tp_srv_conf_t, rate_limits)
    + TP_RL_AUTHENTICATED * sizeof(int), 0, TP_RL_MAX_LIMIT};

/* TerrapodRateLimit <class> <requests per minute and client address> */
static const char *set_rate_limit(cmd_parms *cmd, void *dc, const char *cls,
                                  const char *limit)
{
    int c = tp_rl_class_named(cls), v;
    const char *why;

    (void)dc;
    if (c == TP_RL_AUTHENTICATED) {
        /* it counted per client address and minute: a figure meant so
         * must not silently become one per user and second */
        return "TerrapodRateLimit authenticated: authenticated requests "
               "are limited per user and second, by TerrapodUserRateLimit";
    }
    if (c < 0) {
        return apr_pstrcat(cmd->pool, "TerrapodRateLimit: no class named ",
                           cls, " (unauthenticated, sign-in)", NULL);
    }
    if ((why = tp_rl_parse_limit(limit, &v)) != NULL) {
        return apr_pstrcat(cmd->pool, "TerrapodRateLimit ", why, NULL);
    }
    srv_conf(cmd->server)->rate_limits[c] = v;
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
                    "blocks) whose forwarded client address is believed"),
    AP_INIT_TAKE1("TerrapodTrustedProxyCert", set_path,
                  OFF(proxy_cert_file), RSRC_CONF,
                  "PEM file of the client certificates a reverse proxy "
                  "proves itself with (mod_ssl verifies them)"),
    AP_INIT_TAKE1("TerrapodClientCertHeader", set_string,
                  OFF(client_cert_header), RSRC_CONF,
                  "Request header carrying a proven proxy's URL-encoded "
                  "PEM client certificate"),
    AP_INIT_TAKE1("TerrapodSchemaDir", set_path, OFF(schema_dir), RSRC_CONF,
                  "Directory of the NNNN_name.sql schema files"),
    AP_INIT_TAKE1("TerrapodListenerPollWait", set_int,
                  (void *)&listener_poll_wait, RSRC_CONF,
                  "Longest wait of a listener's runs/next long poll, in "
                  "seconds"),
    AP_INIT_TAKE1("TerrapodBoundTokenIdleDays", set_int,
                  (void *)&bound_idle_days, RSRC_CONF,
                  "Days without a sign-in of its owner after which a "
                  "service_bound token is refused"),
    AP_INIT_TAKE1("TerrapodServiceTokenMaxTTLHours", set_int,
                  (void *)&service_max_ttl_hours, RSRC_CONF,
                  "Longest lifespan of a service token, in hours"),
    AP_INIT_TAKE1("TerrapodTokenExpiryWarningDays", set_int,
                  (void *)&expiry_warning_days, RSRC_CONF,
                  "Days before expiry a service token is listed as "
                  "expiring"),
    AP_INIT_TAKE1("TerrapodSessionIdleTimeout", set_int,
                  (void *)&session_idle, RSRC_CONF,
                  "Seconds of inactivity that end a browser session"),
    AP_INIT_TAKE1("TerrapodSessionMaxLifetime", set_int,
                  (void *)&session_max, RSRC_CONF,
                  "Seconds a browser session may last however active"),
    AP_INIT_TAKE2("TerrapodTaskInterval", set_task_interval, NULL, RSRC_CONF,
                  "Seconds between runs of a background task"),
    AP_INIT_TAKE_ARGV("TerrapodOIDCProvider", add_oidc_provider, NULL,
                      RSRC_CONF, "An OpenID Connect provider for single "
                      "sign-on: name, issuer URL, client id, client secret "
                      "file"),
    AP_INIT_TAKE2("TerrapodOIDCClientAuth", set_oidc_client_auth, NULL,
                  RSRC_CONF, "How a provider's token endpoint authenticates "
                  "this client: basic (default) or post"),
    AP_INIT_TAKE2("TerrapodOIDCGroupsClaim", set_oidc_groups_claim, NULL,
                  RSRC_CONF, "The ID token claim listing a provider's "
                  "groups (default groups)"),
    AP_INIT_TAKE_ARGV("TerrapodOIDCScopes", set_oidc_scopes, NULL,
                      RSRC_CONF, "Scopes to request from a provider besides "
                      "openid email profile"),
    AP_INIT_TAKE2("TerrapodOIDCCACertificate", set_oidc_ca, NULL, RSRC_CONF,
                  "CA certificates to trust for a provider's TLS instead "
                  "of the system's"),
    AP_INIT_TAKE3("TerrapodOIDCGroupRole", add_oidc_group_role, NULL,
                  RSRC_CONF, "A provider's group whose members get a role"),
    AP_INIT_ITERATE("TerrapodRequireSSOForRoles", add_sso_role, NULL,
                    RSRC_CONF, "Roles whose holders must sign in through "
                    "single sign-on, never with a local password"),
    AP_INIT_TAKE2("TerrapodRateLimit", set_rate_limit, NULL, RSRC_CONF,
                  "Requests per minute and client address of a class "
                  "(unauthenticated, sign-in); 0: no limit"),
    AP_INIT_TAKE1("TerrapodUserRateLimit", set_int,
                  (void *)&user_rate_limit, RSRC_CONF,
                  "Authenticated requests per second and user, all their "
                  "tokens and sessions together; 0: no limit"),
    AP_INIT_TAKE1("TerrapodAuditRetentionDays", set_int,
                  (void *)&audit_retention_days, RSRC_CONF,
                  "Days audit log entries are kept (0: forever)"),
    AP_INIT_TAKE1("TerrapodAuditQueue", set_int, (void *)&audit_queue,
                  RSRC_CONF, "Audit entries an Apache process holds for "
                  "its writer before requests write their own"),
    AP_INIT_TAKE1("TerrapodTokenCache", set_int, (void *)&token_cache,
                  RSRC_CONF, "Seconds an Apache process believes a token "
                  "it has looked up (0: looks up every request's token)"),
    AP_INIT_TAKE1("TerrapodReadCache", set_int, (void *)&read_cache,
                  RSRC_CONF, "Seconds an Apache process keeps the answer "
                  "of a hot read while nothing is written (0: none kept)"),
    AP_INIT_TAKE1("TerrapodMaxHeldRequests", set_int, (void *)&max_held,
                  RSRC_CONF, "Requests waiting for news (listener long "
                  "polls) an Apache process holds at once; more are "
                  "answered 503"),
    AP_INIT_TAKE1("DBDriver", see_dbd, OFF(dbd_driver), RSRC_CONF,
                  "(seen for mod_dbd)"),
    AP_INIT_TAKE1("DBDParams", see_dbd, OFF(dbd_params), RSRC_CONF,
                  "(seen for mod_dbd)"),
    AP_INIT_TAKE1("DBDMax", see_dbd, OFF(dbd_max), RSRC_CONF,
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

static apr_status_t read_small_file(apr_pool_t *p, const char *path, char **out)
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
    rv = read_small_file(p, path, &cert);
    if (rv == APR_SUCCESS) {
        path = c->listener_ca_key;
        rv = read_small_file(p, path, &key);
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

/* 1 when one of nets holds this host's loopback address. */
static int covers_loopback(apr_pool_t *p, const apr_array_header_t *nets)
{
    static const char *const loopback[] = {"127.0.0.1", "::1", NULL};
    apr_sockaddr_t *sa;
    int i, j;

    for (i = 0; loopback[i]; i++) {
        if (apr_sockaddr_info_get(&sa, loopback[i], APR_UNSPEC, 0, 0, p)
            != APR_SUCCESS) {
            continue;
        }
        for (j = 0; nets && j < nets->nelts; j++) {
            if (apr_ipsubnet_test(APR_ARRAY_IDX(nets, j, apr_ipsubnet_t *),
                                  sa)) {
                return 1;
            }
        }
    }
    return 0;
}

/* Reads the certificates reverse proxies prove themselves with (while
 * still root). A forwarded client certificate is believed only from such
 * a proxy: naming the header without them stops the configuration, since
 * any process able to connect could otherwise act as any listener. */
static apr_status_t load_proxy_trust(apr_pool_t *p, server_rec *s,
                                     tp_srv_conf_t *c)
{
    char *pem = NULL;

    c->proxy_fingerprints = NULL;
    if (c->proxy_cert_file
        && (read_small_file(p, c->proxy_cert_file, &pem) != APR_SUCCESS
            || tp_x509_fingerprints(p, pem, &c->proxy_fingerprints)
               != APR_SUCCESS)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TP01411: "
                     "TerrapodTrustedProxyCert %s: no PEM certificate can be "
                     "read from it", c->proxy_cert_file);
        return APR_EINVAL;
    }
    if (c->client_cert_header && !c->proxy_fingerprints) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TP01410: "
                     "TerrapodClientCertHeader needs TerrapodTrustedProxyCert: "
                     "a forwarded client certificate is believed only from a "
                     "proxy that presents a certificate of its own (see "
                     "docs/security.md)");
        return APR_EINVAL;
    }
    if (!c->proxy_fingerprints && covers_loopback(p, c->trusted_proxies)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "TP01412: "
                     "TerrapodTrustedProxy names this host, where any process "
                     "can connect from: X-Forwarded-For from here is believed "
                     "only with TerrapodTrustedProxyCert");
    }
    return APR_SUCCESS;
}

/* Reads each provider's client secret (while still root: it is usually
 * readable by root alone) and sets up its per-process cache. The secret is
 * never logged. */
static apr_status_t load_oidc(apr_pool_t *p, server_rec *s, tp_srv_conf_t *c)
{
    int i;

    for (i = 0; c->oidc_providers && i < c->oidc_providers->nelts; i++) {
        tp_oidc_provider_t *prov = APR_ARRAY_IDX(c->oidc_providers, i,
                                                 tp_oidc_provider_t *);
        char *secret = NULL;
        apr_size_t len;
        apr_status_t rv;

        if (prov->cache) {          /* shared with a server seen before */
            continue;
        }
        rv = read_small_file(p, prov->secret_file, &secret);
        if (rv == APR_SUCCESS) {
            for (len = strlen(secret); len && apr_isspace(secret[len - 1]);
                 len--) {
                secret[len - 1] = '\0';
            }
            rv = len ? tp_oidc_cache_init(p, prov) : APR_EINVAL;
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "TP01100: single "
                         "sign-on provider %s: cannot use client secret "
                         "file %s", prov->name, prov->secret_file);
            return rv;
        }
        prov->client_secret = secret;
    }
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
    if (c->bound_idle_days == -1)
        c->bound_idle_days = TP_BOUND_IDLE_DAYS_DEFAULT;
    if (c->service_max_ttl_hours == -1)
        c->service_max_ttl_hours = TP_SERVICE_TTL_HOURS_DEFAULT;
    if (c->expiry_warning_days == -1)
        c->expiry_warning_days = TP_EXPIRY_WARNING_DAYS_DEFAULT;
    if (c->session_idle == -1) c->session_idle = TP_DEFAULT_SESSION_IDLE;
    if (c->session_max == -1) c->session_max = TP_DEFAULT_SESSION_MAX;
    if (c->audit_retention_days == -1) {
        c->audit_retention_days = TP_AUDIT_RETENTION_DAYS_DEFAULT;
    }
    if (c->audit_queue == -1) {
        c->audit_queue = TP_DEFAULT_AUDIT_QUEUE;
    }
    if (c->token_cache == -1) {
        c->token_cache = TP_DEFAULT_TOKEN_CACHE;
    }
    if (c->read_cache == -1) {
        c->read_cache = TP_DEFAULT_READ_CACHE;
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
    /* each process reads its process-wide settings (TerrapodAuditQueue,
     * TerrapodTokenCache) from the main server, Terrapod On there or not */
    finish_conf(srv_conf(s));
    for (vs = s; vs; vs = vs->next) {
        tp_srv_conf_t *c = srv_conf(vs);

        if (c->enabled != 1) {
            continue;
        }
        finish_conf(c);
        if (load_hmac_key(pconf, vs, c) != APR_SUCCESS
            || load_listener_ca(pconf, vs, c) != APR_SUCCESS
            || load_oidc(pconf, vs, c) != APR_SUCCESS) {
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
    tp_req_post_config(pconf, s);
    tp_held_post_config(s, first);
    migrate(ptemp, s, first);
    /* the background child inherits it with the fork */
    tp_audit_set_retention(first->audit_retention_days);
    return tp_child_start(pconf, s, first) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* Runs for httpd -t too, so a configuration that would trust forwarded
 * certificates from anyone is refused before it is ever started. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;

    (void)plog;
    (void)ptemp;
    for (vs = s; vs; vs = vs->next) {
        tp_srv_conf_t *c = srv_conf(vs);

        if (c->enabled == 1 && load_proxy_trust(pconf, vs, c) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
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
    static const char *const before_logs[] = {"mod_log_config.c", NULL};

    (void)p;
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, after_dbd, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tp_rl_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tp_audit_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tp_req_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(tp_audit_mask_request, NULL, before_logs,
                            APR_HOOK_FIRST);
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
