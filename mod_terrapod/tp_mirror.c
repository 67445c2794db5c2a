/* The upstream registry as the network mirror reads it: providers.v1 as
 * terraform speaks it, with every SHA256SUMS checked against its signature
 * before anything in it is believed. */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_uri.h>
#include "tp_http_client.h"
#include "tp_mirror.h"
#include "tp_outbound.h"
#include "tp_crypto.h"
#include "tp_gpg.h"
#include "tp_zip.h"

#define MAX_REDIRECTS 5
#define NAME_MAX_LEN 64

static int all_of(const char *s, const char *extra)
{
    apr_size_t n = s ? strlen(s) : 0, i;

    if (n == 0 || n > NAME_MAX_LEN) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isalnum(s[i]) && !strchr(extra, s[i])) {
            return 0;
        }
    }
    return 1;
}

int tp_mirror_name_valid(const char *s)
{
    return all_of(s, "_-");
}

int tp_mirror_version_valid(const char *s)
{
    return all_of(s, ".+-") && apr_isdigit(*s);
}

const char *tp_mirror_filename(apr_pool_t *p, const char *type,
                               const char *version, const char *os,
                               const char *arch)
{
    return apr_psprintf(p, "terraform-provider-%s_%s_%s_%s.zip", type,
                        version, os, arch);
}

const char *tp_url_resolve(apr_pool_t *p, const char *base, const char *ref)
{
    apr_uri_t u;
    const char *slash;

    if (strchr(ref, ':') && strcspn(ref, ":") < strcspn(ref, "/?#")) {
        return ref;                             /* absolute */
    }
    if (apr_uri_parse(p, base, &u) != APR_SUCCESS || !u.scheme
        || !u.hostinfo) {
        return ref;
    }
    if (strncmp(ref, "//", 2) == 0) {
        return apr_pstrcat(p, u.scheme, ":", ref, NULL);
    }
    if (*ref == '/') {
        return apr_pstrcat(p, u.scheme, "://", u.hostinfo, ref, NULL);
    }
    slash = u.path ? strrchr(u.path, '/') : NULL;
    return apr_pstrcat(p, u.scheme, "://", u.hostinfo,
                       slash ? apr_pstrmemdup(p, u.path,
                                              (apr_size_t)(slash - u.path)
                                              + 1)
                             : "/", ref, NULL);
}

tp_err_t *tp_outside_get(apr_pool_t *p, const char *url,
                         const apr_array_header_t *allow, const char *ca_file,
                         const char *out_file, apr_off_t max_file,
                         tp_http_resp_t *resp)
{
    tp_outbound_target_t t;
    tp_http_req_t req;
    const char *location;
    tp_err_t *err;
    int hops;

    for (hops = 0; hops <= MAX_REDIRECTS; hops++) {
        if ((err = tp_outbound_check(p, url, "http,https", allow, &t))
            != NULL) {
            return err;
        }
        memset(&req, 0, sizeof(req));
        req.url = url;
        req.resolve = t.resolve;
        req.ca_extra_file = ca_file;
        req.out_file = out_file;
        req.max_file = max_file;
        req.max_body = TP_MIRROR_MAX_DOC;
        req.timeout = out_file ? 600 : 30;
        if ((err = tp_http_perform(p, &req, resp)) != NULL) {
            return err;
        }
        location = apr_table_get(resp->headers, "Location");
        if (resp->status / 100 != 3 || !location) {
            return NULL;
        }
        url = tp_url_resolve(p, url, location);
    }
    return tp_err(p, 502, "%s redirects more than %d times", url,
                  MAX_REDIRECTS);
}

/* A JSON document of upstream's at url: 404 passed on, anything else
 * but 200 and unparsable answers are 502. */
static tp_err_t *get_json(apr_pool_t *p, const tp_mirror_env_t *env,
                          const char *url, tp_json_t **doc)
{
    tp_http_resp_t resp;
    const char *why;
    tp_err_t *err;

    if ((err = tp_outside_get(p, url, env->allow, env->ca_file, NULL, 0,
                              &resp)) != NULL) {
        return err->status == 422 ? err
               : tp_err_internal(p, 502, apr_psprintf(p, "upstream %s "
                                 "cannot be reached", env->host),
                                 err->log ? err->log : err->detail);
    }
    if (resp.status == 404) {
        return tp_err(p, 404, "upstream %s has no %s", env->host, url);
    }
    if (resp.status != 200) {
        return tp_err(p, 502, "upstream %s answered %d to %s", env->host,
                      resp.status, url);
    }
    if (!(*doc = tp_json_parse(p, resp.body, resp.body_len, &why))
        || tp_json_type(*doc, NULL) != TP_JSON_OBJECT) {
        return tp_err(p, 502, "upstream %s answered no JSON object to %s",
                      env->host, url);
    }
    return NULL;
}

/* The providers.v1 URL of upstream's discovery document, ending in '/'. */
static tp_err_t *providers_base(apr_pool_t *p, const tp_mirror_env_t *env,
                                const char **base)
{
    const char *disco = apr_pstrcat(p, env->url,
                                    "/.well-known/terraform.json", NULL);
    const char *svc;
    tp_json_t *doc;
    tp_err_t *err;

    if ((err = get_json(p, env, disco, &doc)) != NULL) {
        return err->status == 404
               ? tp_err(p, 502, "%s has no service discovery document",
                        env->host)
               : err;
    }
    if (!(svc = tp_json_gets(doc, "providers.v1", NULL)) || !*svc) {
        return tp_err(p, 502, "%s offers no provider registry (no "
                      "providers.v1 in its discovery document)", env->host);
    }
    svc = tp_url_resolve(p, disco, svc);
    *base = svc[strlen(svc) - 1] == '/' ? svc : apr_pstrcat(p, svc, "/",
                                                            NULL);
    return NULL;
}

tp_err_t *tp_mirror_versions(apr_pool_t *p, const tp_mirror_env_t *env,
                             const char *ns, const char *type,
                             tp_json_t **versions)
{
    const char *base;
    tp_json_t *doc, *list, *v;
    apr_size_t i, n;
    tp_err_t *err;

    if ((err = providers_base(p, env, &base)) != NULL
        || (err = get_json(p, env, apr_pstrcat(p, base, ns, "/", type,
                                               "/versions", NULL),
                           &doc)) != NULL) {
        return err;
    }
    list = tp_json_get(doc, "versions", NULL);
    if (tp_json_type(list, NULL) != TP_JSON_ARRAY) {
        return tp_err(p, 502, "%s answered no versions list for %s/%s",
                      env->host, ns, type);
    }
    *versions = tp_json_array(p);
    n = tp_json_len(list);
    for (i = 0; i < n; i++) {
        v = tp_json_at(list, i);
        if (tp_mirror_version_valid(tp_json_gets(v, "version", NULL))) {
            tp_json_push(*versions, v);
        }
    }
    return NULL;
}

tp_err_t *tp_mirror_download(apr_pool_t *p, const tp_mirror_env_t *env,
                             const char *ns, const char *type,
                             const char *version, const char *os,
                             const char *arch, tp_json_t **doc)
{
    static const char *const urls[] = {
        "download_url", "shasums_url", "shasums_signature_url", NULL
    };
    const char *base, *url, *shasum;
    int i;
    tp_err_t *err;

    if ((err = providers_base(p, env, &base)) != NULL) {
        return err;
    }
    url = apr_pstrcat(p, base, ns, "/", type, "/", version, "/download/", os,
                      "/", arch, NULL);
    if ((err = get_json(p, env, url, doc)) != NULL) {
        return err;
    }
    shasum = tp_json_gets(*doc, "shasum", NULL);
    if (!shasum || strlen(shasum) != 64 || !tp_is_hex(shasum)) {
        return tp_err(p, 502, "%s gave no usable shasum for %s/%s %s %s_%s",
                      env->host, ns, type, version, os, arch);
    }
    for (i = 0; urls[i]; i++) {
        const char *u = tp_json_gets(*doc, urls[i], NULL);

        if (!u || !*u) {
            return tp_err(p, 502, "%s gave no %s for %s/%s %s", env->host,
                          urls[i], ns, type, version);
        }
        tp_json_sets(*doc, tp_url_resolve(p, url, u), urls[i], NULL);
    }
    return NULL;
}

/* A small file of upstream's (SHA256SUMS, its signature). */
static tp_err_t *get_small(apr_pool_t *p, const tp_mirror_env_t *env,
                           const char *url, const char **buf, apr_size_t *len)
{
    tp_http_resp_t resp;
    tp_err_t *err;

    if ((err = tp_outside_get(p, url, env->allow, env->ca_file, NULL, 0,
                              &resp)) != NULL) {
        return err->status == 422 ? err
               : tp_err_internal(p, 502, apr_psprintf(p, "%s cannot be "
                                 "fetched", url),
                                 err->log ? err->log : err->detail);
    }
    if (resp.status != 200) {
        return tp_err(p, 502, "%s answered %d", url, resp.status);
    }
    *buf = resp.body;
    *len = resp.body_len;
    return NULL;
}

tp_err_t *tp_mirror_verified_sums(apr_pool_t *p, const tp_mirror_env_t *env,
                                  const tp_json_t *doc, const char **sums,
                                  apr_size_t *len, const char **key_id)
{
    const tp_json_t *keys = tp_json_get(doc, "signing_keys",
                                        "gpg_public_keys", NULL);
    apr_array_header_t *armors = apr_array_make(p, 2, sizeof(char *));
    const char *sig;
    apr_size_t siglen, i, n = tp_json_len(keys);
    tp_err_t *err;

    for (i = 0; i < n; i++) {
        const char *a = tp_json_gets(tp_json_at(keys, i), "ascii_armor",
                                     NULL);

        if (a && *a) {
            APR_ARRAY_PUSH(armors, const char *) = a;
        }
    }
    if (armors->nelts == 0) {
        return tp_err(p, 422, "%s gave no signing key: its SHA256SUMS cannot "
                      "be verified", env->host);
    }
    if ((err = get_small(p, env, tp_json_gets(doc, "shasums_url", NULL),
                         sums, len)) != NULL
        || (err = get_small(p, env, tp_json_gets(doc,
                                                 "shasums_signature_url",
                                                 NULL), &sig, &siglen))
           != NULL) {
        return err;
    }
    if ((err = tp_gpg_verify(p, (const char *const *)armors->elts,
                             armors->nelts, *sums, *len, sig, siglen,
                             key_id)) != NULL) {
        return tp_err(p, 422, "the SHA256SUMS of %s does not verify against "
                      "the keys %s gives: %s",
                      tp_json_gets(doc, "filename", NULL), env->host,
                      err->detail);
    }
    return NULL;
}

/* The SHA-256 of a file just fetched. */
static tp_err_t *hash_of(apr_pool_t *p, const char *path, char **hex)
{
    return tp_sha256_file(p, path, hex) == APR_SUCCESS
           ? NULL : tp_err_internal(p, 500, "cannot read a fetched file",
                                    apr_psprintf(p, "read %s", path));
}

tp_err_t *tp_mirror_fetch_archive(apr_pool_t *p, const tp_mirror_env_t *env,
                                  const tp_json_t *doc, const char *type,
                                  const char *shasum, const char *out,
                                  const char **h1, apr_off_t *size)
{
    const char *url = tp_json_gets(doc, "download_url", NULL);
    char *got = NULL;
    tp_http_resp_t resp;
    apr_finfo_t fi;
    tp_err_t *err;

    if ((err = tp_outside_get(p, url, env->allow, env->ca_file, out,
                              env->max_archive, &resp)) != NULL) {
        return err->status == 413 || err->status == 422 ? err
               : tp_err_internal(p, 502, apr_psprintf(p, "%s cannot be "
                                 "fetched", url),
                                 err->log ? err->log : err->detail);
    }
    if (resp.status != 200) {
        return tp_err(p, 502, "%s answered %d", url, resp.status);
    }
    if ((err = hash_of(p, out, &got)) != NULL) {
        return err;
    }
    if (strcmp(got, shasum) != 0) {
        return tp_err(p, 422, "the archive %s is not the one its signed "
                      "SHA256SUMS names (SHA-256 %s, signed %s)",
                      tp_json_gets(doc, "filename", NULL), got, shasum);
    }
    if ((err = tp_zip_check(p, out, apr_pstrcat(p, "terraform-provider-",
                                                type, NULL))) != NULL
        || (err = tp_zip_h1(p, out, h1)) != NULL) {
        return err;
    }
    if (apr_stat(&fi, out, APR_FINFO_SIZE, p) != APR_SUCCESS) {
        return tp_err_internal(p, 500, "cannot read a fetched archive",
                               apr_psprintf(p, "stat %s", out));
    }
    *size = fi.size;
    return NULL;
}

/* ---- releases of terraform and tofu (the binary cache) ---- */

int tp_binary_tool_valid(const char *tool)
{
    return tool && (strcmp(tool, "terraform") == 0
                    || strcmp(tool, "tofu") == 0);
}

const char *tp_binary_filename(apr_pool_t *p, const char *tool,
                               const char *version, const char *os,
                               const char *arch)
{
    return apr_psprintf(p, "%s_%s_%s_%s.zip", tool, version, os, arch);
}

/* 404 unless upstream's index of the version (VERSION/index.json, as
 * releases.hashicorp.com publishes one per release) names it. */
static tp_err_t *release_listed(apr_pool_t *p, const tp_binary_env_t *env,
                                const tp_binary_upstream_t *up,
                                const char *version)
{
    tp_mirror_env_t as = {up->url, up->url, env->allow, env->ca_file, 0};
    const char *v;
    tp_json_t *index;
    tp_err_t *err;

    if ((err = get_json(p, &as, apr_pstrcat(p, up->url, "/", version,
                                            "/index.json", NULL),
                        &index)) != NULL) {
        return err->status == 404
               ? tp_err(p, 404, "%s %s is not among the releases of %s",
                        up->tool, version, up->url) : err;
    }
    if (!(v = tp_json_gets(index, "version", NULL)) || strcmp(v, version)) {
        return tp_err(p, 502, "the index of %s %s at %s names another "
                      "version", up->tool, version, up->url);
    }
    return NULL;
}

tp_err_t *tp_binary_fetch(apr_pool_t *p, const tp_binary_env_t *env,
                          const char *tool, const char *version,
                          const char *os, const char *arch, const char *out,
                          const char **shasum, apr_off_t *size)
{
    const tp_binary_upstream_t *up = NULL;
    const char *file = tp_binary_filename(p, tool, version, os, arch);
    tp_mirror_env_t as;
    const char *dir, *sums, *sig, *key_id;
    char *got = NULL;
    apr_size_t len, siglen;
    tp_http_resp_t resp;
    apr_finfo_t fi;
    tp_err_t *err;
    int i;

    for (i = 0; env->upstreams && i < env->upstreams->nelts; i++) {
        const tp_binary_upstream_t *u = &APR_ARRAY_IDX(env->upstreams, i,
                                                       tp_binary_upstream_t);

        if (strcmp(u->tool, tool) == 0) {
            up = u;
        }
    }
    if (!up) {
        return tp_err(p, 404, "no releases of %s are configured "
                      "(TerrapodBinaryUpstream)", tool);
    }
    memset(&as, 0, sizeof(as));
    as.host = up->url;
    as.allow = env->allow;
    as.ca_file = env->ca_file;
    dir = apr_pstrcat(p, up->url, "/", version, "/", tool, "_", version,
                      NULL);
    if ((err = release_listed(p, env, up, version)) != NULL
        || (err = get_small(p, &as, apr_pstrcat(p, dir, "_SHA256SUMS", NULL),
                            &sums, &len)) != NULL
        || (err = get_small(p, &as, apr_pstrcat(p, dir, "_SHA256SUMS.sig",
                                                NULL), &sig, &siglen))
           != NULL) {
        return err;
    }
    if ((err = tp_gpg_verify(p, &up->key, 1, sums, len, sig, siglen,
                             &key_id)) != NULL) {
        return tp_err(p, 422, "the SHA256SUMS of %s %s does not verify "
                      "against the key TerrapodBinaryUpstream names: %s",
                      tool, version, err->detail);
    }
    if ((err = tp_shasums_find(p, sums, len, file, shasum)) != NULL) {
        return err;
    }
    if (!*shasum) {
        return tp_err(p, 404, "%s %s has no build for %s_%s", tool, version,
                      os, arch);
    }
    if ((err = tp_outside_get(p, apr_pstrcat(p, up->url, "/", version, "/",
                                             file, NULL),
                              env->allow, env->ca_file, out, env->max_archive,
                              &resp)) != NULL) {
        return err;
    }
    if (resp.status != 200) {
        return tp_err(p, 502, "%s answered %d for %s", up->url, resp.status,
                      file);
    }
    if ((err = hash_of(p, out, &got)) != NULL) {
        return err;
    }
    if (strcmp(got, *shasum) != 0) {
        return tp_err(p, 422, "%s is not the one its signed SHA256SUMS names "
                      "(SHA-256 %s, signed %s)", file, got, *shasum);
    }
    if (apr_stat(&fi, out, APR_FINFO_SIZE, p) != APR_SUCCESS) {
        return tp_err_internal(p, 500, "cannot read a fetched release",
                               apr_psprintf(p, "stat %s", out));
    }
    *size = fi.size;
    return NULL;
}
