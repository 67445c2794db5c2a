/* Unit tests of the listener's pure parts: command line, job documents,
 * the override file, terraform's environment and arguments, error tails
 * and the renewal rule. */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tpl.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *parse_args(tpl_config_t *cfg, const char *env_token, ...)
{
    const char *argv[32] = {"terrapod-listener"};
    int argc = 1;
    va_list ap;

    va_start(ap, env_token);
    while ((argv[argc] = va_arg(ap, const char *)) != NULL) {
        argc++;
    }
    va_end(ap);
    return tpl_parse_args(pool, argc, argv, env_token, cfg);
}

/* The arguments after --url, --name and --state-dir are refused with a
 * message holding want. */
static void refused(const char *want, ...)
{
    const char *argv[32] = {"terrapod-listener", "--url", "https://h",
                            "--name", "n", "--state-dir", "/s"};
    const char *why;
    tpl_config_t cfg;
    int argc = 7;
    va_list ap;

    va_start(ap, want);
    while ((argv[argc] = va_arg(ap, const char *)) != NULL) {
        argc++;
    }
    va_end(ap);
    why = tpl_parse_args(pool, argc, argv, NULL, &cfg);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, want), "\"%s\" does not say \"%s\"", why, want);
}

START_TEST(args_defaults_and_forms)
{
    tpl_config_t cfg;

    ck_assert_ptr_null(parse_args(&cfg, NULL, "--url", "https://h:8443//",
                                  "--join-token", "tok", "--name=l-1",
                                  "--state-dir", "/s", NULL));
    ck_assert_str_eq(cfg.url, "https://h:8443");
    ck_assert_str_eq(cfg.join_token, "tok");
    ck_assert_str_eq(cfg.name, "l-1");
    ck_assert_str_eq(cfg.terraform, "terraform");
    ck_assert_int_eq(cfg.concurrency, 2);
    ck_assert_int_eq(cfg.token_ttl, 7200);
    ck_assert_str_eq(cfg.work_dir, "/s/work");
    ck_assert_ptr_null(cfg.ca_file);
    ck_assert_ptr_null(cfg.log_file);
    ck_assert_int_eq(cfg.pass_env->nelts, 0);
    ck_assert_int_eq(cfg.version, 0);
    ck_assert_ptr_null(parse_args(&cfg, "envtok", "--url", "http://h",
                                  "--name", "n", "--state-dir", "/s",
                                  "--ca-file", "/ca.pem", "--terraform",
                                  "/bin/tf", "--concurrency", "5",
                                  "--work-dir", "/w", "--token-ttl", "30",
                                  NULL));
    ck_assert_int_eq(cfg.token_ttl, 30);
    ck_assert_str_eq(cfg.join_token, "envtok");
    ck_assert_str_eq(cfg.ca_file, "/ca.pem");
    ck_assert_str_eq(cfg.terraform, "/bin/tf");
    ck_assert_int_eq(cfg.concurrency, 5);
    ck_assert_str_eq(cfg.work_dir, "/w");
    /* --pass-env adds up, given again or as a list */
    ck_assert_ptr_null(parse_args(&cfg, NULL, "--url", "http://h",
                                  "--name", "n", "--state-dir", "/s",
                                  "--pass-env", "HTTPS_PROXY,NO_PROXY",
                                  "--log-file", "/var/log/l.log",
                                  "--pass-env=TF_PLUGIN_CACHE_DIR", NULL));
    ck_assert_int_eq(cfg.pass_env->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(cfg.pass_env, 0, const char *),
                     "HTTPS_PROXY");
    ck_assert_str_eq(APR_ARRAY_IDX(cfg.pass_env, 1, const char *),
                     "NO_PROXY");
    ck_assert_str_eq(APR_ARRAY_IDX(cfg.pass_env, 2, const char *),
                     "TF_PLUGIN_CACHE_DIR");
    ck_assert_str_eq(cfg.log_file, "/var/log/l.log");
    /* the flag wins over the environment */
    ck_assert_ptr_null(parse_args(&cfg, "envtok", "--url", "http://h",
                                  "--name", "n", "--state-dir", "/s",
                                  "--join-token", "flag", NULL));
    ck_assert_str_eq(cfg.join_token, "flag");
}
END_TEST

START_TEST(args_errors)
{
    tpl_config_t cfg;

    ck_assert_str_eq(parse_args(&cfg, NULL, "--help", NULL), "");
    ck_assert_int_eq(cfg.version, 0);
    ck_assert_str_eq(parse_args(&cfg, NULL, "--version", NULL), "");
    ck_assert_int_eq(cfg.version, 1);
    refused("\"A-B\" is no environment variable", "--pass-env", "A-B",
            NULL);
    refused("TERRAPOD_JOIN_TOKEN is the listener's", "--pass-env",
            "HTTPS_PROXY,TERRAPOD_JOIN_TOKEN", NULL);
    refused("--log-file needs a value", "--log-file", NULL);
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--url", "https://h",
                                            "--name", "n", NULL),
                                 "required"));
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--bogus", NULL),
                                 "unknown argument \"--bogus\""));
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--url", NULL),
                                 "--url needs a value"));
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--url", "ftp://h",
                                            "--name", "n", "--state-dir",
                                            "/s", NULL), "https://"));
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--url", "https://h",
                                            "--name", "n", "--state-dir",
                                            "/s", "--concurrency", "0", NULL),
                                 "--concurrency"));
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--url", "https://h",
                                            "--name", "n", "--state-dir",
                                            "/s", "--concurrency", "2x",
                                            NULL), "--concurrency"));
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--url", "https://h",
                                            "--name", "a b", "--state-dir",
                                            "/s", NULL), "--name"));
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--url=", NULL),
                                 "empty"));
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--url", "https://h",
                                            "--name", "n", "--state-dir",
                                            "/s", "--token-ttl", "9", NULL),
                                 "--token-ttl must be 10 to 7200"));
    ck_assert_ptr_nonnull(strstr(parse_args(&cfg, NULL, "--url", "https://h",
                                            "--name", "n", "--state-dir",
                                            "/s", "--token-ttl", "7201",
                                            NULL), "--token-ttl"));
}
END_TEST

/* ---- plan artifacts on a real directory tree ---- */

static void put(const char *dir, const char *rel, const char *text)
{
    char *path = apr_pstrcat(pool, dir, "/", rel, NULL);
    FILE *f;

    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

START_TEST(plan_artifacts_round_trip)
{
    char tmpl[] = "/tmp/tpl-artifacts-XXXXXX";
    const char *root = mkdtemp(tmpl), *plan, *apply, *tarball;
    apr_array_header_t *changed;
    apr_hash_t *before;
    int count;

    ck_assert_ptr_nonnull(root);
    plan = apr_pstrcat(pool, root, "/plan", NULL);
    apply = apr_pstrcat(pool, root, "/apply", NULL);
    tarball = apr_pstrcat(pool, root, "/a.tar.gz", NULL);
    ck_assert_int_eq(mkdir(plan, 0700), 0);
    ck_assert_int_eq(mkdir(apply, 0700), 0);
    ck_assert_int_eq(mkdir(apr_pstrcat(pool, plan, "/.terraform", NULL),
                           0700), 0);
    put(plan, "main.tf", "config");
    put(plan, "kept.txt", "unchanged");
    put(plan, "edited.txt", "before");
    before = tpl_snapshot(pool, plan);
    /* what plan does: new files, an edit, and files that travel apart */
    ck_assert_int_eq(mkdir(apr_pstrcat(pool, plan, "/out", NULL), 0700), 0);
    put(plan, "out/bundle.zip", "zipped");
    put(plan, "edited.txt", "after the plan");
    put(plan, "tfplan", "plan file");
    put(plan, "terraform.tfstate", "{}");
    put(plan, ".terraform.lock.hcl", "lock");
    put(plan, ".terraform/terraform.tfstate", "{}");
    changed = tpl_snapshot_changed(pool, plan, before);
    qsort(changed->elts, changed->nelts, sizeof(const char *), by_name);
    ck_assert_int_eq(changed->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(changed, 0, const char *), "edited.txt");
    ck_assert_str_eq(APR_ARRAY_IDX(changed, 1, const char *),
                     "out/bundle.zip");
    ck_assert_ptr_null(tp_archive_write(pool, plan, changed, tarball));
    /* the apply's fresh copy of the configuration */
    put(apply, "main.tf", "config");
    put(apply, "edited.txt", "before");
    ck_assert_ptr_null(tpl_artifacts_restore(pool, tarball,
                                             apr_pstrcat(pool, root,
                                                         "/scratch", NULL),
                                             apply, &(tp_archive_limits_t){
                                                 1 << 20, 1 << 20, 10},
                                             &count));
    ck_assert_int_eq(count, 2);
    ck_assert_str_eq(slurp(apr_pstrcat(pool, apply, "/edited.txt", NULL)),
                     "after the plan");
    ck_assert_str_eq(slurp(apr_pstrcat(pool, apply, "/out/bundle.zip",
                                       NULL)), "zipped");
    ck_assert_str_eq(slurp(apr_pstrcat(pool, apply, "/main.tf", NULL)),
                     "config");
    ck_assert_ptr_null(slurp(apr_pstrcat(pool, apply, "/tfplan", NULL)));
    /* nothing new: an empty archive, which restores nothing */
    changed = tpl_snapshot_changed(pool, apply, tpl_snapshot(pool, apply));
    ck_assert_int_eq(changed->nelts, 0);
    ck_assert_ptr_null(tp_archive_write(pool, apply, changed, tarball));
    ck_assert_ptr_null(tpl_artifacts_restore(pool, tarball,
                                             apr_pstrcat(pool, root,
                                                         "/scratch2", NULL),
                                             apply, &(tp_archive_limits_t){
                                                 1 << 20, 1 << 20, 10},
                                             &count));
    ck_assert_int_eq(count, 0);
    ck_assert_int_eq(system(apr_pstrcat(pool, "rm -rf ", root, NULL)), 0);
}
END_TEST

static const char *JOB =
    "{\"data\":{\"run-id\":\"run-abc\",\"phase\":\"plan\","
    "\"workspace\":{\"id\":\"ws-1\",\"name\":\"w\",\"working-directory\":"
    "\"infra/app\",\"terraform-version\":\"1.11.4\",\"execution-backend\":"
    "\"agent\"},\"run\":{\"is-destroy\":true,\"refresh\":false,"
    "\"refresh-only\":false,\"target-addrs\":[\"a.b\",\"c.d\"],"
    "\"replace-addrs\":[\"e.f\"],\"allow-empty-apply\":false,"
    "\"plan-only\":true,\"message\":\"m\"},\"variables\":["
    "{\"key\":\"region\",\"value\":\"eu\",\"category\":\"terraform\","
    "\"hcl\":false,\"sensitive\":false},"
    "{\"key\":\"tags\",\"value\":\"{a=1}\",\"category\":\"terraform\","
    "\"hcl\":true,\"sensitive\":false},"
    "{\"key\":\"AWS_SECRET\",\"value\":\"s3cr3t\",\"category\":\"env\","
    "\"hcl\":false,\"sensitive\":true},"
    "{\"key\":\"bad-name\",\"value\":\"x\",\"category\":\"env\"},"
    "{\"key\":\"TF_IN_AUTOMATION\",\"value\":\"0\",\"category\":\"env\"},"
    "{\"key\":\"HOME\",\"value\":\"/job\",\"category\":\"env\"}]}}";

static tpl_job_t *job_of(const char *json, const char **why)
{
    tpl_job_t *job = apr_palloc(pool, sizeof(*job));
    tp_json_t *doc = tp_json_parse(pool, json, strlen(json), NULL);

    ck_assert_ptr_nonnull(doc);
    *why = tpl_job_parse(pool, doc, job);
    return job;
}

START_TEST(job_parse_full)
{
    const char *why;
    tpl_job_t *job = job_of(JOB, &why);
    tpl_var_t *v;

    ck_assert_ptr_null(why);
    ck_assert_str_eq(job->run_id, "run-abc");
    ck_assert(!job->apply);
    ck_assert_str_eq(job->working_dir, "infra/app");
    ck_assert(job->is_destroy);
    ck_assert(!job->refresh);
    ck_assert(job->plan_only);
    ck_assert_int_eq(job->targets->nelts, 2);
    ck_assert_int_eq(job->replaces->nelts, 1);
    ck_assert_int_eq(job->vars->nelts, 6);
    v = &APR_ARRAY_IDX(job->vars, 2, tpl_var_t);
    ck_assert_str_eq(v->key, "AWS_SECRET");
    ck_assert(v->env && v->sensitive && !v->hcl);
}
END_TEST

START_TEST(job_parse_defaults_and_refusals)
{
    const char *why;
    tpl_job_t *job = job_of("{\"data\":{\"run-id\":\"run-1\",\"phase\":"
                            "\"apply\",\"workspace\":{},\"run\":{}}}", &why);

    ck_assert_ptr_null(why);
    ck_assert(job->apply);
    ck_assert(job->refresh);            /* absent means refresh */
    ck_assert_str_eq(job->working_dir, "");
    ck_assert_int_eq(job->vars->nelts, 0);
    ck_assert_int_eq(job->targets->nelts, 0);
    job_of("{\"data\":{\"run-id\":\"run-1\",\"phase\":\"destroy\"}}", &why);
    ck_assert_ptr_nonnull(strstr(why, "phase"));
    job_of("{\"data\":{\"phase\":\"plan\"}}", &why);
    ck_assert_ptr_nonnull(strstr(why, "run-id"));
    job_of("{\"data\":{\"run-id\":\"../x\",\"phase\":\"plan\"}}", &why);
    ck_assert_ptr_nonnull(strstr(why, "run-id"));
    job_of("{\"data\":{\"run-id\":\"r\",\"phase\":\"plan\",\"workspace\":"
           "{\"working-directory\":\"a/../../etc\"}}}", &why);
    ck_assert_ptr_nonnull(strstr(why, "working directory"));
    job_of("{\"data\":{\"run-id\":\"r\",\"phase\":\"plan\",\"workspace\":"
           "{\"working-directory\":\"/etc\"}}}", &why);
    ck_assert_ptr_nonnull(strstr(why, "working directory"));
    job_of("{\"data\":{\"run-id\":\"r\",\"phase\":\"plan\",\"run\":"
           "{\"target-addrs\":[1]}}}", &why);
    ck_assert_ptr_nonnull(strstr(why, "target-addrs"));
    job_of("{\"data\":{\"run-id\":\"r\",\"phase\":\"plan\",\"variables\":"
           "[{\"key\":\"k\",\"value\":\"v\",\"category\":\"other\"}]}}", &why);
    ck_assert_ptr_nonnull(strstr(why, "variable 1"));
}
END_TEST

START_TEST(override_forces_local_backend)
{
    const char *tf = tpl_override_tf();

    ck_assert_ptr_nonnull(strstr(tf, "terraform {\n  backend \"local\" {}\n}"));
    ck_assert_ptr_null(strstr(tf, "cloud"   " {"));
    ck_assert_str_eq(TPL_OVERRIDE_NAME, "zz_terrapod_override.tf");
}
END_TEST

static const char *env_get(char **env, const char *name)
{
    apr_size_t n = strlen(name);

    for (; *env; env++) {
        if (!strncmp(*env, name, n) && (*env)[n] == '=') {
            return *env + n + 1;
        }
    }
    return NULL;
}

static int env_count(char **env, const char *name)
{
    apr_size_t n = strlen(name);
    int count = 0;

    for (; *env; env++) {
        count += !strncmp(*env, name, n) && (*env)[n] == '=';
    }
    return count;
}

START_TEST(env_layers_variables)
{
    char *base[] = {"PATH=/usr/bin", "HOME=/root", "TF_INPUT=1",
                    "TERRAPOD_JOIN_TOKEN=secret", "junk",
                    "TF_CLI_CONFIG_FILE=/root/.tfrc", "FOO_LEAK=1",
                    "SSL_CERT_FILE=/etc/ca.pem", "HTTPS_PROXY=http://p:3128",
                    "NO_PROXY=.corp", "TMPDIR=/var/tmp", NULL};
    apr_array_header_t *pass = apr_array_make(pool, 2, sizeof(char *));
    const char *why;
    tpl_job_t *job = job_of(JOB, &why);
    int skipped, n;
    char **env;

    APR_ARRAY_PUSH(pass, const char *) = "HTTPS_PROXY";
    APR_ARRAY_PUSH(pass, const char *) = "UNSET_ONE";
    env = tpl_build_env(pool, base, pass, NULL, "/run/home", "/run/tmp", job,
                        &skipped);
    ck_assert_int_eq(skipped, 1);                       /* bad-name */
    ck_assert_str_eq(env_get(env, "PATH"), "/usr/bin");
    ck_assert_str_eq(env_get(env, "SSL_CERT_FILE"), "/etc/ca.pem");
    ck_assert_str_eq(env_get(env, "HTTPS_PROXY"), "http://p:3128");
    ck_assert_str_eq(env_get(env, "TMPDIR"), "/run/tmp");
    ck_assert_str_eq(env_get(env, "TF_VAR_region"), "eu");
    ck_assert_ptr_null(env_get(env, "TF_VAR_tags"));    /* in tfvars */
    ck_assert_str_eq(env_get(env, "AWS_SECRET"), "s3cr3t");
    ck_assert_str_eq(env_get(env, "HOME"), "/job");     /* env vars win */
    ck_assert_int_eq(env_count(env, "HOME"), 1);
    /* the automation settings win over everything */
    ck_assert_str_eq(env_get(env, "TF_INPUT"), "0");
    ck_assert_int_eq(env_count(env, "TF_INPUT"), 1);
    ck_assert_str_eq(env_get(env, "TF_IN_AUTOMATION"), "1");
    ck_assert_str_eq(env_get(env, "CHECKPOINT_DISABLE"), "1");
    /* nothing else of the listener's environment: PATH, SSL_CERT_FILE,
     * HTTPS_PROXY, HOME, TMPDIR, TF_VAR_region, AWS_SECRET and the three
     * settings */
    for (n = 0; env[n]; n++) {
    }
    ck_assert_int_eq(n, 10);
    ck_assert_ptr_null(env_get(env, "TERRAPOD_JOIN_TOKEN"));
    ck_assert_ptr_null(env_get(env, "TF_CLI_CONFIG_FILE"));
    ck_assert_ptr_null(env_get(env, "FOO_LEAK"));
    ck_assert_ptr_null(env_get(env, "NO_PROXY"));       /* not passed */
    ck_assert_ptr_null(env_get(env, "UNSET_ONE"));
    ck_assert_ptr_null(env_get(env, "bad-name"));
    /* without a job's HOME, the run's own; without PATH, a default */
    job->vars->nelts = 0;
    env = tpl_build_env(pool, (char *[]){"HOME=/root", NULL}, NULL, NULL,
                        "/run/home", "/run/tmp", job, &skipped);
    ck_assert_str_eq(env_get(env, "HOME"), "/run/home");
    ck_assert_str_eq(env_get(env, "PATH"), "/usr/local/bin:/usr/bin:/bin");
    ck_assert_ptr_null(env_get(env, "SSL_CERT_FILE"));
    /* the certificates that reach the server replace SSL_CERT_FILE */
    env = tpl_build_env(pool, base, NULL, "/srv/ca.pem", "/run/home",
                        "/run/tmp", job, &skipped);
    ck_assert_str_eq(env_get(env, "SSL_CERT_FILE"), "/srv/ca.pem");
    ck_assert_int_eq(env_count(env, "SSL_CERT_FILE"), 1);
}
END_TEST

START_TEST(cli_config_names_the_server_host)
{
    ck_assert_str_eq(tpl_cli_config(pool, "https://tp.example:8443/base",
                                    "runtok:run-1:60:1:sig"),
                     "# Written by terrapod-listener: the server knows this "
                     "token as the run's\n# workspace, which may read the "
                     "state other workspaces share with it.\n"
                     "credentials \"tp.example:8443\" {\n"
                     "  token = \"runtok:run-1:60:1:sig\"\n}\n"
                     "# Providers are installed through the server's network "
                     "mirror, its own\n# private providers from its registry.\n"
                     "provider_installation {\n  network_mirror {\n"
                     "    url = \"https://tp.example:8443/base/v1/providers/\"\n"
                     "    exclude = [\"tp.example:8443/*/*\"]\n  }\n"
                     "  direct {\n    include = [\"tp.example:8443/*/*\"]\n"
                     "  }\n}\n");
    ck_assert_ptr_nonnull(strstr(tpl_cli_config(pool, "https://tp.example",
                                                "t"),
                                 "credentials \"tp.example\" {"));
}
END_TEST

START_TEST(exact_versions_come_from_the_binary_cache)
{
    ck_assert_int_eq(tpl_version_exact("1.11.4"), 1);
    ck_assert_int_eq(tpl_version_exact("1.12.0-beta1"), 1);
    ck_assert_int_eq(tpl_version_exact("1.12.0+ent"), 1);
    /* constraints and "latest" leave the listener's own terraform */
    ck_assert_int_eq(tpl_version_exact("latest"), 0);
    ck_assert_int_eq(tpl_version_exact("~> 1.5"), 0);
    ck_assert_int_eq(tpl_version_exact(">= 1.0.0"), 0);
    ck_assert_int_eq(tpl_version_exact("1.11"), 0);
    ck_assert_int_eq(tpl_version_exact("1.11."), 0);
    ck_assert_int_eq(tpl_version_exact("1..4.5"), 0);
    ck_assert_int_eq(tpl_version_exact("1.2.3.4"), 0);
    ck_assert_int_eq(tpl_version_exact("1.2.3-../x"), 0);
    ck_assert_int_eq(tpl_version_exact(""), 0);
    ck_assert_int_eq(tpl_version_exact(NULL), 0);
    ck_assert_ptr_nonnull(strstr(tpl_platform(pool), "linux_"));
}
END_TEST

START_TEST(tfvars_hold_hcl_values)
{
    const char *why;
    tpl_job_t *job = job_of(JOB, &why);
    tpl_var_t *v;

    ck_assert_str_eq(tpl_tfvars(pool, job), "tags = {a=1}\n");
    v = apr_array_push(job->vars);
    v->key = "bad key";
    v->value = "1";
    v->hcl = 1;
    v = apr_array_push(job->vars);
    v->key = "name-2";
    v->value = "\"quoted\"";
    v->hcl = 1;
    ck_assert_str_eq(tpl_tfvars(pool, job),
                     "tags = {a=1}\nname-2 = \"quoted\"\n");
    job->vars->nelts = 0;
    ck_assert_str_eq(tpl_tfvars(pool, job), "");
}
END_TEST

static const char *joined(const char **argv)
{
    const char *s = *argv++;

    for (; *argv; argv++) {
        s = apr_pstrcat(pool, s, " ", *argv, NULL);
    }
    return s;
}

START_TEST(argv_for_each_command)
{
    const char *why;
    tpl_job_t *job = job_of(JOB, &why);

    ck_assert_str_eq(joined(tpl_init_argv(pool, "tf")),
                     "tf init -input=false -no-color");
    ck_assert_str_eq(joined(tpl_plan_argv(pool, "tf", job)),
                     "tf plan -input=false -no-color -detailed-exitcode "
                     "-out=tfplan -destroy -refresh=false -target=a.b "
                     "-target=c.d -replace=e.f");
    job->refresh_only = 1;
    job->is_destroy = 0;
    job->targets->nelts = job->replaces->nelts = 0;
    ck_assert_str_eq(joined(tpl_plan_argv(pool, "tf", job)),
                     "tf plan -input=false -no-color -detailed-exitcode "
                     "-out=tfplan -refresh-only");
    ck_assert_str_eq(joined(tpl_apply_argv(pool, "tf")),
                     "tf apply -input=false -no-color tfplan");
}
END_TEST

START_TEST(tail_lines_bytes_and_characters)
{
    const char *out = "one\ntwo\nthree\nfour\n\n";

    ck_assert_str_eq(tpl_tail(pool, out, strlen(out), 2, 100),
                     "three\nfour");
    ck_assert_str_eq(tpl_tail(pool, out, strlen(out), 10, 100),
                     "one\ntwo\nthree\nfour");
    ck_assert_str_eq(tpl_tail(pool, out, strlen(out), 10, 6), "e\nfour");
    ck_assert_str_eq(tpl_tail(pool, "", 0, 3, 10), "");
    ck_assert_str_eq(tpl_tail(pool, "\n\n", 2, 3, 10), "");
    /* "é" is C3 A9: a window starting on A9 skips it */
    ck_assert_str_eq(tpl_tail(pool, "x\xC3\xA9y", 4, 5, 2), "y");
    ck_assert_str_eq(tpl_tail(pool, "x\xC3\xA9y", 4, 5, 3), "\xC3\xA9y");
}
END_TEST

START_TEST(renewal_at_two_thirds)
{
    apr_time_t nb = apr_time_from_sec(1000000), na = nb
                    + apr_time_from_sec(3000);

    ck_assert(!tpl_renew_due(nb, na, nb));
    ck_assert(!tpl_renew_due(nb, na, nb + apr_time_from_sec(1999)));
    ck_assert(tpl_renew_due(nb, na, nb + apr_time_from_sec(2000)));
    ck_assert(tpl_renew_due(nb, na, na + 1));
    ck_assert(tpl_renew_due(na, nb, nb));           /* nonsense: renew */
}
END_TEST

START_TEST(poll_again_when_the_server_says)
{
    ck_assert_int_eq(tpl_poll_delay(204, 0), 0);
    ck_assert_int_eq(tpl_poll_delay(200, 7), 0);
    /* a busy server's Retry-After is followed, within bounds */
    ck_assert_int_eq(tpl_poll_delay(503, 7), 7);
    ck_assert_int_eq(tpl_poll_delay(429, 1), 1);
    ck_assert_int_eq(tpl_poll_delay(503, 100000), TPL_RETRY_MAX);
    /* nothing said, or not a busy server: the listener's own pause */
    ck_assert_int_eq(tpl_poll_delay(503, 0), TPL_RETRY_SEC);
    ck_assert_int_eq(tpl_poll_delay(500, 30), TPL_RETRY_SEC);
    ck_assert_int_eq(tpl_poll_delay(401, 0), TPL_RETRY_SEC);
    ck_assert_int_eq(tpl_poll_delay(0, 0), TPL_RETRY_SEC);
}
END_TEST

Suite *listener_suite(void);

Suite *listener_suite(void)
{
    Suite *s = suite_create("listener");
    TCase *tc = tcase_create("listener");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, args_defaults_and_forms);
    tcase_add_test(tc, args_errors);
    tcase_add_test(tc, job_parse_full);
    tcase_add_test(tc, job_parse_defaults_and_refusals);
    tcase_add_test(tc, override_forces_local_backend);
    tcase_add_test(tc, env_layers_variables);
    tcase_add_test(tc, tfvars_hold_hcl_values);
    tcase_add_test(tc, argv_for_each_command);
    tcase_add_test(tc, tail_lines_bytes_and_characters);
    tcase_add_test(tc, renewal_at_two_thirds);
    tcase_add_test(tc, poll_again_when_the_server_says);
    tcase_add_test(tc, plan_artifacts_round_trip);
    tcase_add_test(tc, cli_config_names_the_server_host);
    tcase_add_test(tc, exact_versions_come_from_the_binary_cache);
    suite_add_tcase(s, tc);
    return s;
}
