/* What a run phase asks for, and how that becomes files, environment and
 * terraform command lines. No I/O here. */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "tpl.h"

static const char OVERRIDE[] =
    "# Written by terrapod-listener: the run's state is the local file that\n"
    "# the listener downloads and uploads, so any cloud or backend block of\n"
    "# the configuration is replaced by the local backend.\n"
    "terraform {\n"
    "  backend \"local\" {}\n"
    "}\n";

const char *tpl_override_tf(void)
{
    return OVERRIDE;
}

/* A relative path with no "..": the working directory lies inside the
 * extracted configuration. */
static const char *clean_dir(apr_pool_t *p, const char *wd)
{
    const char *c;
    apr_size_t n;

    if (!wd) {
        return "";
    }
    if (*wd == '/') {
        return NULL;
    }
    for (c = wd; *c; c += n + (c[n] == '/')) {
        n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            return NULL;
        }
    }
    return apr_pstrdup(p, wd);
}

static const char *strings(apr_pool_t *p, const tp_json_t *list,
                           const char *what, apr_array_header_t **out)
{
    apr_size_t i, n = tp_json_len(list);
    const char *s;

    *out = apr_array_make(p, (int)n + 1, sizeof(const char *));
    if (list && tp_json_type(list, NULL) != TP_JSON_ARRAY
        && tp_json_type(list, NULL) != TP_JSON_NULL) {
        return apr_psprintf(p, "%s is not a list", what);
    }
    for (i = 0; i < n; i++) {
        if (!(s = tp_json_gets(tp_json_at(list, i), NULL)) || !*s) {
            return apr_psprintf(p, "%s holds a non-string", what);
        }
        APR_ARRAY_PUSH(*out, const char *) = s;
    }
    return NULL;
}

static const char *parse_vars(apr_pool_t *p, const tp_json_t *list,
                              apr_array_header_t **out)
{
    apr_size_t i, n = tp_json_len(list);
    tp_json_t *v;
    tpl_var_t *var;
    const char *cat;

    *out = apr_array_make(p, (int)n + 1, sizeof(tpl_var_t));
    for (i = 0; i < n; i++) {
        v = tp_json_at(list, i);
        var = apr_array_push(*out);
        var->key = tp_json_gets(v, "key", NULL);
        var->value = tp_json_gets(v, "value", NULL);
        cat = tp_json_gets(v, "category", NULL);
        if (!var->key || !cat
            || (strcmp(cat, "env") && strcmp(cat, "terraform"))) {
            return apr_psprintf(p, "variable %lu lacks a key or category",
                                (unsigned long)i + 1);
        }
        if (!var->value) {
            var->value = "";
        }
        var->env = !strcmp(cat, "env");
        var->hcl = tp_json_getb(v, "hcl", NULL);
        var->sensitive = tp_json_getb(v, "sensitive", NULL);
    }
    return NULL;
}

const char *tpl_job_parse(apr_pool_t *p, const tp_json_t *doc, tpl_job_t *job)
{
    const tp_json_t *d = tp_json_get(doc, "data", NULL);
    const tp_json_t *run = tp_json_get(d, "run", NULL);
    const tp_json_t *ws = tp_json_get(d, "workspace", NULL);
    const char *phase = tp_json_gets(d, "phase", NULL);
    const char *why;

    memset(job, 0, sizeof(*job));
    job->run_id = tp_json_gets(d, "run-id", NULL);
    if (!job->run_id || !*job->run_id || strchr(job->run_id, '/')
        || strchr(job->run_id, '.')) {
        return "the job has no usable run-id";
    }
    if (!phase || (strcmp(phase, "plan") && strcmp(phase, "apply"))) {
        return "the job's phase is neither plan nor apply";
    }
    job->apply = !strcmp(phase, "apply");
    job->workspace_id = tp_json_gets(ws, "id", NULL);
    job->workspace_name = tp_json_gets(ws, "name", NULL);
    job->tf_version = tp_json_gets(ws, "terraform-version", NULL);
    job->working_dir = clean_dir(p, tp_json_gets(ws, "working-directory",
                                                 NULL));
    if (!job->working_dir) {
        return "the working directory leaves the configuration";
    }
    job->is_destroy = tp_json_getb(run, "is-destroy", NULL);
    /* refreshing is the default: only an explicit false turns it off */
    job->refresh = tp_json_type(run, "refresh", NULL) != TP_JSON_BOOL
                   || tp_json_getb(run, "refresh", NULL);
    job->refresh_only = tp_json_getb(run, "refresh-only", NULL);
    job->allow_empty_apply = tp_json_getb(run, "allow-empty-apply", NULL);
    job->plan_only = tp_json_getb(run, "plan-only", NULL);
    if ((why = strings(p, tp_json_get(run, "target-addrs", NULL),
                       "target-addrs", &job->targets)) != NULL
        || (why = strings(p, tp_json_get(run, "replace-addrs", NULL),
                          "replace-addrs", &job->replaces)) != NULL
        || (why = parse_vars(p, tp_json_get(d, "variables", NULL),
                             &job->vars)) != NULL) {
        return why;
    }
    return NULL;
}

int tpl_env_name_valid(const char *k)
{
    if (!*k || apr_isdigit(*k)) {
        return 0;
    }
    for (; *k; k++) {
        if (!apr_isalnum(*k) && *k != '_') {
            return 0;
        }
    }
    return 1;
}

/* Replaces the entry of the same name, or appends. */
static void env_put(apr_array_header_t *env, const char *entry)
{
    apr_size_t n = strcspn(entry, "=") + 1;
    int i;

    for (i = 0; i < env->nelts; i++) {
        if (!strncmp(APR_ARRAY_IDX(env, i, const char *), entry, n)) {
            APR_ARRAY_IDX(env, i, const char *) = entry;
            return;
        }
    }
    APR_ARRAY_PUSH(env, const char *) = entry;
}

/* The entry "NAME=value" of base, or NULL. */
static const char *env_entry(char *const *base, const char *name)
{
    apr_size_t n = strlen(name);

    for (; base && *base; base++) {
        if (!strncmp(*base, name, n) && (*base)[n] == '=') {
            return *base;
        }
    }
    return NULL;
}

char **tpl_build_env(apr_pool_t *p, char *const *base,
                     const apr_array_header_t *pass, const char *ca_file,
                     const char *home, const char *tmpdir,
                     const tpl_job_t *job, int *skipped)
{
    apr_array_header_t *env = apr_array_make(p, 64, sizeof(const char *));
    const char *entry;
    const tpl_var_t *v;
    int i;

    *skipped = 0;
    /* what terraform and the tools it runs need to be found and to trust
     * TLS as the host does; the rest of the listener's environment (the
     * operator's CLI configuration, credentials, TERRAPOD_*) stays out */
    entry = env_entry(base, "PATH");
    env_put(env, entry ? entry : "PATH=/usr/local/bin:/usr/bin:/bin");
    if (ca_file) {
        env_put(env, apr_pstrcat(p, "SSL_CERT_FILE=", ca_file, NULL));
    }
    else if ((entry = env_entry(base, "SSL_CERT_FILE")) != NULL) {
        env_put(env, entry);
    }
    for (i = 0; pass && i < pass->nelts; i++) {
        if ((entry = env_entry(base, APR_ARRAY_IDX(pass, i, const char *)))
            != NULL) {
            env_put(env, entry);
        }
    }
    env_put(env, apr_pstrcat(p, "HOME=", home, NULL));
    env_put(env, apr_pstrcat(p, "TMPDIR=", tmpdir, NULL));
    for (i = 0; i < job->vars->nelts; i++) {
        v = &APR_ARRAY_IDX(job->vars, i, tpl_var_t);
        if (!tpl_env_name_valid(v->key)) {
            ++*skipped;
            continue;
        }
        if (!v->env && v->hcl) {
            continue;               /* in the tfvars file */
        }
        /* a string, as terraform takes TF_VAR_ values of string variables */
        env_put(env, apr_pstrcat(p, v->env ? "" : "TF_VAR_", v->key, "=",
                                 v->value, NULL));
    }
    env_put(env, "TF_IN_AUTOMATION=1");
    env_put(env, "TF_INPUT=0");
    env_put(env, "CHECKPOINT_DISABLE=1");
    APR_ARRAY_PUSH(env, const char *) = NULL;
    return (char **)env->elts;
}

/* HCL values must be parsed as HCL whatever the variable's type, which
 * TF_VAR_ does only for complex types: they go into a tfvars file. */
const char *tpl_tfvars(apr_pool_t *p, const tpl_job_t *job)
{
    const char *out = "";
    const tpl_var_t *v;
    const char *c;
    int i;

    for (i = 0; i < job->vars->nelts; i++) {
        v = &APR_ARRAY_IDX(job->vars, i, tpl_var_t);
        if (v->env || !v->hcl) {
            continue;
        }
        for (c = v->key; *c && (apr_isalnum(*c) || *c == '_' || *c == '-');
             c++) {
        }
        if (*c || !*v->key || apr_isdigit(*v->key)) {
            continue;
        }
        out = apr_pstrcat(p, out, v->key, " = ", v->value, "\n", NULL);
    }
    return out;
}

static apr_array_header_t *argv_start(apr_pool_t *p, const char *terraform,
                                      const char *command)
{
    apr_array_header_t *a = apr_array_make(p, 16, sizeof(const char *));

    APR_ARRAY_PUSH(a, const char *) = terraform;
    APR_ARRAY_PUSH(a, const char *) = command;
    APR_ARRAY_PUSH(a, const char *) = "-input=false";
    APR_ARRAY_PUSH(a, const char *) = "-no-color";
    return a;
}

static const char **argv_end(apr_array_header_t *a)
{
    APR_ARRAY_PUSH(a, const char *) = NULL;
    return (const char **)a->elts;
}

const char **tpl_init_argv(apr_pool_t *p, const char *terraform)
{
    return argv_end(argv_start(p, terraform, "init"));
}

const char **tpl_plan_argv(apr_pool_t *p, const char *terraform,
                           const tpl_job_t *job)
{
    apr_array_header_t *a = argv_start(p, terraform, "plan");
    int i;

    APR_ARRAY_PUSH(a, const char *) = "-detailed-exitcode";
    APR_ARRAY_PUSH(a, const char *) = "-out=tfplan";
    if (job->is_destroy) {
        APR_ARRAY_PUSH(a, const char *) = "-destroy";
    }
    if (job->refresh_only) {
        APR_ARRAY_PUSH(a, const char *) = "-refresh-only";
    } else if (!job->refresh) {
        APR_ARRAY_PUSH(a, const char *) = "-refresh=false";
    }
    for (i = 0; i < job->targets->nelts; i++) {
        APR_ARRAY_PUSH(a, const char *) = apr_pstrcat(p, "-target=",
            APR_ARRAY_IDX(job->targets, i, const char *), NULL);
    }
    for (i = 0; i < job->replaces->nelts; i++) {
        APR_ARRAY_PUSH(a, const char *) = apr_pstrcat(p, "-replace=",
            APR_ARRAY_IDX(job->replaces, i, const char *), NULL);
    }
    return argv_end(a);
}

const char **tpl_apply_argv(apr_pool_t *p, const char *terraform)
{
    apr_array_header_t *a = argv_start(p, terraform, "apply");

    APR_ARRAY_PUSH(a, const char *) = "tfplan";
    return argv_end(a);
}

const char **tpl_show_json_argv(apr_pool_t *p, const char *terraform)
{
    apr_array_header_t *a = apr_array_make(p, 5, sizeof(const char *));

    /* show takes neither -input nor (with -json) -no-color */
    APR_ARRAY_PUSH(a, const char *) = terraform;
    APR_ARRAY_PUSH(a, const char *) = "show";
    APR_ARRAY_PUSH(a, const char *) = "-json";
    APR_ARRAY_PUSH(a, const char *) = "tfplan";
    return argv_end(a);
}

/* Lead bytes only: a cut window must not start inside a character, or
 * the JSON carrying it would be refused. */
const char *tpl_tail(apr_pool_t *p, const char *buf, apr_size_t len,
                     int max_lines, apr_size_t max_bytes)
{
    apr_size_t end = len, start;
    int lines = 0;

    while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r'
                       || buf[end - 1] == ' ')) {
        end--;
    }
    start = end;
    while (start > 0 && end - start < max_bytes) {
        if (buf[start - 1] == '\n' && ++lines >= max_lines) {
            break;
        }
        start--;
    }
    while (start < end && ((unsigned char)buf[start] & 0xC0) == 0x80) {
        start++;
    }
    return apr_pstrmemdup(p, buf + start, end - start);
}

int tpl_renew_due(apr_time_t not_before, apr_time_t not_after,
                  apr_time_t now)
{
    apr_time_t life = not_after - not_before;

    return life <= 0 || now >= not_after - life / 3;
}

int tpl_poll_delay(int status, long retry_after)
{
    if (status == 200 || status == 204) {
        return 0;
    }
    if ((status == 503 || status == 429) && retry_after > 0) {
        return retry_after < TPL_RETRY_MAX ? (int)retry_after : TPL_RETRY_MAX;
    }
    return TPL_RETRY_SEC;
}

const char *tpl_cli_config(apr_pool_t *p, const char *url, const char *token)
{
    const char *host = strstr(url, "://");

    host = host ? host + 3 : url;
    int n = (int)strcspn(host, "/");

    /* terraform asks a mirror for HOST/NAMESPACE/TYPE by a path that a
     * port in HOST breaks, so the server's own providers come straight
     * from its providers.v1, the runner token standing for the person
     * the run is for */
    return apr_psprintf(p, "# Written by terrapod-listener: the server "
                        "knows this token as the run's\n# workspace, which "
                        "may read the state other workspaces share with "
                        "it.\ncredentials \"%.*s\" {\n  token = \"%s\"\n}\n"
                        "# Providers are installed through the server's "
                        "network mirror, its own\n# private providers from "
                        "its registry.\nprovider_installation {\n"
                        "  network_mirror {\n    url = \"%s/v1/providers/\"\n"
                        "    exclude = [\"%.*s/*/*\"]\n  }\n"
                        "  direct {\n    include = [\"%.*s/*/*\"]\n  }\n}\n",
                        n, host, token, url, n, host, n, host);
}
