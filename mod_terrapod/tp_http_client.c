/* Outgoing HTTP over libcurl, the only code that includes its headers.
 * Responses go to a capped memory buffer or straight to a file; TLS can
 * present a client certificate and trust a private CA. */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <apr_strings.h>
#include "tp_http_client.h"

#define DEFAULT_MAX_BODY (1 << 20)
#define DEFAULT_TIMEOUT 60

typedef struct sink {
    apr_pool_t *p;
    FILE *file;
    char *buf;
    apr_size_t len, cap, max;
    apr_off_t file_len, file_max;
    int too_long;
    apr_table_t *headers;
    const tp_http_req_t *req;       /* its out_write, if any */
    CURL *h;
} sink_t;

apr_status_t tp_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
           ? APR_SUCCESS : APR_EGENERAL;
}

static size_t on_data(char *data, size_t size, size_t n, void *baton)
{
    sink_t *s = baton;
    apr_size_t len = size * n;
    char *grown;

    if (s->req->out_write) {
        long status = 0;

        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
        return s->req->out_write(s->req->out_baton, (int)status, data, len);
    }
    if (s->file) {
        s->file_len += len;
        if (s->file_max && s->file_len > s->file_max) {
            s->too_long = 1;
            return 0;
        }
        return fwrite(data, 1, len, s->file);
    }
    if (s->len + len > s->max) {
        s->too_long = 1;
        return 0;                   /* makes curl fail with a write error */
    }
    if (s->len + len + 1 > s->cap) {
        s->cap = (s->len + len + 1) * 2;
        grown = apr_palloc(s->p, s->cap);
        if (s->len) {               /* nothing to copy (nor a buffer) yet */
            memcpy(grown, s->buf, s->len);
        }
        s->buf = grown;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return len;
}

/* Keeps the header lines of the last response: a status line (of a
 * redirect's next response) starts them over. */
static size_t on_header(char *data, size_t size, size_t n, void *baton)
{
    sink_t *s = baton;
    apr_size_t len = size * n, name_len;
    const char *colon = memchr(data, ':', len), *end = data + len;

    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        apr_table_clear(s->headers);
    }
    else if (colon) {
        name_len = (apr_size_t)(colon - data);
        for (colon++; colon < end && (*colon == ' ' || *colon == '\t');
             colon++);
        while (end > colon && strchr(" \t\r\n", end[-1])) {
            end--;
        }
        apr_table_set(s->headers, apr_pstrndup(s->p, data, name_len),
                      apr_pstrndup(s->p, colon, (apr_size_t)(end - colon)));
    }
    return len;
}

/* Adds the CA file's certificates to the store curl filled with the
 * system's. */
static CURLcode add_cas(CURL *h, void *ssl_ctx, void *file)
{
    (void)h;
    return X509_STORE_load_file(SSL_CTX_get_cert_store(ssl_ctx), file) == 1
           ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

static int on_progress(void *baton, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    volatile sig_atomic_t *abort = baton;

    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    return abort && *abort;
}

/* A streamed request body, from the caller's reader. */
typedef struct reader {
    const tp_http_req_t *req;
    apr_off_t left;
} reader_t;

static size_t on_body_read(char *buf, size_t size, size_t n, void *baton)
{
    reader_t *rd = baton;
    apr_size_t want = size * n, got;

    if (rd->left <= 0) {
        return 0;
    }
    if ((apr_off_t)want > rd->left) {
        want = (apr_size_t)rd->left;
    }
    got = rd->req->body_read(rd->req->body_baton, buf, want);
    rd->left -= (apr_off_t)got;
    /* short of the announced length: abort rather than send a truncation */
    return got ? got : CURL_READFUNC_ABORT;
}

static apr_status_t close_file(void *f)
{
    fclose(f);
    return APR_SUCCESS;
}

static apr_status_t free_slist(void *l)
{
    curl_slist_free_all(l);
    return APR_SUCCESS;
}

/* Pins the request to the checked address: libcurl resolves nothing. */
static void pin(apr_pool_t *sp, CURL *h, const char *resolve)
{
    struct curl_slist *l;

    if (resolve) {
        l = curl_slist_append(NULL, resolve);
        apr_pool_cleanup_register(sp, l, free_slist, apr_pool_cleanup_null);
        curl_easy_setopt(h, CURLOPT_RESOLVE, l);
    }
}

static apr_status_t free_handle(void *h)
{
    curl_easy_cleanup(h);
    return APR_SUCCESS;
}

/* Files are opened here (not by curl) so that a missing one is told
 * apart from a network failure. Both live in sp. */
static tp_err_t *open_file(apr_pool_t *p, apr_pool_t *sp, const char *path,
                           const char *mode, FILE **f)
{
    *f = fopen(path, mode);
    if (!*f) {
        return tp_err(p, 500, "cannot open %s: %s", path, strerror(errno));
    }
    apr_pool_cleanup_register(sp, *f, close_file, apr_pool_cleanup_null);
    return NULL;
}

static tp_err_t *setup(apr_pool_t *p, apr_pool_t *sp, CURL *h,
                       const tp_http_req_t *req, sink_t *sink, reader_t *rd)
{
    struct curl_slist *hl = NULL;
    const char *method = req->method ? req->method : "GET";
    FILE *in;
    tp_err_t *err;
    long size;
    int i;

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout > 0 ? req->timeout
                                                          : DEFAULT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    if (req->stall > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req->stall);
    }
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, sink);
    pin(sp, h, req->resolve);
    if (req->follow) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    if (req->abort) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, req->abort);
    }
    if (req->cert_file) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, req->cert_file);
        if (req->key_file) {       /* else the key follows the certificate */
            curl_easy_setopt(h, CURLOPT_SSLKEY, req->key_file);
        }
    }
    if (req->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
    }
    if (req->ca_extra_file) {
        curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, add_cas);
        curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, req->ca_extra_file);
    }
    for (i = 0; req->headers && i < req->headers->nelts; i++) {
        hl = curl_slist_append(hl, APR_ARRAY_IDX(req->headers, i,
                                                 const char *));
    }
    /* curl would announce 100-continue and wait a second for it; but
     * libcurl's SigV4 signs the empty header it is dropped with, which
     * the receiver never sees, and S3 answers 100 at once anyway */
    if (!req->aws_sigv4) {
        hl = curl_slist_append(hl, "Expect:");
    }
    apr_pool_cleanup_register(sp, hl, free_slist, apr_pool_cleanup_null);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (req->aws_sigv4) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, req->aws_sigv4);
        curl_easy_setopt(h, CURLOPT_USERNAME, req->aws_key);
        curl_easy_setopt(h, CURLOPT_PASSWORD, req->aws_secret);
    }
    if (req->body_read) {
        rd->req = req;
        rd->left = req->body_read_len;
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_body_read);
        curl_easy_setopt(h, CURLOPT_READDATA, rd);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)req->body_read_len);
    } else if (req->body_file) {
        if ((err = open_file(p, sp, req->body_file, "rb", &in)) != NULL) {
            return err;
        }
        fseek(in, 0, SEEK_END);
        size = ftell(in);
        rewind(in);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READDATA, in);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    } else if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    }
    if (!strcmp(method, "GET") && !req->body && !req->body_file
        && !req->body_read) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    if (req->out_file) {
        return open_file(p, sp, req->out_file, "wb", &sink->file);
    }
    return NULL;
}

tp_err_t *tp_http_perform(apr_pool_t *p, const tp_http_req_t *req,
                          tp_http_resp_t *resp)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    apr_pool_t *sp;
    sink_t sink;
    reader_t rd;
    tp_err_t *err;
    CURL *h;
    CURLcode rc;
    long status = 0;
    curl_off_t retry_after = 0;

    memset(resp, 0, sizeof(*resp));
    memset(&sink, 0, sizeof(sink));
    sink.p = p;
    sink.max = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
    sink.file_max = req->max_file;
    sink.headers = apr_table_make(p, 16);
    sink.req = req;
    if (!(h = curl_easy_init())) {
        return tp_err(p, 500, "curl_easy_init failed");
    }
    sink.h = h;
    /* the handle's cleanup registered first runs last, after the files */
    apr_pool_create(&sp, p);
    apr_pool_cleanup_register(sp, h, free_handle, apr_pool_cleanup_null);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if ((err = setup(p, sp, h, req, &sink, &rd)) == NULL) {
        rc = curl_easy_perform(h);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after);
        } else if (sink.too_long && sink.file) {
            err = tp_err(p, 413, "%s %s: response longer than %" APR_OFF_T_FMT
                         " bytes", req->method ? req->method : "GET",
                         req->url, sink.file_max);
        } else if (sink.too_long) {
            err = tp_err(p, 502, "%s %s: response longer than %lu bytes",
                         req->method ? req->method : "GET", req->url,
                         (unsigned long)sink.max);
        } else {
            err = tp_err(p, 502, "%s %s: %s", req->method ? req->method
                         : "GET", req->url, *errbuf ? errbuf
                         : curl_easy_strerror(rc));
        }
        if (sink.file && fflush(sink.file) != 0 && !err) {
            err = tp_err(p, 500, "writing %s: %s", req->out_file,
                         strerror(errno));
        }
    }
    apr_pool_destroy(sp);
    if (err) {
        return err;
    }
    resp->status = (int)status;
    resp->retry_after = (long)retry_after;
    resp->headers = sink.headers;
    resp->body = sink.buf ? sink.buf : apr_pstrdup(p, "");
    resp->body_len = sink.len;
    if (sink.buf) {
        sink.buf[sink.len] = '\0';
    }
    return NULL;
}

/* The message as libcurl reads it for DATA (on_body_read never asks
 * past its end). */
static apr_size_t read_message(void *baton, char *buf, apr_size_t len)
{
    const char **at = baton;

    memcpy(buf, *at, len);
    *at += len;
    return len;
}

tp_err_t *tp_smtp_send(apr_pool_t *p, const tp_smtp_req_t *req)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *rcpts = NULL;
    const char *at = req->message;
    tp_http_req_t body = {.body_read = read_message, .body_baton = &at,
                          .body_read_len = (apr_off_t)strlen(req->message)};
    reader_t rd = {&body, body.body_read_len};
    apr_pool_t *sp;
    tp_err_t *err = NULL;
    CURLcode rc;
    long code = 0;
    CURL *h;
    int i;

    if (!(h = curl_easy_init())) {
        return tp_err(p, 500, "curl_easy_init failed");
    }
    apr_pool_create(&sp, p);
    apr_pool_cleanup_register(sp, h, free_handle, apr_pool_cleanup_null);
    for (i = 0; req->to && i < req->to->nelts; i++) {
        rcpts = curl_slist_append(rcpts, APR_ARRAY_IDX(req->to, i,
                                                       const char *));
    }
    apr_pool_cleanup_register(sp, rcpts, free_slist, apr_pool_cleanup_null);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout > 0 ? req->timeout
                                                          : DEFAULT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    pin(sp, h, req->resolve);
    curl_easy_setopt(h, CURLOPT_USE_SSL, req->require_tls ? CURLUSESSL_ALL
                                                          : CURLUSESSL_TRY);
    if (req->ca_extra_file) {
        curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, add_cas);
        curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, req->ca_extra_file);
    }
    if (req->user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, req->password
                                              ? req->password : "");
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, req->from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_body_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &rd);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                     (curl_off_t)body.body_read_len);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK) {
        err = tp_err(p, 502, "SMTP %s: %s (last reply %ld)", req->url,
                     *errbuf ? errbuf : curl_easy_strerror(rc), code);
    }
    apr_pool_destroy(sp);
    return err;
}
