/* Configuration versions: the tarballs terraform uploads for remote runs.
 * An upload streams to a temp file, is validated as a gzip tar with no
 * escaping or special entries, and only then becomes visible; a bad one
 * leaves the version errored and nothing stored. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_archive.h"
#include "../tp_diff.h"

#define UPLOAD_TTL apr_time_from_sec(3600)
#define TICKET_TTL_DEFAULT 300
#define TICKET_TTL_MAX 1800
#define DIFF_FILE_MAX (1 << 20)         /* larger files: path only */
#define DIFF_PAIR_MAX (32 << 20)        /* both versions, uncompressed */

/* a version from a repository has ingress attributes, under an id of
 * their own derived from the version's, as TFE's are */
#define IA_ID "CASE WHEN cv.ingress IS NOT NULL" \
              " THEN 'ia-' || substr(cv.id, 4) END"
#define CV_COLUMNS \
    "cv.id, cv.workspace_id, cv.status, cv.error, cv.error_message," \
    " cv.auto_queue_runs, cv.speculative, cv.provisional, cv.source," \
    " cv.size, cv.file_count, cv.created_by," \
    " tp_ts(cv.created_at) AS created_at," \
    " tp_ts(cv.uploaded_at) AS uploaded_at, cv.ingress::text AS ingress," \
    " " IA_ID " AS ingress_id"

static const tp_stmt_t SQL_CV_INSERT = {"cv_insert",
    "INSERT INTO configuration_versions (id, workspace_id, auto_queue_runs,"
    "                                    speculative, provisional, created_by)"
    " VALUES (%s, %s, %s::boolean, %s::boolean, %s::boolean, %s)"};
static const tp_stmt_t SQL_CV_GET = {"cv_get",
    "SELECT " CV_COLUMNS " FROM configuration_versions cv WHERE cv.id = %s"};
static const tp_stmt_t SQL_CV_BY_IDS = {"cv_by_ids",
    "SELECT " CV_COLUMNS "," TP_WS_ACCESS_COLUMNS
    " FROM configuration_versions cv JOIN workspaces w ON w.id = cv.workspace_id"
    " WHERE" TP_AMONG_KEYS("cv.id")};
static const tp_stmt_t SQL_CV_LIST = {"cv_list",
    "SELECT " CV_COLUMNS ", count(*) OVER () AS total"
    "  FROM configuration_versions cv WHERE cv.workspace_id = %s"
    " ORDER BY cv.seq DESC LIMIT %s::bigint OFFSET %s::bigint"};
/* the version the workspace's last successful apply used */
static const tp_stmt_t SQL_CV_CURRENT = {"cv_current",
    "SELECT configuration_version_id AS id FROM runs"
    " WHERE workspace_id = %s AND status = 'applied'"
    " ORDER BY seq DESC LIMIT 1"};
static const tp_stmt_t SQL_CV_UPLOADED = {"cv_uploaded",
    "UPDATE configuration_versions SET status = 'uploaded',"
    " size = %s::bigint, file_count = %s::integer, uploaded_at = now()"
    " WHERE id = %s AND status = 'pending' RETURNING id"};
static const tp_stmt_t SQL_CV_ERRORED = {"cv_errored",
    "UPDATE configuration_versions SET status = 'errored',"
    " error = %s, error_message = %s WHERE id = %s AND status = 'pending'"};

static const tp_attr_t CV_ATTRS[] = {
    {"status", "status", TP_ATTR_STRING},
    {"error", "error", TP_ATTR_STRING},
    {"error-message", "error_message", TP_ATTR_STRING},
    {"source", "source", TP_ATTR_STRING},
    {"auto-queue-runs", "auto_queue_runs", TP_ATTR_BOOL},
    {"speculative", "speculative", TP_ATTR_BOOL},
    {"provisional", "provisional", TP_ATTR_BOOL},
    {"created-by", "created_by", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"size", "size", TP_ATTR_INT},
    {NULL, NULL, 0}
};

static const tp_rel_t CV_RELS[] = {
    {"workspace", "workspaces", TP_REL_ONE, "workspace_id"},
    {"ingress-attributes", "ingress-attributes", TP_REL_ONE, "ingress_id",
     "/api/v2/configuration-versions/%s/ingress-attributes"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t CV_DESC = {
    "configuration-versions", NULL, "/api/v2/configuration-versions/%s",
    CV_ATTRS, CV_RELS
};

static tp_json_t *cv_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_row(rows, i, "id");
    const char *status = tp_row(rows, i, "status");
    tp_json_t *c = tp_resource_render(p, &CV_DESC, rows, i);

    tp_json_sets(c, tp_row(rows, i, "uploaded_at"), "attributes",
                 "status-timestamps", "uploaded-at", NULL);
    /* the upload URL is handed out only while it can still be used */
    tp_json_sets(c, strcmp(status, "pending") == 0
                    ? tp_capability_url(req, apr_pstrcat(p,
                          "/api/v2/configuration-versions/", id, "/upload",
                          NULL), "cv-upload", id, UPLOAD_TTL)
                    : NULL,
                 "attributes", "upload-url", NULL);
    return c;
}

static tp_json_t *cv_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_row_ws_level(req, rows, i) < TP_LEVEL_READ
           ? NULL : cv_resource(req, rows, i);
}

const tp_type_t tp_type_configuration_versions = {&CV_DESC, &SQL_CV_BY_IDS,
                                                  NULL, cv_include};

/* ---- ingress attributes ---- */

static const tp_rel_t IA_RELS[] = {
    {"configuration-version", "configuration-versions", TP_REL_ONE, "id"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t IA_DESC = {
    "ingress-attributes", "ingress_id", NULL, NULL, IA_RELS
};

/* Rendered from a version's row: the attributes are its ingress as
 * stored. */
static tp_json_t *ia_resource(apr_pool_t *p, const tp_rows_t *rows, int i)
{
    tp_json_t *r = tp_resource_render(p, &IA_DESC, rows, i);

    tp_json_setj(r, tp_row_json(p, rows, i, "ingress"), "attributes", NULL);
    tp_json_sets(r, tp_resource_link(p,
                     "/api/v2/configuration-versions/%s/ingress-attributes",
                     tp_row(rows, i, "id")), "links", "self", NULL);
    return r;
}

static tp_json_t *ia_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_row_ws_level(req, rows, i) < TP_LEVEL_READ
           ? NULL : ia_resource(req->r->pool, rows, i);
}

static const tp_stmt_t SQL_IA_BY_IDS = {"ia_by_ids",
    "SELECT " CV_COLUMNS "," TP_WS_ACCESS_COLUMNS
    " FROM configuration_versions cv JOIN workspaces w ON w.id = cv.workspace_id"
    " WHERE" TP_AMONG_KEYS(IA_ID)};

const tp_type_t tp_type_ingress_attributes = {&IA_DESC, &SQL_IA_BY_IDS,
                                              NULL, ia_include};

static tp_err_t *send_cv(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_CV_GET, &rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    return tp_send_json(req, status, tp_jsonapi_doc(req->r->pool,
                                                    cv_resource(req, rows,
                                                                0)));
}

/* A configuration version and the caller's access to its workspace; 404
 * when either is missing or unreadable. */
static tp_err_t *load_cv(tp_req_t *req, const char *id, tp_rows_t **rows,
                         tp_ws_t **ws)
{
    tp_err_t *err = tp_req_exec(req, &SQL_CV_GET, rows, TP_DB_ARGS(id));

    return err ? err : tp_ws_owner(req, *rows, req->route->level,
                                   "configuration version", id, ws);
}

tp_err_t *tp_api_cv_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "cv");
    tp_json_t *body = NULL, *a;
    int auto_queue = 1, speculative = 0, provisional = 0, has;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws))
        != NULL) {
        return err;
    }
    /* terraform always sends a document; a bare POST takes the defaults */
    if (tp_has_body(req)) {
        if ((err = tp_read_json(req, &body)) != NULL
            || (err = tp_jsonapi_attributes(p, body,
                                            "configuration-versions", &a))
               != NULL
            || (err = tp_attr_bool(p, a, "auto-queue-runs", &auto_queue,
                                   &has)) != NULL
            || (err = tp_attr_bool(p, a, "speculative", &speculative, &has))
               != NULL
            || (err = tp_attr_bool(p, a, "provisional", &provisional, &has))
               != NULL) {
            return err;
        }
    }
    err = tp_req_exec(req, &SQL_CV_INSERT, NULL,
                      TP_DB_ARGS(id, ws->id, tp_db_bool(auto_queue),
                                 tp_db_bool(speculative),
                                 tp_db_bool(provisional),
                                 req->who->grants.email));
    return err ? err : send_cv(req, 201, id);
}

tp_err_t *tp_api_cv_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_cv(req, tp_param(&req->params, "id"), &rows, &ws);

    return err ? err : tp_send_json(req, 200,
                                    tp_jsonapi_doc(req->r->pool,
                                                   cv_resource(req, rows, 0)));
}

/* GET configuration-versions/{id}/ingress-attributes: 404 for a version
 * that was not made from a repository. */
tp_err_t *tp_api_cv_ingress_attributes(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_cv(req, id, &rows, &ws);

    if (err) {
        return err;
    }
    if (!tp_row(rows, 0, "ingress_id")) {
        return tp_err(req->r->pool, 404, "configuration version %s has no "
                      "ingress attributes: it was not made from a "
                      "repository", id);
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(req->r->pool,
                                                 ia_resource(req->r->pool,
                                                             rows, 0)));
}

tp_err_t *tp_api_cv_list(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws);

    if (err) {
        return err;
    }
    /* meta.current-id: the version of the last successful apply */
    if ((err = tp_req_exec(req, &SQL_CV_CURRENT, &rows, TP_DB_ARGS(ws->id)))
        != NULL) {
        return err;
    }
    req->meta = tp_json_object(req->r->pool);
    tp_json_sets(req->meta, tp_row(rows, 0, "id"), "current-id", NULL);
    return tp_send_page(req, &SQL_CV_LIST, TP_DB_ARGS(ws->id), cv_resource);
}

/* Marks a rejected upload errored, then answers with the rejection: a
 * body over the size limit, or an archive that is no configuration. */
static tp_err_t *reject(tp_req_t *req, const char *id, tp_err_t *why)
{
    const char *code = why->status == 413 ? "upload_too_large"
                                          : "invalid_archive";
    tp_err_t *err = tp_req_exec(req, &SQL_CV_ERRORED, NULL,
                                TP_DB_ARGS(code, why->detail, id));

    return err ? err : why;
}

/* PUT <upload-url>: the signed URL is the authority. */
tp_err_t *tp_api_cv_upload(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_archive_limits_t limits;
    tp_archive_info_t info;
    tp_upload_t *up;
    tp_rows_t *rows, *cv;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_CV_GET, &cv, TP_DB_ARGS(id))) != NULL) {
        return err;
    }
    if (cv->nrows == 0) {
        return tp_err(p, 404, "configuration version %s not found", id);
    }
    if (strcmp(tp_row(cv, 0, "status"), "pending") != 0) {
        return tp_err(p, 409, "configuration version %s is already %s", id,
                      tp_row(cv, 0, "status"));
    }
    if ((err = tp_storage_begin(&req->conf->storage, p,
                                tp_cv_key(p, tp_row(cv, 0, "workspace_id"), id),
                                req->conf->max_upload, &up)) != NULL
        || (err = tp_receive_upload(req, up)) != NULL) {
        /* a refused body (413) is the client's fault; the version is
         * errored so a run never waits on it */
        return err->status == 413 ? reject(req, id, err) : err;
    }
    limits = tp_archive_config_limits(req->conf->max_upload);
    if ((err = tp_archive_validate(p, tp_upload_path(up), &limits, &info))
        != NULL) {
        tp_upload_abort(up);
        return reject(req, id, err);
    }
    if ((err = tp_upload_commit(up)) != NULL
        || (err = tp_req_exec(req, &SQL_CV_UPLOADED, &rows,
                              TP_DB_ARGS(apr_off_t_toa(p, tp_upload_size(up)),
                                         apr_itoa(p, info.files), id)))
           != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "configuration version %s was uploaded "
                      "concurrently", id);
    }
    if (tp_row_bool(cv, 0, "auto_queue_runs")
        && (err = tp_run_queue_for_cv(req, tp_row(cv, 0, "workspace_id"), id,
                                      tp_row(cv, 0, "created_by"))) != NULL) {
        /* the upload stands; the run could not be queued */
        tp_log_err(req->r, err);
    }
    return tp_send_empty(req, HTTP_OK);
}

/* Whether a version has a stored tarball: 409 before an upload, 410 once
 * retention removed it (absent is that 410 too). */
static tp_err_t *cv_stored(tp_req_t *req, const tp_rows_t *rows,
                           tp_err_t **absent)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_row(rows, 0, "id");
    const char *status = tp_row(rows, 0, "status");

    if (strcmp(status, "pending") == 0 || strcmp(status, "errored") == 0) {
        return tp_err(p, 409, "configuration version %s has no uploaded "
                      "configuration", id);
    }
    *absent = tp_err(p, 410, "configuration version %s was removed by "
                     "retention", id);
    return strcmp(status, "archived") == 0 ? *absent : NULL;
}

static const char *cv_key(apr_pool_t *p, const tp_rows_t *rows)
{
    return tp_cv_key(p, tp_row(rows, 0, "workspace_id"), tp_row(rows, 0, "id"));
}

/* The stored tarball of a version that has one, as a file. */
static tp_err_t *cv_file(tp_req_t *req, const tp_rows_t *rows,
                         const char **path, apr_off_t *size)
{
    tp_err_t *absent, *err = cv_stored(req, rows, &absent);

    if (!err) {
        err = tp_storage_fetch(&req->conf->storage, req->r->pool,
                               cv_key(req->r->pool, rows), path, size);
    }
    return err ? err : *path ? NULL : absent;
}

/* The tarball itself, for a version that has one (from the bucket
 * straight, when S3 downloads are redirected). */
static tp_err_t *send_tarball(tp_req_t *req, const tp_rows_t *rows)
{
    apr_pool_t *p = req->r->pool;
    tp_err_t *absent, *err = cv_stored(req, rows, &absent);

    if (err) {
        return err;
    }
    apr_table_setn(req->r->headers_out, "Content-Disposition",
                   apr_psprintf(p, "attachment; filename=\"%s.tar.gz\"",
                                tp_row(rows, 0, "id")));
    return tp_send_stored(req, cv_key(p, rows), "application/x-tar", absent);
}

tp_err_t *tp_api_cv_download(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err = load_cv(req, tp_param(&req->params, "id"), &rows, &ws);

    return err ? err : send_tarball(req, rows);
}

tp_err_t *tp_api_cv_download_ticket(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    long long ttl = TICKET_TTL_DEFAULT;
    tp_json_t *body, *t;
    apr_time_t expires;
    const char *ticket;
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = load_cv(req, id, &rows, &ws)) != NULL) {
        return err;
    }
    if (tp_has_body(req)) {
        if ((err = tp_read_json(req, &body)) != NULL) {
            return err;
        }
        if (tp_json_type(body, "data", "attributes", "ttl-seconds", NULL)
            == TP_JSON_INTEGER) {
            ttl = tp_json_geti(body, "data", "attributes", "ttl-seconds",
                               NULL);
        }
    }
    /* zero or negative falls back to the default; the cap is hard */
    if (ttl <= 0) ttl = TICKET_TTL_DEFAULT;
    if (ttl > TICKET_TTL_MAX) ttl = TICKET_TTL_MAX;
    expires = apr_time_now() + apr_time_from_sec(ttl);
    ticket = tp_ticket_mint(p, &req->conf->hmac, "cv", id,
                            req->who->grants.email, expires);
    t = tp_jsonapi_resource(p, "download-tickets", NULL);
    tp_json_del(t, "id");
    tp_json_sets(t, ticket, "attributes", "ticket", NULL);
    tp_json_sets(t, apr_pstrcat(p, "/api/terrapod/v1/configuration-versions/"
                                "download-by-ticket/", ticket, NULL),
                 "attributes", "url", NULL);
    tp_json_sets(t, tp_rfc3339(p, expires), "attributes", "expires-at", NULL);
    return tp_send_json(req, 201, tp_jsonapi_doc(p, t));
}

/* GET .../download-by-ticket/{ticket}: the ticket is the authority. */
tp_err_t *tp_api_cv_download_by_ticket(tp_req_t *req)
{
    const char *id;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_ticket_verify(req->r->pool, &req->conf->hmac, "cv",
                                tp_param(&req->params, "ticket"),
                                apr_time_now(), &id, NULL)) != NULL
        || (err = tp_req_exec(req, &SQL_CV_GET, &rows, TP_DB_ARGS(id)))
           != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 410, "configuration version %s no longer "
                      "exists", id);
    }
    return send_tarball(req, rows);
}

/* One side of a diff: a version's regular files, sorted by path. */
typedef struct diff_side {
    const char *id;
    tp_rows_t *rows;
    const char *path;           /* the stored tarball */
    apr_off_t size;
    apr_array_header_t *files;
    tp_archive_info_t info;
} diff_side_t;

/* Only the pair's cap counts: a file past it passes it too, and is
 * refused as such (413), not as a bad entry (422). */
static tp_err_t *read_side(tp_req_t *req, diff_side_t *side, apr_off_t cap)
{
    tp_archive_limits_t limits;

    limits.max_entry_size = APR_INT64_MAX;
    limits.max_total_size = cap;
    limits.max_entries = 100000;
    return tp_archive_read(req->r->pool, side->path, &limits, DIFF_FILE_MAX,
                           &side->files, &side->info);
}

/* Adds the entry for a file on one side only (from: removed, to: added)
 * or on both (f and t), or nothing when the two are the same bytes. */
static void diff_file(apr_pool_t *p, const tp_archive_file_t *f,
                      const tp_archive_file_t *t, tp_json_t *files,
                      tp_json_t *oversized)
{
    const tp_archive_file_t *one = f ? f : t;
    const char *type = !t ? "removed" : !f ? "added" : "modified";
    tp_json_t *entry;

    if (f && t && f->size == t->size
        && memcmp(f->sha1, t->sha1, sizeof(f->sha1)) == 0) {
        return;
    }
    if ((f && !f->data) || (t && !t->data)) {
        tp_json_pushs(oversized, one->path);
        return;
    }
    entry = tp_json_object(p);
    tp_json_sets(entry, one->path, "path", NULL);
    if ((f && tp_diff_is_binary(f->data, f->len))
        || (t && tp_diff_is_binary(t->data, t->len))) {
        /* bytes a JSON string cannot carry get no diff */
        tp_json_sets(entry, f && t ? "binary-changed" : type, "type", NULL);
    } else {
        tp_json_sets(entry, type, "type", NULL);
        tp_json_sets(entry, tp_diff_unified(p, f ? f->data : "",
                                            f ? f->len : 0,
                                            t ? t->data : "",
                                            t ? t->len : 0),
                     "diff", NULL);
    }
    tp_json_push(files, entry);
}

/* POST .../configuration-versions/diff: read on the workspace of both. */
tp_err_t *tp_api_cv_diff(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool, *sp;
    diff_side_t from = {NULL}, to = {NULL};
    tp_json_t *body, *a, *d, *files, *oversized;
    const tp_archive_file_t *f, *t;
    int has_from, has_to, i = 0, j = 0, c;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, NULL, &a)) != NULL
        || (err = tp_attr_string(p, a, "from-id", 64, &from.id, &has_from))
           != NULL
        || (err = tp_attr_string(p, a, "to-id", 64, &to.id, &has_to))
           != NULL) {
        return err;
    }
    if (!has_from || !has_to) {
        return tp_err(p, 422, "from-id and to-id are both required");
    }
    if ((err = load_cv(req, from.id, &from.rows, &ws)) != NULL
        || (err = load_cv(req, to.id, &to.rows, &ws)) != NULL) {
        return err;
    }
    if (strcmp(tp_row(from.rows, 0, "workspace_id"),
               tp_row(to.rows, 0, "workspace_id")) != 0) {
        return tp_err(p, 422, "configuration versions %s and %s belong to "
                      "different workspaces", from.id, to.id);
    }
    /* both checked before either is read: 409 and 410 are cheap */
    if ((err = cv_file(req, from.rows, &from.path, &from.size)) != NULL
        || (err = cv_file(req, to.rows, &to.path, &to.size)) != NULL) {
        return err;
    }
    if ((err = read_side(req, &from, DIFF_PAIR_MAX)) == NULL) {
        err = read_side(req, &to, DIFF_PAIR_MAX - from.info.total_size);
    }
    if (err && err->status == 413) {
        return tp_err(p, 413, "configuration versions %s and %s together "
                      "exceed %d bytes uncompressed", from.id, to.id,
                      DIFF_PAIR_MAX);
    }
    if (err) {
        return err;
    }
    files = tp_json_array(p);
    oversized = tp_json_array(p);
    /* a merge of the two sorted lists; each diff's work is dropped once
     * the JSON holds its copy */
    apr_pool_create(&sp, p);
    while (i < from.files->nelts || j < to.files->nelts) {
        f = i < from.files->nelts
            ? &APR_ARRAY_IDX(from.files, i, tp_archive_file_t) : NULL;
        t = j < to.files->nelts
            ? &APR_ARRAY_IDX(to.files, j, tp_archive_file_t) : NULL;
        c = !f ? 1 : !t ? -1 : strcmp(f->path, t->path);
        diff_file(sp, c <= 0 ? f : NULL, c >= 0 ? t : NULL, files,
                  oversized);
        i += c <= 0;
        j += c >= 0;
        apr_pool_clear(sp);
    }
    apr_pool_destroy(sp);
    d = tp_jsonapi_resource(p, "configuration-version-diffs", NULL);
    tp_json_del(d, "id");
    tp_json_sets(d, from.id, "attributes", "from-id", NULL);
    tp_json_sets(d, to.id, "attributes", "to-id", NULL);
    tp_json_setj(d, files, "attributes", "files", NULL);
    tp_json_setj(d, oversized, "attributes", "oversized", NULL);
    tp_json_seti(d, (long long)tp_json_len(files), "attributes",
                 "total-files-changed", NULL);
    return tp_send_json(req, 200, tp_jsonapi_doc(p, d));
}
