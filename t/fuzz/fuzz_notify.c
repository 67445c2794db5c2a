/* What notifications take from outside: a destination URL and an email
 * address as an API body gives them (a URL is refused with a 422 or
 * yields a host and a port in range; an address that passes holds no
 * character that could change a header), CIDR blocks as a directive
 * gives them (parsed ones round-trip their prefix), and any run fields in
 * a message's headers (never a line break but the headers' own). */
#include "fuzz.h"
#include <arpa/inet.h>
#include "tp_outbound.h"
#include "tp_notify.h"

static void url(apr_pool_t *p, const char *s)
{
    tp_outbound_target_t t;
    tp_err_t *err = tp_outbound_url(p, s, "http,https", &t);

    FUZZ_ASSERT(err ? err->status == 422
                    : t.host && *t.host && t.port > 0 && t.port <= 65535);
}

static void cidr(const char *s)
{
    tp_cidr_t c;
    int i;

    if (tp_cidr_parse(s, &c) != APR_SUCCESS) {
        return;
    }
    FUZZ_ASSERT(c.bits >= 0 && c.bits <= (c.v6 ? 128 : 32));
    for (i = c.bits; i < (c.v6 ? 128 : 32); i++) {
        FUZZ_ASSERT(!(c.addr[i / 8] & (0x80 >> (i % 8))));
    }
    /* its own address is inside whatever it allows */
    FUZZ_ASSERT(!tp_outbound_class(c.v6, c.addr)
                || !tp_outbound_refused(c.v6, c.addr,
                       &(apr_array_header_t){NULL, sizeof(c), 1, 1,
                                             (char *)&c}));
}

static void email(apr_pool_t *p, const char *a, const char *b)
{
    apr_array_header_t *to = apr_array_make(p, 1, sizeof(const char *));
    tp_notify_run_t run = {0};
    const char *m, *end, *c;

    if (tp_notify_email_valid(a)) {
        FUZZ_ASSERT(!strpbrk(a, "\r\n<>,; "));
    }
    APR_ARRAY_PUSH(to, const char *) = a;
    run.id = "run-x";
    run.status = "applied";
    run.workspace_name = b;
    run.message = b;
    m = tp_notify_email(p, "tp@example.com", to, &run, "run:completed", b,
                        b);
    end = strstr(m, "\r\n\r\n");
    FUZZ_ASSERT(end != NULL);
    /* the headers: 8 lines, each ended by CRLF, no other CR or LF */
    for (c = m; c < end; c++) {
        FUZZ_ASSERT((*c != '\r' || c[1] == '\n') && (*c != '\n'
                                                      || c[-1] == '\r'));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *a, *b;

    apr_pool_create(&p, fuzz_root);
    fuzz_split(p, data, size, &a, &b);
    url(p, a);
    cidr(a);
    email(p, a, b);
    apr_pool_destroy(p);
    return 0;
}
