/* terrapod-admin: operator commands that work directly on the database
 * (schema migration, bootstrap of the first admin, users and tokens for
 * automation and tests). Prints shell-sourceable assignments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>

#include "tp_db.h"
#include "tp_auth.h"
#include "tp_crypto.h"
#include "tp_migrate.h"

static int usage(void)
{
    fprintf(stderr,
        "usage: terrapod-admin COMMAND --db PARAMS [options]\n"
        "  migrate --schema DIR           apply pending schema files\n"
        "  bootstrap --email E            create admin E with a generated\n"
        "                                 password and an API token\n"
        "  user --email E [--admin] [--password P]\n"
        "                                 create (or update) a local user\n"
        "  token --email E [--lifespan-seconds N]\n"
        "                                 mint an API token for E\n");
    return 2;
}

static int fail(tp_err_t *err)
{
    fprintf(stderr, "terrapod-admin: %s%s%s\n", err->detail,
            err->log ? ": " : "", err->log ? err->log : "");
    return 1;
}

int main(int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        {"db", 'd', 1, "libpq connection string"},
        {"schema", 's', 1, "schema directory"},
        {"email", 'e', 1, "user email"},
        {"password", 'p', 1, "password"},
        {"admin", 'a', 0, "grant the admin role"},
        {"lifespan-seconds", 'l', 1, "token lifespan"},
        {NULL, 0, 0, NULL}
    };
    const char *db_params = getenv("TERRAPOD_DB"), *schema = NULL;
    const char *email = NULL, *password = NULL, *cmd, *arg;
    const char *raw, *id;
    long long lifespan = 0;
    int admin = 0, opt, applied;
    apr_pool_t *p;
    apr_getopt_t *g;
    tp_db_t *db;
    tp_err_t *err = NULL;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    if (argc < 2) {
        return usage();
    }
    /* the command stands where getopt expects the program name */
    cmd = argv[1];
    apr_getopt_init(&g, p, argc - 1, argv + 1);
    while (apr_getopt_long(g, opts, &opt, &arg) == APR_SUCCESS) {
        switch (opt) {
        case 'd': db_params = arg; break;
        case 's': schema = arg; break;
        case 'e': email = tp_str_lower(p, arg); break;
        case 'p': password = arg; break;
        case 'a': admin = 1; break;
        case 'l': lifespan = strtoll(arg, NULL, 10); break;
        }
    }
    if (g->ind < g->argc || !db_params) {
        return usage();
    }
    if (tp_db_init(p) != APR_SUCCESS
        || (err = tp_db_open(p, "pgsql", db_params, &db)) != NULL) {
        return fail(err ? err : tp_err(p, 1, "cannot initialise apr_dbd"));
    }
    if (strcmp(cmd, "migrate") == 0 && schema) {
        if ((err = tp_migrate(db, p, schema, &applied)) != NULL) {
            return fail(err);
        }
        printf("applied=%d\n", applied);
        return 0;
    }
    if (!email) {
        return usage();
    }
    if (strcmp(cmd, "bootstrap") == 0) {
        password = tp_random_b64url(p, 18);
        admin = 1;
    }
    if (strcmp(cmd, "bootstrap") == 0 || strcmp(cmd, "user") == 0) {
        if ((err = tp_user_ensure(db, p, email, password, admin)) != NULL) {
            return fail(err);
        }
        if (strcmp(cmd, "user") == 0) {
            return 0;
        }
        printf("TERRAPOD_ADMIN_EMAIL='%s'\nTERRAPOD_ADMIN_PASSWORD='%s'\n",
               email, password);
    }
    else if (strcmp(cmd, "token") != 0) {
        return usage();
    }
    err = tp_token_create(db, p, email, "terrapod-admin",
                          "created by terrapod-admin", lifespan, &raw, &id);
    if (err) {
        return fail(err);
    }
    printf("TERRAPOD_TOKEN='%s'\nTERRAPOD_TOKEN_ID='%s'\n", raw, id);
    return 0;
}
