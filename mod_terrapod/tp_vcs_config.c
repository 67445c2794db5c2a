/* Configurations from a repository: the archive of a commit made into an
 * uploaded configuration version that records its ingress. */
#include <string.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include "tp_vcs_config.h"
#include "tp_archive.h"
#include "tp_token.h"

/* The version is uploaded from the start: nothing waits for its bytes. Its
 * source and connection are the workspace's. */
static const tp_stmt_t SQL_VCS_CV_INSERT = {"vcs_cv_insert",
    "INSERT INTO configuration_versions (id, workspace_id, status,"
    "   auto_queue_runs, speculative, source, size, file_count, ingress,"
    "   vcs_connection_id, uploaded_at)"
    " SELECT %s, w.id, 'uploaded', false, %s::boolean,"
    "        COALESCE(c.provider, 'tfe-api'), %s::bigint, %s::integer,"
    "        %s::jsonb, c.id, now()"
    "   FROM workspaces w"
    "   LEFT JOIN vcs_connections c ON c.id = w.vcs_connection_id"
    "  WHERE w.id = %s"
    " RETURNING id"};

tp_json_t *tp_vcs_ingress_json(apr_pool_t *p, const tp_vcs_ingress_t *ing)
{
    tp_json_t *j = tp_json_object(p);

    tp_json_sets(j, ing->branch, "branch", NULL);
    tp_json_sets(j, ing->clone_url, "clone-url", NULL);
    tp_json_sets(j, ing->commit_message, "commit-message", NULL);
    tp_json_sets(j, ing->commit_sha, "commit-sha", NULL);
    tp_json_sets(j, ing->commit_url, "commit-url", NULL);
    tp_json_sets(j, ing->compare_url, "compare-url", NULL);
    tp_json_sets(j, ing->identifier, "identifier", NULL);
    tp_json_setb(j, ing->is_pull_request, "is-pull-request", NULL);
    if (ing->pull_request_number > 0) {
        tp_json_seti(j, ing->pull_request_number, "pull-request-number",
                     NULL);
    }
    else {
        tp_json_setnull(j, "pull-request-number", NULL);
    }
    tp_json_sets(j, ing->pull_request_title, "pull-request-title", NULL);
    tp_json_sets(j, ing->pull_request_url, "pull-request-url", NULL);
    tp_json_sets(j, ing->sender_username, "sender-username", NULL);
    tp_json_sets(j, ing->tag, "tag", NULL);
    return j;
}

tp_json_t *tp_vcs_refs_json(apr_pool_t *p, const apr_array_header_t *refs)
{
    tp_json_t *list = tp_json_array(p), *e;
    int i;

    for (i = 0; i < refs->nelts; i++) {
        e = tp_json_object(p);
        tp_json_sets(e, APR_ARRAY_IDX(refs, i, tp_vcs_ref_t).name, "name",
                     NULL);
        tp_json_sets(e, APR_ARRAY_IDX(refs, i, tp_vcs_ref_t).sha, "sha",
                     NULL);
        tp_json_push(list, e);
    }
    return list;
}

int tp_vcs_ref_is_sha(const char *ref)
{
    apr_size_t n = strlen(ref);

    return n >= 7 && n <= 40 && strspn(ref, "0123456789abcdefABCDEF") == n;
}

const char *tp_vcs_service_provider(tp_vcs_provider_e provider,
                                    const char *server_url)
{
    if (provider == TP_VCS_GITHUB) {
        return server_url ? "github_enterprise" : "github";
    }
    return server_url ? "gitlab_enterprise" : "gitlab_hosted";
}

tp_err_t *tp_vcs_fetch(apr_pool_t *p, const tp_vcs_env_t *env,
                       tp_vcs_conn_t *c, const char *owner, const char *name,
                       const char *sha, const char **tarball, int *files)
{
    tp_archive_limits_t limits = tp_archive_config_limits(env->max_upload);
    tp_archive_info_t info;
    const char *raw, *out;
    tp_err_t *err;

    c->max_archive = env->max_upload;
    if ((err = tp_temp_file(p, "terrapod-vcs", &raw)) != NULL
        || (err = tp_temp_file(p, "terrapod-vcs", &out)) != NULL
        || (err = tp_vcs_archive(p, c, owner, name, sha, raw)) != NULL) {
        return err;
    }
    if ((err = tp_archive_strip(p, raw, out, &limits, &info)) != NULL) {
        return err->status == 422
               ? tp_err(p, 422, "the archive of %s/%s at %s: %s", owner,
                        name, sha, err->detail)
               : err;
    }
    *tarball = out;
    if (files) {
        *files = info.files;
    }
    return NULL;
}

tp_err_t *tp_vcs_cv_create(tp_db_t *db, apr_pool_t *p,
                           const tp_vcs_env_t *env, const char *ws_id,
                           const char *tarball, const tp_vcs_ingress_t *ing,
                           int speculative, const char **cv_id)
{
    tp_archive_limits_t limits = tp_archive_config_limits(env->max_upload);
    const char *id = tp_id_generate(p, "cv");
    const char *key = tp_cv_key(p, ws_id, id);
    tp_archive_info_t info;
    apr_off_t size = 0;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_archive_validate(p, tarball, &limits, &info)) != NULL
        || (err = tp_storage_put_file(env->storage, p, key, tarball,
                                      env->max_upload, &size)) != NULL) {
        return err;
    }
    err = tp_db_exec(db, p, &SQL_VCS_CV_INSERT, &rows,
                     TP_DB_ARGS(id, tp_db_bool(speculative),
                                apr_off_t_toa(p, size),
                                apr_itoa(p, info.files),
                                tp_json_dump(tp_vcs_ingress_json(p, ing), p),
                                ws_id));
    if (!err && rows->nrows == 0) {
        err = tp_err(p, 404, "workspace %s not found", ws_id);
    }
    if (err) {
        tp_storage_remove(env->storage, p, key);
        return err;
    }
    *cv_id = id;
    return NULL;
}
