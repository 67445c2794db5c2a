/* The binary cache: releases of terraform and tofu fetched from where
 * TerrapodBinaryUpstream says, believed once their SHA256SUMS verifies
 * against the configured key and the zip is the one it signs, kept in
 * storage (cache/binaries/...) and handed out through signed URLs, so
 * listeners run the version a workspace pins without reaching the
 * internet. Platform admins list, warm and delete entries. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_mirror.h"

#define FILE_TTL apr_time_from_sec(600)
#define FILE_KIND "binary-cache"
#define BINARY_COLUMNS \
    "SELECT id, tool, version, os, arch, filename, shasum, size::text AS size," \
    "       tp_ts(cached_at) AS cached_at"

static const tp_stmt_t SQL_BIN_GET = {"binary_get",
    BINARY_COLUMNS " FROM binary_cache"
    " WHERE tool = %s AND version = %s AND os = %s AND arch = %s"};
static const tp_stmt_t SQL_BIN_BY_ID = {"binary_by_id",
    BINARY_COLUMNS " FROM binary_cache WHERE id = %s"};
/* a concurrent fetch of the same release stored the same bytes first */
static const tp_stmt_t SQL_BIN_PUT = {"binary_put",
    "INSERT INTO binary_cache (id, tool, version, os, arch, filename, shasum,"
    "                          size)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::bigint)"
    " ON CONFLICT (tool, version, os, arch) DO NOTHING"};
static const tp_stmt_t SQL_BIN_LIST = {"binary_list",
    BINARY_COLUMNS ", count(*) OVER () AS total FROM binary_cache"
    " ORDER BY tool, string_to_array(regexp_replace(version, '[^0-9.].*', ''),"
    "                                '.')::int[] DESC, version DESC, os, arch"
    " LIMIT %s::bigint OFFSET %s::bigint"};
/* a version, or one platform of it (os and arch, when not NULL) */
static const tp_stmt_t SQL_BIN_DELETE = {"binary_delete",
    "DELETE FROM binary_cache WHERE tool = %s AND version = %s"
    "   AND os = COALESCE(%s, os) AND arch = COALESCE(%s, arch)"
    " RETURNING id, tool, version, filename"};

static const tp_attr_t BIN_ATTRS[] = {
    {"tool", "tool", TP_ATTR_STRING},
    {"version", "version", TP_ATTR_STRING},
    {"os", "os", TP_ATTR_STRING},
    {"arch", "arch", TP_ATTR_STRING},
    {"filename", "filename", TP_ATTR_STRING},
    {"shasum", "shasum", TP_ATTR_STRING},
    {"size", "size", TP_ATTR_INT},
    {"cached-at", "cached_at", TP_ATTR_STRING},
    {NULL, NULL, 0}
};
static const tp_rel_t BIN_RELS[] = {{NULL, NULL, 0, NULL, NULL, NULL, NULL}};
static const tp_type_desc_t BIN_DESC = {"binary-cache-entries", NULL, NULL,
                                        BIN_ATTRS, BIN_RELS};

void tp_binary_env_from(const tp_srv_conf_t *conf, tp_binary_env_t *env)
{
    memset(env, 0, sizeof(*env));
    env->upstreams = conf->binary_upstreams;
    env->allow = conf->outbound_allow;
    env->ca_file = conf->vcs_ca_file;
    env->max_archive = conf->max_upload;
}

static const char *binary_key(apr_pool_t *p, const char *tool,
                              const char *version, const char *filename)
{
    return apr_pstrcat(p, "cache/binaries/", tool, "/", version, "/",
                       filename, NULL);
}

static tp_json_t *bin_render(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_resource_render(req->r->pool, &BIN_DESC, rows, i);
}

/* The release the parameters name, checked: 404 for names that are none. */
static tp_err_t *release_of(tp_req_t *req, const char *tool,
                            const char *version, const char *os,
                            const char *arch)
{
    if (!tp_binary_tool_valid(tool)) {
        return tp_err(req->r->pool, 404, "the binary cache holds terraform "
                      "and tofu, not %s", tool);
    }
    if (!tp_mirror_version_valid(version) || !tp_mirror_name_valid(os)
        || !tp_mirror_name_valid(arch)) {
        return tp_err(req->r->pool, 404, "no release %s %s for %s_%s", tool,
                      version, os, arch);
    }
    return NULL;
}

/* Fetches a release into the cache, unless it arrived meanwhile. */
static tp_err_t *fetch(tp_req_t *req, const char *tool, const char *version,
                       const char *os, const char *arch, const char *file,
                       tp_rows_t **rows, int *fetched)
{
    apr_pool_t *p = req->r->pool;
    const char *tmp, *shasum;
    tp_binary_env_t env;
    apr_off_t size;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_BIN_GET, rows,
                           TP_DB_ARGS(tool, version, os, arch))) != NULL
        || (*rows)->nrows) {
        return err;
    }
    tp_binary_env_from(req->conf, &env);
    if ((err = tp_temp_file(p, "terrapod-binary", &tmp)) != NULL
        || (err = tp_binary_fetch(p, &env, tool, version, os, arch, tmp,
                                  &shasum, &size)) != NULL) {
        if (err->status == 422) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP02152: "
                          "%s is not cached: %s", file, err->detail);
            err->status = 502;
        }
        return err;
    }
    if ((err = tp_storage_put_file(&req->conf->storage, p,
                                   binary_key(p, tool, version, file), tmp,
                                   env.max_archive, &size)) != NULL
        || (err = tp_req_exec(req, &SQL_BIN_PUT, NULL,
                              TP_DB_ARGS(tp_id_generate(p, "bin"), tool,
                                         version, os, arch, file, shasum,
                                         apr_off_t_toa(p, size)))) != NULL
        || (err = tp_req_exec(req, &SQL_BIN_GET, rows,
                              TP_DB_ARGS(tool, version, os, arch))) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02151: %s fetched, "
                  "checked against its signed SHA256SUMS and cached", file);
    *fetched = 1;
    return NULL;
}

/* The entry of a release, fetched and stored first when it is not yet
 * cached; *fetched says it was. */
static tp_err_t *cached(tp_req_t *req, const char *tool, const char *version,
                        const char *os, const char *arch, tp_rows_t **rows,
                        int *fetched)
{
    const char *file = tp_binary_filename(req->r->pool, tool, version, os,
                                          arch);
    tp_err_t *err;

    *fetched = 0;
    if ((err = release_of(req, tool, version, os, arch)) != NULL
        || (err = tp_req_exec(req, &SQL_BIN_GET, rows,
                              TP_DB_ARGS(tool, version, os, arch))) != NULL
        || (*rows)->nrows) {
        return err;
    }
    /* a concurrent request for the same release fetches it once */
    if ((err = tp_fetch_lock(req, file)) != NULL) {
        return err;
    }
    err = fetch(req, tool, version, os, arch, file, rows, fetched);
    tp_fetch_unlock(req, file);
    return err;
}

tp_err_t *tp_api_binary_cache_get(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err;
    const char *id;
    int fetched;

    if ((err = cached(req, tp_param(&req->params, "tool"),
                      tp_param(&req->params, "version"),
                      tp_param(&req->params, "os"),
                      tp_param(&req->params, "arch"), &rows, &fetched))
        != NULL) {
        return err;
    }
    id = tp_row(rows, 0, "id");
    return tp_send_redirect(req, 302, tp_capability_url(req,
                            apr_pstrcat(p, "/api/terrapod/v1/binary-cache-files/",
                                        id, "/", tp_row(rows, 0, "filename"),
                                        NULL), FILE_KIND, id, FILE_TTL));
}

tp_err_t *tp_api_binary_cache_file(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *path;
    apr_off_t size;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_signed_file_row(req, &SQL_BIN_BY_ID, "cached release",
                                  &rows)) != NULL) {
        return err;
    }
    if (!(path = tp_storage_file(&req->conf->storage, p,
                                 binary_key(p, tp_row(rows, 0, "tool"),
                                            tp_row(rows, 0, "version"),
                                            tp_row(rows, 0, "filename")),
                                 &size))) {
        return tp_err(p, 404, "cached release %s not found",
                      tp_param(&req->params, "id"));
    }
    /* what the listener checks the download against */
    apr_table_setn(req->r->headers_out, "X-Checksum-SHA256",
                   tp_row(rows, 0, "shasum"));
    return tp_send_file(req, path, size, "application/zip");
}

tp_err_t *tp_api_binary_cache_list(tp_req_t *req)
{
    return tp_send_page(req, &SQL_BIN_LIST, 0, NULL, bin_render);
}

tp_err_t *tp_api_binary_cache_warm(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *doc, *a;
    tp_rows_t *rows;
    const char *tool, *version, *os, *arch;
    tp_err_t *err;
    int fetched;

    if ((err = tp_read_json(req, &body)) != NULL) {
        return err;
    }
    /* a JSON:API document, or its attributes alone */
    a = tp_json_get(body, "data", "attributes", NULL);
    a = a ? a : body;
    tool = tp_json_gets(a, "tool", NULL);
    version = tp_json_gets(a, "version", NULL);
    os = tp_json_gets(a, "os", NULL);
    arch = tp_json_gets(a, "arch", NULL);
    if (!tp_binary_tool_valid(tool)) {
        return tp_err(p, 422, "tool must be terraform or tofu");
    }
    if (!tp_mirror_version_valid(version)) {
        return tp_err(p, 422, "version must be a release's version, such as "
                      "1.11.4");
    }
    os = os ? os : "linux";
    arch = arch ? arch : "amd64";
    if (!tp_mirror_name_valid(os) || !tp_mirror_name_valid(arch)) {
        return tp_err(p, 422, "os and arch must be names such as linux and "
                      "amd64");
    }
    if ((err = cached(req, tool, version, os, arch, &rows, &fetched))
        != NULL) {
        return err;
    }
    doc = tp_json_object(p);
    tp_json_setj(doc, bin_render(req, rows, 0), "data", NULL);
    return tp_send_json(req, fetched ? 201 : 200, doc);
}

tp_err_t *tp_api_binary_cache_delete(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *tool = tp_param(&req->params, "tool");
    const char *version = tp_param(&req->params, "version");
    const char *os = tp_param(&req->params, "os");
    const char *arch = tp_param(&req->params, "arch");
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if ((err = tp_req_exec(req, &SQL_BIN_DELETE, &rows,
                           TP_DB_ARGS(tool, version, os, arch))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "the binary cache holds no %s %s%s%s%s", tool,
                      version, os ? " for " : "", os ? os : "",
                      os ? apr_pstrcat(p, "_", arch, NULL) : "");
    }
    /* the rows are gone first: a file is never named by no row */
    for (i = 0; i < rows->nrows; i++) {
        tp_storage_remove(&req->conf->storage, p,
                          binary_key(p, tool, version,
                                     tp_row(rows, i, "filename")));
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02153: %s %s "
                  "removed from the binary cache (%d platform(s))", tool,
                  version, rows->nrows);
    return tp_send_empty(req, 204);
}
