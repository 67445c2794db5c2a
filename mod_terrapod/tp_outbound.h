/* The outbound guard: which addresses requests to URLs that users choose
 * (notification destinations) may reach. Loopback, link-local, private,
 * multicast and cloud metadata addresses are refused unless an allow list
 * (TerrapodOutboundAllow) holds them; a name is resolved once, checked,
 * and the request is pinned to the address checked, so a second answer
 * of the DNS cannot send it elsewhere. */
#ifndef TP_OUTBOUND_H
#define TP_OUTBOUND_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "tp_error.h"

typedef struct tp_cidr {
    int v6;                     /* 0: IPv4 (addr[0..3]), 1: IPv6 */
    unsigned char addr[16];
    int bits;
} tp_cidr_t;

/* "a.b.c.d/n", "x:y::/n", or a bare address (all its bits); the bits
 * past the prefix must be zero. APR_EINVAL for anything else. */
apr_status_t tp_cidr_parse(const char *s, tp_cidr_t *out);

/* Why an address is refused by default ("loopback", "private",
 * "link-local", "metadata", "multicast", "unspecified", "reserved"), or
 * NULL for a public one. An IPv4-mapped IPv6 address is judged as its
 * IPv4 address. */
const char *tp_outbound_class(int v6, const unsigned char *addr);

/* NULL when the address may be reached: public, or inside one of allow
 * (of tp_cidr_t; NULL: none); else why it may not. */
const char *tp_outbound_refused(int v6, const unsigned char *addr,
                                const apr_array_header_t *allow);

/* The parts of a destination URL that the guard needs. */
typedef struct tp_outbound_target {
    const char *scheme;
    const char *host;           /* without brackets */
    int port;
    const char *address;        /* the address checked, as text */
    const char *resolve;        /* "host:port:address" for libcurl's
                                   CURLOPT_RESOLVE, pinning it; NULL for
                                   a literal address */
} tp_outbound_target_t;

/* Checks the syntax of url: an absolute URL of one of schemes
 * (comma-separated, e.g. "http,https"), with a host, without user
 * information; 422 otherwise. */
tp_err_t *tp_outbound_url(apr_pool_t *p, const char *url,
                          const char *schemes, tp_outbound_target_t *t);

/* Resolves url's host and checks every address it has: 422 when one is
 * refused (a name with one private address among public ones is not
 * reached either), 502 when it cannot be resolved. t tells which address
 * to connect to. */
tp_err_t *tp_outbound_check(apr_pool_t *p, const char *url,
                            const char *schemes,
                            const apr_array_header_t *allow,
                            tp_outbound_target_t *t);

#endif
