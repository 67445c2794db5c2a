/* The provider network mirror's side of an upstream registry: the
 * providers.v1 protocol spoken as terraform speaks it (discovery, version
 * lists, download documents), SHA256SUMS checked against the signature and
 * keys upstream gives before anything is believed, and one platform's
 * archive fetched, checked against the signed manifest and hashed. Every
 * request goes through the outbound guard, redirects included. */
#ifndef TP_MIRROR_H
#define TP_MIRROR_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "tp_error.h"
#include "tp_json.h"
#include "tp_http_client.h"

#define TP_MIRROR_DEFAULT_HOST "registry.terraform.io"
/* SHA256SUMS, signatures, JSON documents: small */
#define TP_MIRROR_MAX_DOC (4 * 1024 * 1024)

typedef struct tp_mirror_env {
    const char *host;       /* upstream's hostname, as sources name it */
    const char *url;        /* where its discovery document is read:
                               "https://<host>" unless configured */
    const apr_array_header_t *allow;  /* the outbound guard's (tp_cidr_t) */
    const char *ca_file;    /* CAs trusted besides the system's; or NULL */
    apr_off_t max_archive;  /* largest archive fetched */
} tp_mirror_env_t;

/* ref resolved against base (absolute, scheme-relative, path-absolute or
 * relative references), as terraform resolves registry URLs. */
const char *tp_url_resolve(apr_pool_t *p, const char *base, const char *ref);

/* One GET of an outside URL (http or https) through the outbound guard,
 * following up to five redirects, each checked again. The body goes to
 * out_file when given (at most max_file bytes), else to memory (at most
 * TP_MIRROR_MAX_DOC). 502 when the exchange fails, 422 when the guard
 * refuses an address. */
tp_err_t *tp_outside_get(apr_pool_t *p, const char *url,
                         const apr_array_header_t *allow, const char *ca_file,
                         const char *out_file, apr_off_t max_file,
                         tp_http_resp_t *resp);

/* Upstream's versions of namespace/type: a JSON array of {version,
 * protocols, platforms: [{os, arch}]} objects, entries without a usable
 * version left out. 404 when upstream does not know the provider, 502
 * when it cannot be asked or answers nonsense. */
tp_err_t *tp_mirror_versions(apr_pool_t *p, const tp_mirror_env_t *env,
                             const char *ns, const char *type,
                             tp_json_t **versions);

/* Upstream's download document of one platform of a version: 404 when
 * there is none, 502 when it is unusable (a shasum that is no SHA-256, no
 * URLs, no keys). URLs in it are made absolute. */
tp_err_t *tp_mirror_download(apr_pool_t *p, const tp_mirror_env_t *env,
                             const char *ns, const char *type,
                             const char *version, const char *os,
                             const char *arch, tp_json_t **doc);

/* The SHA256SUMS a download document names, once its detached signature
 * verifies against the document's own signing keys (as terraform checks
 * it), and the signer's key id. 422 when it does not verify. */
tp_err_t *tp_mirror_verified_sums(apr_pool_t *p, const tp_mirror_env_t *env,
                                  const tp_json_t *doc, const char **sums,
                                  apr_size_t *len, const char **key_id);

/* The archive a download document names, into the file out (created):
 * its SHA-256 must be shasum (from the verified manifest) and it must be
 * a provider package of type; *h1 is its h1: hash, *size its size. 422
 * when it is not what the manifest signed or not a provider package. */
tp_err_t *tp_mirror_fetch_archive(apr_pool_t *p, const tp_mirror_env_t *env,
                                  const tp_json_t *doc, const char *type,
                                  const char *shasum, const char *out,
                                  const char **h1, apr_off_t *size);

/* The archive's name a registry gives a platform's package. */
const char *tp_mirror_filename(apr_pool_t *p, const char *type,
                               const char *version, const char *os,
                               const char *arch);

/* 1 when s may be a namespace, type, os or arch: 1 to 64 of [A-Za-z0-9_-]
 * (no dots, slashes or anything a storage key or URL would mind). */
int tp_mirror_name_valid(const char *s);
/* 1 when s looks like a version: 1 to 64 of [A-Za-z0-9.+-], starting
 * with a digit. */
int tp_mirror_version_valid(const char *s);

/* ---- releases of terraform and tofu (the binary cache) ---- */

/* Where a tool's releases are (TerrapodBinaryUpstream): url/VERSION/
 * holds index.json ({"version": "1.11.4", ...}), TOOL_VERSION_SHA256SUMS,
 * its detached signature (.sig) and TOOL_VERSION_OS_ARCH.zip, as
 * releases.hashicorp.com lays them out. */
typedef struct tp_binary_upstream {
    const char *tool;
    const char *url;        /* without a trailing slash */
    const char *key_file;   /* where that key is read from */
    const char *key;        /* the armoured key the sums are signed with */
} tp_binary_upstream_t;

typedef struct tp_binary_env {
    const apr_array_header_t *upstreams;  /* of tp_binary_upstream_t */
    const apr_array_header_t *allow;
    const char *ca_file;
    apr_off_t max_archive;
} tp_binary_env_t;

/* terraform or tofu. */
int tp_binary_tool_valid(const char *tool);
const char *tp_binary_filename(apr_pool_t *p, const char *tool,
                               const char *version, const char *os,
                               const char *arch);

/* One release's zip for os/arch into the file out: the version's index
 * must name it, its SHA256SUMS must verify against the configured key, and
 * the zip's SHA-256 (*shasum) must be the one it signs. 404 when no
 * upstream is configured for tool, the version is not released or has no
 * such build; 422 when a check fails; 502 when upstream cannot be
 * read. */
tp_err_t *tp_binary_fetch(apr_pool_t *p, const tp_binary_env_t *env,
                          const char *tool, const char *version,
                          const char *os, const char *arch, const char *out,
                          const char **shasum, apr_off_t *size);

#endif
