/* Public key parsing and detached signature checks through gpgme. Each
 * call imports what it was given into a fresh GNUPGHOME under the
 * temporary directory, asks gpg there, and removes it: no shared keyring,
 * no trust database that outlives the call, no agent (gpg.conf forbids
 * starting one, so a secret key cannot be stored anywhere). Signing alone
 * runs in the caller's own home, where its secret key is. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <ftw.h>
#include <pthread.h>
#include <gpgme.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include "tp_gpg.h"

#define PUBLIC_ARMOR "-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define SECRET_ARMOR "-----BEGIN PGP PRIVATE KEY BLOCK-----"

typedef struct gpg {
    apr_pool_t *p;          /* the caller's: errors and results */
    gpgme_ctx_t ctx;
} gpg_t;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *engine_version;

static void gpg_init(void)
{
    engine_version = gpgme_check_version(NULL);
    if (engine_version
        && gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP)
           != GPG_ERR_NO_ERROR) {
        engine_version = NULL;
    }
}

static tp_err_t *failed(apr_pool_t *p, const char *what, gpgme_error_t e)
{
    return tp_err_internal(p, 500, "the OpenPGP check could not be made",
                           apr_psprintf(p, "gpgme %s: %s", what,
                                        gpgme_strerror(e)));
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static apr_status_t remove_home(void *dir)
{
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return APR_SUCCESS;
}

static apr_status_t release_ctx(void *ctx)
{
    gpgme_release(ctx);
    return APR_SUCCESS;
}

static apr_status_t release_data(void *d)
{
    gpgme_data_release(d);
    return APR_SUCCESS;
}

/* A context over a new, empty home that goes with sp (the context first,
 * since cleanups run in reverse). */
static tp_err_t *gpg_open(apr_pool_t *p, apr_pool_t *sp, gpg_t *g)
{
    const char *tmp;
    char *home;
    apr_file_t *conf;
    gpgme_error_t e;

    pthread_once(&once, gpg_init);
    g->p = p;
    if (!engine_version) {
        return tp_err_internal(p, 500, "the OpenPGP check could not be made",
                               "gpgme: no usable gpg engine");
    }
    if (apr_temp_dir_get(&tmp, sp) != APR_SUCCESS
        || !(home = mkdtemp(apr_pstrcat(sp, tmp, "/tp-gpg-XXXXXX", NULL)))) {
        return tp_err_internal(p, 500, "the OpenPGP check could not be made",
                               "gpg: no temporary home directory");
    }
    apr_pool_cleanup_register(sp, home, remove_home, apr_pool_cleanup_null);
    if (apr_file_open(&conf, apr_pstrcat(sp, home, "/gpg.conf", NULL),
                      APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                      APR_FPROT_UREAD | APR_FPROT_UWRITE, sp) != APR_SUCCESS
        || apr_file_puts("no-autostart\n", conf) != APR_SUCCESS
        || apr_file_close(conf) != APR_SUCCESS) {
        return tp_err_internal(p, 500, "the OpenPGP check could not be made",
                               "gpg: cannot write gpg.conf");
    }
    if ((e = gpgme_new(&g->ctx)) != GPG_ERR_NO_ERROR) {
        return failed(p, "new", e);
    }
    apr_pool_cleanup_register(sp, g->ctx, release_ctx, apr_pool_cleanup_null);
    if ((e = gpgme_set_protocol(g->ctx, GPGME_PROTOCOL_OpenPGP))
            != GPG_ERR_NO_ERROR
        || (e = gpgme_ctx_set_engine_info(g->ctx, GPGME_PROTOCOL_OpenPGP,
                                          NULL, home)) != GPG_ERR_NO_ERROR) {
        return failed(p, "engine", e);
    }
    return NULL;
}

static tp_err_t *data_of(gpg_t *g, apr_pool_t *sp, const char *buf,
                         apr_size_t len, gpgme_data_t *d)
{
    gpgme_error_t e = gpgme_data_new_from_mem(d, buf, len, 0);

    if (e != GPG_ERR_NO_ERROR) {
        return failed(g->p, "data", e);
    }
    apr_pool_cleanup_register(sp, *d, release_data, apr_pool_cleanup_null);
    return NULL;
}

/* The armour header, after any leading white space, tells a public key
 * from a secret one or from something else. */
static tp_err_t *armor_check(apr_pool_t *p, const char *armor, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len && apr_isspace(armor[i])) {
        i++;
    }
    if (len - i >= sizeof(SECRET_ARMOR) - 1
        && !memcmp(armor + i, SECRET_ARMOR, sizeof(SECRET_ARMOR) - 1)) {
        return tp_err(p, 422, "this is a private key: give the public key "
                      "(gpg --armor --export KEY-ID)");
    }
    if (len - i < sizeof(PUBLIC_ARMOR) - 1
        || memcmp(armor + i, PUBLIC_ARMOR, sizeof(PUBLIC_ARMOR) - 1)) {
        return tp_err(p, 422, "not an ASCII-armoured OpenPGP public key "
                      "(\"" PUBLIC_ARMOR "\")");
    }
    return NULL;
}

/* Imports one armoured key; secret material is refused even under a
 * public key header. *count is how many keys it held. */
static tp_err_t *import(gpg_t *g, apr_pool_t *sp, const char *armor,
                        apr_size_t len, int *count)
{
    gpgme_data_t d;
    gpgme_import_result_t res;
    gpgme_error_t e;
    tp_err_t *err;

    if ((err = armor_check(g->p, armor, len))
        || (err = data_of(g, sp, armor, len, &d))) {
        return err;
    }
    e = gpgme_op_import(g->ctx, d);
    res = gpgme_op_import_result(g->ctx);
    if (e != GPG_ERR_NO_ERROR || !res) {
        return tp_err(g->p, 422, "the OpenPGP public key could not be read "
                      "(%s)", gpgme_strerror(e));
    }
    if (res->secret_read > 0) {
        return tp_err(g->p, 422, "the key holds secret key material: give "
                      "the public key only (gpg --armor --export KEY-ID)");
    }
    if (res->considered == 0 || res->not_imported > 0) {
        return tp_err(g->p, 422, "the armour holds no usable OpenPGP public "
                      "key");
    }
    *count = res->considered;
    return NULL;
}

static tp_gpg_key_t *key_of(apr_pool_t *p, gpgme_key_t k)
{
    tp_gpg_key_t *key = apr_pcalloc(p, sizeof(*key));

    key->key_id = apr_pstrdup(p, k->subkeys->keyid);
    key->fingerprint = apr_pstrdup(p, k->subkeys->fpr);
    return key;
}

tp_err_t *tp_gpg_key_parse(apr_pool_t *p, const char *armor, apr_size_t len,
                           tp_gpg_key_t **key)
{
    apr_pool_t *sp;
    gpg_t g;
    gpgme_key_t k;
    gpgme_error_t e;
    tp_err_t *err;
    int count = 0, listed = 0;

    apr_pool_create(&sp, p);
    *key = NULL;
    if (!(err = gpg_open(p, sp, &g))
        && !(err = import(&g, sp, armor, len, &count))) {
        if (count != 1) {
            err = tp_err(p, 422, "the armour holds %d keys: give exactly one",
                         count);
        } else if ((e = gpgme_op_keylist_start(g.ctx, NULL, 0))
                   != GPG_ERR_NO_ERROR) {
            err = failed(p, "keylist", e);
        } else {
            while (gpgme_op_keylist_next(g.ctx, &k) == GPG_ERR_NO_ERROR) {
                if (listed++ == 0 && k->subkeys) {
                    *key = key_of(p, k);
                }
                gpgme_key_unref(k);
            }
            gpgme_op_keylist_end(g.ctx);
        }
    }
    if (!err && (listed != 1 || !*key)) {
        *key = NULL;
        err = tp_err(p, 422, "the armour does not hold exactly one primary "
                     "key");
    }
    if (!err) {
        (*key)->armor = apr_pstrmemdup(p, armor, len);
    }
    apr_pool_destroy(sp);
    return err;
}

/* The primary key id of the key whose (sub)key fingerprint is fpr. */
static const char *primary_id(gpg_t *g, const char *fpr)
{
    gpgme_key_t k;
    const char *id = NULL;

    if (gpgme_get_key(g->ctx, fpr, &k, 0) == GPG_ERR_NO_ERROR) {
        if (k->subkeys) {
            id = apr_pstrdup(g->p, k->subkeys->keyid);
        }
        gpgme_key_unref(k);
    }
    return id;
}

/* Every signature must be good and made by an imported key. */
static tp_err_t *judge(gpg_t *g, gpgme_verify_result_t res,
                       const char **key_id)
{
    gpgme_signature_t s;
    const char *id;

    if (!res || !res->signatures) {
        return tp_err(g->p, 422, "no OpenPGP signature found");
    }
    for (s = res->signatures; s; s = s->next) {
        if (gpgme_err_code(s->status) == GPG_ERR_NO_PUBKEY) {
            return tp_err(g->p, 422, "the signature was made by key %s, "
                          "which is not registered",
                          s->fpr ? s->fpr : "(unknown)");
        }
        if (gpgme_err_code(s->status) != GPG_ERR_NO_ERROR) {
            return tp_err(g->p, 422, "the signature does not verify (%s)",
                          gpgme_strerror(s->status));
        }
        if (!s->fpr || !(id = primary_id(g, s->fpr))) {
            return tp_err(g->p, 422, "the signing key could not be "
                          "identified");
        }
        if (s == res->signatures) {
            *key_id = id;
        }
    }
    return NULL;
}

tp_err_t *tp_gpg_verify(apr_pool_t *p, const char *const *armors, int n,
                        const char *data, apr_size_t len,
                        const char *sig, apr_size_t siglen,
                        const char **key_id)
{
    apr_pool_t *sp;
    gpg_t g;
    gpgme_data_t dsig, dtext;
    gpgme_error_t e;
    tp_err_t *err;
    int i, count;

    apr_pool_create(&sp, p);
    *key_id = NULL;
    err = gpg_open(p, sp, &g);
    for (i = 0; !err && i < n; i++) {
        err = import(&g, sp, armors[i], strlen(armors[i]), &count);
    }
    if (!err && n < 1) {
        err = tp_err(p, 422, "no registered key to verify the signature "
                     "with");
    }
    if (!err && !(err = data_of(&g, sp, sig, siglen, &dsig))
        && !(err = data_of(&g, sp, data, len, &dtext))) {
        e = gpgme_op_verify(g.ctx, dsig, dtext, NULL);
        if (e != GPG_ERR_NO_ERROR) {
            err = tp_err(p, 422, "not a valid OpenPGP detached signature "
                         "(%s)", gpgme_strerror(e));
        } else {
            err = judge(&g, gpgme_op_verify_result(g.ctx), key_id);
        }
    }
    if (err) {
        *key_id = NULL;
    }
    apr_pool_destroy(sp);
    return err;
}

tp_err_t *tp_gpg_sign(apr_pool_t *p, const char *signer, const char *data,
                      apr_size_t len, const char **sig, apr_size_t *siglen)
{
    apr_pool_t *sp;
    gpgme_key_t key = NULL;
    gpgme_data_t in, out = NULL;
    gpgme_error_t e;
    gpg_t g;
    char *mem;
    size_t n;
    tp_err_t *err = NULL;

    pthread_once(&once, gpg_init);
    *sig = NULL;
    *siglen = 0;
    if (!engine_version) {
        return tp_err_internal(p, 500, "the signature could not be made",
                               "gpgme: no usable gpg engine");
    }
    apr_pool_create(&sp, p);
    g.p = p;
    if ((e = gpgme_new(&g.ctx)) != GPG_ERR_NO_ERROR) {
        apr_pool_destroy(sp);
        return failed(p, "new", e);
    }
    apr_pool_cleanup_register(sp, g.ctx, release_ctx, apr_pool_cleanup_null);
    if ((e = gpgme_get_key(g.ctx, signer, &key, 1)) != GPG_ERR_NO_ERROR) {
        err = tp_err(p, 422, "no secret key %s in the keyring (%s)", signer,
                     gpgme_strerror(e));
    } else if ((e = gpgme_signers_add(g.ctx, key)) != GPG_ERR_NO_ERROR
               || (e = gpgme_data_new(&out)) != GPG_ERR_NO_ERROR) {
        err = failed(p, "signers", e);
    } else if (!(err = data_of(&g, sp, data, len, &in))
               && (e = gpgme_op_sign(g.ctx, in, out, GPGME_SIG_MODE_DETACH))
                  != GPG_ERR_NO_ERROR) {
        err = tp_err(p, 422, "key %s could not sign (%s)", signer,
                     gpgme_strerror(e));
    }
    if (key) {
        gpgme_key_unref(key);
    }
    if (out) {
        mem = gpgme_data_release_and_get_mem(out, &n);
        if (!err && mem) {
            *sig = apr_pmemdup(p, mem, n);
            *siglen = n;
        }
        gpgme_free(mem);
    }
    apr_pool_destroy(sp);
    return err;
}
