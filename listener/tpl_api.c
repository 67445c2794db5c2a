/* The listener's side of the protocol: requests with the right credential,
 * and the credentials themselves, kept in the state directory as
 * listener.json (ids) and listener.pem (certificate and key, mode 0600,
 * replaced atomically so a reader never sees half of a renewal). */
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include "tpl.h"
#include "tp_crypto.h"

void tpl_log(const char *fmt, ...)
{
    char line[4096];
    time_t now = time(NULL);
    struct tm tm;
    va_list ap;
    int n, m;

    n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ",
                      gmtime_r(&now, &tm));
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  "terrapod-listener[%ld]: ", (long)getpid());
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    /* a longer line is cut, never split */
    n = m < 0 ? n : m >= (int)sizeof(line) - n - 1 ? (int)sizeof(line) - 2
                                                   : n + m;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        return;                     /* nowhere left to say so */
    }
}

tp_err_t *tpl_call(apr_pool_t *p, const tpl_ctx_t *c, tpl_auth_e auth,
                   tp_http_req_t *req, const char *path,
                   const tp_json_t *body_json, tp_http_resp_t *resp)
{
    if (!req->headers) {
        req->headers = apr_array_make(p, 4, sizeof(const char *));
    }
    req->url = apr_pstrcat(p, c->cfg->url, TPL_API, path, NULL);
    req->ca_file = c->cfg->ca_file;
    req->abort = c->abort;
    APR_ARRAY_PUSH(req->headers, const char *) = "Accept: application/json";
    APR_ARRAY_PUSH(req->headers, const char *) = "User-Agent: "
                                                  "terrapod-listener/"
                                                  TPL_VERSION;
    if (body_json) {
        req->body = tp_json_dump(body_json, p);
        req->body_len = strlen(req->body);
        APR_ARRAY_PUSH(req->headers, const char *) =
            "Content-Type: application/json";
    }
    if (auth == TPL_AUTH_CERT) {
        req->cert_file = c->pem_file;
    } else if (auth == TPL_AUTH_BEARER) {
        APR_ARRAY_PUSH(req->headers, const char *) =
            apr_pstrcat(p, "Authorization: Bearer ", c->bearer, NULL);
    }
    return tp_http_perform(p, req, resp);
}

const char *tpl_resp_why(apr_pool_t *p, const tp_http_resp_t *resp)
{
    tp_json_t *doc = tp_json_parse(p, resp->body, resp->body_len, NULL);
    tp_json_t *e = tp_json_at(tp_json_get(doc, "errors", NULL), 0);
    const char *why = tp_json_gets(e, "detail", NULL);

    if (!why) {
        why = tp_json_gets(e, "title", NULL);
    }
    return apr_psprintf(p, "HTTP %d%s%s", resp->status, why ? ": " : "",
                        why ? why : "");
}

static const char *state_file(apr_pool_t *p, const tpl_ctx_t *c,
                              const char *name)
{
    return apr_pstrcat(p, c->cfg->state_dir, "/", name, NULL);
}

/* Written beside the final name, synced, then renamed over it. */
static tp_err_t *write_private(apr_pool_t *p, const char *path,
                               const char *data)
{
    const char *tmp = apr_pstrcat(p, path, ".tmp", NULL);
    apr_size_t len = strlen(data);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                  0600);

    if (fd < 0) {
        return tp_err(p, 500, "cannot create %s: %s", tmp, strerror(errno));
    }
    if (fchmod(fd, 0600) != 0 || write(fd, data, len) != (ssize_t)len
        || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return tp_err(p, 500, "cannot write %s: %s", tmp, strerror(errno));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return tp_err(p, 500, "cannot rename %s: %s", tmp, strerror(errno));
    }
    return NULL;
}

apr_status_t tpl_creds_load(apr_pool_t *p, tpl_ctx_t *c)
{
    const char *ids = state_file(p, c, "listener.json");
    const char *pem = state_file(p, c, "listener.pem");
    apr_finfo_t fi;
    apr_file_t *f;
    tp_json_t *doc;
    char *buf;
    apr_size_t len;
    apr_status_t rv;

    if (apr_stat(&fi, pem, APR_FINFO_SIZE, p) != APR_SUCCESS
        || (rv = apr_file_open(&f, ids, APR_FOPEN_READ, 0, p))
           != APR_SUCCESS) {
        return APR_ENOENT;
    }
    len = 64 * 1024;
    buf = apr_palloc(p, len);
    rv = apr_file_read_full(f, buf, len, &len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return rv;
    }
    doc = tp_json_parse(p, buf, len, NULL);
    if (!tp_json_gets(doc, "listener_id", NULL)) {
        return APR_EINVAL;
    }
    c->listener_id = tp_json_gets(doc, "listener_id", NULL);
    c->pool_id = tp_json_gets(doc, "pool_id", NULL);
    c->pem_file = pem;
    return APR_SUCCESS;
}

/* Stores what join and renew answer. The key goes into the same file as
 * the certificate so that one rename replaces both. */
static tp_err_t *store(apr_pool_t *p, tpl_ctx_t *c, const tp_http_resp_t *r)
{
    tp_json_t *doc = tp_json_parse(p, r->body, r->body_len, NULL);
    const char *id = tp_json_gets(doc, "listener_id", NULL);
    const char *cert = tp_json_gets(doc, "certificate", NULL);
    const char *key = tp_json_gets(doc, "private_key", NULL);
    const char *ca = tp_json_gets(doc, "ca_certificate", NULL);
    tp_json_t *ids = tp_json_object(p);
    tp_err_t *err;

    if (!id || !cert || !key) {
        return tp_err(p, 502, "the credentials answer lacks listener_id, "
                      "certificate or private_key");
    }
    tp_json_sets(ids, id, "listener_id", NULL);
    tp_json_sets(ids, tp_json_gets(doc, "pool_id", NULL), "pool_id", NULL);
    tp_json_sets(ids, c->cfg->name, "name", NULL);
    if ((err = write_private(p, state_file(p, c, "listener.pem"),
                             apr_pstrcat(p, cert, "\n", key, NULL))) != NULL
        || (ca && (err = write_private(p, state_file(p, c, "listener-ca.pem"),
                                       ca)) != NULL)
        || (err = write_private(p, state_file(p, c, "listener.json"),
                                tp_json_dump(ids, p))) != NULL) {
        return err;
    }
    c->listener_id = id;
    c->pool_id = tp_json_gets(doc, "pool_id", NULL);
    c->pem_file = state_file(p, c, "listener.pem");
    return NULL;
}

tp_err_t *tpl_join(apr_pool_t *p, tpl_ctx_t *c)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_json_t *body = tp_json_object(p);
    tp_err_t *err;

    if (!c->cfg->join_token) {
        return tp_err(p, 401, "no usable stored credentials and no join "
                      "token (--join-token or TERRAPOD_JOIN_TOKEN)");
    }
    tp_json_sets(body, c->cfg->join_token, "join_token", NULL);
    tp_json_sets(body, c->cfg->name, "name", NULL);
    req.method = "POST";
    if ((err = tpl_call(p, c, TPL_AUTH_NONE, &req, "/agent-pools/join", body,
                        &resp)) != NULL) {
        return err;
    }
    if (resp.status != 201 && resp.status != 200) {
        return tp_err(p, resp.status, "join refused: %s",
                      tpl_resp_why(p, &resp));
    }
    if ((err = store(p, c, &resp)) == NULL) {
        tpl_log("TPL0002: joined as listener %s of pool %s", c->listener_id,
                c->pool_id ? c->pool_id : "?");
    }
    return err;
}

static tp_err_t *read_pem(apr_pool_t *p, const char *path, char **pem)
{
    apr_file_t *f;
    apr_size_t len = 64 * 1024;
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);

    if (rv != APR_SUCCESS) {
        return tp_err(p, 500, "cannot read %s", path);
    }
    *pem = apr_palloc(p, len + 1);
    rv = apr_file_read_full(f, *pem, len, &len);
    apr_file_close(f);
    (*pem)[len] = '\0';
    return NULL;
}

tp_err_t *tpl_renew_if_due(apr_pool_t *p, tpl_ctx_t *c)
{
    apr_time_t nb, na;
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_err_t *err;
    char *pem = NULL;

    if ((err = read_pem(p, c->pem_file, &pem)) != NULL) {
        return err;
    }
    if (tp_x509_validity(pem, &nb, &na) != APR_SUCCESS) {
        return tp_err(p, 500, "%s holds no readable certificate",
                      c->pem_file);
    }
    if (!tpl_renew_due(nb, na, apr_time_now())) {
        return NULL;
    }
    req.method = "POST";
    if ((err = tpl_call(p, c, TPL_AUTH_CERT, &req,
                        apr_pstrcat(p, "/listeners/", c->listener_id,
                                    "/renew", NULL), NULL, &resp)) != NULL) {
        return err;
    }
    if (resp.status != 200 && resp.status != 201) {
        return tp_err(p, resp.status, "renewal refused: %s",
                      tpl_resp_why(p, &resp));
    }
    if ((err = store(p, c, &resp)) == NULL) {
        tpl_log("TPL0003: renewed the client certificate");
    }
    return err;
}

tp_err_t *tpl_heartbeat(apr_pool_t *p, const tpl_ctx_t *c, int *status)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_json_t *body = tp_json_object(p);
    tp_err_t *err;

    tp_json_seti(body, c->cfg->concurrency, "capacity", NULL);
    tp_json_sets(body, TPL_VERSION, "version", NULL);
    req.method = "POST";
    req.timeout = 20;
    *status = 0;
    if ((err = tpl_call(p, c, TPL_AUTH_CERT, &req,
                        apr_pstrcat(p, "/listeners/", c->listener_id,
                                    "/heartbeat", NULL), body, &resp))
        != NULL) {
        return err;
    }
    *status = resp.status;
    return resp.status / 100 == 2 ? NULL
           : tp_err(p, resp.status, "heartbeat refused: %s",
                    tpl_resp_why(p, &resp));
}

tp_err_t *tpl_runner_token(tpl_ctx_t *c)
{
    apr_pool_t *p = c->run_pool, *sp;
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_json_t *body, *doc;
    tp_err_t *err;
    apr_int64_t ttl;

    apr_pool_create(&sp, p);
    body = tp_json_object(sp);
    tp_json_seti(body, c->cfg->token_ttl, "ttl", NULL);
    req.method = "POST";
    req.timeout = 30;
    err = tpl_call(sp, c, TPL_AUTH_CERT, &req,
                   apr_pstrcat(sp, "/listeners/", c->listener_id, "/runs/",
                               c->run_id, "/runner-token", NULL), body,
                   &resp);
    doc = err ? NULL : tp_json_parse(sp, resp.body, resp.body_len, NULL);
    if (!err && (resp.status / 100 != 2 || !tp_json_gets(doc, "token", NULL))) {
        err = tp_err(p, 502, "no runner token: %s", tpl_resp_why(p, &resp));
    }
    if (!err) {
        ttl = tp_json_geti(doc, "expires_in", NULL);
        c->bearer = apr_pstrdup(p, tp_json_gets(doc, "token", NULL));
        c->bearer_renew_at = apr_time_now()
                             + apr_time_from_sec(ttl > 1 ? ttl / 2 : 1);
    }
    apr_pool_destroy(sp);
    return err;
}

void tpl_runner_token_refresh(tpl_ctx_t *c)
{
    tp_err_t *err;

    if (!c->run_id || apr_time_now() < c->bearer_renew_at) {
        return;
    }
    if ((err = tpl_runner_token(c)) != NULL) {
        tpl_log("TPL0060: run %s: renewing the runner token failed: %s",
                c->run_id, err->detail);
    } else {
        tpl_log("TPL0061: run %s: renewed the runner token", c->run_id);
    }
}
