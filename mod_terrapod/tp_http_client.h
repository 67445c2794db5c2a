/* Outgoing HTTP requests: the only wrapper around libcurl. One call is one
 * request on a fresh handle, so callers in forked children or different
 * threads share nothing. */
#ifndef TP_HTTP_CLIENT_H
#define TP_HTTP_CLIENT_H

#include <signal.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "tp_error.h"

typedef struct tp_http_req {
    const char *method;             /* "GET" when NULL */
    const char *url;
    apr_array_header_t *headers;    /* of "Name: value" strings, or NULL */
    const char *body;               /* request body from memory ... */
    apr_size_t body_len;
    const char *body_file;          /* ... or from this file ... */
    /* ... or from this reader, body_read_len bytes in all: it fills at
     * most len bytes of buf and returns how many (0 fails the request) */
    apr_size_t (*body_read)(void *baton, char *buf, apr_size_t len);
    void *body_baton;
    apr_off_t body_read_len;
    const char *out_file;           /* response body to this file (any
                                       status) instead of memory */
    /* ... or to this writer, told the status first; a return short of
     * len fails the request */
    apr_size_t (*out_write)(void *baton, int status, const char *buf,
                            apr_size_t len);
    void *out_baton;
    apr_size_t max_body;            /* memory responses longer fail; 0: 1 MiB */
    apr_off_t max_file;             /* file responses longer fail (413);
                                       0: no limit */
    const char *cert_file;          /* client certificate, PEM */
    const char *key_file;           /* its key, PEM; NULL: in cert_file */
    const char *ca_file;            /* trust these CAs instead of the system's */
    const char *ca_extra_file;      /* trust these CAs besides the system's */
    int follow;                     /* follow up to 5 redirects */
    const char *resolve;            /* "host:port:address": connect there
                                       and nowhere else (the address the
                                       outbound guard checked) */
    const char *aws_sigv4;          /* "aws:amz:REGION:SERVICE": signed
                                       with AWS Signature V4 by ... */
    const char *aws_key;            /* ... this access key id ... */
    const char *aws_secret;         /* ... and secret */
    long timeout;                   /* whole request, seconds; 0: 60 */
    long stall;                     /* fail after this many seconds below
                                       1 KiB/s; 0: only the timeout */
    volatile sig_atomic_t *abort;   /* the request stops when it turns non-zero */
} tp_http_req_t;

typedef struct tp_http_resp {
    int status;
    long retry_after;               /* seconds a Retry-After asked; 0: none */
    apr_table_t *headers;           /* of the last response (redirects
                                       followed), names in any case */
    char *body;                     /* NUL-terminated; "" for file responses */
    apr_size_t body_len;
} tp_http_resp_t;

/* Once per process, before any thread is started. */
apr_status_t tp_http_global_init(void);

/* Performs the request. An HTTP error status is a response, not an error:
 * a tp_err_t (status 502) only says the exchange itself failed, or (413)
 * that a file response passed max_file. */
tp_err_t *tp_http_perform(apr_pool_t *p, const tp_http_req_t *req,
                          tp_http_resp_t *resp);

/* One email through SMTP: smtp:// (STARTTLS tried, or required with
 * require_tls) or smtps://, authenticated when user is set. */
typedef struct tp_smtp_req {
    const char *url;                /* smtp://host:port or smtps://... */
    const char *resolve;            /* as tp_http_req_t's */
    const char *from;               /* the envelope sender */
    const apr_array_header_t *to;   /* of const char *, the recipients */
    const char *user;               /* NULL: no authentication */
    const char *password;
    int require_tls;                /* STARTTLS or fail */
    const char *ca_extra_file;      /* trust these CAs besides the system's */
    const char *message;            /* RFC 5322, CRLF line ends */
    long timeout;                   /* whole exchange, seconds; 0: 60 */
} tp_smtp_req_t;

/* Sends the message; a tp_err_t (502) when the server refused it or the
 * exchange failed, its detail naming the server's answer. */
tp_err_t *tp_smtp_send(apr_pool_t *p, const tp_smtp_req_t *req);

#endif
