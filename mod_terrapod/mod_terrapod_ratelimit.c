/* Rate-limit counters shared by every Apache process: one socache (shmcb)
 * instance created at start-up, guarded by a global mutex, holding a
 * request count per class, budget (a user, a signed URL or a client
 * address) and window. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>
#include <apr_strings.h>

#include "mod_terrapod.h"

#define MUTEX_TYPE "terrapod-ratelimit"
#define CACHE_PROVIDER "shmcb"

/* The shared memory outlives no restart: counters start afresh then. */
static struct {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *cache;
    apr_global_mutex_t *mutex;
    server_rec *s;
} rl;

void tp_rl_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static int any_limit(server_rec *s)
{
    server_rec *vs;
    int i;

    for (vs = s; vs; vs = vs->next) {
        tp_srv_conf_t *c = ap_get_module_config(vs->module_config,
                                                &terrapod_module);

        for (i = 0; c->enabled == 1 && i < TP_RL_NCLASSES; i++) {
            if (c->rate_limits[i] > 0) {
                return 1;
            }
        }
    }
    return 0;
}

static const ap_socache_provider_t *cache_provider(void)
{
    return ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, CACHE_PROVIDER,
                              AP_SOCACHE_PROVIDER_VERSION);
}

const char *tp_rl_check_config(server_rec *s)
{
    if (any_limit(s) && !cache_provider()) {
        return "TP01310: rate limits need mod_socache_shmcb (LoadModule "
               "socache_shmcb_module), or TerrapodRateLimit ... 0";
    }
    return NULL;
}

apr_status_t tp_rl_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                               server_rec *s)
{
    /* keys like "1|user user-0123456789abcdef|1767225600" */
    struct ap_socache_hints hints = {36, 4, apr_time_from_sec(60)};
    const char *why;
    apr_status_t rv;

    memset(&rl, 0, sizeof(rl));
    if (!any_limit(s)) {
        return APR_SUCCESS;
    }
    rl.provider = cache_provider();
    if (!rl.provider) {             /* tp_rl_check_config said why */
        return APR_EGENERAL;
    }
    if ((why = rl.provider->create(&rl.cache, NULL, ptemp, pconf)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TP01311: cannot "
                     "create the rate-limit cache: %s", why);
        return APR_EGENERAL;
    }
    rv = rl.provider->init(rl.cache, "terrapod-rl", &hints, s, pconf);
    if (rv == APR_SUCCESS) {
        rv = ap_global_mutex_create(&rl.mutex, NULL, MUTEX_TYPE, NULL, s,
                                    pconf, 0);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "TP01312: cannot set "
                     "up the rate-limit cache");
        rl.cache = NULL;
        return rv;
    }
    rl.s = s;
    return APR_SUCCESS;
}

void tp_rl_child_init(apr_pool_t *p, server_rec *s)
{
    if (rl.mutex) {
        apr_global_mutex_child_init(&rl.mutex,
                                    apr_global_mutex_lockfile(rl.mutex), p);
    }
    (void)s;
}

/* Adds one to the counter of key (created at 1, expiring with its
 * window); returns the new count, or 0 when the cache failed. */
static unsigned count_one(apr_pool_t *p, const char *key, apr_time_t end)
{
    unsigned int idlen = (unsigned int)strlen(key), len = sizeof(apr_uint32_t);
    apr_uint32_t n = 0;
    apr_status_t rv;

    if (apr_global_mutex_lock(rl.mutex) != APR_SUCCESS) {
        return 0;
    }
    rv = rl.provider->retrieve(rl.cache, rl.s, (const unsigned char *)key,
                               idlen, (unsigned char *)&n, &len, p);
    if (rv != APR_SUCCESS || len != sizeof(n)) {
        n = 0;
    }
    n++;
    rv = rl.provider->store(rl.cache, rl.s, (const unsigned char *)key, idlen,
                            end + apr_time_from_sec(1), (unsigned char *)&n,
                            sizeof(n), p);
    apr_global_mutex_unlock(rl.mutex);
    return rv == APR_SUCCESS ? n : 0;
}

static void set_headers(request_rec *r, const tp_rl_verdict_t *v)
{
    apr_table_t *h = r->err_headers_out;

    apr_table_setn(h, "X-RateLimit-Limit", apr_itoa(r->pool, v->limit));
    apr_table_setn(h, "X-RateLimit-Remaining",
                   apr_itoa(r->pool, v->remaining));
    /* seconds to wait as a decimal: go-tfe sleeps for exactly this */
    apr_table_setn(h, "X-RateLimit-Reset",
                   apr_psprintf(r->pool, "%.3f",
                                (double)v->reset / APR_USEC_PER_SEC));
}

/* Whose budget a request of class c spends: its key among the counters,
 * and how a 429 names it. An authenticated request spends its user's
 * (every token and session of one user share it), or, with a signed URL,
 * the budget of the object the URL is for; the others their client
 * address's. */
static const char *budget_of(const tp_req_t *req, tp_rl_class_e c,
                             const char **name)
{
    apr_pool_t *p = req->r->pool;

    if (c == TP_RL_AUTHENTICATED && req->who) {
        *name = apr_pstrcat(p, "by ", req->who->grants.email, NULL);
        return apr_pstrcat(p, "user ", req->who->user_id, NULL);
    }
    if (c == TP_RL_AUTHENTICATED && req->route && req->route->capability) {
        *name = "with this signed URL";
        return apr_pstrcat(p, "signed ", req->route->capability, " ",
                           tp_param(&req->params, "id"), NULL);
    }
    *name = apr_pstrcat(p, "from ", req->client_ip, NULL);
    return req->client_ip;
}

tp_err_t *tp_rl_admit(tp_req_t *req, tp_rl_class_e c)
{
    request_rec *r = req->r;
    apr_time_t now = apr_time_now(), end;
    tp_rl_verdict_t v;
    const char *budget, *name;
    unsigned n;
    tp_err_t *err;

    if (c == TP_RL_EXEMPT || !rl.cache || req->conf->rate_limits[c] <= 0) {
        return NULL;
    }
    end = tp_rl_window_end(c, now);
    budget = budget_of(req, c, &name);
    n = count_one(r->pool, tp_rl_key(r->pool, c, budget, now), end);
    if (n == 0) {
        /* a failing cache must not take the API down with it */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "TP01313: rate-limit "
                      "cache unavailable; request not counted");
        return NULL;
    }
    tp_rl_judge(req->conf->rate_limits[c], n, now, end, &v);
    set_headers(r, &v);
    if (v.allowed) {
        return NULL;
    }
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                apr_time_sec(v.reset + APR_USEC_PER_SEC - 1)));
    err = tp_err(r->pool, 429, "too many %s requests %s: the limit is %d "
                 "per %s", tp_rl_class_name(c), name, v.limit,
                 tp_rl_window_name(c));
    return err;
}
