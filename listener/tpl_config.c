/* The listener's command line. */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "tpl.h"

#define MAX_CONCURRENCY 64
/* the server clamps runner tokens to two hours; the floor keeps the
 * renewal at half-life from turning into a request storm */
#define MIN_TOKEN_TTL 10
#define MAX_TOKEN_TTL 7200

const char *tpl_usage(void)
{
    return "usage: terrapod-listener --url https://host[:port] --name NAME\n"
           "         --state-dir DIR [--join-token TOKEN] [--ca-file CA.pem]\n"
           "         [--terraform PATH] [--concurrency N] [--work-dir DIR]\n"
           "         [--token-ttl SECONDS] [--log-file FILE]\n"
           "         [--pass-env NAME[,NAME...]]...\n"
           "       terrapod-listener --version\n"
           "The join token may also come from TERRAPOD_JOIN_TOKEN; it is\n"
           "needed only while no valid credentials are stored in DIR.\n"
           "terraform gets PATH, SSL_CERT_FILE and the variables --pass-env\n"
           "names from the listener's environment, nothing else of it.\n"
           "SIGHUP reopens the log file.\n";
}

static int is_option(const char *arg, const char *name, const char **inline_val)
{
    size_t n = strlen(name);

    if (strncmp(arg, name, n) != 0) {
        return 0;
    }
    if (arg[n] == '=') {
        *inline_val = arg + n + 1;
        return 1;
    }
    *inline_val = NULL;
    return arg[n] == '\0';
}

/* A number option within [min, max], dflt when absent; 0 when bad. */
static int int_option(const char *val, int min, int max, int dflt, int *out)
{
    char *end;
    long n;

    if (!val) {
        *out = dflt;
        return 1;
    }
    n = strtol(val, &end, 10);
    if (*end || n < min || n > max) {
        return 0;
    }
    *out = (int)n;
    return 1;
}

/* Adds the names of a --pass-env value ("A,B") to pass. */
static const char *pass_names(apr_pool_t *p, const char *val,
                              apr_array_header_t *pass)
{
    char *names = apr_pstrdup(p, val), *last, *name;

    for (name = apr_strtok(names, ",", &last); name;
         name = apr_strtok(NULL, ",", &last)) {
        if (!tpl_env_name_valid(name)) {
            return apr_psprintf(p, "--pass-env: \"%s\" is no environment "
                                "variable name", name);
        }
        /* the join token must never reach what a configuration runs */
        if (!strncmp(name, "TERRAPOD_", 9)) {
            return apr_psprintf(p, "--pass-env: %s is the listener's own",
                                name);
        }
        APR_ARRAY_PUSH(pass, const char *) = name;
    }
    return NULL;
}

const char *tpl_parse_args(apr_pool_t *p, int argc, const char *const *argv,
                           const char *env_token, tpl_config_t *cfg)
{
    static const char *const names[] = {
        "--url", "--join-token", "--name", "--state-dir", "--ca-file",
        "--terraform", "--concurrency", "--work-dir", "--token-ttl",
        "--log-file", "--pass-env", NULL
    };
    enum { PASS_ENV = 10 };
    const char *values[11] = {NULL};
    const char *val, *why;
    char *end;
    int i, k;

    memset(cfg, 0, sizeof(*cfg));
    cfg->pass_env = apr_array_make(p, 4, sizeof(const char *));
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            return "";
        }
        if (!strcmp(argv[i], "--version")) {
            cfg->version = 1;
            return "";
        }
        for (k = 0; names[k]; k++) {
            if (is_option(argv[i], names[k], &val)) {
                break;
            }
        }
        if (!names[k]) {
            return apr_psprintf(p, "unknown argument \"%s\"", argv[i]);
        }
        if (!val) {
            if (i + 1 >= argc) {
                return apr_psprintf(p, "%s needs a value", names[k]);
            }
            val = argv[++i];
        }
        if (!*val) {
            return apr_psprintf(p, "%s must not be empty", names[k]);
        }
        /* the one option that may be given again: the names add up */
        if (k == PASS_ENV && (why = pass_names(p, val, cfg->pass_env))) {
            return why;
        }
        values[k] = val;
    }
    if (!values[0] || !values[2] || !values[3]) {
        return "--url, --name and --state-dir are required";
    }
    if (strncmp(values[0], "https://", 8) && strncmp(values[0], "http://", 7)) {
        return "--url must start with https:// (or http://)";
    }
    cfg->url = apr_pstrdup(p, values[0]);
    for (end = (char *)cfg->url + strlen(cfg->url);
         end > cfg->url && end[-1] == '/'; end--) {
        end[-1] = '\0';
    }
    cfg->join_token = values[1] ? values[1]
                      : (env_token && *env_token ? env_token : NULL);
    cfg->name = values[2];
    for (val = cfg->name; *val; val++) {
        if (!apr_isalnum(*val) && !strchr("-_.", *val)) {
            return "--name may hold only letters, digits, '-', '_' and '.'";
        }
    }
    cfg->state_dir = values[3];
    cfg->ca_file = values[4];
    cfg->terraform = values[5] ? values[5] : "terraform";
    if (!int_option(values[6], 1, MAX_CONCURRENCY, 2, &cfg->concurrency)) {
        return apr_psprintf(p, "--concurrency must be 1 to %d",
                            MAX_CONCURRENCY);
    }
    if (!int_option(values[8], MIN_TOKEN_TTL, MAX_TOKEN_TTL, MAX_TOKEN_TTL,
                    &cfg->token_ttl)) {
        return apr_psprintf(p, "--token-ttl must be %d to %d seconds",
                            MIN_TOKEN_TTL, MAX_TOKEN_TTL);
    }
    cfg->work_dir = values[7] ? values[7]
                    : apr_pstrcat(p, cfg->state_dir, "/work", NULL);
    cfg->log_file = values[9];
    return NULL;
}
