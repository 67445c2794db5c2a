/* Configuration versions: the tarballs terraform uploads for remote runs.
 * An upload streams to a temp file, is validated as a gzip tar with no
 * escaping or special entries, and only then becomes visible; a bad one
 * leaves the version errored and nothing stored. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_archive.h"

#define UPLOAD_TTL apr_time_from_sec(3600)
#define TICKET_TTL_DEFAULT 300
#define TICKET_TTL_MAX 1800

#define CV_COLUMNS \
    "cv.id, cv.workspace_id, cv.status, cv.error_message," \
    " cv.auto_queue_runs, cv.speculative, cv.provisional, cv.source," \
    " cv.size, cv.file_count, cv.created_by," \
    " tp_ts(cv.created_at) AS created_at," \
    " tp_ts(cv.uploaded_at) AS uploaded_at"

static const tp_stmt_t SQL_CV_INSERT = {"cv_insert",
    "INSERT INTO configuration_versions (id, workspace_id, auto_queue_runs,"
    "                                    speculative, provisional, created_by)"
    " VALUES (%s, %s, %s::boolean, %s::boolean, %s::boolean, %s)"};
static const tp_stmt_t SQL_CV_GET = {"cv_get",
    "SELECT " CV_COLUMNS " FROM configuration_versions cv WHERE cv.id = %s"};
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
    " error_message = %s WHERE id = %s AND status = 'pending'"};

static const char *cv_key(apr_pool_t *p, const char *ws, const char *cv)
{
    return apr_pstrcat(p, "config/", ws, "/", cv, ".tar.gz", NULL);
}

static tp_json_t *cv_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_row(rows, i, "id");
    const char *status = tp_row(rows, i, "status");
    tp_json_t *c = tp_jsonapi_resource(p, "configuration-versions", id);

    tp_json_sets(c, status, "attributes", "status", NULL);
    tp_json_sets(c, tp_row(rows, i, "error_message"), "attributes",
                 "error-message", NULL);
    tp_json_sets(c, tp_row(rows, i, "source"), "attributes", "source", NULL);
    tp_json_setb(c, tp_row_bool(rows, i, "auto_queue_runs"), "attributes",
                 "auto-queue-runs", NULL);
    tp_json_setb(c, tp_row_bool(rows, i, "speculative"), "attributes",
                 "speculative", NULL);
    tp_json_setb(c, tp_row_bool(rows, i, "provisional"), "attributes",
                 "provisional", NULL);
    tp_json_sets(c, tp_row(rows, i, "created_by"), "attributes", "created-by",
                 NULL);
    tp_json_sets(c, tp_row(rows, i, "created_at"), "attributes", "created-at",
                 NULL);
    tp_json_sets(c, tp_row(rows, i, "uploaded_at"), "attributes",
                 "status-timestamps", "uploaded-at", NULL);
    if (tp_row(rows, i, "size")) {
        tp_json_seti(c, apr_atoi64(tp_row(rows, i, "size")), "attributes",
                     "size", NULL);
    }
    /* the upload URL is handed out only while it can still be used */
    tp_json_sets(c, strcmp(status, "pending") == 0
                    ? tp_capability_url(req, apr_pstrcat(p,
                          "/api/v2/configuration-versions/", id, "/upload",
                          NULL), "cv-upload", id, UPLOAD_TTL)
                    : NULL,
                 "attributes", "upload-url", NULL);
    tp_jsonapi_relate(c, "workspace", "workspaces",
                      tp_row(rows, i, "workspace_id"));
    tp_json_sets(c, apr_pstrcat(p, "/api/v2/configuration-versions/", id,
                                NULL), "links", "self", NULL);
    return c;
}

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
    apr_pool_t *p = req->r->pool;
    tp_err_t *err = tp_req_exec(req, &SQL_CV_GET, rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    if ((*rows)->nrows == 0) {
        return tp_err(p, 404, "configuration version %s not found", id);
    }
    err = tp_ws_require(req, tp_row(*rows, 0, "workspace_id"),
                        req->route->level, ws);
    if (err && err->status == 404) {
        return tp_err(p, 404, "configuration version %s not found", id);
    }
    return err;
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
                      TP_DB_ARGS(id, ws->id, auto_queue ? "true" : "false",
                                 speculative ? "true" : "false",
                                 provisional ? "true" : "false",
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

/* Marks a rejected upload errored, then answers with the rejection. */
static tp_err_t *reject(tp_req_t *req, const char *id, tp_err_t *why)
{
    tp_err_t *err = tp_req_exec(req, &SQL_CV_ERRORED, NULL,
                                TP_DB_ARGS(why->detail, id));

    return err ? err : why;
}

/* PUT <upload-url>: the signed URL is the authority. */
tp_err_t *tp_api_cv_upload(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_archive_limits_t limits;
    tp_archive_info_t info;
    const char *tmp;
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
                                cv_key(p, tp_row(cv, 0, "workspace_id"), id),
                                req->conf->max_upload, &up)) != NULL
        || (err = tp_receive_upload(req, up)) != NULL
        || (err = tp_upload_path(up, &tmp)) != NULL) {
        /* a refused body (413) is the client's fault; the version is
         * errored so a run never waits on it */
        return err->status == 413 ? reject(req, id, err) : err;
    }
    /* unpacked, a configuration may be no larger than an upload */
    limits.max_entry_size = req->conf->max_upload;
    limits.max_total_size = req->conf->max_upload;
    limits.max_entries = 100000;
    if ((err = tp_archive_validate(p, tmp, &limits, &info)) != NULL) {
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

/* The tarball itself, for a version that has one. */
static tp_err_t *send_tarball(tp_req_t *req, const tp_rows_t *rows)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_row(rows, 0, "id");
    const char *status = tp_row(rows, 0, "status");
    const char *path;
    apr_off_t size;

    if (strcmp(status, "pending") == 0 || strcmp(status, "errored") == 0) {
        return tp_err(p, 409, "configuration version %s has no uploaded "
                      "configuration", id);
    }
    path = tp_storage_file(&req->conf->storage, p,
                           cv_key(p, tp_row(rows, 0, "workspace_id"), id),
                           &size);
    if (strcmp(status, "archived") == 0 || !path) {
        return tp_err(p, 410, "configuration version %s was removed by "
                      "retention", id);
    }
    apr_table_setn(req->r->headers_out, "Content-Disposition",
                   apr_psprintf(p, "attachment; filename=\"%s.tar.gz\"", id));
    return tp_send_file(req, path, size, "application/x-tar");
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
