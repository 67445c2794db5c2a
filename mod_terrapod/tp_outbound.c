/* The outbound guard: address classes, the allow list, and the one
 * resolution of a destination's name that its request is then pinned to. */
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include "tp_outbound.h"

apr_status_t tp_cidr_parse(const char *s, tp_cidr_t *out)
{
    const char *slash = strchr(s, '/');
    apr_size_t len = slash ? (apr_size_t)(slash - s) : strlen(s);
    char buf[INET6_ADDRSTRLEN + 1];
    char *end;
    long bits;
    int max, i;

    memset(out, 0, sizeof(*out));
    if (len >= sizeof(buf)) {
        return APR_EINVAL;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        max = 32;
    }
    else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->v6 = 1;
        max = 128;
    }
    else {
        return APR_EINVAL;
    }
    bits = max;
    if (slash) {
        if (!apr_isdigit(slash[1])) {
            return APR_EINVAL;
        }
        bits = strtol(slash + 1, &end, 10);
        if (*end || bits < 0 || bits > max) {
            return APR_EINVAL;
        }
    }
    out->bits = (int)bits;
    /* "10.1.2.3/8" most likely means something else than 10.0.0.0/8 */
    for (i = (int)bits; i < max; i++) {
        if (out->addr[i / 8] & (0x80 >> (i % 8))) {
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

static int in_prefix(const unsigned char *addr, const unsigned char *net,
                     int bits)
{
    int whole = bits / 8, rest = bits % 8;

    if (memcmp(addr, net, (apr_size_t)whole) != 0) {
        return 0;
    }
    return !rest || ((addr[whole] ^ net[whole]) & (0xff << (8 - rest))
                     & 0xff) == 0;
}

static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                            0xff, 0xff};

/* An IPv4-mapped IPv6 address as its IPv4 address. */
static const unsigned char *unmapped(int *v6, const unsigned char *addr)
{
    if (*v6 && memcmp(addr, V4_MAPPED, sizeof(V4_MAPPED)) == 0) {
        *v6 = 0;
        return addr + 12;
    }
    return addr;
}

typedef struct range {
    const char *cidr;
    const char *why;
} range_t;

/* First match wins: the metadata addresses before the ranges they lie in. */
static const range_t REFUSED[] = {
    {"169.254.169.254/32", "metadata"},
    {"fd00:ec2::254/128", "metadata"},
    {"0.0.0.0/8", "unspecified"},
    {"127.0.0.0/8", "loopback"},
    {"10.0.0.0/8", "private"},
    {"172.16.0.0/12", "private"},
    {"192.168.0.0/16", "private"},
    {"100.64.0.0/10", "private"},           /* carrier-grade NAT */
    {"169.254.0.0/16", "link-local"},
    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved"},            /* and the broadcast address */
    {"::/128", "unspecified"},
    {"::1/128", "loopback"},
    {"fc00::/7", "private"},
    {"fe80::/10", "link-local"},
    {"ff00::/8", "multicast"},
    {NULL, NULL}
};

const char *tp_outbound_class(int v6, const unsigned char *addr)
{
    const range_t *r;
    tp_cidr_t c;

    addr = unmapped(&v6, addr);
    for (r = REFUSED; r->cidr; r++) {
        tp_cidr_parse(r->cidr, &c);
        if (c.v6 == v6 && in_prefix(addr, c.addr, c.bits)) {
            return r->why;
        }
    }
    return NULL;
}

const char *tp_outbound_refused(int v6, const unsigned char *addr,
                                const apr_array_header_t *allow)
{
    const char *why = tp_outbound_class(v6, addr);
    int i;

    addr = unmapped(&v6, addr);
    for (i = 0; why && allow && i < allow->nelts; i++) {
        const tp_cidr_t *c = &APR_ARRAY_IDX(allow, i, tp_cidr_t);

        if (c->v6 == v6 && in_prefix(addr, c->addr, c->bits)) {
            why = NULL;
        }
    }
    return why;
}

static int default_port(const char *scheme)
{
    static const struct { const char *s; int port; } ports[] = {
        {"http", 80}, {"https", 443}, {"smtp", 25}, {"smtps", 465},
        {NULL, 0}
    };
    int i;

    for (i = 0; ports[i].s; i++) {
        if (strcasecmp(ports[i].s, scheme) == 0) {
            return ports[i].port;
        }
    }
    return 0;
}

/* 1 when scheme is one of the comma-separated list. */
static int scheme_in(apr_pool_t *p, const char *scheme, const char *list)
{
    char *copy = apr_pstrdup(p, list), *last, *s;

    for (s = apr_strtok(copy, ",", &last); s; s = apr_strtok(NULL, ",",
                                                             &last)) {
        if (strcasecmp(s, scheme) == 0) {
            return 1;
        }
    }
    return 0;
}

tp_err_t *tp_outbound_url(apr_pool_t *p, const char *url,
                          const char *schemes, tp_outbound_target_t *t)
{
    apr_uri_t u;

    memset(t, 0, sizeof(*t));
    if (!url || !*url || strlen(url) > 2048
        || strpbrk(url, " \t\r\n") != NULL
        || apr_uri_parse(p, url, &u) != APR_SUCCESS
        || !u.scheme || !scheme_in(p, u.scheme, schemes)
        || !u.hostname || !*u.hostname) {
        return tp_err(p, 422, "must be an absolute URL (%s)", schemes);
    }
    if (u.user || u.password) {
        return tp_err(p, 422, "must not hold a user name or password");
    }
    t->scheme = apr_pstrdup(p, u.scheme);
    t->host = u.hostname;
    /* apr_port_t would wrap a port past 65535 */
    t->port = u.port_str ? atoi(u.port_str) : default_port(u.scheme);
    if (t->port <= 0 || t->port > 65535
        || (u.port_str && strspn(u.port_str, "0123456789")
                          != strlen(u.port_str))) {
        return tp_err(p, 422, "has an invalid port");
    }
    return NULL;
}

tp_err_t *tp_outbound_check(apr_pool_t *p, const char *url,
                            const char *schemes,
                            const apr_array_header_t *allow,
                            tp_outbound_target_t *t)
{
    struct addrinfo hints, *res = NULL, *ai;
    char text[INET6_ADDRSTRLEN];
    const unsigned char *addr;
    const char *why;
    tp_cidr_t ip;
    tp_err_t *err;
    int rc, v6, literal;

    if ((err = tp_outbound_url(p, url, schemes, t)) != NULL) {
        return err;
    }
    literal = tp_cidr_parse(t->host, &ip) == APR_SUCCESS;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(t->host, NULL, &hints, &res)) != 0) {
        return tp_err(p, 502, "cannot resolve %s: %s", t->host,
                      gai_strerror(rc));
    }
    for (ai = res; ai; ai = ai->ai_next) {
        v6 = ai->ai_family == AF_INET6;
        if (!v6 && ai->ai_family != AF_INET) {
            continue;
        }
        addr = v6 ? ((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr.s6_addr
                  : (const unsigned char *)
                    &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        inet_ntop(ai->ai_family, addr, text, sizeof(text));
        if ((why = tp_outbound_refused(v6, addr, allow)) != NULL) {
            freeaddrinfo(res);
            return tp_err(p, 422, "%s resolves to %s, a %s address that "
                          "TerrapodOutboundAllow does not allow", t->host,
                          text, why);
        }
        if (!t->address) {
            t->address = apr_pstrdup(p, text);
            /* a literal address is connected to as it is */
            t->resolve = literal ? NULL
                         : apr_psprintf(p, v6 ? "%s:%d:[%s]" : "%s:%d:%s",
                                        t->host, t->port, text);
        }
    }
    freeaddrinfo(res);
    if (!t->address) {
        return tp_err(p, 502, "%s has no address", t->host);
    }
    return NULL;
}
