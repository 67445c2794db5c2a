/* The provider network mirror (terraform's provider_installation
 * network_mirror protocol): a pull-through cache of the upstream registry
 * (TerrapodRegistryUpstream), and the private registry's providers on this
 * server's own host. A version of upstream's is believed once its
 * SHA256SUMS verified against the signature and keys upstream gives; a
 * platform's archive is fetched only when a client downloads it, checked
 * against that manifest, kept in storage and served through a signed URL,
 * so the mirror keeps answering for what it holds while upstream is
 * away. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_mirror.h"
#include "../tp_zip.h"

/* how long an upstream version list is believed before it is asked again */
#define LIST_FRESH "10 minutes"
#define ARCHIVE_TTL apr_time_from_sec(3600)
#define ARCHIVE_KIND "mirror-archive"

static const tp_stmt_t SQL_LIST_GET = {"mirror_list_get",
    "SELECT versions::text AS versions,"
    "       fetched_at > now() - interval '" LIST_FRESH "' AS fresh"
    "  FROM mirror_providers"
    " WHERE hostname = %s AND namespace = %s AND type = %s"};
static const tp_stmt_t SQL_LIST_PUT = {"mirror_list_put",
    "INSERT INTO mirror_providers (hostname, namespace, type, versions)"
    " VALUES (%s, %s, %s, %s::jsonb)"
    " ON CONFLICT (hostname, namespace, type)"
    " DO UPDATE SET versions = EXCLUDED.versions, fetched_at = now()"};
static const tp_stmt_t SQL_VERSION_GET = {"mirror_version_get",
    "SELECT id FROM mirror_versions"
    " WHERE hostname = %s AND namespace = %s AND type = %s AND version = %s"};
/* a concurrent request that verified the same version first wins */
static const tp_stmt_t SQL_VERSION_PUT = {"mirror_version_put",
    "INSERT INTO mirror_versions (id, hostname, namespace, type, version,"
    "                             shasums, signing_key_id)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (hostname, namespace, type, version) DO NOTHING"
    " RETURNING id"};
static const tp_stmt_t SQL_ARCHIVE_PUT = {"mirror_archive_put",
    "INSERT INTO mirror_archives (id, version_id, os, arch, filename, shasum)"
    " VALUES (%s, %s, %s, %s, %s, %s)"};
static const tp_stmt_t SQL_ARCHIVES = {"mirror_archives",
    "SELECT id, os, arch, filename, shasum, h1 FROM mirror_archives"
    " WHERE version_id = %s ORDER BY os, arch"};
static const tp_stmt_t SQL_ARCHIVE_GET = {"mirror_archive_get",
    "SELECT a.os, a.arch, a.filename, a.shasum,"
    "       a.cached_at IS NOT NULL AS cached, v.namespace, v.type, v.version"
    "  FROM mirror_archives a JOIN mirror_versions v ON v.id = a.version_id"
    " WHERE a.id = %s"};
static const tp_stmt_t SQL_ARCHIVE_CACHED = {"mirror_archive_cached",
    "UPDATE mirror_archives SET h1 = %s, size = %s::bigint,"
    "       cached_at = now() WHERE id = %s"};

/* the private registry's providers (api/registry_providers.c), as the
 * mirror answers for them: only versions with a published platform */
static const tp_stmt_t SQL_PRIV_PROVIDER = {"mirror_priv_provider",
    "SELECT id, name, owner_email, labels::text AS labels"
    "  FROM registry_providers WHERE namespace = %s AND name = %s"};
static const tp_stmt_t SQL_PRIV_VERSIONS = {"mirror_priv_versions",
    "SELECT DISTINCT v.version FROM registry_provider_versions v"
    "  JOIN registry_provider_platforms pl ON pl.version_id = v.id"
    " WHERE v.provider_id = %s ORDER BY v.version"};
static const tp_stmt_t SQL_PRIV_ARCHIVES = {"mirror_priv_archives",
    "SELECT v.id AS version_id, pl.os, pl.arch, pl.filename, pl.shasum,"
    "       pl.h1"
    "  FROM registry_provider_versions v"
    "  JOIN registry_provider_platforms pl ON pl.version_id = v.id"
    " WHERE v.provider_id = %s AND v.version = %s ORDER BY pl.os, pl.arch"};
/* one fetch of a file from upstream at a time: the advisory lock of the
 * mirror and the binary cache, with the file's hash */
static const tp_stmt_t SQL_FETCH_LOCK = {"mirror_fetch_lock",
    "SELECT pg_advisory_lock(7310038, hashtext(%s))"};
static const tp_stmt_t SQL_FETCH_UNLOCK = {"mirror_fetch_unlock",
    "SELECT pg_advisory_unlock(7310038, hashtext(%s))"};
/* the signed URLs of the private registry's files (its route's kind) */
#define PRIVATE_FILE_KIND "provider-files"

void tp_mirror_env_from(const tp_srv_conf_t *conf, tp_mirror_env_t *env)
{
    memset(env, 0, sizeof(*env));
    env->host = conf->registry_host ? conf->registry_host
                                    : TP_MIRROR_DEFAULT_HOST;
    env->url = conf->registry_url ? conf->registry_url
                                  : "https://" TP_MIRROR_DEFAULT_HOST;
    env->allow = conf->outbound_allow;
    env->ca_file = conf->vcs_ca_file;
    env->max_archive = conf->max_upload;
}

static const char *archive_key(apr_pool_t *p, const char *id)
{
    return apr_pstrcat(p, "registry/mirror/", id, ".zip", NULL);
}

/* The provider the path names, on the upstream this mirror caches. */
static tp_err_t *provider_of(tp_req_t *req, tp_mirror_env_t *env,
                             const char **ns, const char **type)
{
    apr_pool_t *p = req->r->pool;
    const char *host = tp_param(&req->params, "hostname");

    tp_mirror_env_from(req->conf, env);
    *ns = tp_param(&req->params, "namespace");
    *type = tp_param(&req->params, "type");
    if (strcasecmp(host, env->host) != 0) {
        return tp_err(p, 404, "this mirror serves the providers of %s, not "
                      "of %s", env->host, host);
    }
    if (!tp_mirror_name_valid(*ns) || !tp_mirror_name_valid(*type)) {
        return tp_err(p, 404, "no provider %s/%s/%s", host, *ns, *type);
    }
    return NULL;
}

/* Upstream's version list, from the database while it is fresh, else
 * asked again; when upstream cannot answer, the last list it gave. */
static tp_err_t *version_list(tp_req_t *req, const tp_mirror_env_t *env,
                              const char *ns, const char *type,
                              tp_json_t **list)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err, *up;

    if ((err = tp_req_exec(req, &SQL_LIST_GET, &rows,
                           TP_DB_ARGS(env->host, ns, type))) != NULL) {
        return err;
    }
    if (rows->nrows && tp_row_bool(rows, 0, "fresh")) {
        *list = tp_row_json(p, rows, 0, "versions");
        return NULL;
    }
    if ((up = tp_mirror_versions(p, env, ns, type, list)) == NULL) {
        return tp_req_exec(req, &SQL_LIST_PUT, NULL,
                           TP_DB_ARGS(env->host, ns, type,
                                      tp_json_dump(*list, p)));
    }
    if (up->status == 404 || rows->nrows == 0) {
        return up->status == 404
               ? tp_err(p, 404, "%s has no provider %s/%s", env->host, ns,
                        type)
               : up;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP02141: the "
                  "upstream registry could not list %s/%s/%s (%s): the "
                  "mirror answers from what it last listed", env->host, ns,
                  type, up->log ? up->log : up->detail);
    *list = tp_row_json(p, rows, 0, "versions");
    return NULL;
}

static tp_err_t *send_doc(tp_req_t *req, const tp_json_t *doc)
{
    const char *s = tp_json_dump(doc, req->r->pool);

    /* terraform wants exactly this content type */
    return tp_send_bytes(req, 200, "application/json", s, strlen(s));
}

static tp_err_t *send_index(tp_req_t *req, const tp_mirror_env_t *env,
                            const char *ns, const char *type)
{
    tp_json_t *list, *doc = tp_json_object(req->r->pool);
    apr_size_t i, n;
    tp_err_t *err;

    if ((err = version_list(req, env, ns, type, &list)) != NULL) {
        return err;
    }
    tp_json_setj(doc, tp_json_object(req->r->pool), "versions", NULL);
    n = tp_json_len(list);
    for (i = 0; i < n; i++) {
        tp_json_setj(doc, tp_json_object(req->r->pool), "versions",
                     tp_json_gets(tp_json_at(list, i), "version", NULL),
                     NULL);
    }
    return send_doc(req, doc);
}

/* Upstream's entry of version in list; NULL when it has none. */
static const tp_json_t *listed(const tp_json_t *list, const char *version)
{
    apr_size_t i, n = tp_json_len(list);

    for (i = 0; i < n; i++) {
        const char *v = tp_json_gets(tp_json_at(list, i), "version", NULL);

        if (v && strcmp(v, version) == 0) {
            return tp_json_at(list, i);
        }
    }
    return NULL;
}

/* Verifies a version's SHA256SUMS (reading the download document of its
 * first platform, which names it and the keys) and records each platform
 * the manifest signs, all in one transaction; *id is the version's. */
static tp_err_t *verify_version(tp_req_t *req, const tp_mirror_env_t *env,
                                const char *ns, const char *type,
                                const char *version, const char **id)
{
    apr_pool_t *p = req->r->pool;
    const tp_json_t *entry, *platforms, *first;
    tp_json_t *list, *doc;
    const char *sums, *key_id, *hex;
    apr_size_t len, i, n;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = version_list(req, env, ns, type, &list)) != NULL) {
        return err;
    }
    if (!(entry = listed(list, version))) {
        return tp_err(p, 404, "%s has no version %s of %s/%s", env->host,
                      version, ns, type);
    }
    platforms = tp_json_get(entry, "platforms", NULL);
    if (!(first = tp_json_at(platforms, 0))) {
        return tp_err(p, 404, "%s lists no platform for %s/%s %s", env->host,
                      ns, type, version);
    }
    if ((err = tp_mirror_download(p, env, ns, type, version,
                                  tp_json_gets(first, "os", NULL),
                                  tp_json_gets(first, "arch", NULL), &doc))
        != NULL
        || (err = tp_mirror_verified_sums(p, env, doc, &sums, &len, &key_id))
           != NULL) {
        if (err->status == 422) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP02143: "
                          "%s/%s/%s %s is not mirrored: %s", env->host, ns,
                          type, version, err->detail);
            err->status = 502;
        }
        return err;
    }
    *id = tp_id_generate(p, "mpv");
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL) {
        return err;
    }
    if ((err = tp_db_exec(db, p, &SQL_VERSION_PUT, &rows,
                          TP_DB_ARGS(*id, env->host, ns, type, version,
                                     apr_pstrmemdup(p, sums, len), key_id)))
        != NULL) {
        tp_db_rollback(db);
        return err;
    }
    if (rows->nrows == 0) {             /* verified meanwhile */
        tp_db_rollback(db);
        if ((err = tp_req_exec(req, &SQL_VERSION_GET, &rows,
                               TP_DB_ARGS(env->host, ns, type, version)))
            != NULL) {
            return err;
        }
        *id = rows->nrows ? tp_row(rows, 0, "id") : NULL;
        return *id ? NULL : tp_err(p, 503, "%s/%s %s is being changed; try "
                                   "again", ns, type, version);
    }
    n = tp_json_len(platforms);
    for (i = 0; i < n; i++) {
        const char *os = tp_json_gets(tp_json_at(platforms, i), "os", NULL);
        const char *arch = tp_json_gets(tp_json_at(platforms, i), "arch",
                                        NULL);
        const char *file;

        if (!tp_mirror_name_valid(os) || !tp_mirror_name_valid(arch)) {
            continue;
        }
        file = tp_mirror_filename(p, type, version, os, arch);
        if ((err = tp_shasums_find(p, sums, len, file, &hex)) != NULL
            || (hex && (err = tp_db_exec(db, p, &SQL_ARCHIVE_PUT, NULL,
                                         TP_DB_ARGS(tp_id_generate(p, "mpa"),
                                                    *id, os, arch, file,
                                                    hex))) != NULL)) {
            tp_db_rollback(db);
            return err->status == 422 ? tp_err(p, 502, "the SHA256SUMS of "
                                               "%s/%s %s: %s", ns, type,
                                               version, err->detail)
                                      : err;
        }
    }
    if ((err = tp_db_commit(db)) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02140: %s/%s/%s %s: "
                  "SHA256SUMS verified, signed by key %s", env->host, ns,
                  type, version, key_id);
    return NULL;
}

/* One archive of a {version}.json answer: its URL and hashes. */
static void add_archive(tp_req_t *req, tp_json_t *archives,
                        const tp_rows_t *rows, int i, const char *url)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *a = tp_json_object(p), *hashes = tp_json_array(p);

    tp_json_sets(a, url, "url", NULL);
    if (tp_row(rows, i, "h1")) {
        tp_json_pushs(hashes, tp_row(rows, i, "h1"));
    }
    tp_json_pushs(hashes, apr_pstrcat(p, "zh:", tp_row(rows, i, "shasum"),
                                      NULL));
    tp_json_setj(a, hashes, "hashes", NULL);
    tp_json_setj(archives, a, apr_pstrcat(p, tp_row(rows, i, "os"), "_",
                                          tp_row(rows, i, "arch"), NULL),
                 NULL);
}

/* "host[:port]" of this server as terraform names it in the sources of
 * private providers. */
static const char *own_host(tp_req_t *req)
{
    const char *base = tp_base_url(req), *host = strstr(base, "://");

    host = host ? host + 3 : base;
    return apr_pstrndup(req->r->pool, host, strcspn(host, "/"));
}

/* A provider of the private registry, when the caller may read it: by
 * the registry's rules, and for a running phase's runner token any (the
 * organization's runs install its providers). */
static tp_err_t *private_provider(tp_req_t *req, const char *ns,
                                  const char *type, const char **id)
{
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_PRIV_PROVIDER, &rows,
                           TP_DB_ARGS(ns, type))) != NULL) {
        return err;
    }
    if (rows->nrows == 0
        || (!req->reader_ws
            && tp_row_level(req, rows, 0, TP_AXIS_REGISTRY) < TP_LEVEL_READ)) {
        return tp_err(req->r->pool, 404, "provider %s/%s not found", ns,
                      type);
    }
    *id = tp_row(rows, 0, "id");
    return NULL;
}

/* index.json or {version}.json of a private provider, from what its
 * publishers published: no upstream involved. */
static tp_err_t *send_private(tp_req_t *req, const char *ns,
                              const char *type, const char *version)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p), *items = tp_json_object(p);
    const char *id = NULL, *args[2];
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if ((err = private_provider(req, ns, type, &id)) != NULL) {
        return err;
    }
    args[0] = id;
    args[1] = version;
    if ((err = tp_req_exec(req, version ? &SQL_PRIV_ARCHIVES
                                        : &SQL_PRIV_VERSIONS, &rows,
                           version ? 2 : 1, args)) != NULL) {
        return err;
    }
    if (version && rows->nrows == 0) {
        return tp_err(p, 404, "provider %s/%s has no version %s", ns, type,
                      version);
    }
    for (i = 0; i < rows->nrows; i++) {
        const char *vid = version ? tp_row(rows, i, "version_id") : NULL;

        if (!version) {
            tp_json_setj(items, tp_json_object(p),
                         tp_row(rows, i, "version"), NULL);
            continue;
        }
        add_archive(req, items, rows, i, tp_capability_url(req,
                    apr_pstrcat(p, "/api/terrapod/v1/registry/"
                                "provider-versions/", vid, "/files/",
                                tp_row(rows, i, "filename"), NULL),
                    PRIVATE_FILE_KIND, vid, ARCHIVE_TTL));
    }
    tp_json_setj(doc, items, version ? "archives" : "versions", NULL);
    return send_doc(req, doc);
}

static tp_err_t *send_version(tp_req_t *req, const tp_mirror_env_t *env,
                              const char *ns, const char *type,
                              const char *version)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p), *archives = tp_json_object(p);
    const char *id = NULL;
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if ((err = tp_req_exec(req, &SQL_VERSION_GET, &rows,
                           TP_DB_ARGS(env->host, ns, type, version)))
        != NULL) {
        return err;
    }
    if (rows->nrows) {
        id = tp_row(rows, 0, "id");
    } else if ((err = verify_version(req, env, ns, type, version, &id))
               != NULL) {
        return err;
    }
    if ((err = tp_req_exec(req, &SQL_ARCHIVES, &rows, TP_DB_ARGS(id)))
        != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        const char *aid = tp_row(rows, i, "id");

        add_archive(req, archives, rows, i, tp_capability_url(req,
                    apr_pstrcat(p, "/api/terrapod/v1/provider-mirror/"
                                "archives/", aid, "/",
                                tp_row(rows, i, "filename"), NULL),
                    ARCHIVE_KIND, aid, ARCHIVE_TTL));
    }
    tp_json_setj(doc, archives, "archives", NULL);
    return send_doc(req, doc);
}

tp_err_t *tp_api_mirror_provider(tp_req_t *req)
{
    const char *file = tp_param(&req->params, "file");
    apr_size_t n = strlen(file);
    tp_mirror_env_t env;
    const char *ns, *type, *version = NULL;
    int own = strcasecmp(tp_param(&req->params, "hostname"),
                         own_host(req)) == 0;
    tp_err_t *err;

    if (strcmp(file, "index.json") != 0) {
        version = n > 5 && strcmp(file + n - 5, ".json") == 0
                  ? apr_pstrmemdup(req->r->pool, file, n - 5) : NULL;
        if (!tp_mirror_version_valid(version)) {
            return tp_err(req->r->pool, 404, "no such mirror document: %s",
                          file);
        }
    }
    if (own) {
        return send_private(req, tp_param(&req->params, "namespace"),
                            tp_param(&req->params, "type"), version);
    }
    if ((err = provider_of(req, &env, &ns, &type)) != NULL) {
        return err;
    }
    return version ? send_version(req, &env, ns, type, version)
                   : send_index(req, &env, ns, type);
}

/* Fetches archive id (row) from upstream, checks it against the signed
 * manifest's SHA-256, stores it and records its h1: hash. */
static tp_err_t *pull_archive(tp_req_t *req, const char *id,
                              const tp_rows_t *row)
{
    apr_pool_t *p = req->r->pool;
    const char *type = tp_row(row, 0, "type");
    const char *tmp, *h1;
    tp_mirror_env_t env;
    apr_off_t size;
    tp_json_t *doc;
    tp_err_t *err;

    tp_mirror_env_from(req->conf, &env);
    if ((err = tp_mirror_download(p, &env, tp_row(row, 0, "namespace"), type,
                                  tp_row(row, 0, "version"),
                                  tp_row(row, 0, "os"), tp_row(row, 0, "arch"),
                                  &doc)) != NULL
        || (err = tp_temp_file(p, "terrapod-mirror", &tmp)) != NULL
        || (err = tp_mirror_fetch_archive(p, &env, doc, type,
                                          tp_row(row, 0, "shasum"), tmp, &h1,
                                          &size)) != NULL) {
        if (err->status == 422) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP02143: "
                          "%s is not mirrored: %s",
                          tp_row(row, 0, "filename"), err->detail);
            err->status = 502;
        }
        return err;
    }
    if ((err = tp_storage_put_file(&req->conf->storage, p, archive_key(p, id),
                                   tmp, env.max_archive, &size)) != NULL
        || (err = tp_req_exec(req, &SQL_ARCHIVE_CACHED, NULL,
                              TP_DB_ARGS(h1, apr_off_t_toa(p, size), id)))
           != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02142: %s fetched "
                  "from %s, checked against its signed SHA256SUMS and "
                  "cached (%s)", tp_row(row, 0, "filename"), env.host, h1);
    return NULL;
}

tp_err_t *tp_fetch_lock(tp_req_t *req, const char *what)
{
    return tp_req_exec(req, &SQL_FETCH_LOCK, NULL, TP_DB_ARGS(what));
}

void tp_fetch_unlock(tp_req_t *req, const char *what)
{
    /* on failure the connection is gone, and the lock with its session */
    tp_req_exec(req, &SQL_FETCH_UNLOCK, NULL, TP_DB_ARGS(what));
}

tp_err_t *tp_signed_file_row(tp_req_t *req, const tp_stmt_t *stmt,
                              const char *what, tp_rows_t **rows)
{
    const char *id = tp_param(&req->params, "id");
    tp_err_t *err;

    if ((err = tp_req_exec(req, stmt, rows, TP_DB_ARGS(id))) != NULL) {
        return err;
    }
    if ((*rows)->nrows == 0
        || strcmp(tp_row(*rows, 0, "filename"),
                  tp_param(&req->params, "filename")) != 0) {
        return tp_err(req->r->pool, 404, "%s %s not found", what, id);
    }
    return NULL;
}

tp_err_t *tp_api_mirror_archive(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    const char *path;
    apr_off_t size;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_signed_file_row(req, &SQL_ARCHIVE_GET, "mirrored archive",
                                  &rows)) != NULL) {
        return err;
    }
    if (!tp_row_bool(rows, 0, "cached")) {
        /* a concurrent download of the same archive fetches it once */
        if ((err = tp_fetch_lock(req, id)) != NULL) {
            return err;
        }
        err = tp_signed_file_row(req, &SQL_ARCHIVE_GET, "mirrored archive",
                                 &rows);
        if (!err && !tp_row_bool(rows, 0, "cached")) {
            err = pull_archive(req, id, rows);
        }
        tp_fetch_unlock(req, id);
        if (err) {
            return err;
        }
    }
    if (!(path = tp_storage_file(&req->conf->storage, p, archive_key(p, id),
                                 &size))) {
        return tp_err_internal(p, 503, "storage is unavailable",
                               apr_psprintf(p, "%s is missing",
                                            archive_key(p, id)));
    }
    return tp_send_file(req, path, size, "application/zip");
}
