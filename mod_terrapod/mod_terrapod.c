/* mod_terrapod: the module record, its directives and the server-level
 * hooks (schema migration at start-up, the background child, routing). */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_mpm.h>
#include <mpm_common.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "mod_terrapod.h"
#include "tp_migrate.h"
#include "tp_crypto.h"
#include "tp_tasks.h"
#include "tp_events.h"
#include "tp_audit.h"
#include "tp_vcs_store.h"
#include "tp_vcs_poll.h"
#include "tp_outbound.h"
#include "tp_notify_store.h"
#include "tp_drift_check.h"
#include "tp_retention.h"
#include "tp_mirror.h"
#include "tp_gpg.h"

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
    c->retention_run_days = -1;
    c->retention_cv_days = -1;
    c->audit_queue = -1;
    c->token_cache = -1;
    c->read_cache = -1;
    c->dbd_max = -1;
    c->metrics = -1;
    c->s3.part_size = -1;
    c->s3.virtual_host = -1;
    c->s3.redirect = -1;
    c->max_held = -1;
    c->max_streams = -1;
    c->stream_lifetime = -1;
    c->event_keepalive = -1;
    c->event_replay = -1;
    c->smtp_require_tls = -1;
    c->notify_retry = -1;
    c->drift_max_concurrent = -1;
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
    c->s3.endpoint = MERGE(s3.endpoint);
    c->s3.region = MERGE(s3.region);
    c->s3.bucket = MERGE(s3.bucket);
    c->s3.prefix = MERGE(s3.prefix);
    c->s3.credentials_file = MERGE(s3.credentials_file);
    c->s3.part_size = MERGE_INT(s3.part_size);
    c->s3.virtual_host = MERGE_INT(s3.virtual_host);
    c->s3.redirect = MERGE_INT(s3.redirect);
    c->hmac_key_file = MERGE(hmac_key_file);
    c->listener_ca_cert = MERGE(listener_ca_cert);
    c->listener_ca_key = MERGE(listener_ca_key);
    c->trusted_proxies = MERGE(trusted_proxies);
    c->proxy_cert_file = MERGE(proxy_cert_file);
    c->client_cert_header = MERGE(client_cert_header);
    c->schema_dir = MERGE(schema_dir);
    c->dbd_driver = MERGE(dbd_driver);
    c->dbd_params = MERGE(dbd_params);
    c->dbd_max = MERGE_INT(dbd_max);
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
    c->retention_run_days = MERGE_INT(retention_run_days);
    c->retention_cv_days = MERGE_INT(retention_cv_days);
    c->audit_queue = MERGE_INT(audit_queue);
    c->token_cache = MERGE_INT(token_cache);
    c->read_cache = MERGE_INT(read_cache);
    c->metrics = MERGE_INT(metrics);
    c->metrics_allow = MERGE(metrics_allow);
    c->max_held = MERGE_INT(max_held);
    c->max_streams = MERGE_INT(max_streams);
    c->stream_lifetime = MERGE_INT(stream_lifetime);
    c->event_keepalive = MERGE_INT(event_keepalive);
    c->event_replay = MERGE_INT(event_replay);
    c->drift_max_concurrent = MERGE_INT(drift_max_concurrent);
    c->vcs_internal_hosts = MERGE(vcs_internal_hosts);
    c->vcs_ca_file = MERGE(vcs_ca_file);
    c->vcs_webhook_secret = MERGE(vcs_webhook_secret);
    c->outbound_allow = MERGE(outbound_allow);
    c->outbound_ca_file = MERGE(outbound_ca_file);
    c->smtp_url = MERGE(smtp_url);
    c->smtp_from = MERGE(smtp_from);
    c->smtp_user = MERGE(smtp_user);
    c->smtp_password = MERGE(smtp_password);
    c->smtp_require_tls = MERGE_INT(smtp_require_tls);
    c->notify_retry = MERGE_INT(notify_retry);
    c->registry_host = MERGE(registry_host);
    c->registry_url = MERGE(registry_url);
    c->binary_upstreams = MERGE(binary_upstreams);
    return c;
}

static tp_srv_conf_t *srv_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &terrapod_module);
}

/* Stores an On|Off directive at the offset given in cmd->info. */
static const char *set_flag(cmd_parms *cmd, void *dc, int on)
{
    (void)dc;
    *(int *)((char *)srv_conf(cmd->server) + (apr_size_t)cmd->info) = on;
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

/* scheme://host[:port]: keys make the path (or the bucket and keys) */
/* One of two words, stored as 0 or 1 at the int offset in cmd->info. */
static const char *set_either(cmd_parms *cmd, const char *arg,
                              const char *zero, const char *one)
{
    if (strcasecmp(arg, zero) && strcasecmp(arg, one)) {
        return apr_psprintf(cmd->pool, "%s takes %s or %s", cmd->cmd->name,
                            zero, one);
    }
    *(int *)((char *)srv_conf(cmd->server) + (apr_size_t)cmd->info) =
        !strcasecmp(arg, one);
    return NULL;
}

static const char *set_s3_endpoint(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *host = strstr(arg, "://");
    const char *slash = host ? strchr(host + 3, '/') : NULL;

    if ((strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0)
        || !host[3] || (slash && slash[strspn(slash, "/")])) {
        return "TerrapodStorageS3Endpoint takes an http(s)://host[:port] URL";
    }
    return set_public_url(cmd, dc, arg);
}

static const char *set_s3_prefix(cmd_parms *cmd, void *dc, const char *arg)
{
    return set_string(cmd, dc, tp_s3_prefix(cmd->pool, arg));
}

static const char *set_s3_addressing(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    (void)dc;
    return set_either(cmd, arg, "path", "virtual");
}

static const char *set_s3_downloads(cmd_parms *cmd, void *dc,
                                    const char *arg)
{
    (void)dc;
    return set_either(cmd, arg, "proxy", "redirect");
}

static const char *set_s3_part_size(cmd_parms *cmd, void *dc,
                                    const char *arg)
{
    const char *err = set_size(cmd, dc, arg);

    if (!err && srv_conf(cmd->server)->s3.part_size < TP_S3_PART_SIZE_MIN) {
        return "TerrapodStorageS3PartSize: S3 takes parts of 5 MiB "
               "(5242880 bytes) or more";
    }
    return err;
}

static const char *set_task_interval(cmd_parms *cmd, void *dc,
                                     const char *name, const char *secs)
{
    char *end;
    long v = strtol(secs, &end, 10);

    (void)dc;
    if (!tp_task_named(name)) {
        return apr_pstrcat(cmd->pool, "TerrapodTaskInterval: no task named ",
                           name, NULL);
    }
    if (*end || v < 1 || v > 86400 * 7) {
        return "TerrapodTaskInterval takes 1 to 604800 seconds";
    }
    apr_table_set(srv_conf(cmd->server)->task_intervals, name, secs);
    return NULL;
}

/* TerrapodVCSPollInterval: the poll task's interval, by its own name. */
static const char *set_vcs_poll_interval(cmd_parms *cmd, void *dc,
                                         const char *secs)
{
    return set_task_interval(cmd, dc, TP_VCS_POLL_TASK, secs);
}

/* TerrapodDriftCheckInterval: the drift task's interval, by its own name. */
static const char *set_drift_interval(cmd_parms *cmd, void *dc,
                                      const char *secs)
{
    return set_task_interval(cmd, dc, TP_DRIFT_TASK, secs);
}

/* Adds an address or CIDR block ("10.0.0.0/8") to *list; 0 when it is
 * neither. */
static int push_subnet(apr_pool_t *p, apr_array_header_t **list,
                       const char *arg)
{
    char *ip = apr_pstrdup(p, arg), *mask = strchr(ip, '/');
    apr_ipsubnet_t *net;

    if (mask) {
        *mask++ = '\0';
    }
    if (apr_ipsubnet_create(&net, ip, mask, p) != APR_SUCCESS) {
        return 0;
    }
    if (!*list) {
        *list = apr_array_make(p, 2, sizeof(net));
    }
    APR_ARRAY_PUSH(*list, apr_ipsubnet_t *) = net;
    return 1;
}

/* Each address or CIDR block of a list of them (TerrapodTrustedProxy,
 * TerrapodMetricsAllow): the list at the offset given in cmd->info. */
static const char *add_subnet(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (!push_subnet(cmd->pool, (apr_array_header_t **)
                     ((char *)srv_conf(cmd->server) + (apr_size_t)cmd->info),
                     arg)) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": not an IP "
                           "address or CIDR block: ", arg, NULL);
    }
    return NULL;
}

/* TerrapodOutboundAllow: each CIDR block notifications may reach although
 * the outbound guard refuses its class of address. */
static const char *add_outbound_allow(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    tp_srv_conf_t *c = srv_conf(cmd->server);
    tp_cidr_t cidr;

    (void)dc;
    if (tp_cidr_parse(arg, &cidr) != APR_SUCCESS) {
        return apr_pstrcat(cmd->pool, "TerrapodOutboundAllow: not an IP "
                           "address or CIDR block (with the bits past its "
                           "prefix zero): ", arg, NULL);
    }
    if (!c->outbound_allow) {
        c->outbound_allow = apr_array_make(cmd->pool, 2, sizeof(cidr));
    }
    APR_ARRAY_PUSH(c->outbound_allow, tp_cidr_t) = cidr;
    return NULL;
}

/* TerrapodRegistryUpstream HOST [URL]: the registry the provider mirror
 * caches, by the hostname provider sources name it with, and where its
 * discovery document is read when not at https://HOST. */
static const char *set_registry_upstream(cmd_parms *cmd, void *dc,
                                         const char *host, const char *url)
{
    tp_srv_conf_t *c = srv_conf(cmd->server);
    tp_outbound_target_t t;
    tp_err_t *err;

    (void)dc;
    if (!*host || strpbrk(host, "/ :@")) {
        return apr_pstrcat(cmd->pool, "TerrapodRegistryUpstream: not a "
                           "hostname: ", host, NULL);
    }
    url = url ? url : apr_pstrcat(cmd->pool, "https://", host, NULL);
    if ((err = tp_outbound_url(cmd->pool, url, "http,https", &t)) != NULL) {
        return apr_pstrcat(cmd->pool, "TerrapodRegistryUpstream ", url, " ",
                           err->detail, NULL);
    }
    c->registry_host = apr_pstrdup(cmd->pool, host);
    /* its paths are appended to it */
    c->registry_url = apr_pstrndup(cmd->pool, url,
                                   strlen(url) - (url[strlen(url) - 1]
                                                  == '/'));
    return NULL;
}

/* TerrapodBinaryUpstream TOOL URL KEYFILE: where the binary cache fetches
 * a tool's releases, and the file of the public key their SHA256SUMS are
 * signed with (read by check_config). */
static const char *add_binary_upstream(cmd_parms *cmd, void *dc,
                                       const char *tool, const char *url,
                                       const char *keyfile)
{
    tp_srv_conf_t *c = srv_conf(cmd->server);
    tp_binary_upstream_t *up;
    tp_outbound_target_t t;
    tp_err_t *err;

    (void)dc;
    if (!tp_binary_tool_valid(tool)) {
        return "TerrapodBinaryUpstream: the tool is terraform or tofu";
    }
    if ((err = tp_outbound_url(cmd->pool, url, "http,https", &t)) != NULL) {
        return apr_pstrcat(cmd->pool, "TerrapodBinaryUpstream ", url, " ",
                           err->detail, NULL);
    }
    if (!c->binary_upstreams) {
        c->binary_upstreams = apr_array_make(cmd->pool, 2, sizeof(*up));
    }
    up = apr_array_push(c->binary_upstreams);
    up->tool = tool;
    up->url = apr_pstrndup(cmd->pool, url,
                           strlen(url) - (url[strlen(url) - 1] == '/'));
    up->key_file = ap_server_root_relative(cmd->pool, keyfile);
    up->key = NULL;
    return NULL;
}

/* TerrapodSMTPURL: smtp:// (STARTTLS when offered) or smtps://. */
static const char *set_smtp_url(cmd_parms *cmd, void *dc, const char *arg)
{
    tp_outbound_target_t t;
    tp_err_t *err = tp_outbound_url(cmd->pool, arg, "smtp,smtps", &t);

    if (err) {
        return apr_pstrcat(cmd->pool, "TerrapodSMTPURL ", err->detail, NULL);
    }
    return set_string(cmd, dc, arg);
}

/* TerrapodSMTPTLS try|require: STARTTLS when offered, or always. */
static const char *set_smtp_tls(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return set_either(cmd, arg, "try", "require");
}

void tp_notify_env_from(const tp_srv_conf_t *conf, tp_notify_env_t *env)
{
    memset(env, 0, sizeof(*env));
    env->key = conf->hmac;
    env->public_url = conf->public_url;
    env->organization = TP_ORGANIZATION;
    env->allow = conf->outbound_allow;
    env->ca_file = conf->outbound_ca_file;
    env->smtp_url = conf->smtp_url;
    env->smtp_from = conf->smtp_from;
    env->smtp_user = conf->smtp_user;
    env->smtp_password = conf->smtp_password;
    env->smtp_require_tls = conf->smtp_require_tls == 1;
    env->retry = conf->notify_retry > 0 ? conf->notify_retry
                                        : TP_NOTIFY_RETRY;
}

/* mod_dbd keeps its settings private; seeing its directives first (this
 * module is loaded after mod_dbd, so httpd asks it first) lets the
 * background child and the migrator open connections of their own. */
static const char *see_dbd(cmd_parms *cmd, void *dc, const char *arg)
{
    set_string(cmd, dc, arg);
    return DECLINE_CMD;
}

/* mod_dbd's DBDMax, for the start-up check of the connections Apache may
 * open against the database's max_connections and the bound on long
 * polls, each of which holds a connection (mod_dbd checks the value
 * itself). */
static const char *see_dbd_max(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    srv_conf(cmd->server)->dbd_max = atoi(arg);
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
static const int_directive_t notify_retry = {
    APR_OFFSETOF(tp_srv_conf_t, notify_retry), 1, 3600};
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

/* TerrapodVCSInternalHost: each host name a connection's server-url may
 * reach over plain http. */
static const char *add_vcs_internal_host(cmd_parms *cmd, void *dc,
                                         const char *host)
{
    tp_srv_conf_t *c = srv_conf(cmd->server);

    (void)dc;
    if (!*host || strpbrk(host, "/:@ ")) {
        return apr_pstrcat(cmd->pool, "TerrapodVCSInternalHost: ", host,
                           " is not a host name (no scheme, port or path)",
                           NULL);
    }
    if (!c->vcs_internal_hosts) {
        c->vcs_internal_hosts = apr_array_make(cmd->pool, 2,
                                               sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->vcs_internal_hosts, const char *) = host;
    return NULL;
}

static const int_directive_t audit_retention_days = {
    APR_OFFSETOF(tp_srv_conf_t, audit_retention_days), 0, 36500};
static const int_directive_t retention_run_days = {
    APR_OFFSETOF(tp_srv_conf_t, retention_run_days), 0, 36500};
static const int_directive_t retention_cv_days = {
    APR_OFFSETOF(tp_srv_conf_t, retention_cv_days), 0, 36500};
static const int_directive_t audit_queue = {
    APR_OFFSETOF(tp_srv_conf_t, audit_queue), 1, 1000000};
static const int_directive_t token_cache = {
    APR_OFFSETOF(tp_srv_conf_t, token_cache), 0, TP_TOKEN_CACHE_MAX};
static const int_directive_t read_cache = {
    APR_OFFSETOF(tp_srv_conf_t, read_cache), 0, TP_READ_CACHE_MAX};
static const int_directive_t max_held = {
    APR_OFFSETOF(tp_srv_conf_t, max_held), 1, 100000};
static const int_directive_t max_streams = {
    APR_OFFSETOF(tp_srv_conf_t, max_streams), 1, 100000};
static const int_directive_t stream_lifetime = {
    APR_OFFSETOF(tp_srv_conf_t, stream_lifetime), 1, 86400};
static const int_directive_t event_keepalive = {
    APR_OFFSETOF(tp_srv_conf_t, event_keepalive), 1, 300};
static const int_directive_t event_replay = {
    APR_OFFSETOF(tp_srv_conf_t, event_replay), 0, 86400};
static const int_directive_t drift_max_concurrent = {
    APR_OFFSETOF(tp_srv_conf_t, drift_max_concurrent), 1, 100000};

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

void tp_vcs_env_from(const tp_srv_conf_t *conf, tp_vcs_env_t *env)
{
    env->key = conf->hmac;
    env->ca_file = conf->vcs_ca_file;
    env->storage = &conf->storage;
    env->max_upload = conf->max_upload;
}

#define OFF(f) (void *)APR_OFFSETOF(tp_srv_conf_t, f)
static const command_rec tp_cmds[] = {
    AP_INIT_FLAG("Terrapod", set_flag, OFF(enabled), RSRC_CONF,
                 "Serve the mod_terrapod API in this server (On|Off)"),
    AP_INIT_TAKE1("TerrapodPublicURL", set_public_url, OFF(public_url), RSRC_CONF,
                  "External base URL for capability URLs"),
    AP_INIT_TAKE1("TerrapodStorageDir", set_path, OFF(storage.root),
                  RSRC_CONF, "Directory for state, configuration and logs"),
    AP_INIT_TAKE1("TerrapodStorageS3Endpoint", set_s3_endpoint,
                  OFF(s3.endpoint), RSRC_CONF, "S3-compatible endpoint URL "
                  "(https://host[:port]); objects go to its bucket"),
    AP_INIT_TAKE1("TerrapodStorageS3Region", set_string, OFF(s3.region),
                  RSRC_CONF, "Region requests are signed for (us-east-1)"),
    AP_INIT_TAKE1("TerrapodStorageS3Bucket", set_string, OFF(s3.bucket),
                  RSRC_CONF, "Bucket of the S3 storage backend"),
    AP_INIT_TAKE1("TerrapodStorageS3Prefix", set_s3_prefix, OFF(s3.prefix),
                  RSRC_CONF, "Key prefix of every object in the bucket"),
    AP_INIT_TAKE1("TerrapodStorageS3Addressing", set_s3_addressing,
                  OFF(s3.virtual_host),
                  RSRC_CONF, "path (host/bucket/key, the default) or "
                  "virtual (bucket.host/key)"),
    AP_INIT_TAKE1("TerrapodStorageS3CredentialsFile", set_path,
                  OFF(s3.credentials_file), RSRC_CONF,
                  "AWS shared-credentials file (else the AWS_ACCESS_KEY_ID, "
                  "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN environment)"),
    AP_INIT_TAKE1("TerrapodStorageS3PartSize", set_s3_part_size,
                  OFF(s3.part_size), RSRC_CONF, "Uploads larger than this "
                  "go to S3 in multipart parts of this size (16 MiB)"),
    AP_INIT_TAKE1("TerrapodStorageS3Downloads", set_s3_downloads,
                  OFF(s3.redirect),
                  RSRC_CONF, "proxy (streamed through Apache, the default) "
                  "or redirect (302 to a presigned S3 URL)"),
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
    AP_INIT_ITERATE("TerrapodTrustedProxy", add_subnet, OFF(trusted_proxies),
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
    AP_INIT_TAKE1("TerrapodRetentionRunArtifactsDays", set_int,
                  (void *)&retention_run_days, RSRC_CONF,
                  "Days the logs, plan files and plan JSON of a finished "
                  "run are kept (0: forever)"),
    AP_INIT_TAKE1("TerrapodRetentionConfigVersionsDays", set_int,
                  (void *)&retention_cv_days, RSRC_CONF,
                  "Days the tarball of a configuration version no longer "
                  "in use is kept (0: forever)"),
    AP_INIT_TAKE1("TerrapodAuditQueue", set_int, (void *)&audit_queue,
                  RSRC_CONF, "Audit entries an Apache process holds for "
                  "its writer before requests write their own"),
    AP_INIT_TAKE1("TerrapodTokenCache", set_int, (void *)&token_cache,
                  RSRC_CONF, "Seconds an Apache process believes a token "
                  "it has looked up (0: looks up every request's token)"),
    AP_INIT_TAKE1("TerrapodReadCache", set_int, (void *)&read_cache,
                  RSRC_CONF, "Seconds an Apache process keeps the answer "
                  "of a hot read while nothing is written (0: none kept)"),
    AP_INIT_FLAG("TerrapodMetrics", set_flag, OFF(metrics), RSRC_CONF,
                 "Serve the Prometheus metrics at /metrics (On|Off)"),
    AP_INIT_ITERATE("TerrapodMetricsAllow", add_subnet, OFF(metrics_allow),
                    RSRC_CONF, "Addresses or CIDR blocks that may read "
                    "/metrics without a token (default 127.0.0.1 ::1)"),
    AP_INIT_TAKE1("TerrapodMaxHeldRequests", set_int, (void *)&max_held,
                  RSRC_CONF, "Requests waiting for news (listener long "
                  "polls) an Apache process holds at once; more are "
                  "answered 503"),
    AP_INIT_TAKE1("TerrapodMaxEventStreams", set_int, (void *)&max_streams,
                  RSRC_CONF, "Event streams an Apache process holds open at "
                  "once; more are answered 503"),
    AP_INIT_TAKE1("TerrapodEventStreamLifetime", set_int,
                  (void *)&stream_lifetime, RSRC_CONF, "Seconds after which "
                  "the server ends an event stream (the client reconnects)"),
    AP_INIT_TAKE1("TerrapodEventKeepAlive", set_int,
                  (void *)&event_keepalive, RSRC_CONF, "Seconds between "
                  "keep-alive comments on an idle event stream"),
    AP_INIT_TAKE1("TerrapodEventReplayWindow", set_int,
                  (void *)&event_replay, RSRC_CONF, "Seconds of events a "
                  "reconnecting stream is replayed from its Last-Event-ID "
                  "(0: none)"),
    AP_INIT_ITERATE("TerrapodVCSInternalHost", add_vcs_internal_host, NULL,
                    RSRC_CONF, "Hosts a VCS connection's server-url may reach "
                    "over plain http"),
    AP_INIT_TAKE1("TerrapodVCSCAFile", set_path, OFF(vcs_ca_file), RSRC_CONF,
                  "CA certificates (PEM) VCS providers' HTTPS is trusted "
                  "with, besides the system's"),
    AP_INIT_TAKE1("TerrapodVCSPollInterval", set_vcs_poll_interval, NULL,
                  RSRC_CONF, "Seconds between polls of a repository VCS "
                  "workspaces track (TerrapodTaskInterval vcs-poll)"),
    AP_INIT_TAKE1("TerrapodDriftCheckInterval", set_drift_interval, NULL,
                  RSRC_CONF, "Seconds between runs of the drift task, which "
                  "queues the drift checks that are due "
                  "(TerrapodTaskInterval drift-check)"),
    AP_INIT_TAKE1("TerrapodDriftMaxConcurrent", set_int,
                  (void *)&drift_max_concurrent, RSRC_CONF, "Drift runs "
                  "queued or running at once, at most"),
    AP_INIT_TAKE1("TerrapodVCSWebhookSecret", set_string,
                  OFF(vcs_webhook_secret), RSRC_CONF,
                  "Webhook secret of VCS connections without their own"),
    AP_INIT_ITERATE("TerrapodOutboundAllow", add_outbound_allow, NULL,
                    RSRC_CONF, "Addresses or CIDR blocks notifications may "
                    "reach although they are loopback, private, link-local "
                    "or metadata addresses"),
    AP_INIT_TAKE1("TerrapodOutboundCAFile", set_path, OFF(outbound_ca_file),
                  RSRC_CONF, "CA certificates notifications' HTTPS and "
                  "mail TLS trust besides the system's"),
    AP_INIT_TAKE12("TerrapodRegistryUpstream", set_registry_upstream, NULL,
                   RSRC_CONF, "The registry the provider mirror caches: its "
                   "hostname, and the URL its discovery document is read at "
                   "when not https://HOST"),
    AP_INIT_TAKE3("TerrapodBinaryUpstream", add_binary_upstream, NULL,
                  RSRC_CONF, "Where the binary cache fetches a tool's "
                  "releases: terraform|tofu, the URL of its releases, the "
                  "file of the public key their SHA256SUMS are signed with"),
    AP_INIT_TAKE1("TerrapodSMTPURL", set_smtp_url, OFF(smtp_url), RSRC_CONF,
                  "Mail server of email notifications: smtp://host:port or "
                  "smtps://host:port"),
    AP_INIT_TAKE1("TerrapodSMTPFrom", set_string, OFF(smtp_from), RSRC_CONF,
                  "Sender address of email notifications"),
    AP_INIT_TAKE1("TerrapodSMTPUser", set_string, OFF(smtp_user), RSRC_CONF,
                  "User name the mail server is logged in to with"),
    AP_INIT_TAKE1("TerrapodSMTPPassword", set_string, OFF(smtp_password),
                  RSRC_CONF, "Password of TerrapodSMTPUser"),
    AP_INIT_TAKE1("TerrapodSMTPTLS", set_smtp_tls, OFF(smtp_require_tls),
                  RSRC_CONF,
                  "STARTTLS on smtp://: try (default) or require"),
    AP_INIT_TAKE1("TerrapodNotificationRetry", set_int,
                  (void *)&notify_retry, RSRC_CONF,
                  "Seconds before a failed notification is tried again, "
                  "doubling each time (default 60)"),
    AP_INIT_TAKE1("DBDriver", see_dbd, OFF(dbd_driver), RSRC_CONF,
                  "(seen for mod_dbd)"),
    AP_INIT_TAKE1("DBDParams", see_dbd, OFF(dbd_params), RSRC_CONF,
                  "(seen for mod_dbd)"),
    AP_INIT_TAKE1("DBDMax", see_dbd_max, NULL, RSRC_CONF,
                  "(seen for mod_dbd)"),
    {NULL}
};

/* ---- checking the configuration ----
 * httpd runs check_config for `httpd -t` (which apachectl configtest and
 * apachectl graceful run first) and at every start and restart, before
 * the logs are opened and while it is still root. Every file a directive
 * names is read and checked there, so a broken one fails the
 * configuration test with its reason rather than stopping the whole
 * server at its next restart; what is read is kept for the requests.
 * Each check notes what it finds wrong and says 1 when all is well, so
 * one test reports every problem at once. */

#define TP_HMAC_KEY_MIN 32
#define TP_HMAC_KEY_MAX 4096
#define TP_PEM_MAX      65536               /* a CA, its key, a secret */
#define TP_CA_FILE_MAX  (4 * 1024 * 1024)   /* a bundle of CA certificates */

typedef struct {
    server_rec *s;
    const char *why;        /* with its log tag */
} failure_t;

typedef struct {
    apr_pool_t *pconf;      /* what is read is kept here */
    apr_pool_t *ptemp;
    server_rec *s;          /* the server being checked */
    apr_array_header_t *failures;   /* failure_t */
} check_t;

static int refuse(check_t *ck, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int refuse(check_t *ck, const char *fmt, ...)
{
    failure_t *f = apr_array_push(ck->failures);
    va_list ap;

    va_start(ap, fmt);
    f->s = ck->s;
    f->why = apr_pvsprintf(ck->pconf, fmt, ap);
    va_end(ap);
    return 0;
}

static const char *status_text(apr_pool_t *p, apr_status_t rv)
{
    char buf[120];

    return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
}

/* Reads a whole regular file of min to max bytes into pool memory, with a
 * NUL after it; NULL, or what is wrong with it. */
static const char *read_file(apr_pool_t *p, const char *path, apr_off_t min,
                             apr_off_t max, char **out, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    const char *why = NULL;
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);

    if (rv != APR_SUCCESS) {
        return status_text(p, rv);
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    if (rv == APR_SUCCESS && fi.filetype != APR_REG) {
        why = "not a regular file";
    }
    else if (rv == APR_SUCCESS && (fi.size < min || fi.size > max)) {
        why = apr_psprintf(p, "%" APR_OFF_T_FMT " bytes; %" APR_OFF_T_FMT
                           " to %" APR_OFF_T_FMT " are needed", fi.size,
                           min, max);
    }
    else if (rv == APR_SUCCESS) {
        *len = (apr_size_t)fi.size;
        *out = apr_palloc(p, *len + 1);
        rv = apr_file_read_full(f, *out, *len, len);
        (*out)[*len] = '\0';
    }
    apr_file_close(f);
    return rv != APR_SUCCESS ? status_text(p, rv) : why;
}

/* The signing key: every capability URL depends on it. */
static int load_hmac_key(check_t *ck, tp_srv_conf_t *c)
{
    char *buf = NULL;
    apr_size_t len = 0;
    const char *why;

    if (!c->hmac_key_file) {
        return refuse(ck, "TP00001: TerrapodHMACKeyFile is required with "
                      "Terrapod On");
    }
    why = read_file(ck->pconf, c->hmac_key_file, TP_HMAC_KEY_MIN,
                    TP_HMAC_KEY_MAX, &buf, &len);
    if (why) {
        return refuse(ck, "TP00002: cannot use HMAC key file %s: %s",
                      c->hmac_key_file, why);
    }
    c->hmac.bytes = (const unsigned char *)buf;
    c->hmac.len = len;
    return 1;
}

/* The listener CA, read while httpd is still root: its key is usually
 * readable by root alone. Without one, listeners cannot join. */
static int load_listener_ca(check_t *ck, tp_srv_conf_t *c)
{
    const char *path[2] = {c->listener_ca_cert, c->listener_ca_key};
    char *pem[2] = {NULL, NULL};
    const char *why;
    apr_size_t len;
    int i;

    if (!c->listener_ca_cert && !c->listener_ca_key) {
        return 1;
    }
    if (!c->listener_ca_cert || !c->listener_ca_key) {
        return refuse(ck, "TP00701: TerrapodListenerCACert and "
                      "TerrapodListenerCAKey go together");
    }
    for (i = 0; i < 2; i++) {
        why = read_file(ck->pconf, path[i], 1, TP_PEM_MAX, &pem[i], &len);
        if (why) {
            return refuse(ck, "TP00702: cannot read %s: %s", path[i], why);
        }
    }
    if (tp_x509_ca_check(ck->ptemp, pem[0], pem[1], &why) != APR_SUCCESS) {
        return refuse(ck, "TP00703: listener CA %s / %s: %s", path[0],
                      path[1], why);
    }
    c->listener_ca_pem = pem[0];
    c->listener_ca_key_pem = pem[1];
    return 1;
}

/* A provider's client secret, read while still root (it is usually
 * readable by root alone) and never logged. */
static int load_oidc_secret(check_t *ck, tp_oidc_provider_t *prov)
{
    char *secret = NULL;
    apr_size_t len = 0;
    const char *why = read_file(ck->pconf, prov->secret_file, 1, TP_PEM_MAX,
                                &secret, &len);

    while (!why && len && apr_isspace(secret[len - 1])) {
        secret[--len] = '\0';
    }
    if (!why && !len) {
        why = "it holds only white space";
    }
    if (why) {
        return refuse(ck, "TP01100: single sign-on provider %s: cannot use "
                      "client secret file %s: %s", prov->name,
                      prov->secret_file, why);
    }
    prov->client_secret = secret;
    return 1;
}

/* The CA file a provider's TLS is checked against is read when the
 * provider is contacted; a wrong one would otherwise show only as failed
 * sign-ins. */
static int check_oidc_ca(check_t *ck, const tp_oidc_provider_t *prov)
{
    char *pem = NULL;
    apr_size_t len;
    const char *why;

    if (!prov->ca_file) {
        return 1;
    }
    why = read_file(ck->ptemp, prov->ca_file, 1, TP_CA_FILE_MAX, &pem, &len);
    if (!why && tp_x509_certs_check(pem, &why) == APR_SUCCESS) {
        return 1;
    }
    return refuse(ck, "TP01104: single sign-on provider %s: "
                  "TerrapodOIDCCACertificate %s: %s", prov->name,
                  prov->ca_file, why);
}

static int load_oidc(check_t *ck, tp_srv_conf_t *c)
{
    int i, ok = 1;

    for (i = 0; c->oidc_providers && i < c->oidc_providers->nelts; i++) {
        tp_oidc_provider_t *prov = APR_ARRAY_IDX(c->oidc_providers, i,
                                                 tp_oidc_provider_t *);

        if (!prov->client_secret) {     /* else shared with a server seen */
            ok &= load_oidc_secret(ck, prov);
            ok &= check_oidc_ca(ck, prov);
        }
    }
    return ok;
}

/* A directory a directive names (tag: the log line's). */
static int check_dir(check_t *ck, const char *tag, const char *directive,
                     const char *path)
{
    apr_finfo_t fi;
    apr_status_t rv;

    if (!path) {
        return 1;
    }
    rv = apr_stat(&fi, path, APR_FINFO_TYPE, ck->ptemp);
    if (rv != APR_SUCCESS) {
        return refuse(ck, "%s: %s %s: %s", tag, directive, path,
                      status_text(ck->ptemp, rv));
    }
    if (fi.filetype != APR_DIR) {
        return refuse(ck, "%s: %s %s: not a directory", tag, directive, path);
    }
    return 1;
}

static int check_dbd(check_t *ck, const tp_srv_conf_t *c)
{
    if (!c->dbd_driver || !c->dbd_params) {
        return refuse(ck, "TP00005: Terrapod needs DBDriver and DBDParams "
                      "(and LoadModule terrapod_module after dbd_module)");
    }
    /* tp_db.c speaks libpq on the connections mod_dbd hands out */
    if (strcmp(c->dbd_driver, "pgsql") != 0) {
        return refuse(ck, "TP00010: Terrapod needs DBDriver pgsql, not %s",
                      c->dbd_driver);
    }
    return 1;
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

/* The certificates reverse proxies prove themselves with. A forwarded
 * client certificate is believed only from such a proxy: naming the
 * header without them is refused, since any process able to connect
 * could otherwise act as any listener. */
static int load_proxy_trust(check_t *ck, tp_srv_conf_t *c)
{
    char *pem = NULL;
    apr_size_t len;
    const char *why = NULL;

    c->proxy_fingerprints = NULL;
    if (c->proxy_cert_file
        && ((why = read_file(ck->pconf, c->proxy_cert_file, 1,
                             TP_CA_FILE_MAX, &pem, &len)) != NULL
            || tp_x509_fingerprints(ck->pconf, pem, &c->proxy_fingerprints)
               != APR_SUCCESS)) {
        return refuse(ck, "TP01411: TerrapodTrustedProxyCert %s: %s",
                      c->proxy_cert_file,
                      why ? why : "no PEM certificate can be read from it");
    }
    if (c->client_cert_header && !c->proxy_fingerprints) {
        return refuse(ck, "TP01410: TerrapodClientCertHeader needs "
                      "TerrapodTrustedProxyCert: a forwarded client "
                      "certificate is believed only from a proxy that "
                      "presents a certificate of its own (see "
                      "docs/security.md)");
    }
    if (!c->proxy_fingerprints && covers_loopback(ck->ptemp,
                                                  c->trusted_proxies)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ck->s, "TP01412: "
                     "TerrapodTrustedProxy names this host, where any process "
                     "can connect from: X-Forwarded-For from here is believed "
                     "only with TerrapodTrustedProxyCert");
    }
    return 1;
}

/* The public keys the binary cache checks releases with: each file must
 * hold exactly one armoured public key. */
static int load_binary_keys(check_t *ck, tp_srv_conf_t *c)
{
    int i, ok = 1;

    for (i = 0; c->binary_upstreams && i < c->binary_upstreams->nelts; i++) {
        tp_binary_upstream_t *up = &APR_ARRAY_IDX(c->binary_upstreams, i,
                                                  tp_binary_upstream_t);
        char *armor = NULL;
        apr_size_t len = 0;
        tp_gpg_key_t *key;
        tp_err_t *err = NULL;
        const char *why;

        if (up->key) {              /* shared with a server seen */
            continue;
        }
        why = read_file(ck->pconf, up->key_file, 1, TP_PEM_MAX, &armor, &len);
        if (!why && (err = tp_gpg_key_parse(ck->pconf, armor, len, &key))
                    == NULL) {
            up->key = key->armor;
            continue;
        }
        ok = refuse(ck, "TP02150: TerrapodBinaryUpstream %s %s: %s", up->tool,
                    up->key_file, why ? why : err->detail);
    }
    return ok;
}

/* A bucket needs an endpoint, and one without the other is a mistake. */
static int check_s3(check_t *ck, const tp_srv_conf_t *c)
{
    if (!c->s3.bucket != !c->s3.endpoint) {
        return refuse(ck, "TP02160: TerrapodStorageS3Bucket and "
                      "TerrapodStorageS3Endpoint go together: name both for "
                      "S3 storage, or neither");
    }
    return 1;
}

/* Everything a server with Terrapod On names. */
static int check_server(check_t *ck, tp_srv_conf_t *c)
{
    int ok = load_hmac_key(ck, c);

    ok &= load_proxy_trust(ck, c);

    ok &= load_listener_ca(ck, c);
    ok &= load_oidc(ck, c);
    ok &= load_binary_keys(ck, c);
    ok &= check_dir(ck, "TP00007", "TerrapodStorageDir", c->storage.root);
    ok &= check_s3(ck, c);
    ok &= check_dir(ck, "TP00008", "TerrapodSchemaDir", c->schema_dir);
    ok &= check_dbd(ck, c);
    return ok;
}

/* A bucket makes S3 the backend, the storage directory its spool. */
static void finish_s3(tp_srv_conf_t *c)
{
    if (!c->s3.region) {
        c->s3.region = "us-east-1";
    }
    if (!c->s3.prefix) {
        c->s3.prefix = "";
    }
    if (c->s3.part_size == -1) {
        c->s3.part_size = TP_S3_PART_SIZE_DEFAULT;
    }
    if (c->s3.virtual_host == -1) {
        c->s3.virtual_host = 0;
    }
    if (c->s3.redirect == -1) {
        c->s3.redirect = 0;
    }
    c->storage.s3 = c->s3.bucket ? &c->s3 : NULL;
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
static void finish_conf(apr_pool_t *p, tp_srv_conf_t *c)
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
    if (c->retention_run_days == -1) {
        c->retention_run_days = TP_RETENTION_DAYS_DEFAULT;
    }
    if (c->retention_cv_days == -1) {
        c->retention_cv_days = TP_RETENTION_DAYS_DEFAULT;
    }
    if (c->audit_queue == -1) {
        c->audit_queue = TP_DEFAULT_AUDIT_QUEUE;
    }
    if (c->stream_lifetime == -1) {
        c->stream_lifetime = TP_DEFAULT_STREAM_LIFETIME;
    }
    if (c->event_keepalive == -1) {
        c->event_keepalive = TP_DEFAULT_EVENT_KEEPALIVE;
    }
    if (c->event_replay == -1) {
        c->event_replay = TP_DEFAULT_EVENT_REPLAY;
    }
    if (c->token_cache == -1) {
        c->token_cache = TP_DEFAULT_TOKEN_CACHE;
    }
    if (c->read_cache == -1) {
        c->read_cache = TP_DEFAULT_READ_CACHE;
    }
    if (c->dbd_max == -1) {
        c->dbd_max = TP_DBD_DEFAULT_MAX;
    }
    if (c->metrics == -1) {
        c->metrics = 0;
    }
    finish_s3(c);
    /* scrapers on the machine itself */
    if (!c->metrics_allow) {
        push_subnet(p, &c->metrics_allow, "127.0.0.1");
        push_subnet(p, &c->metrics_allow, "::1");
    }
    finish_rate_limits(c->rate_limits);
}

/* What failed the check in httpd's first pass at a start, for post_config
 * to log once the error logs are open (NULL: nothing). */
static apr_array_header_t *start_failures;

/* Whether a server runs under this configuration's pid file: then this
 * httpd only signals it (-k graceful, restart, stop). */
static int server_running(apr_pool_t *p)
{
    pid_t pid;

    return ap_read_pid(p, ap_pid_fname, &pid) == APR_SUCCESS
           && pid != getpid() && kill(pid, 0) == 0;
}

/* A failure stops the configuration test, a restart, and an httpd about
 * to signal a running server (which is then left alone; like a syntax
 * error, it stops -k stop too). A start fails in its first pass's
 * post_config instead, after logging the reasons again to the main error
 * log, open by then: the first place an operator looks when the server is
 * not running. */
static int failure_waits_for_post_config(apr_pool_t *ptemp)
{
    return ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_NORMAL
           && ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
           && !server_running(ptemp);
}

/* Each failure to the error log of s, or of its own server when s is
 * NULL. */
static void log_failures(const apr_array_header_t *failures, server_rec *s)
{
    int i;

    for (i = 0; i < failures->nelts; i++) {
        const failure_t *f = &APR_ARRAY_IDX(failures, i, failure_t);

        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s ? s : f->s, "%s", f->why);
    }
}

/* Lines logged here go to httpd's stderr: the console for a test or a
 * start, the main error log at a restart. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    check_t ck = {pconf, ptemp, s, NULL};
    const char *why;
    server_rec *vs;

    (void)plog;
    ck.failures = apr_array_make(pconf, 2, sizeof(failure_t));
    /* each process reads its process-wide settings (TerrapodAuditQueue,
     * TerrapodTokenCache) from the main server, Terrapod On there or not */
    finish_conf(pconf, srv_conf(s));
    for (vs = s; vs; vs = vs->next) {
        tp_srv_conf_t *c = srv_conf(vs);

        if (c->enabled == 1) {
            ck.s = vs;
            finish_conf(pconf, c);
            check_server(&ck, c);
        }
    }
    if ((why = tp_rl_check_config(s)) != NULL) {
        ck.s = s;
        refuse(&ck, "%s", why);
    }
    log_failures(ck.failures, NULL);
    start_failures = NULL;
    /* httpd -S and -M only show the configuration; they show why too */
    if (ck.failures->nelts == 0
        || ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_DUMP) {
        return OK;
    }
    if (failure_waits_for_post_config(ptemp)) {
        start_failures = ck.failures;
        return OK;
    }
    return HTTP_INTERNAL_SERVER_ERROR;
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

/* Each provider's cache of discovery documents and keys, per process. */
static apr_status_t init_oidc_caches(apr_pool_t *pconf, server_rec *s,
                                     tp_srv_conf_t *c)
{
    apr_status_t rv;
    int i;

    for (i = 0; c->oidc_providers && i < c->oidc_providers->nelts; i++) {
        tp_oidc_provider_t *prov = APR_ARRAY_IDX(c->oidc_providers, i,
                                                 tp_oidc_provider_t *);

        if (prov->cache) {          /* shared with a server seen before */
            continue;
        }
        if ((rv = tp_oidc_cache_init(pconf, prov)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "TP01105: single "
                         "sign-on provider %s: cannot set up its cache",
                         prov->name);
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* Whatever stops start-up here is logged to the main server's error log
 * (s): httpd itself says only "Configuration Failed" there, and a virtual
 * host's own log is not where an operator looks when the server is gone.
 * The files were read and checked by check_config. */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    server_rec *vs;
    tp_srv_conf_t *first = NULL;

    (void)plog;
    if (start_failures) {
        log_failures(start_failures, s);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (tp_db_init(pconf) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TP00009: cannot "
                     "initialise apr_dbd");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (vs = s; vs; vs = vs->next) {
        tp_srv_conf_t *c = srv_conf(vs);

        if (c->enabled != 1) {
            continue;
        }
        if (!c->listener_ca_pem) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, vs, "TP00700: no "
                         "TerrapodListenerCACert: listeners cannot join");
        }
        if (init_oidc_caches(pconf, s, c) != APR_SUCCESS) {
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
    if (tp_rl_post_config(pconf, ptemp, s) != APR_SUCCESS
        || tp_metrics_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    tp_req_post_config(pconf, s);
    tp_held_post_config(s, first);
    migrate(ptemp, s, first);
    /* the background child inherits it with the fork */
    tp_audit_set_retention(first->audit_retention_days);
    tp_events_set_retention(first->event_replay);
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
    static const char *const before_logs[] = {"mod_log_config.c", NULL};

    (void)p;
#ifdef __SANITIZE_ADDRESS__
    /* A sanitizer build runs in an httpd with the ASan runtime preloaded
     * (tools/tp-instance sanitizer-env). The gpg that gpgme starts with
     * this environment deadlocks at start with that runtime in it: the
     * preload is this process's, not its children's. Still one thread. */
    unsetenv("LD_PRELOAD");
#endif
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, after_dbd, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tp_rl_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tp_audit_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tp_events_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tp_req_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tp_metrics_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(tp_audit_mask_request, NULL, before_logs,
                            APR_HOOK_FIRST);
    ap_hook_log_transaction(tp_audit_log_transaction, NULL, NULL,
                            APR_HOOK_MIDDLE);
    ap_hook_log_transaction(tp_metrics_log_transaction, NULL, NULL,
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
