/* The terraform a phase runs: the listener's own, or the version its
 * workspace pins, fetched once from the server's binary cache, checked
 * against the SHA-256 the server gives and kept in the state directory
 * (binaries/terraform/VERSION/terraform) for the phases after it. */
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_file_io.h>
#include "tpl.h"
#include "tp_crypto.h"

#define LARGEST_RELEASE ((apr_off_t)1 << 30)
#define VERSION_TIMEOUT_SEC 30

int tpl_version_exact(const char *v)
{
    const char *s = v;
    int part;

    if (!v || strlen(v) > 64) {
        return 0;
    }
    /* MAJOR.MINOR.PATCH, each one or more digits */
    for (part = 0; part < 3; part++) {
        if (!apr_isdigit(*s)) {
            return 0;
        }
        while (apr_isdigit(*s)) {
            s++;
        }
        if (part < 2 && *s++ != '.') {
            return 0;
        }
    }
    /* then nothing, or a pre-release or build suffix */
    if (*s && *s != '-' && *s != '+') {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isalnum(*s) && !strchr(".-+", *s)) {
            return 0;
        }
    }
    return 1;
}

const char *tpl_platform(apr_pool_t *p)
{
    struct utsname u;
    const char *arch;

    if (uname(&u) != 0) {
        return "linux_amd64";
    }
    arch = !strcmp(u.machine, "x86_64") ? "amd64"
           : !strcmp(u.machine, "aarch64") ? "arm64" : u.machine;
    return apr_pstrcat(p, "linux_", arch, NULL);
}

/* The version of the listener's own terraform (NULL when it cannot
 * tell), from terraform version -json. */
static const char *own_version(apr_pool_t *p, const tpl_config_t *cfg,
                               const char *scratch, char **envp)
{
    const char *argv[] = {cfg->terraform, "version", "-json", NULL};
    const char *out = apr_pstrcat(p, scratch, "/version.json", NULL);
    const char *errs = apr_pstrcat(p, scratch, "/version.err", NULL);
    char *buf;
    apr_size_t len;
    apr_file_t *f;

    if (tpl_exec_to_file(argv, envp, scratch, out, errs, VERSION_TIMEOUT_SEC,
                         NULL) != 0
        || apr_file_open(&f, out, APR_FOPEN_READ, APR_OS_DEFAULT, p)
           != APR_SUCCESS) {
        return NULL;
    }
    buf = apr_palloc(p, 4096);
    len = 4095;
    apr_file_read_full(f, buf, len, &len);
    apr_file_close(f);
    return tp_json_gets(tp_json_parse(p, buf, len, NULL),
                        "terraform_version", NULL);
}

/* Downloads version from the binary cache into the kept path. */
static tp_err_t *fetch(apr_pool_t *p, tpl_ctx_t *c, const char *version,
                       const char *scratch, const char *dir,
                       const char *path)
{
    const char *platform = tpl_platform(p);
    const char *zip = apr_pstrcat(p, scratch, "/terraform.zip", NULL);
    const char *tmp = apr_psprintf(p, "%s/terraform.%ld", dir,
                                   (long)getpid());
    const char *want, *slash = strchr(platform, '_');
    char *got = NULL;
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_err_t *err;

    req.out_file = zip;
    req.max_file = LARGEST_RELEASE;
    req.follow = 1;
    req.timeout = 600;
    tpl_runner_token_refresh(c);
    if ((err = tpl_call(p, c, TPL_AUTH_BEARER, &req,
                        apr_psprintf(p, "/binary-cache/terraform/%s/%.*s/%s",
                                     version, (int)(slash - platform),
                                     platform, slash + 1), NULL, &resp))
        != NULL) {
        return err;
    }
    if (resp.status != 200) {
        return tp_err(p, 502, "the server's binary cache has no terraform %s "
                      "for %s (HTTP %d)", version, platform, resp.status);
    }
    want = apr_table_get(resp.headers, "X-Checksum-SHA256");
    if (tp_sha256_file(p, zip, &got) != APR_SUCCESS) {
        return tp_err(p, 500, "cannot read %s", zip);
    }
    if (!want || strcmp(want, got) != 0) {
        return tp_err(p, 502, "terraform %s from the binary cache is not "
                      "what the server says it sent (SHA-256 %s)", version,
                      got);
    }
    if (apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT & 0700, p)
        != APR_SUCCESS) {
        return tp_err(p, 500, "cannot create %s", dir);
    }
    unlink(tmp);
    if ((err = tp_archive_unzip_one(p, zip, "terraform", tmp,
                                    LARGEST_RELEASE)) != NULL) {
        return err;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return tp_err(p, 500, "cannot keep %s: %s", path, strerror(errno));
    }
    return NULL;
}

tp_err_t *tpl_terraform_for(apr_pool_t *p, tpl_ctx_t *c, const char *version,
                            const char *scratch, char **envp,
                            const char **tf, const char **note)
{
    const char *own, *dir, *path;
    tp_err_t *err;

    *tf = c->cfg->terraform;
    *note = NULL;
    if (!tpl_version_exact(version)
        || ((own = own_version(p, c->cfg, scratch, envp)) != NULL
            && strcmp(own, version) == 0)) {
        return NULL;
    }
    dir = apr_pstrcat(p, c->cfg->state_dir, "/binaries/terraform/", version,
                      NULL);
    path = apr_pstrcat(p, dir, "/terraform", NULL);
    if (access(path, X_OK) == 0) {
        *tf = path;
        *note = apr_psprintf(p, "terraform %s, kept by this listener from "
                             "the binary cache", version);
        return NULL;
    }
    if ((err = fetch(p, c, version, scratch, dir, path)) != NULL) {
        return err;
    }
    *tf = path;
    *note = apr_psprintf(p, "terraform %s, fetched from the server's binary "
                         "cache and checked", version);
    return NULL;
}
