/* A workspace's repository: the refs a person may run from (vcs-refs),
 * and the configuration a run asked for without one fetches from it.
 * Every call to the provider is recorded as the connection's health. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_vcs_config.h"

/* The tracked branch's commit the workspace now runs. */
static const tp_stmt_t SQL_WS_VCS_RAN = {"ws_vcs_ran",
    "UPDATE workspaces SET vcs_last_commit_sha = %s WHERE id = %s"};

/* A workspace's repository and its connection, unsealed: 422 when the
 * workspace is not bound to one, or the connection is disabled. */
typedef struct {
    tp_vcs_env_t env;
    tp_vcs_link_t link;
    const char *owner, *name, *url;
    tp_db_t *db;
} ws_repo_t;

static tp_err_t *open_repo(tp_req_t *req, const tp_ws_t *ws, ws_repo_t *r)
{
    apr_pool_t *p = req->r->pool;
    const char *conn = tp_row(ws->row, 0, "vcs_connection_id");
    tp_err_t *err;

    r->url = tp_row(ws->row, 0, "vcs_repo_url");
    if (!conn || !*r->url) {
        return tp_err(p, 422, "workspace %s is not connected to a VCS "
                      "repository", ws->name);
    }
    tp_vcs_env_from(req->conf, &r->env);
    if ((err = tp_req_db(req, &r->db)) != NULL
        || (err = tp_vcs_link_load(r->db, p, &r->env, conn, &r->link))
           != NULL) {
        return err;
    }
    if (strcmp(r->link.status, "active") != 0) {
        return tp_err(p, 422, "the VCS connection %s of workspace %s is "
                      "disabled", conn, ws->name);
    }
    if (tp_vcs_repo_parse(p, r->link.conn.provider, r->link.server_url,
                          r->url, &r->owner, &r->name) != APR_SUCCESS) {
        return tp_err(p, 422, "vcs-repo-url %s of workspace %s is not a "
                      "repository of its VCS connection", r->url, ws->name);
    }
    return NULL;
}

/* Records what the provider answered. A failure of the provider (5xx, or
 * a refusal: a 502 from the clients) becomes the connection's last error
 * and a 502 naming what it said; what is the request's fault (a ref that
 * does not exist, an archive past the caps) stays as it is. */
static tp_err_t *provider_done(tp_req_t *req, ws_repo_t *r, tp_err_t *failed)
{
    int provider_fault = failed && (failed->status >= 500
                                    || failed->status == 404);
    tp_err_t *err = tp_vcs_link_record(r->db, req->r->pool, &r->env,
                                       &r->link,
                                       provider_fault ? failed : NULL);

    if (!provider_fault) {
        return failed ? failed : err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP01950: VCS "
                  "connection %s failed for %s/%s: %s", r->link.id, r->owner,
                  r->name, failed->detail);
    return tp_err(req->r->pool, 502, "the provider refused: %s",
                  failed->detail);
}

/* GET /workspaces/{id}/vcs-refs: the seed's {branches, tags,
 * default-branch}, not a JSON:API document. */
tp_err_t *tp_api_workspace_vcs_refs(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p);
    apr_array_header_t *branches, *tags;
    const char *branch;
    ws_repo_t r;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws)) != NULL
        || (err = open_repo(req, ws, &r)) != NULL) {
        return err;
    }
    err = tp_vcs_refs(p, &r.link.conn, r.owner, r.name, 0, &branches);
    if (!err) {
        err = tp_vcs_refs(p, &r.link.conn, r.owner, r.name, 1, &tags);
    }
    if (!err) {
        err = tp_vcs_default_branch(p, &r.link.conn, r.owner, r.name,
                                    &branch);
    }
    if ((err = provider_done(req, &r, err)) != NULL) {
        return err;
    }
    tp_json_setj(doc, tp_vcs_refs_json(p, branches), "branches", NULL);
    tp_json_setj(doc, tp_vcs_refs_json(p, tags), "tags", NULL);
    tp_json_sets(doc, branch, "default-branch", NULL);
    return tp_send_json(req, 200, doc);
}

/* ---- runs from a ref ---- */

/* The SHA of tag, or NULL when the repository has none of that name. */
static tp_err_t *tag_sha(apr_pool_t *p, ws_repo_t *r, const char *tag,
                         const char **sha)
{
    apr_array_header_t *tags;
    tp_err_t *err = tp_vcs_refs(p, &r->link.conn, r->owner, r->name, 1,
                                &tags);
    int i;

    *sha = NULL;
    for (i = 0; !err && i < tags->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(tags, i, tp_vcs_ref_t).name, tag) == 0) {
            *sha = APR_ARRAY_IDX(tags, i, tp_vcs_ref_t).sha;
        }
    }
    return err;
}

/* What ref names, the ingress saying so: the tracked branch (ref empty or
 * its name; *tracked set), another branch, a tag or a commit by SHA. A
 * ref that names none of them is a 422. */
static tp_err_t *resolve_ref(apr_pool_t *p, ws_repo_t *r, const char *tracked_branch,
                             const char *ref, tp_vcs_ingress_t *ing,
                             int *tracked)
{
    tp_vcs_conn_t *c = &r->link.conn;
    const char *branch = tracked_branch, *sha = NULL, *etag;
    tp_vcs_commit_t commit;
    tp_err_t *err;

    if (!*branch
        && (err = tp_vcs_default_branch(p, c, r->owner, r->name, &branch))
           != NULL) {
        return err;
    }
    *tracked = !*ref || strcmp(ref, branch) == 0;
    if (*tracked) {
        ing->branch = branch;
    }
    else if (tp_vcs_ref_is_sha(ref)) {
        sha = ref;
    }
    else if ((err = tp_vcs_head(p, c, r->owner, r->name, ref, NULL, &sha,
                                &etag)) == NULL) {
        ing->branch = ref;
    }
    else if (err->status != 404
             || (err = tag_sha(p, r, ref, &sha)) != NULL) {
        return err;
    }
    else if (!sha) {
        return tp_err(p, 422, "vcs-ref %s names no branch, tag or commit of "
                      "%s/%s", ref, r->owner, r->name);
    }
    else {
        ing->tag = ref;
    }
    err = tp_vcs_commit(p, c, r->owner, r->name, sha ? sha : branch,
                        &commit);
    if (err && err->status == 404) {
        return tp_err(p, 422, "vcs-ref %s names no branch, tag or commit of "
                      "%s/%s", ref, r->owner, r->name);
    }
    if (err) {
        return err;
    }
    ing->commit_sha = commit.sha;
    ing->commit_url = commit.url;
    ing->commit_message = commit.message;
    ing->sender_username = commit.author;
    ing->identifier = apr_pstrcat(p, r->owner, "/", r->name, NULL);
    ing->clone_url = apr_pstrcat(p, tp_vcs_web_root(p, c->provider,
                                                    r->link.server_url),
                                 "/", ing->identifier, ".git", NULL);
    return NULL;
}

/* What tp_run_create would refuse of the run, asked before the provider
 * is, so that no configuration version is left without its run; before
 * the ref is known, the run may be plan-only. */
static tp_err_t *may_queue(apr_pool_t *p, const tp_ws_t *ws,
                           const tp_run_spec_t *in, int plan_only)
{
    tp_run_spec_t spec = *in;

    spec.level = ws->level;
    spec.plan_only |= plan_only;
    return tp_run_allowed(p, &spec, tp_row_bool(ws->row, 0,
                                                "allow_destroy_plan"));
}

tp_err_t *tp_ws_vcs_run_config(tp_req_t *req, const tp_ws_t *ws,
                               tp_run_spec_t *in)
{
    apr_pool_t *p = req->r->pool;
    const char *tarball, *cv_id;
    tp_vcs_ingress_t ing;
    ws_repo_t r;
    tp_err_t *err;
    int tracked = 0;

    if (!tp_row(ws->row, 0, "vcs_connection_id")) {
        return *in->vcs_ref ? tp_err(p, 422, "vcs-ref needs a workspace "
                                     "connected to a VCS repository")
                            : NULL;
    }
    /* bound to no repository: nothing to fetch, nor anything else */
    if (!*tp_row(ws->row, 0, "vcs_repo_url")) {
        return tp_err(p, 422, TP_RUN_NO_CONFIG);
    }
    if ((err = may_queue(p, ws, in, 1)) != NULL) {
        return err;
    }
    memset(&ing, 0, sizeof(ing));
    if ((err = open_repo(req, ws, &r)) != NULL) {
        return err;
    }
    err = resolve_ref(p, &r, tp_row(ws->row, 0, "vcs_branch"), in->vcs_ref,
                      &ing, &tracked);
    if (!err && tracked) {
        err = may_queue(p, ws, in, 0);
    }
    if (!err) {
        err = tp_vcs_fetch(p, &r.env, &r.link.conn, r.owner, r.name,
                           ing.commit_sha, &tarball, NULL);
    }
    if ((err = provider_done(req, &r, err)) != NULL
        || (err = tp_vcs_cv_create(r.db, p, &r.env, ws->id, tarball, &ing,
                                   !tracked, &cv_id)) != NULL) {
        return err;
    }
    if (tracked && (err = tp_db_exec(r.db, p, &SQL_WS_VCS_RAN, NULL,
                                     TP_DB_ARGS(ing.commit_sha, ws->id)))
                   != NULL) {
        return err;
    }
    in->cv_id = cv_id;
    return NULL;
}
