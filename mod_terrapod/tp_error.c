/* The one place that turns an HTTP status into an error value and title. */
#include <apr_strings.h>
#include "tp_error.h"

const char *tp_status_title(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default:  return "Error";
    }
}

tp_err_t *tp_err(apr_pool_t *p, int status, const char *fmt, ...)
{
    tp_err_t *e = apr_pcalloc(p, sizeof(*e));
    va_list ap;

    va_start(ap, fmt);
    e->detail = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    e->status = status;
    e->title = tp_status_title(status);
    return e;
}

tp_err_t *tp_err_internal(apr_pool_t *p, int status, const char *detail,
                          const char *log)
{
    tp_err_t *e = tp_err(p, status, "%s", detail);
    e->log = log;
    return e;
}
