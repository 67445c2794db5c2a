/* The S3 backend: requests over tp_http_client (libcurl signs them with
 * SigV4), the few XML documents S3 speaks, presigning for redirects. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_env.h>
#include "tp_s3.h"
#include "tp_crypto.h"
#include "tp_http_client.h"

#define CHUNKS ".chunks/"
/* what every object is stored as (libcurl would call a body a form) */
#define OCTETS "Content-Type: application/octet-stream"
/* a listing page is small; a bucket error document too */
#define MAX_XML (4 * 1024 * 1024)
/* a part of the largest size moves well within this; a store that hangs
 * fails the request (and frees its Apache thread) long before */
#define TIMEOUT 600
#define STALL 30

/* ---- credentials ---- */

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    end = s + strlen(s);
    while (end > s && strchr(" \t\r\n", end[-1])) {
        *--end = '\0';
    }
    return s;
}

int tp_s3_parse_creds(apr_pool_t *p, const char *text, tp_s3_creds_t *c)
{
    char *copy = apr_pstrdup(p, text), *line, *last, *eq;
    int in_default = 1;

    memset(c, 0, sizeof(*c));
    for (line = apr_strtok(copy, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        line = trim(line);
        if (*line == '[') {
            in_default = strcmp(line, "[default]") == 0;
            continue;
        }
        if (!in_default || *line == '#' || *line == ';'
            || !(eq = strchr(line, '='))) {
            continue;
        }
        *eq = '\0';
        line = trim(line);
        if (strcmp(line, "aws_access_key_id") == 0) {
            c->key = trim(eq + 1);
        }
        else if (strcmp(line, "aws_secret_access_key") == 0) {
            c->secret = trim(eq + 1);
        }
        else if (strcmp(line, "aws_session_token") == 0) {
            c->token = trim(eq + 1);
        }
    }
    return c->key && *c->key && c->secret && *c->secret;
}

tp_err_t *tp_s3_creds(const tp_s3_t *s3, apr_pool_t *p, tp_s3_creds_t *c)
{
    char *text, *v;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;

    if (s3->credentials_file) {
        if (apr_file_open(&f, s3->credentials_file, APR_FOPEN_READ, 0, p)
                != APR_SUCCESS
            || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS
            || fi.size > 65536) {
            return tp_err_internal(p, 503, "storage is unavailable",
                                   apr_pstrcat(p, "cannot read S3 credentials "
                                               "file ", s3->credentials_file,
                                               NULL));
        }
        text = apr_palloc(p, (apr_size_t)fi.size + 1);
        apr_file_read_full(f, text, (apr_size_t)fi.size, &n);
        apr_file_close(f);
        text[n] = '\0';
        if (!tp_s3_parse_creds(p, text, c)) {
            return tp_err_internal(p, 503, "storage is unavailable",
                                   apr_pstrcat(p, s3->credentials_file,
                                               " names no aws_access_key_id "
                                               "and aws_secret_access_key",
                                               NULL));
        }
        return NULL;
    }
    memset(c, 0, sizeof(*c));
    if (apr_env_get(&v, "AWS_ACCESS_KEY_ID", p) == APR_SUCCESS) {
        c->key = v;
    }
    if (apr_env_get(&v, "AWS_SECRET_ACCESS_KEY", p) == APR_SUCCESS) {
        c->secret = v;
    }
    if (apr_env_get(&v, "AWS_SESSION_TOKEN", p) == APR_SUCCESS && *v) {
        c->token = v;
    }
    if (!c->key || !c->secret) {
        return tp_err_internal(p, 503, "storage is unavailable",
                               "no S3 credentials: neither "
                               "TerrapodStorageS3CredentialsFile nor "
                               "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
    return NULL;
}

/* ---- URLs and signing inputs ---- */

const char *tp_s3_prefix(apr_pool_t *p, const char *arg)
{
    apr_size_t len = strlen(arg);

    while (len > 0 && arg[len - 1] == '/') {
        len--;
    }
    return len ? apr_pstrcat(p, apr_pstrmemdup(p, arg, len), "/", NULL) : "";
}

char *tp_s3_uri_encode(apr_pool_t *p, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
            || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'
            || ch == '.' || ch == '~' || (ch == '/' && keep_slash)) {
            *o++ = (char)ch;
        }
        else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *tp_s3_url(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                      const char *query, const char **host)
{
    const char *sep = strstr(s3->endpoint, "://");
    const char *scheme = apr_pstrndup(p, s3->endpoint,
                                      (apr_size_t)(sep - s3->endpoint));
    const char *path = key ? tp_s3_uri_encode(p, apr_pstrcat(p, s3->prefix,
                                                             key, NULL), 1)
                           : "";

    *host = sep + 3;
    if (s3->virtual_host) {
        *host = apr_pstrcat(p, s3->bucket, ".", *host, NULL);
    }
    else {
        /* the bucket itself is /bucket, as its canonical URI is signed */
        path = apr_pstrcat(p, s3->bucket, key ? "/" : "", path, NULL);
    }
    return apr_pstrcat(p, scheme, "://", *host, "/", path,
                       query ? "?" : "", query ? query : "", NULL);
}

/* yyyymmddThhmmssZ */
static const char *amz_date(apr_pool_t *p, apr_time_t now)
{
    apr_time_exp_t t;

    apr_time_exp_gmt(&t, now);
    return apr_psprintf(p, "%04d%02d%02dT%02d%02d%02dZ", t.tm_year + 1900,
                        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min,
                        t.tm_sec);
}

const char *tp_s3_presign(const tp_s3_t *s3, apr_pool_t *p,
                          const tp_s3_creds_t *c, const char *key,
                          apr_time_t now, int ttl)
{
    const char *date = amz_date(p, now), *host, *url, *path, *canon;
    const char *day = apr_pstrndup(p, date, 8);
    const char *scope = apr_pstrcat(p, day, "/", s3->region,
                                    "/s3/aws4_request", NULL);
    unsigned char k[32];
    const char *query, *to_sign;

    /* the parameters in the sorted order the canonical request needs */
    query = apr_psprintf(p, "X-Amz-Algorithm=AWS4-HMAC-SHA256"
                         "&X-Amz-Credential=%s&X-Amz-Date=%s&X-Amz-Expires=%d"
                         "%s%s&X-Amz-SignedHeaders=host",
                         tp_s3_uri_encode(p, apr_pstrcat(p, c->key, "/",
                                                         scope, NULL), 0),
                         date, ttl, c->token ? "&X-Amz-Security-Token=" : "",
                         c->token ? tp_s3_uri_encode(p, c->token, 0) : "");
    url = tp_s3_url(s3, p, key, query, &host);
    path = strchr(strstr(url, "://") + 3, '/');
    canon = apr_pstrcat(p, "GET\n", apr_pstrndup(p, path, strcspn(path, "?")),
                        "\n", query, "\nhost:", host, "\n\nhost\n"
                        "UNSIGNED-PAYLOAD", NULL);
    to_sign = apr_pstrcat(p, "AWS4-HMAC-SHA256\n", date, "\n", scope, "\n",
                          tp_sha256_hex(p, canon, strlen(canon)), NULL);
    tp_hmac_sha256((const unsigned char *)apr_pstrcat(p, "AWS4", c->secret,
                                                      NULL),
                   strlen(c->secret) + 4, day, strlen(day), k);
    tp_hmac_sha256(k, 32, s3->region, strlen(s3->region), k);
    tp_hmac_sha256(k, 32, "s3", 2, k);
    tp_hmac_sha256(k, 32, "aws4_request", 12, k);
    return apr_pstrcat(p, url, "&X-Amz-Signature=",
                       tp_hmac_sha256_hex(p, k, 32, to_sign, strlen(to_sign)),
                       NULL);
}

/* ---- XML ---- */

static char *xml_unescape(apr_pool_t *p, const char *s, apr_size_t len)
{
    static const struct { const char *ent; char ch; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'},
        {"&apos;", '\''}, {"&#34;", '"'}, {"&#39;", '\''}};
    char *out = apr_palloc(p, len + 1), *o = out;
    const char *end = s + len;
    apr_size_t i;

    while (s < end) {
        for (i = 0; *s == '&' && i < sizeof(ents) / sizeof(ents[0]); i++) {
            apr_size_t n = strlen(ents[i].ent);

            if ((apr_size_t)(end - s) >= n && !memcmp(s, ents[i].ent, n)) {
                break;
            }
        }
        if (*s == '&' && i < sizeof(ents) / sizeof(ents[0])) {
            *o++ = ents[i].ch;
            s += strlen(ents[i].ent);
        }
        else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

char *tp_s3_xml_text(apr_pool_t *p, const char **from, const char *tag)
{
    const char *open = apr_pstrcat(p, "<", tag, ">", NULL);
    const char *close = apr_pstrcat(p, "</", tag, ">", NULL);
    const char *start = strstr(*from, open), *end;

    if (!start) {
        return NULL;
    }
    start += strlen(open);
    if (!(end = strstr(start, close))) {
        return NULL;
    }
    *from = end + strlen(close);
    return xml_unescape(p, start, (apr_size_t)(end - start));
}

void tp_s3_parse_list(apr_pool_t *p, const tp_s3_t *s3, const char *xml,
                      apr_array_header_t *objs, const char **token)
{
    const char *at = xml, *next = xml;
    apr_size_t plen = strlen(s3->prefix);
    char *block, *key, *size, *etag;
    const char *in;

    while ((block = tp_s3_xml_text(p, &next, "Contents")) != NULL) {
        in = block;
        key = tp_s3_xml_text(p, &in, "Key");
        in = block;
        size = tp_s3_xml_text(p, &in, "Size");
        in = block;
        etag = tp_s3_xml_text(p, &in, "ETag");
        if (key && size && strncmp(key, s3->prefix, plen) == 0) {
            tp_s3_object_t *o = apr_array_push(objs);

            o->key = key + plen;
            o->size = apr_atoi64(size);
            o->etag = etag ? apr_pstrndup(p, etag + (*etag == '"'),
                                          strcspn(etag + (*etag == '"'), "\""))
                           : "";
        }
    }
    *token = NULL;
    block = tp_s3_xml_text(p, &at, "IsTruncated");
    if (block && strcmp(block, "true") == 0) {
        at = xml;
        *token = tp_s3_xml_text(p, &at, "NextContinuationToken");
    }
}

char *tp_s3_complete_xml(apr_pool_t *p, const apr_array_header_t *etags)
{
    apr_array_header_t *parts = apr_array_make(p, etags->nelts + 2,
                                               sizeof(const char *));
    int i;

    APR_ARRAY_PUSH(parts, const char *) = "<CompleteMultipartUpload>";
    for (i = 0; i < etags->nelts; i++) {
        APR_ARRAY_PUSH(parts, const char *) = apr_psprintf(
            p, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>",
            i + 1, APR_ARRAY_IDX(etags, i, const char *));
    }
    APR_ARRAY_PUSH(parts, const char *) = "</CompleteMultipartUpload>";
    return apr_array_pstrcat(p, parts, 0);
}

/* ---- requests ---- */

int tp_s3_full(int status, const char *code)
{
    return status == 507
           || (code && (strstr(code, "StorageFull") || strstr(code, "Quota")));
}

/* A full bucket (or a quota) is the client's 507; anything else 503. */
static tp_err_t *failed(apr_pool_t *p, const char *method, const char *key,
                        const tp_http_resp_t *resp, const tp_err_t *cause)
{
    const char *at = resp ? resp->body : NULL;
    const char *code = at ? tp_s3_xml_text(p, &at, "Code") : NULL;
    const char *log = apr_psprintf(p, "S3 %s %s: %s", method,
                                   key ? key : "(bucket)",
                                   cause ? (cause->log ? cause->log
                                                       : cause->detail)
                                   : apr_psprintf(p, "%d %s", resp->status,
                                                  code ? code : ""));

    if (resp && tp_s3_full(resp->status, code)) {
        return tp_err_internal(p, 507, "storage is full", log);
    }
    return tp_err_internal(p, 503, "storage is unavailable", log);
}

/* Signs and performs req against key (NULL: the bucket) with query.
 * Statuses other than 2xx come back in resp for the caller to judge. */
static tp_err_t *perform(const tp_s3_t *s3, apr_pool_t *p, tp_http_req_t *req,
                         const char *key, const char *query,
                         tp_http_resp_t *resp)
{
    tp_s3_creds_t c;
    const char *host;
    tp_err_t *err;

    if ((err = tp_s3_creds(s3, p, &c)) != NULL) {
        return err;
    }
    req->url = tp_s3_url(s3, p, key, query, &host);
    req->aws_sigv4 = apr_pstrcat(p, "aws:amz:", s3->region, ":s3", NULL);
    req->aws_key = c.key;
    req->aws_secret = c.secret;
    req->timeout = TIMEOUT;
    req->stall = STALL;
    if (!req->headers) {
        req->headers = apr_array_make(p, 4, sizeof(const char *));
    }
    if (c.token) {
        APR_ARRAY_PUSH(req->headers, const char *) =
            apr_pstrcat(p, "x-amz-security-token: ", c.token, NULL);
    }
    /* bodies stream, their hash unknown when signing, and MD5s check
     * them instead; libcurl signs what this header says */
    APR_ARRAY_PUSH(req->headers, const char *) =
        "x-amz-content-sha256: UNSIGNED-PAYLOAD";
    if (!req->max_body) {
        req->max_body = MAX_XML;
    }
    if ((err = tp_http_perform(p, req, resp)) != NULL) {
        return failed(p, req->method ? req->method : "GET", key, NULL, err);
    }
    return NULL;
}

#define OK(resp) ((resp)->status >= 200 && (resp)->status < 300)

tp_err_t *tp_s3_check(const tp_s3_t *s3, apr_pool_t *p)
{
    tp_http_req_t req = {.method = "HEAD"};
    tp_http_resp_t resp;
    tp_err_t *err = perform(s3, p, &req, NULL, NULL, &resp);

    return err ? err : OK(&resp) ? NULL : failed(p, "HEAD", NULL, &resp, NULL);
}

static tp_err_t *list_page(const tp_s3_t *s3, apr_pool_t *p,
                           const char *prefix, const char **token,
                           apr_array_header_t *objs)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    const char *query = apr_pstrcat(
        p, *token ? "continuation-token=" : "",
        *token ? tp_s3_uri_encode(p, *token, 0) : "", *token ? "&" : "",
        "list-type=2&prefix=",
        tp_s3_uri_encode(p, apr_pstrcat(p, s3->prefix, prefix, NULL), 0),
        NULL);
    tp_err_t *err = perform(s3, p, &req, NULL, query, &resp);

    if (err) {
        return err;
    }
    if (!OK(&resp)) {
        return failed(p, "GET", prefix, &resp, NULL);
    }
    tp_s3_parse_list(p, s3, resp.body, objs, token);
    return NULL;
}

tp_err_t *tp_s3_list(const tp_s3_t *s3, apr_pool_t *p, const char *prefix,
                     apr_array_header_t **objs)
{
    const char *token = NULL;
    tp_err_t *err;

    *objs = apr_array_make(p, 16, sizeof(tp_s3_object_t));
    do {
        if ((err = list_page(s3, p, prefix, &token, *objs)) != NULL) {
            return err;
        }
    } while (token);
    return NULL;
}

static tp_err_t *head(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                      int *found, apr_off_t *size)
{
    tp_http_req_t req = {.method = "HEAD"};
    tp_http_resp_t resp;
    const char *len;
    tp_err_t *err = perform(s3, p, &req, key, NULL, &resp);

    *found = 0;
    *size = 0;
    if (err) {
        return err;
    }
    if (resp.status == 404) {
        return NULL;
    }
    if (!OK(&resp)) {
        return failed(p, "HEAD", key, &resp, NULL);
    }
    len = apr_table_get(resp.headers, "Content-Length");
    *found = 1;
    *size = len ? apr_atoi64(len) : 0;
    return NULL;
}

/* The pieces an object reads as: itself, or a log's chunks in order. */
static tp_err_t *segments(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                          apr_array_header_t **segs)
{
    tp_s3_object_t *o;
    apr_off_t size;
    int found;
    tp_err_t *err = head(s3, p, key, &found, &size);

    if (err) {
        return err;
    }
    if (found) {
        *segs = apr_array_make(p, 1, sizeof(tp_s3_object_t));
        o = apr_array_push(*segs);
        o->key = key;
        o->size = size;
        return NULL;
    }
    /* listed in key order, which the zero-padded offsets make their order */
    return tp_s3_list(s3, p, apr_pstrcat(p, key, CHUNKS, NULL), segs);
}

static apr_off_t total(const apr_array_header_t *segs)
{
    apr_off_t sum = 0;
    int i;

    for (i = 0; i < segs->nelts; i++) {
        sum += APR_ARRAY_IDX(segs, i, tp_s3_object_t).size;
    }
    return sum;
}

tp_err_t *tp_s3_size(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                     int *found, apr_off_t *size)
{
    apr_array_header_t *segs;
    tp_err_t *err = segments(s3, p, key, &segs);

    *found = !err && segs->nelts > 0;
    *size = *found ? total(segs) : 0;
    return err;
}

/* GETs bytes [from, from + len) of one object into buf. */
static tp_err_t *get_range(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                           apr_off_t from, apr_size_t len, char *buf,
                           apr_size_t *got)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_err_t *err;

    req.headers = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) = apr_psprintf(
        p, "Range: bytes=%" APR_OFF_T_FMT "-%" APR_OFF_T_FMT, from,
        from + (apr_off_t)len - 1);
    req.max_body = len + 1;
    if ((err = perform(s3, p, &req, key, NULL, &resp)) != NULL) {
        return err;
    }
    if (resp.status == 404 || resp.status == 416) {
        *got = 0;
        return NULL;
    }
    if (!OK(&resp)) {
        return failed(p, "GET", key, &resp, NULL);
    }
    *got = resp.body_len < len ? resp.body_len : len;
    memcpy(buf, resp.body, *got);
    return NULL;
}

/* Reads [from, from + len) across segs into buf. */
static tp_err_t *read_segments(const tp_s3_t *s3, apr_pool_t *p,
                               const apr_array_header_t *segs, apr_off_t from,
                               apr_size_t len, char *buf, apr_size_t *got)
{
    apr_off_t start = 0;
    apr_size_t n;
    tp_err_t *err;
    int i;

    *got = 0;
    for (i = 0; i < segs->nelts && *got < len; i++) {
        const tp_s3_object_t *o = &APR_ARRAY_IDX(segs, i, tp_s3_object_t);
        apr_off_t at = from + (apr_off_t)*got - start;

        if (at < o->size) {
            apr_size_t want = len - *got;

            if ((apr_off_t)want > o->size - at) {
                want = (apr_size_t)(o->size - at);
            }
            if ((err = get_range(s3, p, o->key, at, want, buf + *got, &n))
                != NULL) {
                return err;
            }
            *got += n;
            if (n < want) {
                break;          /* the object shrank under us: stop short */
            }
        }
        start += o->size;
    }
    return NULL;
}

tp_err_t *tp_s3_read_range(const tp_s3_t *s3, apr_pool_t *p,
                           const char *key, apr_off_t from, apr_size_t len,
                           char **buf, apr_size_t *got)
{
    apr_array_header_t *segs;
    tp_err_t *err;

    *buf = apr_palloc(p, len + 1);
    *got = 0;
    if (len == 0 || (err = segments(s3, p, key, &segs)) == NULL) {
        return len ? read_segments(s3, p, segs, from, len, *buf, got) : NULL;
    }
    return err;
}

tp_err_t *tp_s3_read(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                     apr_off_t max, char **buf, apr_size_t *len)
{
    apr_array_header_t *segs;
    apr_off_t size;
    tp_err_t *err = segments(s3, p, key, &segs);

    if (err) {
        return err;
    }
    if (segs->nelts == 0) {
        return tp_err(p, 404, "stored object %s not found", key);
    }
    if ((size = total(segs)) > max) {
        return tp_err(p, 413, "stored object is larger than %" APR_OFF_T_FMT
                      " bytes", max);
    }
    *buf = apr_palloc(p, (apr_size_t)size + 1);
    err = size ? read_segments(s3, p, segs, 0, (apr_size_t)size, *buf, len)
               : NULL;
    if (!size) {
        *len = 0;
    }
    if (!err) {
        (*buf)[*len] = '\0';
    }
    return err;
}

tp_err_t *tp_s3_get_file(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                         const char *path, int *found, apr_off_t *size)
{
    apr_array_header_t *segs;
    apr_file_t *f;
    apr_pool_t *sp;
    char *buf;
    apr_size_t got;
    tp_err_t *err = segments(s3, p, key, &segs);
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    int i;

    *found = 0;
    *size = 0;
    if (err || segs->nelts == 0) {
        return err;
    }
    if (segs->nelts == 1 && !strcmp(key, APR_ARRAY_IDX(segs, 0,
                                                       tp_s3_object_t).key)) {
        /* streamed to the file by libcurl, never held in memory */
        req.out_file = path;
        if ((err = perform(s3, p, &req, key, NULL, &resp)) != NULL) {
            return err;
        }
        if (!OK(&resp)) {
            return resp.status == 404 ? NULL
                                      : failed(p, "GET", key, &resp, NULL);
        }
        *found = 1;
        *size = APR_ARRAY_IDX(segs, 0, tp_s3_object_t).size;
        return NULL;
    }
    /* a log's chunks, each no larger than one append */
    if (apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                      | APR_FOPEN_TRUNCATE, APR_FPROT_OS_DEFAULT, p)
        != APR_SUCCESS) {
        return tp_err(p, 503, "cannot write %s", path);
    }
    apr_pool_create(&sp, p);
    for (i = 0; i < segs->nelts && !err; i++) {
        const tp_s3_object_t *o = &APR_ARRAY_IDX(segs, i, tp_s3_object_t);

        buf = apr_palloc(sp, (apr_size_t)o->size + 1);
        err = get_range(s3, sp, o->key, 0, (apr_size_t)o->size, buf, &got);
        if (!err && apr_file_write_full(f, buf, got, NULL) != APR_SUCCESS) {
            err = tp_err(p, 503, "cannot write %s", path);
        }
        *size += (apr_off_t)got;
        apr_pool_clear(sp);
    }
    apr_pool_destroy(sp);
    apr_file_close(f);
    *found = !err;
    return err;
}

/* Where a streamed GET's bytes go: the object's to the caller's writer,
 * an error document (kept short) to be told in the log. */
typedef struct relay {
    tp_s3_writer_t write;
    void *baton;
    char refusal[4096];
    apr_size_t refused;
} relay_t;

static apr_size_t relay_out(void *baton, int status, const char *buf,
                            apr_size_t len)
{
    relay_t *r = baton;
    apr_size_t n = sizeof(r->refusal) - 1 - r->refused;

    if (status >= 200 && status < 300) {
        return r->write(r->baton, buf, len);
    }
    memcpy(r->refusal + r->refused, buf, n < len ? n : len);
    r->refused += n < len ? n : len;
    r->refusal[r->refused] = '\0';
    return len;
}

tp_err_t *tp_s3_stream(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                       tp_s3_writer_t write, void *baton)
{
    apr_array_header_t *segs;
    relay_t *r = apr_pcalloc(p, sizeof(*r));
    tp_http_resp_t resp;
    tp_err_t *err = segments(s3, p, key, &segs);
    int i;

    r->write = write;
    r->baton = baton;
    for (i = 0; !err && i < segs->nelts; i++) {
        const char *seg = APR_ARRAY_IDX(segs, i, tp_s3_object_t).key;
        tp_http_req_t req = {.out_write = relay_out, .out_baton = r};

        r->refused = 0;
        r->refusal[0] = '\0';
        if (!(err = perform(s3, p, &req, seg, NULL, &resp)) && !OK(&resp)) {
            resp.body = r->refusal;
            err = failed(p, "GET", seg, &resp, NULL);
        }
    }
    return err;
}

static const char *md5_b64(apr_pool_t *p, const char *hex)
{
    unsigned char bin[16];
    char *out = apr_palloc(p, apr_base64_encode_len(sizeof(bin)));
    int i;

    for (i = 0; i < 16; i++) {
        char byte[3] = {hex[2 * i], hex[2 * i + 1], '\0'};

        bin[i] = (unsigned char)strtoul(byte, NULL, 16);
    }
    apr_base64_encode(out, (const char *)bin, sizeof(bin));
    return out;
}

tp_err_t *tp_s3_put(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                    const char *buf, apr_size_t len)
{
    tp_http_req_t req = {.method = "PUT", .body = buf, .body_len = len};
    tp_http_resp_t resp;
    tp_err_t *err;

    req.headers = apr_array_make(p, 4, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) = OCTETS;
    APR_ARRAY_PUSH(req.headers, const char *) = apr_pstrcat(
        p, "Content-MD5: ", md5_b64(p, tp_md5_hex(p, buf, len)), NULL);
    if ((err = perform(s3, p, &req, key, NULL, &resp)) != NULL) {
        return err;
    }
    return OK(&resp) ? NULL : failed(p, "PUT", key, &resp, NULL);
}

/* A part of the spooled file, digested as libcurl reads it. */
typedef struct part_reader {
    apr_file_t *f;
    tp_digest_t *md5;
} part_reader_t;

static apr_size_t read_part(void *baton, char *buf, apr_size_t len)
{
    part_reader_t *r = baton;

    if (apr_file_read(r->f, buf, &len) != APR_SUCCESS) {
        return 0;
    }
    tp_digest_update(r->md5, buf, len);
    return len;
}

/* PUTs len bytes of f from where it stands; *etag is the part's MD5 as
 * S3 agreed to it, or an error when it disagrees with ours. */
static tp_err_t *put_stream(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                            const char *query, apr_file_t *f, apr_off_t len,
                            const char *content_md5, const char **etag)
{
    part_reader_t r = {f, tp_md5_begin(p)};
    tp_http_req_t req = {.method = "PUT", .body_read = read_part,
                         .body_baton = &r, .body_read_len = len};
    tp_http_resp_t resp;
    const char *got, *ours;
    tp_err_t *err;

    req.headers = apr_array_make(p, 4, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) = OCTETS;
    if (content_md5) {
        APR_ARRAY_PUSH(req.headers, const char *) =
            apr_pstrcat(p, "Content-MD5: ", content_md5, NULL);
    }
    if ((err = perform(s3, p, &req, key, query, &resp)) != NULL) {
        return err;
    }
    if (!OK(&resp)) {
        return failed(p, "PUT", key, &resp, NULL);
    }
    ours = tp_digest_hex(r.md5, p);
    got = apr_table_get(resp.headers, "ETag");
    got = got ? apr_pstrndup(p, got + (*got == '"'), 32) : "";
    if (strcasecmp(got, ours) != 0) {
        return tp_err_internal(p, 503, "storage is unavailable",
                               apr_psprintf(p, "S3 PUT %s: ETag %s, but the "
                                            "bytes sent have MD5 %s", key,
                                            got, ours));
    }
    *etag = ours;
    return NULL;
}

static void abort_multipart(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                            const char *upload_id)
{
    tp_http_req_t req = {.method = "DELETE"};
    tp_http_resp_t resp;

    perform(s3, p, &req, key, apr_pstrcat(p, "uploadId=", tp_s3_uri_encode(
                                              p, upload_id, 0), NULL),
            &resp);
}

static tp_err_t *multipart(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                           apr_file_t *f, apr_off_t size)
{
    tp_http_req_t req = {.method = "POST", .body = "", .body_len = 0};
    tp_http_resp_t resp;
    apr_array_header_t *etags = apr_array_make(p, 16, sizeof(const char *));
    const char *at, *id, *enc, *etag;
    apr_off_t done = 0;
    apr_pool_t *sp;
    tp_err_t *err;

    req.headers = apr_array_make(p, 4, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) = OCTETS;
    if ((err = perform(s3, p, &req, key, "uploads=", &resp)) != NULL) {
        return err;
    }
    at = resp.body;
    if (!OK(&resp) || !(id = tp_s3_xml_text(p, &at, "UploadId"))) {
        return failed(p, "POST", key, &resp, NULL);
    }
    enc = tp_s3_uri_encode(p, id, 0);
    apr_pool_create(&sp, p);
    while (!err && done < size) {
        apr_off_t len = size - done < s3->part_size ? size - done
                                                     : s3->part_size;

        err = put_stream(s3, sp, key, apr_psprintf(sp, "partNumber=%d"
                                                   "&uploadId=%s",
                                                   etags->nelts + 1, enc),
                         f, len, NULL, &etag);
        if (!err) {
            APR_ARRAY_PUSH(etags, const char *) = apr_pstrdup(p, etag);
            done += len;
        }
        apr_pool_clear(sp);
    }
    apr_pool_destroy(sp);
    if (!err) {
        /* completed last: only now does the object appear */
        memset(&req, 0, sizeof(req));
        req.method = "POST";
        req.body = tp_s3_complete_xml(p, etags);
        req.body_len = strlen(req.body);
        err = perform(s3, p, &req, key, apr_pstrcat(p, "uploadId=", enc, NULL),
                      &resp);
        /* S3 may answer 200 and still fail, in the body */
        if (!err && (!OK(&resp) || strstr(resp.body, "<Error>"))) {
            err = failed(p, "POST", key, &resp, NULL);
        }
    }
    if (err) {
        abort_multipart(s3, p, key, id);
    }
    return err;
}

tp_err_t *tp_s3_put_file(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                         const char *path, apr_off_t size,
                         const char *md5_hex)
{
    apr_file_t *f;
    const char *etag;
    tp_err_t *err;

    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BUFFERED, 0, p)
        != APR_SUCCESS) {
        return tp_err_internal(p, 503, "storage is unavailable",
                               apr_pstrcat(p, "cannot open ", path, NULL));
    }
    err = size <= s3->part_size
          ? put_stream(s3, p, key, NULL, f, size, md5_b64(p, md5_hex), &etag)
          : multipart(s3, p, key, f, size);
    apr_file_close(f);
    return err;
}

tp_err_t *tp_s3_append(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                       const char *buf, apr_size_t len)
{
    apr_array_header_t *chunks;
    tp_err_t *err = tp_s3_list(s3, p, apr_pstrcat(p, key, CHUNKS, NULL),
                               &chunks);

    if (err) {
        return err;
    }
    /* a phase's log has one writer, its runner, one chunk at a time (no
     * conditional PUT: not every S3-compatible store has one) */
    return tp_s3_put(s3, p, apr_psprintf(p, "%s" CHUNKS "%016" APR_OFF_T_FMT,
                                         key, total(chunks)), buf, len);
}

tp_err_t *tp_s3_remove(const tp_s3_t *s3, apr_pool_t *p, const char *key)
{
    tp_http_req_t req = {.method = "DELETE"};
    tp_http_resp_t resp;
    tp_err_t *err = perform(s3, p, &req, key, NULL, &resp);

    if (err) {
        return err;
    }
    return OK(&resp) || resp.status == 404 ? NULL
           : failed(p, "DELETE", key, &resp, NULL);
}

tp_err_t *tp_s3_remove_tree(const tp_s3_t *s3, apr_pool_t *p,
                            const char *prefix)
{
    apr_array_header_t *objs;
    tp_err_t *err = tp_s3_list(s3, p, apr_pstrcat(p, prefix, "/", NULL),
                               &objs);
    int i;

    for (i = 0; !err && i < objs->nelts; i++) {
        err = tp_s3_remove(s3, p, APR_ARRAY_IDX(objs, i, tp_s3_object_t).key);
    }
    return err;
}
