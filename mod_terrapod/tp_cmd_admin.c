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
        "  bootstrap --email E [--reset]  create admin E with a generated\n"
        "                                 password and an API token; when E\n"
        "                                 exists, report it and change nothing\n"
        "                                 (--reset: a new password and token)\n"
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

/* What bootstrap reports of an account that exists. */
static const tp_stmt_t SQL_ACCOUNT = {"bootstrap_account",
    "SELECT u.is_active,"
    "       EXISTS (SELECT 1 FROM role_assignments r"
    "                WHERE r.email = u.email AND r.role_name = %s) AS admin,"
    "       (SELECT count(*) FROM api_tokens t"
    "         WHERE t.user_email = u.email"
    "           AND (t.expires_at IS NULL OR t.expires_at > now())) AS tokens"
    "  FROM users u WHERE u.email = %s"};

/* A second bootstrap changes nothing: it says what exists, and succeeds
 * only when that is an active admin. */
static int report_account(tp_db_t *db, apr_pool_t *p, const char *email)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_ACCOUNT, &rows,
                               TP_DB_ARGS("admin", email));
    const char *tokens;

    if (err || rows->nrows != 1) {
        return fail(err ? err : tp_err(p, 500, "%s vanished", email));
    }
    if (!tp_row_bool(rows, 0, "is_active")) {
        fprintf(stderr, "terrapod-admin: %s exists but is deactivated; "
                "nothing changed\n", email);
        return 1;
    }
    if (!tp_row_bool(rows, 0, "admin")) {
        fprintf(stderr, "terrapod-admin: %s exists but is not an admin; "
                "nothing changed (--reset makes it one, with a new password "
                "and API token)\n", email);
        return 1;
    }
    tokens = tp_row(rows, 0, "tokens");
    fprintf(stderr, "terrapod-admin: %s exists (an admin, %s API token%s); "
            "nothing changed (--reset sets a new password and mints a new "
            "API token)\n", email, tokens, strcmp(tokens, "1") ? "s" : "");
    printf("TERRAPOD_ADMIN_EMAIL='%s'\n", email);
    return 0;
}

/* The first admin, with a generated password and an API token, in one
 * transaction: of two bootstraps at once, one creates and the other
 * reports. --reset gives an existing account both afresh. */
static int bootstrap(tp_db_t *db, apr_pool_t *p, const char *email,
                     int reset)
{
    const char *password = tp_random_b64url(p, 18), *raw, *id;
    tp_rows_t *row;
    tp_err_t *err = tp_db_begin(db, p);

    if (!err && !reset) {
        err = tp_user_create(db, p, email, NULL, password, &row);
        if (err && err->status == 409) {
            tp_db_rollback(db);
            return report_account(db, p, email);
        }
    }
    if (!err) {
        err = tp_user_ensure(db, p, email, reset ? password : NULL, 1);
    }
    if (!err) {
        err = tp_token_create(db, p, email, "terrapod-admin",
                              "created by terrapod-admin", 0, &raw, &id);
    }
    if (!err) {
        err = tp_db_commit(db);
    }
    if (err) {
        return fail(err);
    }
    printf("TERRAPOD_ADMIN_EMAIL='%s'\nTERRAPOD_ADMIN_PASSWORD='%s'\n"
           "TERRAPOD_TOKEN='%s'\nTERRAPOD_TOKEN_ID='%s'\n", email, password,
           raw, id);
    return 0;
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
        {"reset", 'r', 0, "bootstrap: a new password and token"},
        {NULL, 0, 0, NULL}
    };
    const char *db_params = getenv("TERRAPOD_DB"), *schema = NULL;
    const char *email = NULL, *password = NULL, *cmd, *arg;
    const char *raw, *id;
    long long lifespan = 0;
    int admin = 0, reset = 0, opt, applied;
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
        case 'r': reset = 1; break;
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
        return bootstrap(db, p, email, reset);
    }
    if (strcmp(cmd, "user") == 0) {
        err = tp_user_ensure(db, p, email, password, admin);
        return err ? fail(err) : 0;
    }
    if (strcmp(cmd, "token") != 0) {
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
