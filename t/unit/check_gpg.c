/* Unit tests of the OpenPGP adapter. The keys and signatures are made by
 * the gpg command at test time in a temporary home, once for the suite,
 * and removed (with the agent key generation started) when it ends. */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdarg.h>
#include <signal.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>

#include "tp_gpg.h"

static apr_pool_t *keep;    /* the suite's: keys and signatures */
static apr_pool_t *pool;
static char home[] = "/tmp/tp-check-gpg-XXXXXX";

typedef struct blob {
    const char *data;
    apr_size_t len;
} blob_t;

/* What the fixture made: keys a (with a signing subkey) and b, each's
 * public armour, long id and fingerprint, and signatures over DATA. */
static struct {
    blob_t pub_a, pub_b, pub_ab, sec_a, bin_a;
    const char *id_a, *fpr_a, *id_b;
    blob_t sig_a, sig_a_armor, sig_b, sig_sub;
} k;

#define DATA "0123abcd  terraform-provider-x_1.0.0_linux_amd64.zip\n"

/* Runs a shell command in the gpg home; its standard output. */
static blob_t sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd, buf[4096];
    FILE *f;
    size_t n;
    blob_t out = {"", 0};
    char *acc = NULL;

    va_start(ap, fmt);
    cmd = apr_pvsprintf(keep, fmt, ap);
    va_end(ap);
    cmd = apr_psprintf(keep, "GNUPGHOME=%s; export GNUPGHOME; %s", home, cmd);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        acc = apr_palloc(keep, out.len + n + 1);
        memcpy(acc, out.data, out.len);
        memcpy(acc + out.len, buf, n);
        out.len += n;
        acc[out.len] = '\0';
        out.data = acc;
    }
    ck_assert_msg(pclose(f) == 0, "command failed: %s", cmd);
    return out;
}

/* Field n (1-based) of the first --with-colons record of kind rec. */
static const char *colon_field(blob_t listing, const char *rec, int n)
{
    char *copy = apr_pstrdup(keep, listing.data), *line, *last, *f, *l2;
    int i;

    for (line = apr_strtok(copy, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        if (strncmp(line, rec, strlen(rec)) || line[strlen(rec)] != ':') {
            continue;
        }
        for (i = 1, f = line; i < n && f; i++) {
            f = strchr(f, ':');
            f = f ? f + 1 : NULL;
        }
        ck_assert_ptr_nonnull(f);
        l2 = strchr(f, ':');
        return l2 ? apr_pstrmemdup(keep, f, l2 - f) : f;
    }
    ck_abort_msg("no %s record", rec);
    return NULL;
}

#define GPG "gpg --batch --quiet --pinentry-mode loopback --passphrase ''"

static void make_keys(void)
{
    blob_t list;

    apr_pool_create(&keep, NULL);
    ck_assert_ptr_nonnull(mkdtemp(home));
    sh("echo trust-model always > $GNUPGHOME/gpg.conf");
    sh(GPG " --quick-gen-key 'Alpha <a@example.test>' ed25519 sign never");
    sh(GPG " --quick-gen-key 'Beta <b@example.test>' rsa2048 sign never");
    list = sh("gpg --with-colons --list-keys a@example.test");
    k.id_a = colon_field(list, "pub", 5);
    k.fpr_a = colon_field(list, "fpr", 10);
    k.id_b = colon_field(sh("gpg --with-colons --list-keys b@example.test"),
                         "pub", 5);
    k.pub_a = sh("gpg --armor --export %s", k.id_a);
    k.pub_b = sh("gpg --armor --export %s", k.id_b);
    k.pub_ab = sh("gpg --armor --export %s %s", k.id_a, k.id_b);
    k.bin_a = sh("gpg --export %s", k.id_a);
    k.sec_a = sh(GPG " --armor --export-secret-keys %s", k.id_a);
    sh("printf '%%s' '" DATA "' > $GNUPGHOME/data");
    k.sig_a = sh(GPG " -u %s! --detach-sign -o - $GNUPGHOME/data", k.id_a);
    k.sig_a_armor = sh(GPG " -u %s! --armor --detach-sign -o - "
                       "$GNUPGHOME/data", k.id_a);
    k.sig_b = sh(GPG " -u %s! --detach-sign -o - $GNUPGHOME/data", k.id_b);
    /* a signing subkey on a: the primary's id is still the one answered */
    sh(GPG " --quick-add-key %s ed25519 sign never", k.fpr_a);
    k.sig_sub = sh(GPG " -u %s --detach-sign -o - $GNUPGHOME/data", k.id_a);
    k.pub_a = sh("gpg --armor --export %s", k.id_a);
}

static void drop_keys(void)
{
    sh("gpgconf --kill gpg-agent; rm -rf $GNUPGHOME");
    apr_pool_destroy(keep);
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static tp_err_t *verify(blob_t sig, const char *data, const char **id,
                        int n, ...)
{
    const char *armors[4];
    va_list ap;
    int i;

    va_start(ap, n);
    for (i = 0; i < n; i++) {
        armors[i] = va_arg(ap, const char *);
    }
    va_end(ap);
    return tp_gpg_verify(pool, armors, n, data, strlen(data), sig.data,
                         sig.len, id);
}

static void assert_422(tp_err_t *err, const char *part)
{
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 422);
    ck_assert_msg(strstr(err->detail, part), "detail \"%s\" lacks \"%s\"",
                  err->detail, part);
}

START_TEST(gpg_parse_public_key)
{
    tp_gpg_key_t *key;

    ck_assert_ptr_null(tp_gpg_key_parse(pool, k.pub_a.data, k.pub_a.len,
                                        &key));
    ck_assert_str_eq(key->key_id, k.id_a);
    ck_assert_str_eq(key->fingerprint, k.fpr_a);
    ck_assert_int_eq(strlen(key->key_id), 16);
    ck_assert_int_eq(strlen(key->fingerprint), 40);
    ck_assert_str_eq(key->armor, k.pub_a.data);
}
END_TEST

START_TEST(gpg_parse_refuses)
{
    tp_gpg_key_t *key = NULL;
    const char *junk = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 "
                       "at all\n-----END PGP PUBLIC KEY BLOCK-----\n";
    const char *secret_as_public;

    assert_422(tp_gpg_key_parse(pool, k.sec_a.data, k.sec_a.len, &key),
               "private key");
    ck_assert_ptr_null(key);
    /* the header is only a label: secret packets under a public one */
    secret_as_public = apr_pstrcat(pool, "-----BEGIN PGP PUBLIC KEY BLOCK-----",
                                   strchr(k.sec_a.data, '\n'), NULL);
    assert_422(tp_gpg_key_parse(pool, secret_as_public,
                                strlen(secret_as_public), &key), "secret");
    assert_422(tp_gpg_key_parse(pool, k.bin_a.data, k.bin_a.len, &key),
               "ASCII-armoured");
    assert_422(tp_gpg_key_parse(pool, k.pub_ab.data, k.pub_ab.len, &key),
               "2 keys");
    assert_422(tp_gpg_key_parse(pool, junk, strlen(junk), &key), "");
    assert_422(tp_gpg_key_parse(pool, "", 0, &key), "ASCII-armoured");
    ck_assert_ptr_null(key);
}
END_TEST

START_TEST(gpg_verify_good_signatures)
{
    const char *id = NULL;

    ck_assert_ptr_null(verify(k.sig_a, DATA, &id, 1, k.pub_a.data));
    ck_assert_str_eq(id, k.id_a);
    id = NULL;
    ck_assert_ptr_null(verify(k.sig_a_armor, DATA, &id, 1, k.pub_a.data));
    ck_assert_str_eq(id, k.id_a);
    id = NULL;
    ck_assert_ptr_null(verify(k.sig_b, DATA, &id, 2, k.pub_a.data,
                              k.pub_b.data));
    ck_assert_str_eq(id, k.id_b);
    id = NULL;
    ck_assert_ptr_null(verify(k.sig_sub, DATA, &id, 1, k.pub_a.data));
    ck_assert_str_eq(id, k.id_a);
}
END_TEST

START_TEST(gpg_verify_refuses)
{
    const char *id = "unset";
    blob_t junk = {"not a signature", 15};

    assert_422(verify(k.sig_b, DATA, &id, 1, k.pub_a.data), "not registered");
    ck_assert_ptr_null(id);
    assert_422(verify(k.sig_a, DATA "x", &id, 1, k.pub_a.data), "");
    assert_422(verify(k.sig_a, DATA, &id, 0), "no registered key");
    assert_422(verify(junk, DATA, &id, 1, k.pub_a.data), "");
    assert_422(verify(k.sig_a, DATA, &id, 1, k.sec_a.data), "private key");
    ck_assert_ptr_null(id);
}
END_TEST

/* Signing uses the caller's keyring: GNUPGHOME here, the fixture's. */
START_TEST(gpg_sign_with_own_keyring)
{
    const char *sig, *id = NULL;
    apr_size_t n;
    blob_t b;

    setenv("GNUPGHOME", home, 1);
    ck_assert_ptr_null(tp_gpg_sign(pool, k.id_b, DATA, strlen(DATA), &sig,
                                   &n));
    ck_assert_uint_gt(n, 0);
    b.data = sig;
    b.len = n;
    ck_assert_ptr_null(verify(b, DATA, &id, 1, k.pub_b.data));
    ck_assert_str_eq(id, k.id_b);
    assert_422(verify(b, DATA, &id, 1, k.pub_a.data), "not registered");
    assert_422(tp_gpg_sign(pool, "0123456789ABCDEF", DATA, strlen(DATA), &sig,
                           &n), "no secret key");
    ck_assert_ptr_null(sig);
    unsetenv("GNUPGHOME");
}
END_TEST

Suite *gpg_suite(void);

Suite *gpg_suite(void)
{
    Suite *s = suite_create("gpg");
    TCase *tc = tcase_create("gpg");

    signal(SIGPIPE, SIG_IGN);   /* gpgme writes to gpg through pipes */
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, make_keys, drop_keys);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gpg_parse_public_key);
    tcase_add_test(tc, gpg_parse_refuses);
    tcase_add_test(tc, gpg_verify_good_signatures);
    tcase_add_test(tc, gpg_verify_refuses);
    tcase_add_test(tc, gpg_sign_with_own_keyring);
    suite_add_tcase(s, tc);
    return s;
}
