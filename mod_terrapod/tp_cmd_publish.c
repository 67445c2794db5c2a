/* terrapod-publish: publishes registry versions from a CI pipeline. For
 * a provider it checks the zips as the server will, writes their
 * SHA256SUMS, signs it with the publisher's own key (the caller's
 * keyring) and uploads the three in the order the server demands; for a
 * module it packs the module's directory and uploads the tarball. Either
 * is created on first use. The API token comes from the environment
 * (TERRAPOD_TOKEN), never from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "tp_archive.h"
#include "tp_crypto.h"
#include "tp_gpg.h"
#include "tp_http_client.h"
#include "tp_json.h"
#include "tp_storage.h"
#include "tp_zip.h"

typedef struct args {
    apr_pool_t *p;
    const char *what;               /* "provider" or "module" */
    const char *api;                /* the management API's collection */
    const char *url, *token, *name, *version, *key, *ca_file;
    const char *provider;           /* a module's provider */
    const char *dir;                /* a module's directory */
    apr_array_header_t *zips;       /* of zip_t */
} args_t;

typedef struct zip {
    const char *path, *file, *os, *arch, *sha256;
} zip_t;

static int usage(void)
{
    fprintf(stderr,
        "usage: terrapod-publish provider --url URL --name NAME\n"
        "           --version VERSION --key KEY-ID [--ca-file FILE] ZIP...\n"
        "       terrapod-publish module --url URL --name NAME\n"
        "           --provider PROVIDER --version VERSION [--ca-file FILE]\n"
        "           DIR\n"
        "  Each ZIP is terraform-provider-NAME_VERSION_OS_ARCH.zip; the key\n"
        "  is a secret key of the caller's keyring (GNUPGHOME), registered\n"
        "  with the server as a GPG key. DIR is the module's root. The API\n"
        "  token is read from TERRAPOD_TOKEN.\n");
    return 2;
}

/* Exit 2 for what is wrong with the command's files, 1 for the rest. */
static int fail(const tp_err_t *err)
{
    fprintf(stderr, "terrapod-publish: %s\n", err->detail);
    return err->status == 2 ? 2 : 1;
}

/* OS and ARCH from a zip's file name, which must be this version's. */
static tp_err_t *name_zip(args_t *a, zip_t *z)
{
    const char *prefix = apr_psprintf(a->p, "terraform-provider-%s_%s_",
                                      a->name, a->version);
    const char *base = strrchr(z->path, '/');
    char *rest, *under;
    apr_size_t n;

    z->file = base ? base + 1 : z->path;
    n = strlen(z->file);
    if (strncmp(z->file, prefix, strlen(prefix)) || n < 4
        || strcmp(z->file + n - 4, ".zip")) {
        return tp_err(a->p, 2, "%s is not named %sOS_ARCH.zip", z->file,
                      prefix);
    }
    rest = apr_pstrndup(a->p, z->file + strlen(prefix),
                        n - 4 - strlen(prefix));
    under = strchr(rest, '_');
    if (!under || under == rest || !under[1]) {
        return tp_err(a->p, 2, "%s names no OS_ARCH", z->file);
    }
    *under = '\0';
    z->os = rest;
    z->arch = under + 1;
    return NULL;
}

/* The manifest, lines sorted by file name as release tools write it. */
static int by_file(const void *x, const void *y)
{
    return strcmp(((const zip_t *)x)->file, ((const zip_t *)y)->file);
}

static tp_err_t *manifest(args_t *a, const char **sums)
{
    const char *prefix = apr_pstrcat(a->p, "terraform-provider-", a->name,
                                     NULL);
    char *hex;
    zip_t *z;
    tp_err_t *err;
    int i;

    *sums = "";
    for (i = 0; i < a->zips->nelts; i++) {
        z = &APR_ARRAY_IDX(a->zips, i, zip_t);
        if ((err = name_zip(a, z)) != NULL
            || (err = tp_zip_check(a->p, z->path, prefix)) != NULL) {
            return err->status == 422
                   ? tp_err(a->p, 2, "%s: %s", z->file, err->detail) : err;
        }
        if (tp_sha256_file(a->p, z->path, &hex) != APR_SUCCESS) {
            return tp_err(a->p, 2, "%s cannot be read", z->path);
        }
        z->sha256 = hex;
    }
    qsort(a->zips->elts, a->zips->nelts, sizeof(zip_t), by_file);
    for (i = 0; i < a->zips->nelts; i++) {
        z = &APR_ARRAY_IDX(a->zips, i, zip_t);
        *sums = apr_pstrcat(a->p, *sums, z->sha256, "  ", z->file, "\n",
                            NULL);
    }
    return NULL;
}

/* One request to the API; any answer but a 2xx is the server's error. */
static tp_err_t *call(args_t *a, const char *method, const char *path,
                      const char *body, apr_size_t len, const char *file)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_json_t *doc;
    const char *detail;
    tp_err_t *err;

    req.method = method;
    req.url = apr_pstrcat(a->p, a->url, a->api, path, NULL);
    req.headers = apr_array_make(a->p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) =
        apr_pstrcat(a->p, "Authorization: Bearer ", a->token, NULL);
    APR_ARRAY_PUSH(req.headers, const char *) =
        body && *body == '{' ? "Content-Type: application/vnd.api+json"
                             : "Content-Type: application/octet-stream";
    req.body = body;
    req.body_len = len;
    req.body_file = file;
    req.ca_file = a->ca_file;
    req.timeout = 600;
    if ((err = tp_http_perform(a->p, &req, &resp)) != NULL) {
        return err;
    }
    if (resp.status / 100 == 2) {
        return NULL;
    }
    doc = tp_json_parse(a->p, resp.body, resp.body_len, NULL);
    detail = doc ? tp_json_gets(tp_json_at(tp_json_get(doc, "errors", NULL),
                                           0), "detail", NULL) : NULL;
    return tp_err(a->p, resp.status, "%s %s: %d %s", method, req.url,
                  resp.status, detail ? detail : "");
}

/* The provider or module at path is created with body when it does not
 * exist yet. */
static tp_err_t *ensure(args_t *a, const char *path, const char *body)
{
    tp_err_t *err = call(a, "GET", path, NULL, 0, NULL);

    if (!err || err->status != 404) {
        return err;
    }
    return call(a, "POST", "", body, strlen(body), NULL);
}

static int publish_provider(args_t *a)
{
    const char *path = apr_pstrcat(a->p, "/private/default/", a->name, NULL);
    const char *ver = apr_pstrcat(a->p, path, "/versions/", a->version, NULL);
    const char *create = apr_psprintf(a->p,
        "{\"data\":{\"type\":\"registry-providers\",\"attributes\":{"
        "\"name\":\"%s\",\"namespace\":\"default\","
        "\"registry-name\":\"private\"}}}", a->name);
    const char *sums, *sig;
    apr_size_t siglen;
    tp_err_t *err;
    zip_t *z;
    int i;

    if ((err = manifest(a, &sums)) != NULL
        || (err = tp_gpg_sign(a->p, a->key, sums, strlen(sums), &sig,
                              &siglen)) != NULL
        || (err = ensure(a, path, create)) != NULL
        || (err = call(a, "PUT", apr_pstrcat(a->p, ver, "/shasums", NULL),
                       sums, strlen(sums), NULL)) != NULL
        || (err = call(a, "PUT", apr_pstrcat(a->p, ver, "/shasums.sig", NULL),
                       sig, siglen, NULL)) != NULL) {
        return fail(err);
    }
    printf("SHA256SUMS of %s %s signed by %s\n", a->name, a->version, a->key);
    for (i = 0; i < a->zips->nelts; i++) {
        z = &APR_ARRAY_IDX(a->zips, i, zip_t);
        if ((err = call(a, "PUT", apr_pstrcat(a->p, ver, "/platforms/", z->os,
                                              "/", z->arch, NULL),
                        NULL, 0, z->path)) != NULL) {
            return fail(err);
        }
        printf("published %s\n", z->file);
    }
    return 0;
}

/* The regular files below a->dir/rel, named relative to a->dir, without
 * hidden files and directories (.terraform, .git): what a module ships. A
 * symbolic link is refused (the server accepts none). */
static tp_err_t *module_files(args_t *a, const char *rel,
                              apr_array_header_t *files)
{
    const char *path = rel ? apr_pstrcat(a->p, a->dir, "/", rel, NULL)
                           : a->dir;
    const char *name;
    apr_finfo_t fi;
    apr_dir_t *d;
    tp_err_t *err = NULL;

    if (apr_dir_open(&d, path, a->p) != APR_SUCCESS) {
        return tp_err(a->p, 2, "%s is not a readable directory", path);
    }
    while (!err && apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
                   == APR_SUCCESS) {
        if (fi.name[0] == '.') {
            continue;
        }
        name = rel ? apr_pstrcat(a->p, rel, "/", fi.name, NULL) : fi.name;
        if (fi.filetype == APR_DIR) {
            err = module_files(a, name, files);
        } else if (fi.filetype == APR_REG) {
            APR_ARRAY_PUSH(files, const char *) = name;
        } else {
            err = tp_err(a->p, 2, "%s/%s is not a regular file or directory",
                         a->dir, name);
        }
    }
    apr_dir_close(d);
    return err;
}

static int publish_module(args_t *a)
{
    const char *path = apr_pstrcat(a->p, "/private/default/", a->name, "/",
                                   a->provider, NULL);
    const char *create = apr_psprintf(a->p,
        "{\"data\":{\"type\":\"registry-modules\",\"attributes\":{"
        "\"name\":\"%s\",\"provider\":\"%s\","
        "\"registry-name\":\"private\"}}}", a->name, a->provider);
    apr_array_header_t *files = apr_array_make(a->p, 16, sizeof(char *));
    const char *tarball;
    tp_err_t *err;

    if ((err = module_files(a, NULL, files)) != NULL
        || (err = tp_temp_file(a->p, "terrapod-publish", &tarball)) != NULL
        || (err = tp_archive_write(a->p, a->dir, files, tarball)) != NULL
        || (err = ensure(a, path, create)) != NULL
        || (err = call(a, "PUT", apr_pstrcat(a->p, path, "/versions/",
                                             a->version, "/upload", NULL),
                       NULL, 0, tarball)) != NULL) {
        return fail(err);
    }
    printf("published %s/%s %s (%d files)\n", a->name, a->provider,
           a->version, files->nelts);
    return 0;
}

enum { OPT_URL = 256, OPT_NAME, OPT_VERSION, OPT_KEY, OPT_CA_FILE,
       OPT_PROVIDER };

static int parse(args_t *a, apr_getopt_t *g)
{
    static const apr_getopt_option_t opts[] = {
        {"url", OPT_URL, 1, "the server's address"},
        {"name", OPT_NAME, 1, "the provider's name"},
        {"version", OPT_VERSION, 1, "the version published"},
        {"key", OPT_KEY, 1, "the signing key"},
        {"ca-file", OPT_CA_FILE, 1, "CA certificates to trust"},
        {"provider", OPT_PROVIDER, 1, "a module's provider"},
        {NULL, 0, 0, NULL}
    };
    const char *arg;
    int opt;
    apr_status_t rv;

    while ((rv = apr_getopt_long(g, opts, &opt, &arg)) == APR_SUCCESS) {
        switch (opt) {
        case OPT_URL: a->url = arg; break;
        case OPT_NAME: a->name = arg; break;
        case OPT_VERSION: a->version = arg; break;
        case OPT_KEY: a->key = arg; break;
        case OPT_CA_FILE: a->ca_file = arg; break;
        case OPT_PROVIDER: a->provider = arg; break;
        }
    }
    if (rv != APR_EOF || !a->url || !a->name || !a->version) {
        return 0;
    }
    if (strcmp(a->what, "module") == 0) {
        a->dir = g->ind + 1 == g->argc ? g->argv[g->ind] : NULL;
        return a->provider && !a->key && a->dir;
    }
    for (; g->ind < g->argc; g->ind++) {
        zip_t *z = apr_array_push(a->zips);

        memset(z, 0, sizeof(*z));
        z->path = g->argv[g->ind];
    }
    return a->key && !a->provider && a->zips->nelts > 0;
}

int main(int argc, const char *const *argv)
{
    apr_getopt_t *g;
    args_t a;
    apr_size_t n;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    memset(&a, 0, sizeof(a));
    apr_pool_create(&a.p, NULL);
    a.zips = apr_array_make(a.p, 8, sizeof(zip_t));
    if (argc < 2
        || (strcmp(argv[1], "provider") && strcmp(argv[1], "module"))) {
        return usage();
    }
    a.what = argv[1];
    a.api = strcmp(a.what, "module") == 0
            ? "/api/terrapod/v1/registry-modules"
            : "/api/terrapod/v1/registry-providers";
    apr_getopt_init(&g, a.p, argc - 1, argv + 1);
    if (!parse(&a, g)) {
        return usage();
    }
    a.token = getenv("TERRAPOD_TOKEN");
    if (!a.token || !*a.token) {
        fprintf(stderr, "terrapod-publish: set TERRAPOD_TOKEN to an API "
                "token with registry write on the %s\n", a.what);
        return 2;
    }
    n = strlen(a.url);
    a.url = apr_pstrndup(a.p, a.url, n && a.url[n - 1] == '/' ? n - 1 : n);
    if (tp_http_global_init() != APR_SUCCESS) {
        fprintf(stderr, "terrapod-publish: libcurl cannot start\n");
        return 1;
    }
    return strcmp(a.what, "module") == 0 ? publish_module(&a)
                                         : publish_provider(&a);
}
