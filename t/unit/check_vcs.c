/* Unit tests of the VCS connections' core: server URLs and API bases,
 * repository URLs, the rate-limit headers, the GitHub App's JWT (its
 * claims, and its signature under the App's key), which changed files
 * trigger a workspace's run, and webhook payloads and signatures. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>

#include "tp_vcs.h"
#include "tp_jwt.h"
#include "tp_vcs_hook.h"
#include "tp_vcs_poll.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static apr_array_header_t *hosts(const char *a, const char *b)
{
    apr_array_header_t *h = apr_array_make(pool, 2, sizeof(const char *));

    APR_ARRAY_PUSH(h, const char *) = a;
    APR_ARRAY_PUSH(h, const char *) = b;
    return h;
}

START_TEST(server_url_rules)
{
    apr_array_header_t *internal = hosts("git.internal", "127.0.0.1");
    const char *out = NULL;

    ck_assert_ptr_null(tp_vcs_server_url_check(pool, "https://ghe.example.com/",
                                               NULL, &out));
    ck_assert_str_eq(out, "https://ghe.example.com");
    ck_assert_ptr_null(tp_vcs_server_url_check(pool,
        "https://ghe.example.com/api/v3//", NULL, &out));
    ck_assert_str_eq(out, "https://ghe.example.com/api/v3");
    /* plain http only to a host the admin listed, in any case */
    ck_assert_ptr_null(tp_vcs_server_url_check(pool, "http://GIT.internal:8080",
                                               internal, &out));
    ck_assert_ptr_null(tp_vcs_server_url_check(pool, "http://127.0.0.1:9",
                                               internal, &out));
    ck_assert_ptr_nonnull(tp_vcs_server_url_check(pool, "http://git.internal",
                                                  NULL, &out));
    ck_assert_ptr_nonnull(tp_vcs_server_url_check(pool,
        "http://git.internal.evil.com", internal, &out));
    ck_assert_ptr_nonnull(tp_vcs_server_url_check(pool, "ftp://git.internal",
                                                  internal, &out));
    ck_assert_ptr_nonnull(tp_vcs_server_url_check(pool,
        "https://u:p@ghe.example.com", NULL, &out));
    ck_assert_ptr_nonnull(tp_vcs_server_url_check(pool,
        "https://ghe.example.com/?x=1", NULL, &out));
    ck_assert_ptr_nonnull(tp_vcs_server_url_check(pool, "ghe.example.com",
                                                  NULL, &out));
    ck_assert_ptr_nonnull(tp_vcs_server_url_check(pool, "https:///x", NULL,
                                                  &out));
}
END_TEST

START_TEST(api_bases)
{
    ck_assert_str_eq(tp_vcs_api_base(pool, TP_VCS_GITHUB, NULL),
                     "https://api.github.com");
    ck_assert_str_eq(tp_vcs_api_base(pool, TP_VCS_GITLAB, NULL),
                     "https://gitlab.com/api/v4");
    ck_assert_str_eq(tp_vcs_api_base(pool, TP_VCS_GITHUB,
                                     "https://ghe.example.com"),
                     "https://ghe.example.com/api/v3");
    ck_assert_str_eq(tp_vcs_api_base(pool, TP_VCS_GITHUB,
                                     "https://ghe.example.com/api/v3/"),
                     "https://ghe.example.com/api/v3");
    ck_assert_str_eq(tp_vcs_api_base(pool, TP_VCS_GITLAB,
                                     "https://git.example.com/gitlab"),
                     "https://git.example.com/gitlab/api/v4");
}
END_TEST

START_TEST(repo_urls)
{
    const char *owner = NULL, *name = NULL;

    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB, NULL,
                                       "https://github.com/acme/infra",
                                       &owner, &name), APR_SUCCESS);
    ck_assert_str_eq(owner, "acme");
    ck_assert_str_eq(name, "infra");
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB, NULL,
                                       "https://github.com/acme/infra.git/",
                                       &owner, &name), APR_SUCCESS);
    ck_assert_str_eq(name, "infra");
    /* Enterprise: the host of the server URL, with or without its API */
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB,
                                       "https://ghe.example.com/api/v3",
                                       "https://ghe.example.com/acme/net",
                                       &owner, &name), APR_SUCCESS);
    ck_assert_str_eq(owner, "acme");
    ck_assert_str_eq(name, "net");
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB,
                                       "https://ghe.example.com",
                                       "https://github.com/acme/net",
                                       &owner, &name), APR_EINVAL);
    /* GitLab groups nest */
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITLAB, NULL,
                                       "https://gitlab.com/g/sub/proj",
                                       &owner, &name), APR_SUCCESS);
    ck_assert_str_eq(owner, "g/sub");
    ck_assert_str_eq(name, "proj");
    /* not a repository */
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB, NULL,
                                       "https://github.com/acme/infra/tree/x",
                                       &owner, &name), APR_EINVAL);
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB, NULL,
                                       "https://github.com/acme", &owner,
                                       &name), APR_EINVAL);
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB, NULL,
                                       "https://github.com/acme/../x",
                                       &owner, &name), APR_EINVAL);
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB, NULL,
                                       "http://github.com/acme/infra",
                                       &owner, &name), APR_EINVAL);
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB, NULL,
                                       "https://github.com.evil/acme/infra",
                                       &owner, &name), APR_EINVAL);
    ck_assert_int_eq(tp_vcs_repo_parse(pool, TP_VCS_GITHUB, NULL,
                                       "https://github.com/ac me/infra",
                                       &owner, &name), APR_EINVAL);
}
END_TEST

START_TEST(rate_limit_headers)
{
    apr_table_t *h = apr_table_make(pool, 4);
    long remaining;
    apr_time_t reset;

    tp_vcs_rate_limit(h, &remaining, &reset);
    ck_assert_int_eq(remaining, -1);
    ck_assert_int_eq(reset, 0);
    apr_table_set(h, "x-ratelimit-remaining", "4999");
    apr_table_set(h, "X-RateLimit-Reset", "1700000000");
    tp_vcs_rate_limit(h, &remaining, &reset);
    ck_assert_int_eq(remaining, 4999);
    ck_assert_int_eq(reset, apr_time_from_sec(1700000000));
    apr_table_clear(h);
    apr_table_set(h, "RateLimit-Remaining", "0");
    apr_table_set(h, "RateLimit-Reset", "soon");
    tp_vcs_rate_limit(h, &remaining, &reset);
    ck_assert_int_eq(remaining, 0);
    ck_assert_int_eq(reset, 0);
    apr_table_set(h, "RateLimit-Remaining", "-3");
    tp_vcs_rate_limit(h, &remaining, &reset);
    ck_assert_int_eq(remaining, -1);
    /* figures past an int are not believed (nor overflow a time) */
    apr_table_set(h, "RateLimit-Remaining", "2147483648");
    apr_table_set(h, "RateLimit-Reset", "9223372036854775807");
    tp_vcs_rate_limit(h, &remaining, &reset);
    ck_assert_int_eq(remaining, -1);
    ck_assert_int_eq(reset, 0);
}
END_TEST

/* A new RSA key: its PEM, and the public key the JWT code verifies with. */
static const char *rsa_key(int bits, tp_pubkey_t **pub)
{
    EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
    BIO *b = BIO_new(BIO_s_mem());
    BIGNUM *n = NULL, *e = NULL;
    unsigned char nb[1024], eb[16];
    char *data;
    long len;
    const char *pem;

    ck_assert_ptr_nonnull(k);
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    len = BIO_get_mem_data(b, &data);
    pem = apr_pstrndup(pool, data, (apr_size_t)len);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
    *pub = tp_pubkey_rsa(pool, nb, (apr_size_t)BN_bn2bin(n, nb), eb,
                         (apr_size_t)BN_bn2bin(e, eb));
    BN_free(n);
    BN_free(e);
    BIO_free(b);
    EVP_PKEY_free(k);
    return pem;
}

START_TEST(github_app_jwt)
{
    tp_pubkey_t *pub, *other_pub;
    const char *pem = rsa_key(2048, &pub), *why = NULL;
    apr_time_t now = apr_time_from_sec(1700000000);
    char *jwt = tp_vcs_github_app_jwt(pool, "12345", pem, now, &why);
    tp_jwt_t *t;
    tp_jwk_t k = {NULL, 1, pub}, ko = {NULL, 1, NULL};

    rsa_key(2048, &other_pub);
    ko.key = other_pub;
    ck_assert_ptr_nonnull(jwt);
    ck_assert_ptr_null(tp_jwt_decode(pool, jwt, &t));
    ck_assert_int_eq(t->alg, TP_SIG_RS256);
    ck_assert_str_eq(tp_json_gets(t->claims, "iss", NULL), "12345");
    ck_assert_int_eq(tp_json_geti(t->claims, "iat", NULL), 1700000000 - 60);
    ck_assert_int_eq(tp_json_geti(t->claims, "exp", NULL), 1700000000 + 540);
    /* GitHub's limit: exp at most ten minutes after iat */
    ck_assert_int_le(tp_json_geti(t->claims, "exp", NULL)
                     - tp_json_geti(t->claims, "iat", NULL), 600);
    ck_assert_ptr_null(tp_jwt_verify(pool, t, &k));
    ck_assert_ptr_nonnull(tp_jwt_verify(pool, t, &ko));

    /* keys it cannot sign with */
    ck_assert_ptr_null(tp_vcs_github_app_jwt(pool, "1", "not a key", now,
                                             &why));
    ck_assert_str_eq(why, "is not a PEM RSA private key");
    ck_assert_ptr_null(tp_vcs_github_app_jwt(pool, "1", rsa_key(1024, &pub),
                                             now, &why));
    ck_assert_str_eq(why, "is an RSA key of fewer than 2048 bits");
}
END_TEST

static apr_array_header_t *list(const char *a, const char *b,
                                const char *c)
{
    apr_array_header_t *l = apr_array_make(pool, 3, sizeof(const char *));
    const char *all[] = {a, b, c};
    int i;

    for (i = 0; i < 3 && all[i]; i++) {
        APR_ARRAY_PUSH(l, const char *) = all[i];
    }
    return l;
}

static int triggers(const char *working_dir, apr_array_header_t *prefixes,
                    apr_array_header_t *files)
{
    return tp_vcs_files_trigger(pool, working_dir, prefixes, files);
}

START_TEST(file_triggers)
{
    apr_array_header_t *none = list(NULL, NULL, NULL);
    apr_array_header_t *docs = list("README.md", "docs/a.md", NULL);
    apr_array_header_t *prod = list("docs/a.md", "envs/prod/main.tf", NULL);

    /* no working directory nor prefixes: the whole repository */
    ck_assert_int_eq(triggers("", none, docs), 1);
    ck_assert_int_eq(triggers(NULL, NULL, docs), 1);
    ck_assert_int_eq(triggers("", none, none), 0);
    /* the working directory, however it is written */
    ck_assert_int_eq(triggers("envs/prod", none, docs), 0);
    ck_assert_int_eq(triggers("envs/prod", none, prod), 1);
    ck_assert_int_eq(triggers("./envs/prod/", none, prod), 1);
    ck_assert_int_eq(triggers("/envs/prod", none, prod), 1);
    /* a directory, not a prefix of names */
    ck_assert_int_eq(triggers("envs/pro", none, prod), 0);
    ck_assert_int_eq(triggers("envs/prod/main.tf", none, prod), 1);
    /* trigger prefixes add to it */
    ck_assert_int_eq(triggers("envs/prod", list("modules/", "docs", NULL),
                              docs), 1);
    ck_assert_int_eq(triggers("envs/prod", list("modules/", NULL, NULL),
                              docs), 0);
    ck_assert_int_eq(triggers("", list("/", NULL, NULL), docs), 1);
}
END_TEST

START_TEST(webhook_payloads)
{
    tp_vcs_hook_t h;
    const char *push = "{\"ref\":\"refs/heads/main\",\"after\":\"abc1\","
        "\"repository\":{\"full_name\":\"my-org/Infra\"},"
        "\"installation\":{\"id\":880001}}";
    const char *pr = "{\"action\":\"opened\",\"pull_request\":{\"base\":"
        "{\"ref\":\"main\"}},\"repository\":{\"full_name\":\"o/r\"}}";
    const char *gl = "{\"object_kind\":\"push\",\"ref\":\"refs/heads/dev\","
        "\"after\":\"f00\",\"project\":{\"path_with_namespace\":"
        "\"group/sub/infra\"}}";

    ck_assert_ptr_null(tp_vcs_hook_parse(pool, TP_VCS_GITHUB, "push", push,
                                         strlen(push), &h));
    ck_assert_int_eq(h.poll, 1);
    ck_assert_str_eq(h.repo, "my-org/Infra");
    ck_assert_str_eq(h.branch, "main");
    ck_assert_str_eq(h.sha, "abc1");
    ck_assert_str_eq(h.installation_id, "880001");
    ck_assert_ptr_null(tp_vcs_hook_parse(pool, TP_VCS_GITHUB, "pull_request",
                                         pr, strlen(pr), &h));
    ck_assert_str_eq(h.branch, "main");
    ck_assert_ptr_null(h.sha);
    ck_assert_ptr_null(h.installation_id);
    ck_assert_ptr_null(tp_vcs_hook_parse(pool, TP_VCS_GITHUB, "ping", pr,
                                         strlen(pr), &h));
    ck_assert_int_eq(h.ping, 1);
    ck_assert_int_eq(h.poll, 0);
    ck_assert_ptr_null(tp_vcs_hook_parse(pool, TP_VCS_GITHUB, "issues", pr,
                                         strlen(pr), &h));
    ck_assert_int_eq(h.poll + h.ping, 0);
    /* a pushed tag moves no branch: every branch is looked at */
    ck_assert_ptr_null(tp_vcs_hook_parse(pool, TP_VCS_GITHUB, "push",
        "{\"ref\":\"refs/tags/v1\",\"after\":\"abc\",\"repository\":"
        "{\"full_name\":\"o/r\"}}", 69, &h));
    ck_assert_int_eq(h.poll, 1);
    ck_assert_ptr_null(h.branch);
    ck_assert_ptr_null(h.sha);
    ck_assert_ptr_nonnull(tp_vcs_hook_parse(pool, TP_VCS_GITHUB, "push",
                                            "{\"ref\":1}", 9, &h));
    ck_assert_ptr_nonnull(tp_vcs_hook_parse(pool, TP_VCS_GITHUB, "push",
                                            "[1", 2, &h));
    ck_assert_ptr_nonnull(tp_vcs_hook_parse(pool, TP_VCS_GITHUB, "push",
                                            "[]", 2, &h));

    ck_assert_ptr_null(tp_vcs_hook_parse(pool, TP_VCS_GITLAB, "Push Hook",
                                         gl, strlen(gl), &h));
    ck_assert_str_eq(h.repo, "group/sub/infra");
    ck_assert_str_eq(h.branch, "dev");
    ck_assert_str_eq(h.sha, "f00");
    ck_assert_ptr_null(tp_vcs_hook_parse(pool, TP_VCS_GITLAB, "Note Hook",
                                         gl, strlen(gl), &h));
    ck_assert_int_eq(h.poll, 0);
}
END_TEST

START_TEST(webhook_signatures)
{
    /* GitHub's documented example: secret "It's a Secret to Everybody",
     * payload "Hello, World!" */
    const char *body = "Hello, World!";
    const char *sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d75"
                      "86c22c46f4379c8b043e17";

    ck_assert_int_eq(tp_vcs_hook_signed(pool, "It's a Secret to Everybody",
                                        body, strlen(body), sig), 1);
    ck_assert_int_eq(tp_vcs_hook_signed(pool, "another secret", body,
                                        strlen(body), sig), 0);
    ck_assert_int_eq(tp_vcs_hook_signed(pool, "It's a Secret to Everybody",
                                        body, strlen(body), sig + 7), 0);
    ck_assert_int_eq(tp_vcs_hook_signed(pool, "It's a Secret to Everybody",
                                        body, strlen(body), NULL), 0);
    ck_assert_int_eq(tp_vcs_hook_signed(pool, "It's a Secret to Everybody",
                                        "Hello, World?", 13, sig), 0);
}
END_TEST

Suite *vcs_suite(void);

Suite *vcs_suite(void)
{
    Suite *s = suite_create("vcs");
    TCase *tc = tcase_create("vcs");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, server_url_rules);
    tcase_add_test(tc, api_bases);
    tcase_add_test(tc, repo_urls);
    tcase_add_test(tc, rate_limit_headers);
    tcase_add_test(tc, github_app_jwt);
    tcase_add_test(tc, file_triggers);
    tcase_add_test(tc, webhook_payloads);
    tcase_add_test(tc, webhook_signatures);
    suite_add_tcase(s, tc);
    return s;
}
