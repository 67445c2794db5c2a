/* terrapod-admin: operator commands. On files: the listener CA and the
 * HMAC signing key an installation needs, and moving the objects between
 * the storage directory and a bucket. On the database: schema
 * migration, the first admin, users and tokens, agent pools and their
 * join tokens (for automation and tests). Prints shell-sourceable
 * assignments on stdout, what it did or found on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>

#include "tp_db.h"
#include "tp_auth.h"
#include "tp_crypto.h"
#include "tp_migrate.h"
#include "tp_http_client.h"
#include "tp_pool.h"
#include "tp_storage_move.h"

#define CA_DAYS_DEFAULT 3650
#define CA_CN_DEFAULT "mod_terrapod listener CA"
#define HMAC_KEY_BYTES 64
/* what mod_terrapod accepts as TerrapodHMACKeyFile */
#define HMAC_KEY_MIN 32
#define HMAC_KEY_MAX 4096
#define PEM_MAX 65536

/* Everything the command line may say; each command reads its part. */
typedef struct {
    apr_pool_t *p;
    tp_db_t *db;
    const char *db_params, *schema, *email, *password, *name, *description;
    const char *pool, *cert, *key, *out, *cn;
    const char *storage, *to;
    tp_s3_t s3;
    long long lifespan, max_uses, lifespan_hours, days;
    int admin, reset;
} args_t;

static int usage(void)
{
    fprintf(stderr,
        "usage: terrapod-admin COMMAND [options]\n"
        "Files (run as the user that starts Apache, usually root):\n"
        "  init-ca --cert FILE --key FILE [--days N] [--cn NAME]\n"
        "                                 create the listener CA (key 0600,\n"
        "                                 certificate 0644); when both exist\n"
        "                                 and pair, change nothing\n"
        "  gen-hmac-key --out FILE        64 random bytes, mode 0600; when\n"
        "                                 FILE exists, change nothing\n"
        "  storage-migrate --to s3|dir --storage DIR --endpoint URL\n"
        "                  --bucket B [--region R] [--prefix P]\n"
        "                  [--credentials-file F] [--addressing path|virtual]\n"
        "                                 copy every object from the\n"
        "                                 directory to the bucket or back,\n"
        "                                 each verified by its MD5; objects\n"
        "                                 already there with the same MD5\n"
        "                                 are kept, so a rerun resumes\n"
        "On the database (--db PARAMS, or TERRAPOD_DB):\n"
        "  migrate --schema DIR           apply pending schema files\n"
        "  bootstrap --email E [--reset]  create admin E with a generated\n"
        "                                 password and an API token; when E\n"
        "                                 exists, report it and change nothing\n"
        "                                 (--reset: a new password and token)\n"
        "  user --email E [--admin] [--password P]\n"
        "                                 create (or update) a local user\n"
        "  token --email E [--lifespan-seconds N]\n"
        "                                 mint an API token for E\n"
        "  pool create --name N [--description D]\n"
        "                                 create agent pool N; when it exists,\n"
        "                                 report its id and change nothing\n"
        "  join-token create --pool N [--description D] [--max-uses N]\n"
        "                    [--lifespan-hours H]\n"
        "                                 a new join token of agent pool N\n");
    return 2;
}

static int fail(tp_err_t *err)
{
    fprintf(stderr, "terrapod-admin: %s%s%s\n", err->detail,
            err->log ? ": " : "", err->log ? err->log : "");
    return 1;
}

/* ---- files ---- */

/* Writes data to path, which must not exist, with mode: through a
 * temporary file beside it, linked into place, so path never holds part
 * of the data and an existing file is never replaced. */
static tp_err_t *create_file(apr_pool_t *p, const char *path, mode_t mode,
                             const void *data, apr_size_t len)
{
    char *tmp = apr_pstrcat(p, path, ".tmp-XXXXXX", NULL);
    int fd = mkstemp(tmp), e = 0;

    if (fd < 0) {
        return tp_err(p, 1, "cannot create %s: %s", path, strerror(errno));
    }
    if (fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len
        || fsync(fd) != 0) {
        e = errno;
    }
    if (close(fd) != 0 && !e) {
        e = errno;
    }
    if (!e && link(tmp, path) != 0) {
        e = errno;
    }
    unlink(tmp);
    return e ? tp_err(p, 1, "cannot create %s: %s", path, strerror(e)) : NULL;
}

/* A file of at most max bytes, NUL-terminated; NULL with *err when it
 * cannot be read, NULL alone when it does not exist. */
static char *read_small(apr_pool_t *p, const char *path, apr_size_t max,
                        apr_size_t *len, tp_err_t **err)
{
    char *buf = apr_palloc(p, max + 1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    *err = NULL;
    if (fd < 0) {
        if (errno != ENOENT) {
            *err = tp_err(p, 1, "cannot read %s: %s", path, strerror(errno));
        }
        return NULL;
    }
    n = read(fd, buf, max + 1);
    close(fd);
    if (n < 0 || (apr_size_t)n > max) {
        *err = tp_err(p, 1, "cannot use %s: %s", path,
                      n < 0 ? strerror(errno) : "it is too large");
        return NULL;
    }
    buf[n] = '\0';
    *len = (apr_size_t)n;
    return buf;
}

/* An existing pair is kept when it is a CA and its key; anything else
 * (one file without the other, a key of another certificate) is left for
 * the operator to sort out. */
static int init_ca(args_t *a)
{
    apr_size_t len;
    tp_err_t *err, *err2;
    const char *why;
    char *cert, *key;
    tp_x509_t ca;

    if (!a->cert || !a->key || a->days > 36500) {
        return usage();
    }
    cert = read_small(a->p, a->cert, PEM_MAX, &len, &err);
    key = read_small(a->p, a->key, PEM_MAX, &len, &err2);
    if (err || err2) {
        return fail(err ? err : err2);
    }
    if (cert && key) {
        if (tp_x509_ca_check(a->p, cert, key, &why) != APR_SUCCESS) {
            fprintf(stderr, "terrapod-admin: %s and %s exist but are no "
                    "listener CA: %s; nothing changed\n", a->cert, a->key,
                    why);
            return 1;
        }
        fprintf(stderr, "terrapod-admin: the listener CA %s (key %s) "
                "exists; nothing changed\n", a->cert, a->key);
        return 0;
    }
    if (cert || key) {
        fprintf(stderr, "terrapod-admin: %s exists without %s; nothing "
                "changed (move it away to create a new CA)\n",
                cert ? a->cert : a->key, cert ? a->key : a->cert);
        return 1;
    }
    if (tp_x509_ca_create(a->p, a->cn, (int)a->days, &ca, &why)
        != APR_SUCCESS) {
        return fail(tp_err(a->p, 1, "%s", why));
    }
    /* the key first: a certificate never waits for a key that failed */
    if ((err = create_file(a->p, a->key, 0600, ca.key_pem,
                           strlen(ca.key_pem))) != NULL) {
        return fail(err);
    }
    if ((err = create_file(a->p, a->cert, 0644, ca.cert_pem,
                           strlen(ca.cert_pem))) != NULL) {
        unlink(a->key);
        return fail(err);
    }
    fprintf(stderr, "terrapod-admin: created the listener CA %s (key %s), "
            "CN=%s, for %lld days\n", a->cert, a->key, a->cn, a->days);
    return 0;
}

static int gen_hmac_key(args_t *a)
{
    unsigned char key[HMAC_KEY_BYTES];
    apr_size_t len;
    tp_err_t *err;

    if (!a->out) {
        return usage();
    }
    if (read_small(a->p, a->out, HMAC_KEY_MAX, &len, &err)) {
        if (len < HMAC_KEY_MIN) {
            fprintf(stderr, "terrapod-admin: %s exists but holds %lu bytes; "
                    "a key needs %d; nothing changed\n", a->out,
                    (unsigned long)len, HMAC_KEY_MIN);
            return 1;
        }
        fprintf(stderr, "terrapod-admin: the HMAC key %s exists; nothing "
                "changed\n", a->out);
        return 0;
    }
    if (err) {
        return fail(err);
    }
    if (tp_random(key, sizeof(key)) != APR_SUCCESS) {
        return fail(tp_err(a->p, 1, "no randomness"));
    }
    if ((err = create_file(a->p, a->out, 0600, key, sizeof(key))) != NULL) {
        return fail(err);
    }
    fprintf(stderr, "terrapod-admin: created the HMAC key %s\n", a->out);
    return 0;
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

/* ---- the database ---- */

static int migrate(args_t *a)
{
    int applied;
    tp_err_t *err;

    if (!a->schema) {
        return usage();
    }
    if ((err = tp_migrate(a->db, a->p, a->schema, &applied)) != NULL) {
        return fail(err);
    }
    printf("applied=%d\n", applied);
    return 0;
}

static int cmd_bootstrap(args_t *a)
{
    return a->email ? bootstrap(a->db, a->p, a->email, a->reset) : usage();
}

static int user(args_t *a)
{
    tp_err_t *err;

    if (!a->email) {
        return usage();
    }
    err = tp_user_ensure(a->db, a->p, a->email, a->password, a->admin);
    return err ? fail(err) : 0;
}

static int token(args_t *a)
{
    const char *raw, *id;
    tp_err_t *err;

    if (!a->email) {
        return usage();
    }
    err = tp_token_create(a->db, a->p, a->email, "terrapod-admin",
                          "created by terrapod-admin", a->lifespan, &raw,
                          &id);
    if (err) {
        return fail(err);
    }
    printf("TERRAPOD_TOKEN='%s'\nTERRAPOD_TOKEN_ID='%s'\n", raw, id);
    return 0;
}

/* Owned by nobody: platform admins manage it. */
static int pool_create(args_t *a)
{
    const char *id;
    tp_err_t *err;

    if (!a->name) {
        return usage();
    }
    if ((err = tp_pool_create(a->db, a->p, a->name, a->description, NULL,
                              NULL, &id)) != NULL) {
        return fail(err);
    }
    if (!id) {
        if ((err = tp_pool_find(a->db, a->p, a->name, &id)) != NULL
            || !id) {
            return fail(err ? err : tp_err(a->p, 1, "agent pool %s "
                                           "vanished", a->name));
        }
        fprintf(stderr, "terrapod-admin: agent pool %s exists; nothing "
                "changed\n", a->name);
    }
    printf("TERRAPOD_POOL_ID='%s'\n", id);
    return 0;
}

static int join_token_create(args_t *a)
{
    tp_join_token_spec_t spec = {0};
    const char *pool_id, *raw;
    tp_rows_t *row;
    tp_err_t *err;

    if (!a->pool || a->max_uses > TP_JOIN_TOKEN_MAX_USES
        || a->lifespan_hours > TP_JOIN_TOKEN_MAX_HOURS) {
        return usage();
    }
    if ((err = tp_pool_find(a->db, a->p, a->pool, &pool_id)) != NULL) {
        return fail(err);
    }
    if (!pool_id) {
        return fail(tp_err(a->p, 404, "agent pool %s not found (terrapod-"
                           "admin pool create --name %s makes it)", a->pool,
                           a->pool));
    }
    spec.description = a->description;
    spec.created_by = "terrapod-admin";
    if (a->max_uses) {
        spec.max_uses = apr_psprintf(a->p, "%" APR_INT64_T_FMT,
                                     (apr_int64_t)a->max_uses);
    }
    if (a->lifespan_hours) {
        spec.lifespan_hours = apr_psprintf(a->p, "%" APR_INT64_T_FMT,
                                           (apr_int64_t)a->lifespan_hours);
    }
    if ((err = tp_join_token_create(a->db, a->p, pool_id, &spec, &raw, &row))
        != NULL) {
        return fail(err);
    }
    printf("TERRAPOD_JOIN_TOKEN='%s'\nTERRAPOD_JOIN_TOKEN_ID='%s'\n", raw,
           tp_row(row, 0, "id"));
    return 0;
}

/* ---- storage ---- */

static int storage_migrate(args_t *a)
{
    tp_move_stats_t stats;
    tp_err_t *err;
    int to_s3;

    if (!a->to || (strcmp(a->to, "s3") && strcmp(a->to, "dir"))
        || !a->storage || !a->s3.endpoint || !a->s3.bucket
        || a->s3.virtual_host < 0) {
        return usage();
    }
    to_s3 = !strcmp(a->to, "s3");
    if (!a->s3.prefix) {
        a->s3.prefix = "";
    }
    if ((err = tp_http_global_init() == APR_SUCCESS ? NULL
               : tp_err(a->p, 1, "cannot initialise libcurl")) != NULL
        || (err = tp_storage_move(a->p, a->storage, &a->s3, to_s3, &stats))
           != NULL) {
        return fail(err);
    }
    fprintf(stderr, "terrapod-admin: %d object(s) copied to the %s and "
            "verified, %d already there\n", stats.copied,
            to_s3 ? "bucket" : "directory", stats.kept);
    printf("TERRAPOD_OBJECTS_COPIED='%d'\nTERRAPOD_OBJECTS_KEPT='%d'\n",
           stats.copied, stats.kept);
    return 0;
}

static const struct command {
    const char *name;
    int (*run)(args_t *a);
    int needs_db;
} COMMANDS[] = {
    {"init-ca", init_ca, 0},
    {"gen-hmac-key", gen_hmac_key, 0},
    {"storage-migrate", storage_migrate, 0},
    {"migrate", migrate, 1},
    {"bootstrap", cmd_bootstrap, 1},
    {"user", user, 1},
    {"token", token, 1},
    {"pool create", pool_create, 1},
    {"join-token create", join_token_create, 1},
    {NULL, NULL, 0}
};

enum { OPT_CERT = 256, OPT_KEY, OPT_DAYS, OPT_CN, OPT_OUT, OPT_NAME,
       OPT_DESCRIPTION, OPT_POOL, OPT_MAX_USES, OPT_LIFESPAN_HOURS,
       OPT_STORAGE, OPT_TO, OPT_ENDPOINT, OPT_BUCKET, OPT_REGION, OPT_PREFIX,
       OPT_CREDENTIALS, OPT_ADDRESSING };

/* A whole decimal number of at least 1, or -1. */
static long long positive(const char *s)
{
    char *end;
    long long n = strtoll(s, &end, 10);

    return *s && !*end && n >= 1 ? n : -1;
}

static int parse(args_t *a, apr_getopt_t *g)
{
    static const apr_getopt_option_t opts[] = {
        {"db", 'd', 1, "libpq connection string"},
        {"schema", 's', 1, "schema directory"},
        {"email", 'e', 1, "user email"},
        {"password", 'p', 1, "password"},
        {"admin", 'a', 0, "grant the admin role"},
        {"lifespan-seconds", 'l', 1, "token lifespan"},
        {"reset", 'r', 0, "bootstrap: a new password and token"},
        {"cert", OPT_CERT, 1, "CA certificate file"},
        {"key", OPT_KEY, 1, "CA key file"},
        {"days", OPT_DAYS, 1, "CA validity"},
        {"cn", OPT_CN, 1, "CA common name"},
        {"out", OPT_OUT, 1, "key file"},
        {"name", OPT_NAME, 1, "agent pool name"},
        {"description", OPT_DESCRIPTION, 1, "description"},
        {"pool", OPT_POOL, 1, "agent pool name"},
        {"max-uses", OPT_MAX_USES, 1, "join token uses"},
        {"lifespan-hours", OPT_LIFESPAN_HOURS, 1, "join token lifespan"},
        {"storage", OPT_STORAGE, 1, "storage directory"},
        {"to", OPT_TO, 1, "s3 or dir"},
        {"endpoint", OPT_ENDPOINT, 1, "S3 endpoint URL"},
        {"bucket", OPT_BUCKET, 1, "S3 bucket"},
        {"region", OPT_REGION, 1, "S3 region"},
        {"prefix", OPT_PREFIX, 1, "S3 key prefix"},
        {"credentials-file", OPT_CREDENTIALS, 1, "AWS credentials file"},
        {"addressing", OPT_ADDRESSING, 1, "path or virtual"},
        {NULL, 0, 0, NULL}
    };
    const char *arg;
    int opt;
    apr_status_t rv;

    while ((rv = apr_getopt_long(g, opts, &opt, &arg)) == APR_SUCCESS) {
        switch (opt) {
        case 'd': a->db_params = arg; break;
        case 's': a->schema = arg; break;
        case 'e': a->email = tp_str_lower(a->p, arg); break;
        case 'p': a->password = arg; break;
        case 'a': a->admin = 1; break;
        case 'r': a->reset = 1; break;
        case 'l': a->lifespan = strtoll(arg, NULL, 10); break;
        case OPT_CERT: a->cert = arg; break;
        case OPT_KEY: a->key = arg; break;
        case OPT_DAYS: a->days = positive(arg); break;
        case OPT_CN: a->cn = arg; break;
        case OPT_OUT: a->out = arg; break;
        case OPT_NAME: a->name = arg; break;
        case OPT_DESCRIPTION: a->description = arg; break;
        case OPT_POOL: a->pool = arg; break;
        case OPT_MAX_USES: a->max_uses = positive(arg); break;
        case OPT_LIFESPAN_HOURS: a->lifespan_hours = positive(arg); break;
        case OPT_STORAGE: a->storage = arg; break;
        case OPT_TO: a->to = arg; break;
        case OPT_ENDPOINT: a->s3.endpoint = arg; break;
        case OPT_BUCKET: a->s3.bucket = arg; break;
        case OPT_REGION: a->s3.region = arg; break;
        case OPT_PREFIX: a->s3.prefix = tp_s3_prefix(a->p, arg); break;
        case OPT_CREDENTIALS: a->s3.credentials_file = arg; break;
        case OPT_ADDRESSING:
            a->s3.virtual_host = !strcmp(arg, "virtual") ? 1
                                 : !strcmp(arg, "path") ? 0 : -1;
            break;
        }
    }
    /* a number option that is no positive number is a usage error */
    return rv == APR_EOF && g->ind == g->argc && a->days != -1
           && a->max_uses != -1 && a->lifespan_hours != -1;
}

int main(int argc, const char *const *argv)
{
    const struct command *c;
    const char *name;
    apr_getopt_t *g;
    args_t a;
    int words = 1;
    tp_err_t *err = NULL;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    memset(&a, 0, sizeof(a));
    apr_pool_create(&a.p, NULL);
    a.db_params = getenv("TERRAPOD_DB");
    a.days = CA_DAYS_DEFAULT;
    a.cn = CA_CN_DEFAULT;
    a.s3.region = "us-east-1";
    a.s3.part_size = TP_S3_PART_SIZE_DEFAULT;
    if (argc < 2) {
        return usage();
    }
    /* "pool create": a command of two words */
    name = argv[1];
    if (argc > 2 && argv[2][0] != '-') {
        name = apr_pstrcat(a.p, argv[1], " ", argv[2], NULL);
        words = 2;
    }
    for (c = COMMANDS; c->name && strcmp(c->name, name); c++) {
    }
    if (!c->name) {
        return usage();
    }
    /* the last word of the command stands where getopt expects the
     * program name */
    apr_getopt_init(&g, a.p, argc - words, argv + words);
    if (!parse(&a, g)) {
        return usage();
    }
    if (c->needs_db && !a.db_params) {
        fprintf(stderr, "terrapod-admin: %s needs --db PARAMS (or "
                "TERRAPOD_DB)\n", c->name);
        return usage();
    }
    if (c->needs_db
        && (tp_db_init(a.p) != APR_SUCCESS
            || (err = tp_db_open(a.p, "pgsql", a.db_params, &a.db))
               != NULL)) {
        return fail(err ? err : tp_err(a.p, 1, "cannot initialise apr_dbd"));
    }
    return c->run(&a);
}
