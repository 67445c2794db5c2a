/* Request glue: route lookup, authentication, bounded body reading and the
 * single place where JSON documents and JSON:API errors are written. */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>
#include <apr_dbd.h>
#include <mod_dbd.h>
#include <mod_ssl.h>
#include <apr_strings.h>
#include <apr_shm.h>

#include "mod_terrapod.h"
#include "tp_token.h"
#include "tp_crypto.h"
#include "tp_web.h"
#include "tp_listener.h"

#define JSON_TYPE "application/json"

/* Counters every process shares (in shared memory): when one moves, the
 * entries tied to it are dropped in every process. */
typedef struct {
    apr_uint32_t principals;  /* who may do what changed: token lookups */
    apr_uint32_t writes;      /* anything was committed: read answers */
} generations_t;

static volatile generations_t *generations;
/* This process's token lookups (NULL: TerrapodTokenCache 0) and answers of
 * cached reads (NULL: TerrapodReadCache 0). */
static tp_cache_t *token_cache;
static tp_cache_t *read_cache;

/* Prefixes this module answers for; everything else stays with httpd. */
static const char *const api_prefixes[] = {
    "/api/", "/oauth/", "/health", "/ready", "/.well-known/terraform.json",
    "/metrics", "/v1/providers/", NULL
};

int tp_is_api_path(const char *path)
{
    int i;

    if (!path) {
        return 0;
    }
    for (i = 0; api_prefixes[i]; i++) {
        apr_size_t n = strlen(api_prefixes[i]);

        if (strncmp(path, api_prefixes[i], n) == 0
            && (api_prefixes[i][n - 1] == '/' || path[n] == '\0'
                || path[n] == '/')) {
            return 1;
        }
    }
    return 0;
}

void tp_log_err(request_rec *r, const tp_err_t *e)
{
    /* a 5xx that says when to come back (Retry-After: a busy server) is
     * the server working as meant: whoever refuses that way logs it */
    if (e->status >= 500
        && !apr_table_get(r->err_headers_out, "Retry-After")) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "TP00100: %d %s: %s",
                      e->status, e->detail, e->log ? e->log : "");
    }
    else if (e->log) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "TP00101: %d %s: %s",
                      e->status, e->detail, e->log);
    }
}

static void send_body(request_rec *r, int status, const char *content_type,
                      const char *buf, apr_size_t len)
{
    r->status = status;
    ap_set_content_type(r, content_type);
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only && len) {
        ap_rwrite(buf, (int)len, r);
    }
}

/* Sends doc; returns the text sent. */
static const char *write_json(request_rec *r, int status, const tp_json_t *doc)
{
    char *body = tp_json_dump(doc, r->pool);

    send_body(r, status, JSON_TYPE, body, strlen(body));
    return body;
}

tp_err_t *tp_send_json(tp_req_t *req, int status, tp_json_t *doc)
{
    const char *body;
    tp_err_t *err;

    if ((status == HTTP_OK || status == HTTP_CREATED)
        && (err = tp_include(req, doc)) != NULL) {
        return err;
    }
    body = write_json(req->r, status, doc);

    if (status == HTTP_OK) {
        req->answer = body;
    }
    return NULL;
}

static int send_error(request_rec *r, const tp_err_t *e)
{
    tp_log_err(r, e);
    if (e->status == 401) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       "Bearer realm=\"terrapod\"");
    }
    write_json(r, e->status, tp_jsonapi_errors(r->pool, e));
    return OK;
}

tp_err_t *tp_req_db(tp_req_t *req, tp_db_t **db)
{
    ap_dbd_t *dbd;

    if (!req->db) {
        if (req->route && req->route->stream && !req->db_pool) {
            apr_pool_create(&req->db_pool, req->r->pool);
        }
        dbd = req->db_pool ? tp_dbd_borrow(req->r, req->db_pool)
                           : tp_dbd_acquire(req->r);
        if (!dbd) {
            return tp_err_internal(req->r->pool, 503, "database unavailable",
                                   "mod_dbd gave no connection");
        }
        req->db = tp_db_wrap(req->db_pool ? req->db_pool : req->r->pool,
                             dbd->driver, dbd->handle, dbd->pool);
        tp_db_count_writes(req->db, tp_req_write_counter());
    }
    *db = req->db;
    return NULL;
}

void tp_req_db_release(tp_req_t *req)
{
    if (req->db_pool) {
        apr_pool_destroy(req->db_pool);
        req->db_pool = NULL;
        req->db = NULL;
    }
}

tp_err_t *tp_req_exec(tp_req_t *req, const tp_stmt_t *stmt, tp_rows_t **rows,
                      int nargs, const char **args)
{
    tp_db_t *db;
    tp_err_t *err = tp_req_db(req, &db);

    return err ? err : tp_db_exec(db, req->r->pool, stmt, rows, nargs, args);
}

tp_json_t *tp_row_json(apr_pool_t *p, const tp_rows_t *rows, int i,
                       const char *column)
{
    const char *v = tp_row(rows, i, column);

    return v ? tp_json_parse(p, v, strlen(v), NULL) : NULL;
}

static tp_level_e level_of(tp_req_t *req, const tp_rows_t *rows, int i,
                           tp_axis_e axis, const char *prefix)
{
    apr_pool_t *p = req->r->pool;
    tp_resource_t res;

    res.name = tp_row(rows, i, apr_pstrcat(p, prefix, "name", NULL));
    res.owner_email = tp_row(rows, i, apr_pstrcat(p, prefix, "owner_email",
                                                  NULL));
    res.labels = tp_row_json(p, rows, i, apr_pstrcat(p, prefix, "labels",
                                                     NULL));
    return tp_rbac_level(&req->who->grants, axis, &res);
}

tp_level_e tp_row_level(tp_req_t *req, const tp_rows_t *rows, int i,
                        tp_axis_e axis)
{
    return level_of(req, rows, i, axis, "");
}

tp_level_e tp_row_ws_level(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return level_of(req, rows, i, TP_AXIS_WORKSPACE, "ws_");
}

/* The list's own address, its query without the page parameters, ready
 * for tp_jsonapi_paginate to append them; the path as the client sent it. */
static const char *page_url(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    char *query = apr_pstrdup(p, req->r->args ? req->r->args : "");
    char *kept = "", *arg, *last;

    for (arg = apr_strtok(query, "&", &last); arg;
         arg = apr_strtok(NULL, "&", &last)) {
        char *name = apr_pstrndup(p, arg, strcspn(arg, "="));

        ap_unescape_url(name);
        if (strcmp(name, "page[number]") != 0
            && strcmp(name, "page[size]") != 0) {
            kept = apr_pstrcat(p, kept, arg, "&", NULL);
        }
    }
    return apr_pstrcat(p, tp_base_url(req), req->r->parsed_uri.path, "?",
                       kept, NULL);
}

void tp_paginate(tp_req_t *req, tp_json_t *doc, const tp_page_t *pg,
                 long long total)
{
    tp_jsonapi_paginate(req->r->pool, doc, pg, total, page_url(req));
}

tp_err_t *tp_send_page(tp_req_t *req, const tp_stmt_t *stmt, int nargs,
                       const char **args, tp_render_fn *render)
{
    apr_pool_t *p = req->r->pool;
    const char **all = apr_pcalloc(p, sizeof(char *) * (apr_size_t)(nargs + 2));
    tp_json_t *doc, *list = tp_json_array(p);
    tp_rows_t *rows;
    tp_page_t pg;
    tp_err_t *err;
    int i;

    if ((err = tp_page_parse(p, tp_query_arg(req, "page[number]"),
                             tp_query_arg(req, "page[size]"), &pg)) != NULL) {
        return err;
    }
    for (i = 0; i < nargs; i++) {
        all[i] = args[i];
    }
    all[nargs] = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)pg.size);
    all[nargs + 1] = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                  (apr_int64_t)tp_page_offset(&pg));
    if ((err = tp_req_exec(req, stmt, &rows, nargs + 2, all)) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        tp_json_push(list, render(req, rows, i));
    }
    doc = tp_jsonapi_doc(p, list);
    if (req->meta) {
        tp_json_setj(doc, req->meta, "meta", NULL);
    }
    tp_paginate(req, doc, &pg,
                rows->nrows ? apr_atoi64(tp_row(rows, 0, "total")) : 0);
    return tp_send_json(req, 200, doc);
}

tp_err_t *tp_send_readable(tp_req_t *req, const tp_stmt_t *stmt,
                           tp_axis_e axis, tp_render_fn *render)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc, *list = tp_json_array(p);
    long long total = 0, first;
    tp_rows_t *rows;
    tp_page_t pg;
    tp_err_t *err;
    int i;

    if ((err = tp_page_parse(p, tp_query_arg(req, "page[number]"),
                             tp_query_arg(req, "page[size]"), &pg)) != NULL
        || (err = tp_req_exec(req, stmt, &rows, 0, NULL)) != NULL) {
        return err;
    }
    first = tp_page_offset(&pg);
    for (i = 0; i < rows->nrows; i++) {
        if (tp_row_level(req, rows, i, axis) < TP_LEVEL_READ) {
            continue;
        }
        if (total >= first && total < first + pg.size) {
            tp_json_push(list, render(req, rows, i));
        }
        total++;
    }
    doc = tp_jsonapi_doc(p, list);
    tp_paginate(req, doc, &pg, total);
    return tp_send_json(req, 200, doc);
}

static tp_err_t *too_large(request_rec *r, apr_off_t max)
{
    /* the rest of the body is not read, so the connection cannot be reused */
    r->connection->keepalive = AP_CONN_CLOSE;
    return tp_err(r->pool, 413, "request body exceeds %" APR_OFF_T_FMT
                  " bytes", max);
}

typedef tp_err_t *chunk_fn(void *baton, const char *buf, apr_size_t len);

/* The one body-reading loop: hands each chunk to fn, refusing more than
 * max bytes. The Content-Length is checked first, so an oversized body is
 * refused before it is read; chunked bodies are counted as they arrive.
 * A client that goes away mid-body surfaces as a read error. */
static tp_err_t *read_chunks(request_rec *r, apr_off_t max, chunk_fn *fn,
                             void *baton)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    apr_off_t total = 0;
    int seen_eos = 0;

    if (cl) {
        apr_off_t n;
        char *end;

        if (apr_strtoff(&n, cl, &end, 10) != APR_SUCCESS || *end || n < 0) {
            return tp_err(r->pool, 400, "invalid Content-Length");
        }
        if (n > max) {
            return too_large(r, max);
        }
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    while (!seen_eos) {
        apr_bucket *b;
        apr_status_t rv = ap_get_brigade(r->input_filters, bb,
                                         AP_MODE_READBYTES, APR_BLOCK_READ,
                                         HUGE_STRING_LEN);

        if (rv != APR_SUCCESS) {
            return tp_err(r->pool,
                          ap_map_http_request_error(rv, HTTP_BAD_REQUEST),
                          "could not read the request body");
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t len;
            tp_err_t *err;

            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ)
                != APR_SUCCESS) {
                return tp_err(r->pool, 400, "could not read the request body");
            }
            total += (apr_off_t)len;
            if (total > max) {
                return too_large(r, max);
            }
            if (len && (err = fn(baton, data, len)) != NULL) {
                return err;
            }
        }
        apr_brigade_cleanup(bb);
    }
    return NULL;
}

static tp_err_t *to_brigade(void *baton, const char *buf, apr_size_t len)
{
    apr_brigade_write(baton, NULL, NULL, buf, len);
    return NULL;
}

/* Reads the whole (capped) body into memory. */
static tp_err_t *read_body(request_rec *r, apr_off_t max, char **buf,
                           apr_size_t *len)
{
    apr_bucket_brigade *acc = apr_brigade_create(r->pool,
                                                 r->connection->bucket_alloc);
    tp_err_t *err = read_chunks(r, max, to_brigade, acc);

    if (err) {
        return err;
    }
    return apr_brigade_pflatten(acc, buf, len, r->pool) == APR_SUCCESS
           ? NULL : tp_err(r->pool, 500, "could not buffer the body");
}

static tp_err_t *to_upload(void *baton, const char *buf, apr_size_t len)
{
    return tp_upload_write(baton, buf, len);
}

tp_err_t *tp_receive_upload_capped(tp_req_t *req, tp_upload_t *up,
                                   apr_off_t max)
{
    tp_err_t *err = read_chunks(req->r, max, to_upload, up);

    if (!err) {
        err = tp_upload_end(up);
    }
    if (err) {
        tp_upload_abort(up);
    }
    return err;
}

tp_err_t *tp_receive_upload(tp_req_t *req, tp_upload_t *up)
{
    return tp_receive_upload_capped(req, up, req->conf->max_upload);
}

const char *tp_capability_path_url(tp_req_t *req, const char *path,
                                   const char *kind, const char *id,
                                   apr_interval_time_t ttl)
{
    apr_pool_t *p = req->r->pool;
    apr_time_t expires = apr_time_now() + ttl;
    /* the query form is "expires=E&signature=S"; the path form "E.S" */
    char *q = tp_cap_query(p, &req->conf->hmac, kind, id, expires);
    char *sig = strstr(q, "&signature=");

    *sig = '\0';
    return apr_pstrcat(p, tp_base_url(req), path, "/", q + 8, ".", sig + 11,
                       NULL);
}

tp_err_t *tp_send_file(tp_req_t *req, const char *path, apr_off_t size,
                       const char *content_type)
{
    request_rec *r = req->r;
    apr_file_t *f;
    apr_bucket_brigade *bb;
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_SENDFILE_ENABLED,
                       0, r->pool);
    if (rv != APR_SUCCESS) {
        return tp_err_internal(r->pool, 503, "storage is unavailable",
                               apr_psprintf(r->pool, "open %s", path));
    }
    ap_set_content_type(r, content_type);
    ap_set_content_length(r, size);
    if (r->header_only) {
        return NULL;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_brigade_insert_file(bb, f, 0, size, r->pool);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    if (rv != APR_SUCCESS) {
        /* the client went away; nothing more can be said to it */
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    return NULL;
}

tp_err_t *tp_send_bytes(tp_req_t *req, int status, const char *content_type,
                        const char *buf, apr_size_t len)
{
    send_body(req->r, status, content_type, buf, len);
    return NULL;
}

tp_err_t *tp_send_redirect(tp_req_t *req, int status, const char *location)
{
    apr_table_setn(req->r->headers_out, "Location", location);
    apr_table_setn(req->r->headers_out, "Cache-Control", "no-store");
    return tp_send_empty(req, status);
}

/* Where a stream from the bucket goes: to the client as it arrives. */
typedef struct stream_out {
    request_rec *r;
    int sent;
} stream_out_t;

static apr_size_t send_out(void *baton, const char *buf, apr_size_t len)
{
    stream_out_t *o = baton;

    o->sent = 1;
    /* a client gone away stops the stream */
    return ap_rwrite(buf, (int)len, o->r) == (int)len ? len : 0;
}

/* The object streamed from the bucket: nothing staged, the memory of a
 * libcurl buffer whatever its size. */
static tp_err_t *send_streamed(tp_req_t *req, const char *key,
                               const char *type, apr_off_t size)
{
    stream_out_t o = {req->r, 0};
    tp_err_t *err;

    ap_set_content_type(req->r, type);
    ap_set_content_length(req->r, size);
    if (req->r->header_only) {
        return NULL;
    }
    err = tp_storage_stream(&req->conf->storage, req->r->pool, key,
                            send_out, &o);
    if (err && o.sent) {
        /* the status is sent: all that is left is to cut the body short */
        tp_log_err(req->r, err);
        req->r->connection->keepalive = AP_CONN_CLOSE;
        return NULL;
    }
    return err;
}

tp_err_t *tp_send_stored(tp_req_t *req, const char *key, const char *type,
                         tp_err_t *absent)
{
    apr_pool_t *p = req->r->pool;
    const tp_storage_t *st = &req->conf->storage;
    const char *url = tp_storage_redirect(st, p, key), *path = NULL;
    apr_off_t size;
    tp_err_t *err;
    int found;

    if (st->s3) {
        err = tp_storage_stat(st, p, key, &found, &size);
        return err ? err : !found ? absent
               : url ? tp_send_redirect(req, HTTP_MOVED_TEMPORARILY, url)
               : send_streamed(req, key, type, size);
    }
    err = tp_storage_fetch(st, p, key, &path, &size);
    return err ? err : path ? tp_send_file(req, path, size, type) : absent;
}

tp_err_t *tp_send_empty(tp_req_t *req, int status)
{
    req->r->status = status;
    ap_set_content_length(req->r, 0);
    return NULL;
}

const char *tp_capability_url(tp_req_t *req, const char *path,
                              const char *kind, const char *id,
                              apr_interval_time_t ttl)
{
    return apr_pstrcat(req->r->pool, tp_base_url(req), path, "?",
                       tp_cap_query(req->r->pool, &req->conf->hmac, kind, id,
                                    apr_time_now() + ttl), NULL);
}

tp_err_t *tp_read_raw(tp_req_t *req, apr_off_t max, char **buf,
                      apr_size_t *len)
{
    return read_body(req->r, max, buf, len);
}

int tp_has_body(tp_req_t *req)
{
    const char *cl = apr_table_get(req->r->headers_in, "Content-Length");

    return (cl && strcmp(cl, "0") != 0)
           || apr_table_get(req->r->headers_in, "Transfer-Encoding");
}

tp_err_t *tp_read_json(tp_req_t *req, tp_json_t **body)
{
    char *buf = NULL;
    apr_size_t len = 0;
    const char *why = NULL;
    tp_err_t *err = read_body(req->r, req->conf->max_body, &buf, &len);

    if (err) {
        return err;
    }
    if (len == 0) {
        return tp_err(req->r->pool, 400, "request body is empty");
    }
    *body = tp_json_parse(req->r->pool, buf, len, &why);
    if (!*body) {
        return tp_err(req->r->pool, 400, "malformed JSON: %s", why);
    }
    tp_jsonapi_normalize(req->r->pool, *body);
    return NULL;
}

const char *tp_query_arg(tp_req_t *req, const char *name)
{
    if (!req->args) {
        ap_args_to_table(req->r, &req->args);
    }
    return apr_table_get(req->args, name);
}

const char *tp_base_url(tp_req_t *req)
{
    if (req->conf->public_url) {
        return req->conf->public_url;
    }
    return ap_construct_url(req->r->pool, "", req->r);
}

/* terraform and go-tfe read these on every /api/v2 answer. No
 * X-TFE-Version: the CLI parses it as vYYYYMM-N and would switch to
 * features this server does not have. */
static void tfe_headers(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "TFP-API-Version", "2.6");
    apr_table_setn(r->err_headers_out, "TFP-AppName", "Terrapod");
}

/* Finds the route for path and method; on a miss says 404 or 405. */
static tp_err_t *find_route(tp_req_t *req, const char *method,
                            const char *path)
{
    request_rec *r = req->r;
    const char *allow = NULL;
    const tp_route_t *rt;

    for (rt = tp_routes; rt->method; rt++) {
        tp_params_t params;

        if (!tp_route_match(r->pool, rt->pattern, path, &params)) {
            continue;
        }
        if (!req->pattern) {
            req->pattern = rt->pattern;
        }
        if (strcmp(rt->method, method) == 0) {
            req->route = rt;
            req->params = params;
            return NULL;
        }
        if (!allow || !ap_strstr_c(allow, rt->method)) {
            allow = allow ? apr_pstrcat(r->pool, allow, ", ", rt->method, NULL)
                          : rt->method;
        }
    }
    if (allow) {
        if (ap_strstr_c(allow, "GET") && !ap_strstr_c(allow, "HEAD")) {
            allow = apr_pstrcat(r->pool, allow, ", HEAD", NULL);
        }
        apr_table_setn(r->err_headers_out, "Allow", allow);
        return tp_err(r->pool, 405, "%s is not allowed on %s", method, path);
    }
    return tp_err(r->pool, 404, "no API endpoint at %s", path);
}

/* 1 when addr is one of the configured reverse proxies. */
static int is_trusted_proxy(tp_req_t *req, apr_sockaddr_t *addr)
{
    const apr_array_header_t *nets = req->conf->trusted_proxies;
    int i;

    for (i = 0; nets && i < nets->nelts; i++) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(nets, i, apr_ipsubnet_t *),
                              addr)) {
            return 1;
        }
    }
    return 0;
}

/* The client certificate of the request's own connection as PEM, when
 * mod_ssl verified it; NULL otherwise. */
static const char *verified_cert(request_rec *r)
{
    static APR_OPTIONAL_FN_TYPE(ssl_var_lookup) *lookup;
    const char *verify;

    if (!lookup) {
        lookup = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
    }
    if (!lookup) {
        return NULL;
    }
    verify = lookup(r->pool, r->server, r->connection, r,
                    "SSL_CLIENT_VERIFY");
    if (!verify || strcmp(verify, "SUCCESS") != 0) {
        return NULL;
    }
    return lookup(r->pool, r->server, r->connection, r, "SSL_CLIENT_CERT");
}

/* 1 when the connection presented one of the certificates of
 * TerrapodTrustedProxyCert, verified by mod_ssl. */
static int presents_proxy_cert(tp_req_t *req)
{
    const apr_array_header_t *pinned = req->conf->proxy_fingerprints;
    const char *pem = verified_cert(req->r);
    apr_array_header_t *fps;
    int i;

    if (!pem || tp_x509_fingerprints(req->r->pool, pem, &fps)
                != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < pinned->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(pinned, i, const char *),
                   APR_ARRAY_IDX(fps, 0, const char *)) == 0) {
            return 1;
        }
    }
    return 0;
}

/* What a connection proved about its peer, for the server settings it
 * was decided under: the certificate stays with the connection, so it is
 * looked at once. */
typedef struct {
    const apr_array_header_t *pinned;
    int proven;
} proxy_verdict_t;

/* 1 when the direct peer (never a forwarded address) proved itself a
 * reverse proxy: it presented a TerrapodTrustedProxyCert certificate,
 * from a TerrapodTrustedProxy address when any are named. */
static int proven_proxy(tp_req_t *req)
{
    conn_rec *c = req->r->connection;
    proxy_verdict_t *v = ap_get_module_config(c->conn_config,
                                              &terrapod_module);

    if (!req->conf->proxy_fingerprints) {
        return 0;
    }
    if (!v || v->pinned != req->conf->proxy_fingerprints) {
        v = apr_palloc(c->pool, sizeof(*v));
        v->pinned = req->conf->proxy_fingerprints;
        v->proven = (!req->conf->trusted_proxies
                     || is_trusted_proxy(req, c->client_addr))
                    && presents_proxy_cert(req);
        ap_set_module_config(c->conn_config, &terrapod_module, v);
    }
    return v->proven;
}

static int is_loopback(const apr_sockaddr_t *sa)
{
    if (sa->family == APR_INET) {
        return (ntohl(sa->sa.sin.sin_addr.s_addr) >> 24) == 127;
    }
#if APR_HAVE_IPV6
    if (sa->family == APR_INET6) {
        const struct in6_addr *a = &sa->sa.sin6.sin6_addr;

        return IN6_IS_ADDR_LOOPBACK(a)
               || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
#endif
    return 0;
}

/* 1 when the direct peer's X-Forwarded-For is believed: it proved itself
 * a proxy, or (with no TerrapodTrustedProxyCert) it connects from a
 * TerrapodTrustedProxy address on another host. An address on this host
 * proves nothing: any local process can connect from it. */
static int forwards_client(tp_req_t *req)
{
    conn_rec *c = req->r->connection;

    if (req->conf->proxy_fingerprints) {
        return proven_proxy(req);
    }
    return is_trusted_proxy(req, c->client_addr) && !is_loopback(c->client_addr)
           && !apr_sockaddr_equal(c->client_addr, c->local_addr);
}

/* The real client: behind a believed proxy (forwards_client), the
 * right-most address of X-Forwarded-For that is not itself a trusted
 * proxy (the left part of the header is whatever the client chose to
 * send). Anything that is not an IP address ends the walk, and so does
 * the cap on hops. */
#define MAX_FORWARDED_HOPS 16
static const char *client_address(tp_req_t *req)
{
    request_rec *r = req->r;
    const char *xff = apr_table_get(r->headers_in, "X-Forwarded-For");
    const char *client = r->connection->client_ip;
    apr_array_header_t *hops;
    char *list, *tok, *last;
    int i;

    if (!xff || !forwards_client(req)) {
        return client;
    }
    hops = apr_array_make(r->pool, 4, sizeof(char *));
    list = apr_pstrdup(r->pool, xff);
    for (tok = apr_strtok(list, ", \t", &last); tok;
         tok = apr_strtok(NULL, ", \t", &last)) {
        APR_ARRAY_PUSH(hops, char *) = tok;
    }
    for (i = hops->nelts - 1; i >= 0 && i >= hops->nelts - MAX_FORWARDED_HOPS;
         i--) {
        const char *hop = APR_ARRAY_IDX(hops, i, char *);
        apr_ipsubnet_t *net;
        apr_sockaddr_t *sa;

        /* apr_ipsubnet_create accepts only literal addresses, so the
         * resolver never sees a forwarded name */
        if (apr_ipsubnet_create(&net, hop, NULL, r->pool) != APR_SUCCESS
            || apr_sockaddr_info_get(&sa, hop, APR_UNSPEC, 0, 0, r->pool)
               != APR_SUCCESS) {
            break;
        }
        client = hop;
        if (!is_trusted_proxy(req, sa)) {
            break;
        }
    }
    return client;
}

/* The caller's client certificate as PEM: one a proven proxy forwards
 * (in the forms tp_x509_forwarded reads), else the one mod_ssl verified
 * against the listener CA; NULL when there is none. */
static const char *client_cert(tp_req_t *req)
{
    request_rec *r = req->r;

    if (req->conf->client_cert_header && proven_proxy(req)) {
        const char *h = apr_table_get(r->headers_in,
                                      req->conf->client_cert_header);

        if (h && *h) {
            return tp_x509_forwarded(r->pool, h);
        }
    }
    return verified_cert(r);
}

/* A signed URL carries "<expires>.<signature>" as its {cap} path segment
 * (log readers rewrite the whole query string, so it cannot live there)
 * or as expires and signature query parameters. */
static tp_err_t *check_capability(tp_req_t *req)
{
    const char *cap = tp_param(&req->params, "cap");
    const char *expires = tp_query_arg(req, "expires");
    const char *sig = tp_query_arg(req, "signature");

    if (cap) {
        const char *dot = strchr(cap, '.');

        expires = dot ? apr_pstrmemdup(req->r->pool, cap,
                                       (apr_size_t)(dot - cap)) : NULL;
        sig = dot ? dot + 1 : NULL;
    }
    return tp_cap_verify(req->r->pool, &req->conf->hmac,
                         req->route->capability, tp_param(&req->params, "id"),
                         expires, sig, apr_time_now());
}

const char *tp_req_cookie(tp_req_t *req, const char *name)
{
    return tp_cookie_get(req->r->pool,
                         apr_table_get(req->r->headers_in, "Cookie"), name);
}

void tp_set_cookie(tp_req_t *req, const char *name, const char *value,
                   long max_age, int http_only)
{
    int secure = strncmp(tp_base_url(req), "https://", 8) == 0;

    /* err_headers_out: the cookie survives redirects and error pages */
    apr_table_addn(req->r->err_headers_out, "Set-Cookie",
                   apr_psprintf(req->r->pool,
                                "%s=%s; Path=/; Max-Age=%ld; SameSite=Lax%s%s",
                                name, value, max_age,
                                http_only ? "; HttpOnly" : "",
                                secure ? "; Secure" : ""));
}

const char *tp_csrf_token(tp_req_t *req, const char *purpose,
                          const char *subject)
{
    const char *data = apr_pstrcat(req->r->pool, purpose, "\n", subject,
                                   NULL);

    return tp_hmac_b64url(req->r->pool, req->conf->hmac.bytes,
                          req->conf->hmac.len, data, strlen(data));
}

tp_err_t *tp_session_from_cookie(tp_req_t *req, tp_principal_t **who)
{
    const char *raw = tp_req_cookie(req, TP_SESSION_COOKIE);
    tp_db_t *db;
    tp_err_t *err;

    *who = NULL;
    if (!raw) {
        return NULL;
    }
    if ((err = tp_req_db(req, &db)) != NULL) {
        return err;
    }
    err = tp_session_auth(db, req->r->pool, raw, req->conf->session_idle,
                          who);
    /* an ended session is no session: the caller signs in again */
    return err && err->status == 401 ? NULL : err;
}

/* A browser sends its cookies along with any cross-site form post, so a
 * state-changing request authenticated by the session cookie must also
 * echo the CSRF token of that session, which only pages of this origin
 * can read (from the terrapod_csrf cookie). */
static tp_err_t *check_session_csrf(tp_req_t *req)
{
    const char *m = req->r->method;
    const char *sent = apr_table_get(req->r->headers_in, TP_CSRF_HEADER);

    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0
        || strcmp(m, "OPTIONS") == 0) {
        return NULL;
    }
    if (!sent || !tp_secure_equals(sent, tp_csrf_token(req, "session",
                                                       req->who->session_id))) {
        return tp_err(req->r->pool, 403, "a request authenticated by the "
                      "session cookie needs the " TP_CSRF_HEADER " header");
    }
    return NULL;
}

/* Bearer credentials win (an API token, or a session secret used as one);
 * without them the session cookie of a signed-in browser counts. */
static tp_err_t *authenticate_user(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *raw = tp_bearer(apr_table_get(req->r->headers_in,
                                              "Authorization"));
    const char *cookie = raw ? NULL : tp_req_cookie(req, TP_SESSION_COOKIE);
    tp_db_t *db;
    tp_err_t *err;

    if (!raw && !cookie) {
        return tp_err(p, 401, "an API token is required "
                      "(Authorization: Bearer <token>)");
    }
    if ((err = tp_req_db(req, &db)) != NULL) {
        return err;
    }
    if (cookie) {
        err = tp_session_auth(db, p, cookie, req->conf->session_idle,
                              &req->who);
        return err ? err : check_session_csrf(req);
    }
    if (strncmp(raw, TP_SESSION_PREFIX, strlen(TP_SESSION_PREFIX)) == 0) {
        return tp_session_auth(db, p, raw, req->conf->session_idle,
                               &req->who);
    }
    return tp_auth_token(db, p, token_cache, raw,
                         req->conf->bound_idle_days, &req->who);
}

/* The audit log's actor, and mod_log_config's %u, of an admitted user. */
static void name_user(tp_req_t *req)
{
    req->r->user = apr_pstrdup(req->r->pool, req->who->grants.email);
    req->actor = req->r->user;
}

/* An open route a client may call with its API token: go-tfe paces itself
 * by the X-RateLimit-Limit of its ping, which is then its owner's limit
 * (counted in the owner's budget). A token that does not work is ignored:
 * the route answers anyone. */
static void authenticate_optional(tp_req_t *req)
{
    if (!tp_bearer(apr_table_get(req->r->headers_in, "Authorization"))) {
        return;
    }
    if (authenticate_user(req) != NULL) {
        req->who = NULL;
        return;
    }
    name_user(req);
}

/* The listener {id} of the path, by its client certificate. */
static tp_err_t *authenticate_listener(tp_req_t *req)
{
    const char *pem = client_cert(req);
    tp_listener_t who;
    tp_db_t *db;
    tp_err_t *err;

    if (!pem || !*pem) {
        return tp_err(req->r->pool, 401, "a listener client certificate "
                      "issued by this server is required");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_listener_admit(db, req->r->pool,
                                    tp_param(&req->params, "id"), pem, &who))
           != NULL) {
        return err;
    }
    req->actor = who.name;
    apr_table_setn(req->r->notes, TP_LISTENER_NOTE, who.fingerprint);
    return NULL;
}

/* The runner of the phase now running of run {run_id}, by its token. */
static tp_err_t *authenticate_runner(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *run_id = tp_param(&req->params, "run_id");
    const char *raw = tp_bearer(apr_table_get(req->r->headers_in,
                                              "Authorization"));
    tp_db_t *db;
    tp_err_t *err;

    if (!raw || strncmp(raw, "runtok:", 7) != 0) {
        return tp_err(p, 401, "a runner token is required "
                      "(Authorization: Bearer runtok:...)");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_runner_admit(db, p, &req->conf->hmac, raw, run_id,
                                  apr_time_now())) != NULL) {
        return err;
    }
    req->actor = apr_pstrcat(p, "runner:", run_id, NULL);
    return NULL;
}

/* A run's runner token (raw: "runtok:RUN:...") admitted, and the row
 * stmt (taking the run's id, giving its workspace_id) finds for its run:
 * a 401 saying the run `why` when there is none. The request is then the
 * run's: its workspace and its actor. */
static tp_err_t *admit_run_reader(tp_req_t *req, const char *raw,
                                  const tp_stmt_t *stmt, const char *why,
                                  tp_rows_t **rows)
{
    apr_pool_t *p = req->r->pool;
    const char *run_id = apr_pstrndup(p, raw + 7, strcspn(raw + 7, ":"));
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_runner_admit(db, p, &req->conf->hmac, raw, run_id,
                                  apr_time_now())) != NULL
        || (err = tp_db_exec(db, p, stmt, rows, TP_DB_ARGS(run_id)))
           != NULL) {
        return err;
    }
    if ((*rows)->nrows == 0) {
        return tp_err(p, 401, "run %s %s", run_id, why);
    }
    req->reader_ws = tp_row(*rows, 0, "workspace_id");
    req->actor = apr_pstrcat(p, "runner:", run_id, NULL);
    return NULL;
}

static const tp_stmt_t SQL_READER_RUN = {"reader_run",
    "SELECT workspace_id FROM runs"
    " WHERE id = %s AND status IN ('planning', 'applying')"};

/* A run's runner token on a remote_state route: the caller is the run's
 * workspace, holding no roles, while a phase of the run is running;
 * tp_remote_state_admit decides each workspace. */
static tp_err_t *authenticate_state_reader(tp_req_t *req, const char *raw)
{
    apr_pool_t *p = req->r->pool;
    tp_principal_t *who;
    tp_rows_t *rows;
    tp_err_t *err = admit_run_reader(req, raw, &SQL_READER_RUN,
                                     "is not planning or applying: its "
                                     "runner token reads no state", &rows);

    if (err) {
        return err;
    }
    who = apr_pcalloc(p, sizeof(*who));
    /* its own read cache answers and budget */
    who->user_id = req->actor + strlen("runner:");
    who->grants.roles = apr_array_make(p, 0, sizeof(tp_role_t));
    req->who = who;
    return NULL;
}

/* The person a run acts for when terraform init reads the registry: who
 * created it or, for a run the server made (VCS, drift, triggers, module
 * impact), its workspace's owner; while a phase of the run is running. */
static const tp_stmt_t SQL_RUN_PRINCIPAL = {"run_principal",
    "SELECT" TP_PRINCIPAL_COLUMNS ", ru.workspace_id"
    " FROM runs ru JOIN workspaces w ON w.id = ru.workspace_id"
    " JOIN users u ON u.email = COALESCE(ru.created_by, w.owner_email)"
    " WHERE ru.id = %s AND ru.status IN ('planning', 'applying')"
    " AND u.is_active"};

/* A run's runner token on a registry_read route: the caller is the
 * person the run is for, with that person's roles. */
static tp_err_t *authenticate_registry_reader(tp_req_t *req, const char *raw)
{
    tp_rows_t *rows;
    tp_err_t *err = admit_run_reader(req, raw, &SQL_RUN_PRINCIPAL,
                                     "is not planning or applying, or the "
                                     "person it runs for is no longer an "
                                     "active user: its runner token reads "
                                     "no registry", &rows);

    if (err) {
        return err;
    }
    req->who = tp_principal_from_row(req->r->pool, rows);
    return NULL;
}

static tp_err_t *authenticate(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *raw;
    tp_err_t *err;

    if (req->route->auth == TP_AUTH_NONE) {
        return NULL;
    }
    if (req->route->auth == TP_AUTH_OPTIONAL) {
        authenticate_optional(req);
        return NULL;
    }
    if (req->route->auth == TP_AUTH_CAPABILITY) {
        return check_capability(req);
    }
    if (req->route->auth == TP_AUTH_LISTENER) {
        return authenticate_listener(req);
    }
    if (req->route->auth == TP_AUTH_RUNNER) {
        return authenticate_runner(req);
    }
    raw = tp_bearer(apr_table_get(req->r->headers_in, "Authorization"));
    if (req->route->remote_state && raw && strncmp(raw, "runtok:", 7) == 0) {
        return authenticate_state_reader(req, raw);
    }
    if (req->route->registry_read && raw
        && strncmp(raw, "runtok:", 7) == 0) {
        return authenticate_registry_reader(req, raw);
    }
    if ((err = authenticate_user(req)) != NULL) {
        return err;
    }
    name_user(req);
    if (req->route->perm == TP_PERM_ADMIN && !req->who->grants.is_admin) {
        return tp_err(p, 403, "this action needs the platform admin role");
    }
    if (req->route->perm == TP_PERM_AUDIT && !req->who->grants.is_admin
        && !req->who->grants.is_audit) {
        return tp_err(p, 403, "this needs the platform admin or audit role");
    }
    return NULL;
}

/* Who the request turned out to be, for its rate-limit class: a user
 * stays one when refused for want of a role (403). */
static tp_rl_caller_e caller_of(const tp_req_t *req, const tp_err_t *auth)
{
    if (req->who) {
        return req->reader_ws ? TP_RL_RUNNER : TP_RL_USER;
    }
    if (!req->route || auth) {
        return TP_RL_ANONYMOUS;
    }
    switch (req->route->auth) {
    case TP_AUTH_LISTENER:
    case TP_AUTH_RUNNER:
        return TP_RL_RUNNER;
    case TP_AUTH_CAPABILITY:
        return TP_RL_USER;
    default:
        return TP_RL_ANONYMOUS;
    }
}

/* Every route with an {org} segment serves only the single organization. */
static tp_err_t *check_org(tp_req_t *req)
{
    const char *org = tp_param(&req->params, "org");

    if (org && strcmp(org, TP_ORGANIZATION) != 0) {
        return tp_err(req->r->pool, 404, "organization \"%s\" not found", org);
    }
    return NULL;
}

/* The read cache's key for the answer to req, or NULL when its route's
 * answers are not kept. An answer depends on who asks (the user, and the
 * token or session that may narrow what they can do), the address it was
 * asked at (the URLs in it) and the path and query. */
static const char *read_key(tp_req_t *req)
{
    const tp_principal_t *who = req->who;
    request_rec *r = req->r;

    if (!read_cache || !req->route->cached || r->method_number != M_GET
        || !who) {
        return NULL;
    }
    return apr_pstrcat(r->pool, who->user_id, " ",
                       who->token_id ? who->token_id : "session", " ",
                       tp_base_url(req), r->unparsed_uri, NULL);
}

/* Answers req with the answer kept for key, if one is still good. */
static int answer_kept(tp_req_t *req, const char *key)
{
    apr_uint32_t gen;
    const tp_rows_t *kept = tp_cache_get(read_cache, req->r->pool, key, &gen);

    if (!kept) {
        return 0;
    }
    send_body(req->r, HTTP_OK, JSON_TYPE, kept->cells[0],
              strlen(kept->cells[0]));
    return 1;
}

/* Keeps a route's answer, as a row of one cell, unless it is too large to
 * be worth a process's memory. */
static void keep_answer(const char *key, apr_uint32_t gen, const char *body)
{
    const char *names[] = {"answer"};
    tp_rows_t row = {1, 1, names, &body};

    if (strlen(body) <= TP_READ_CACHE_ANSWER_MAX) {
        tp_cache_put(read_cache, key, gen, &row, 0);
    }
}

int tp_handle(request_rec *r)
{
    tp_srv_conf_t *conf = ap_get_module_config(r->server->module_config,
                                               &terrapod_module);
    const char *path = r->parsed_uri.path;
    const char *method = r->header_only ? "GET" : r->method;
    tp_req_t *req;
    tp_err_t *err, *limited;
    const char *key;
    /* taken before the principal is looked up: an answer worked out with
     * roles a change is replacing as it runs is never kept as current */
    apr_uint32_t gen;

    if (conf->enabled != 1 || !tp_is_api_path(path)) {
        return DECLINED;
    }
    gen = read_cache ? tp_cache_generation(read_cache) : 0;
    req = apr_pcalloc(r->pool, sizeof(*req));
    req->r = r;
    req->conf = conf;
    req->client_ip = client_address(req);
    /* the audit log reads it after the response */
    ap_set_module_config(r->request_config, &terrapod_module, req);
    if (strncmp(path, "/api/v2/", 8) == 0) {
        tfe_headers(r);
    }
    if ((err = find_route(req, method, path)) == NULL) {
        err = authenticate(req);
    }
    /* counted whatever the outcome: failed sign-ins and probes for paths
     * must run into the limit too */
    limited = tp_rl_admit(req, tp_rl_classify(method, path,
                                              caller_of(req, err)));
    if (limited || err || (err = check_org(req)) != NULL) {
        return send_error(r, limited ? limited : err);
    }
    key = read_key(req);
    if (key && answer_kept(req, key)) {
        return OK;
    }
    if (req->who) {
        tp_principal_roles(r->pool, req->who);
    }
    err = req->route->handler(req);
    /* Whatever it changed is committed by now. Answers are dropped again
     * after the lookups: one worked out with a lookup from before the
     * change, read between the commit and the lookups' drop, goes too. */
    if (req->route->principals) {
        if (token_cache) {
            tp_cache_bump(token_cache);
        }
        if (read_cache) {
            tp_cache_bump(read_cache);
        }
    }
    if (key && !err && req->answer) {
        keep_answer(key, gen, req->answer);
    }
    return err ? send_error(r, err) : OK;
}

void tp_req_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv = apr_shm_create(&shm, sizeof(*generations), NULL,
                                     pconf);

    generations = NULL;
    if (rv != APR_SUCCESS) {
        /* without counters every process can see, changes could not
         * reach the others' caches: no process caches then */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "TP00006: no shared "
                     "memory for the caches; every token is looked up and "
                     "every read answered from the database");
        return;
    }
    generations = apr_shm_baseaddr_get(shm);
    generations->principals = 0;
    generations->writes = 0;
}

volatile apr_uint32_t *tp_req_write_counter(void)
{
    return generations ? &generations->writes : NULL;
}

/* A cache of secs seconds tied to generation; NULL when secs is 0. */
static tp_cache_t *cache_for(apr_pool_t *pchild, int secs,
                             volatile apr_uint32_t *generation, int entries)
{
    return secs > 0 ? tp_cache_create(pchild, generation,
                                      apr_time_from_sec(secs), entries)
                    : NULL;
}

void tp_req_child_init(apr_pool_t *pchild, server_rec *s)
{
    tp_srv_conf_t *conf = ap_get_module_config(s->module_config,
                                               &terrapod_module);

    token_cache = read_cache = NULL;
    if (!generations) {
        return;
    }
    /* the main server's settings */
    token_cache = cache_for(pchild, conf->token_cache,
                            &generations->principals, TP_TOKEN_CACHE_ENTRIES);
    read_cache = cache_for(pchild, conf->read_cache, &generations->writes,
                           TP_READ_CACHE_ENTRIES);
}
