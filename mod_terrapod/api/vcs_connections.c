/* VCS connections: a GitHub App installation or a GitLab account the
 * module reaches repositories through. Platform admins manage them. The
 * credentials (the App's private key, the GitLab token) and the webhook
 * secret are sealed at rest and write-only: an answer says whether one is
 * set, never what it is, and they reach no log. The provider of a
 * connection never changes; another provider is another connection. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_vcs_config.h"
#include "../tp_crypto.h"
#include "../tp_vcs_store.h"

#define VCS_COLUMNS \
    "id, name, provider, server_url, status, github_app_id," \
    " github_installation_id, github_account_login, github_account_type," \
    " webhook_secret_sealed IS NOT NULL AS has_webhook_secret," \
    " tp_ts(last_success_at) AS last_success_at, last_error," \
    " tp_ts(last_error_at) AS last_error_at, rate_limit_remaining," \
    " tp_ts(rate_limit_reset_at) AS rate_limit_reset_at," \
    " tp_ts(created_at) AS created_at, tp_ts(updated_at) AS updated_at"

static const tp_stmt_t SQL_VCS_GET = {"vcs_get",
    "SELECT " VCS_COLUMNS " FROM vcs_connections WHERE id = %s"};
static const tp_stmt_t SQL_VCS_PAGE = {"vcs_page",
    "SELECT " VCS_COLUMNS ", count(*) OVER () AS total"
    " FROM vcs_connections ORDER BY lower(name)"
    " LIMIT %s::bigint OFFSET %s::bigint"};
/* What another connection already holds: its name or the installation. */
static const tp_stmt_t SQL_VCS_TAKEN = {"vcs_taken",
    "SELECT COALESCE(lower(name) = lower(%s), false) AS name_taken"
    " FROM vcs_connections WHERE id <> %s"
    "   AND (lower(name) = lower(%s)"
    "        OR github_installation_id = %s::bigint)"
    " ORDER BY 1 DESC LIMIT 1"};
static const tp_stmt_t SQL_VCS_INSERT = {"vcs_insert",
    "INSERT INTO vcs_connections (id, name, provider, server_url, status,"
    " github_app_id, github_installation_id, github_account_login,"
    " github_account_type, credential_sealed, webhook_secret_sealed)"
    " VALUES (%s, %s, %s, NULLIF(%s, ''), COALESCE(%s, 'active'),"
    " %s::bigint, %s::bigint, %s, %s, %s, %s)"};
/* NULL leaves a column as it is; an empty server-url is the public
 * service again. */
static const tp_stmt_t SQL_VCS_UPDATE = {"vcs_update",
    "UPDATE vcs_connections SET name = COALESCE(%s, name),"
    " server_url = CASE WHEN %s::text IS NULL THEN server_url"
    "                   ELSE NULLIF(%s, '') END,"
    " status = COALESCE(%s, status),"
    " github_app_id = COALESCE(%s::bigint, github_app_id),"
    " github_installation_id = COALESCE(%s::bigint, github_installation_id),"
    " github_account_login = COALESCE(%s, github_account_login),"
    " github_account_type = COALESCE(%s, github_account_type),"
    " credential_sealed = COALESCE(%s, credential_sealed),"
    " webhook_secret_sealed = COALESCE(%s, webhook_secret_sealed),"
    " token_sealed = CASE WHEN %s::boolean THEN NULL ELSE token_sealed END,"
    " updated_at = now()"
    " WHERE id = %s"};
static const tp_stmt_t SQL_VCS_DELETE = {"vcs_delete",
    "DELETE FROM vcs_connections WHERE id = %s RETURNING id"};

#define VCS_NAME_MAX 90
#define VCS_URL_MAX 2048
#define VCS_LOGIN_MAX 255
#define VCS_SECRET_MAX 16384    /* a PEM of a 4096-bit key is ~3.3 KiB */

/* ---- rendering ---- */

static const tp_attr_t VCS_ATTRS[] = {
    {"name", "name", TP_ATTR_STRING},
    {"provider", "provider", TP_ATTR_STRING},
    {"server-url", "server_url", TP_ATTR_STRING},
    {"status", "status", TP_ATTR_STRING},
    {"github-app-id", "github_app_id", TP_ATTR_INT},
    {"github-installation-id", "github_installation_id", TP_ATTR_INT},
    {"github-account-login", "github_account_login", TP_ATTR_STRING},
    {"github-account-type", "github_account_type", TP_ATTR_STRING},
    {"has-webhook-secret", "has_webhook_secret", TP_ATTR_BOOL},
    {"last-success-at", "last_success_at", TP_ATTR_STRING},
    {"last-error", "last_error", TP_ATTR_STRING},
    {"last-error-at", "last_error_at", TP_ATTR_STRING},
    {"rate-limit-remaining", "rate_limit_remaining", TP_ATTR_INT},
    {"rate-limit-reset-at", "rate_limit_reset_at", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"updated-at", "updated_at", TP_ATTR_STRING},
    {NULL, NULL, 0}
};

static const tp_rel_t VCS_RELS[] = {
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t VCS_DESC = {
    "vcs-connections", NULL, "/api/terrapod/v1/vcs-connections/%s",
    VCS_ATTRS, VCS_RELS
};

static tp_json_t *vcs_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_resource_render(req->r->pool, &VCS_DESC, rows, i);
}

static tp_err_t *load(tp_req_t *req, const char *id, tp_rows_t **rows)
{
    tp_err_t *err = tp_req_exec(req, &SQL_VCS_GET, rows, TP_DB_ARGS(id));

    if (!err && (*rows)->nrows == 0) {
        err = tp_err(req->r->pool, 404, "VCS connection %s not found", id);
    }
    return err;
}

static tp_err_t *send_connection(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = load(req, id, &rows);

    return err ? err : tp_send_json(req, status,
                                    tp_jsonapi_doc(req->r->pool,
                                                   vcs_resource(req, rows,
                                                                0)));
}

tp_err_t *tp_api_vcs_connection_show(tp_req_t *req)
{
    return send_connection(req, 200, tp_param(&req->params, "id"));
}

tp_err_t *tp_api_vcs_connection_list(tp_req_t *req)
{
    return tp_send_page(req, &SQL_VCS_PAGE, 0, NULL, vcs_resource);
}

/* ---- create and update ---- */

/* Column values parsed from a request: NULL leaves a column unchanged.
 * The secrets are sealed already. */
typedef struct {
    const char *name, *provider, *server_url, *status;
    const char *app_id, *installation_id, *account_login, *account_type;
    const char *credential, *webhook_secret;
} vcs_input_t;

/* A positive integer attribute as its decimal text, or NULL when absent. */
static tp_err_t *id_attr(apr_pool_t *p, const tp_json_t *a, const char *name,
                         const char **out)
{
    long long v;
    int has;
    tp_err_t *err = tp_attr_int(p, a, name, 1, APR_INT64_MAX, &v, &has);

    *out = has ? apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v) : NULL;
    return err;
}

/* A write-only secret, sealed; NULL when absent or empty (an empty value
 * keeps the stored one, so a form that never shows it can be saved). A
 * private key must be one an App can sign its tokens with. */
static tp_err_t *secret_attr(tp_req_t *req, const tp_json_t *a,
                             const char *name, const char **sealed)
{
    apr_pool_t *p = req->r->pool;
    const char *plain, *why;
    apr_size_t siglen;
    int has;
    tp_err_t *err = tp_attr_string(p, a, name, VCS_SECRET_MAX, &plain, &has);

    *sealed = NULL;
    if (err || !has || !*plain) {
        return err;
    }
    if (strcmp(name, "private-key") == 0
        && !tp_rs256_sign(p, plain, "", 0, &siglen, &why)) {
        return tp_err(p, 422, "private-key %s", why);
    }
    *sealed = tp_seal(p, req->conf->hmac.bytes, req->conf->hmac.len,
                      TP_VCS_SEAL_PURPOSE, plain);
    return *sealed ? NULL : tp_err_internal(p, 500, "the credential could "
                                            "not be sealed", "tp_seal failed");
}

/* The attributes only one provider has, refused on the other's. */
static tp_err_t *foreign_attrs(apr_pool_t *p, const tp_json_t *a,
                               tp_vcs_provider_e provider)
{
    static const char *const github_only[] = {
        "github-app-id", "github-installation-id", "github-account-login",
        "github-account-type", "private-key", NULL
    };
    static const char *const gitlab_only[] = {"token", NULL};
    const char *const *n = provider == TP_VCS_GITHUB ? gitlab_only
                                                     : github_only;

    for (; *n; n++) {
        if (tp_json_type(a, *n, NULL) != TP_JSON_ABSENT) {
            return tp_err(p, 422, "%s is not an attribute of a %s "
                          "connection", *n, provider == TP_VCS_GITHUB
                                            ? "github" : "gitlab");
        }
    }
    return NULL;
}

/* provider: the connection's (update), or NULL on create, where the body
 * must name it. */
static tp_err_t *parse_input(tp_req_t *req, const tp_json_t *body,
                             const char *provider, vcs_input_t *in)
{
    static const char *const providers[] = {"github", "gitlab", NULL};
    static const char *const statuses[] = {"active", "disabled", NULL};
    static const char *const account_types[] = {"Organization", "User",
                                                NULL};
    apr_pool_t *p = req->r->pool;
    const char *url, *why;
    tp_json_t *a;
    tp_err_t *err;
    int has, kind;

    memset(in, 0, sizeof(*in));
    if ((err = tp_jsonapi_attributes(p, body, "vcs-connections", &a)) != NULL
        || (err = tp_attr_string(p, a, "name", VCS_NAME_MAX, &in->name,
                                 &has)) != NULL
        || (err = tp_attr_enum(p, a, "provider", providers, &in->provider,
                               &has)) != NULL) {
        return err;
    }
    if (in->name && !*in->name) {
        return tp_err(p, 422, "name may not be empty");
    }
    if (provider && in->provider && strcmp(provider, in->provider) != 0) {
        return tp_err(p, 422, "provider cannot be changed; delete this "
                      "connection and create a %s one", in->provider);
    }
    if (!provider && !(provider = in->provider)) {
        return tp_err(p, 422, "provider is required (github or gitlab)");
    }
    kind = tp_vcs_provider_named(provider);
    if ((err = foreign_attrs(p, a, kind)) != NULL
        || (err = tp_attr_string(p, a, "server-url", VCS_URL_MAX, &url,
                                 &has)) != NULL) {
        return err;
    }
    if (has && *url) {
        if ((why = tp_vcs_server_url_check(p, url, req->conf->vcs_internal_hosts,
                                           &in->server_url)) != NULL) {
            return tp_err(p, 422, "server-url %s", why);
        }
    }
    else if (has) {
        in->server_url = "";
    }
    if ((err = tp_attr_enum(p, a, "status", statuses, &in->status, &has))
            != NULL
        || (err = id_attr(p, a, "github-app-id", &in->app_id)) != NULL
        || (err = id_attr(p, a, "github-installation-id",
                          &in->installation_id)) != NULL
        || (err = tp_attr_string(p, a, "github-account-login", VCS_LOGIN_MAX,
                                 &in->account_login, &has)) != NULL
        || (err = tp_attr_enum(p, a, "github-account-type", account_types,
                               &in->account_type, &has)) != NULL
        || (err = secret_attr(req, a, kind == TP_VCS_GITHUB ? "private-key"
                                                            : "token",
                              &in->credential)) != NULL
        || (err = secret_attr(req, a, "webhook-secret",
                              &in->webhook_secret)) != NULL) {
        return err;
    }
    return NULL;
}

/* What a new connection must have: a name, its credential, and for an
 * App the ids the provider knows it by. */
static tp_err_t *check_complete(apr_pool_t *p, const vcs_input_t *in)
{
    int github = strcmp(in->provider, "github") == 0;

    if (!in->name) {
        return tp_err(p, 422, "name is required");
    }
    if (github && (!in->app_id || !in->installation_id)) {
        return tp_err(p, 422, "github-app-id and github-installation-id are "
                      "required for a github connection");
    }
    if (!in->credential) {
        return tp_err(p, 422, "%s is required for a %s connection",
                      github ? "private-key" : "token", in->provider);
    }
    return NULL;
}

/* 422 when another connection has the name or the App installation. */
static tp_err_t *check_taken(tp_req_t *req, const char *id,
                             const vcs_input_t *in)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_VCS_TAKEN, &rows,
                                TP_DB_ARGS(in->name, id, in->name,
                                           in->installation_id));

    if (err || rows->nrows == 0) {
        return err;
    }
    return tp_row_bool(rows, 0, "name_taken")
           ? tp_err(p, 422, "name \"%s\" has already been taken", in->name)
           : tp_err(p, 422, "github-installation-id %s is already used by "
                    "another connection", in->installation_id);
}

tp_err_t *tp_api_vcs_connection_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "vcs");
    tp_json_t *body;
    vcs_input_t in;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(req, body, NULL, &in)) != NULL
        || (err = check_complete(p, &in)) != NULL
        || (err = check_taken(req, id, &in)) != NULL
        || (err = tp_req_exec(req, &SQL_VCS_INSERT, NULL,
                              TP_DB_ARGS(id, in.name, in.provider,
                                         in.server_url, in.status, in.app_id,
                                         in.installation_id, in.account_login,
                                         in.account_type, in.credential,
                                         in.webhook_secret))) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01900: VCS "
                  "connection %s (%s, %s) created by %s", id, in.name,
                  in.provider, req->who->grants.email);
    return send_connection(req, 201, id);
}

tp_err_t *tp_api_vcs_connection_update(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    tp_json_t *body;
    vcs_input_t in;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = load(req, id, &rows)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(req, body, tp_row(rows, 0, "provider"), &in))
           != NULL
        || ((in.name || in.installation_id)
            && (err = check_taken(req, id, &in)) != NULL)
        || (err = tp_req_exec(req, &SQL_VCS_UPDATE, NULL,
                              TP_DB_ARGS(in.name, in.server_url,
                                         in.server_url, in.status, in.app_id,
                                         in.installation_id, in.account_login,
                                         in.account_type, in.credential,
                                         in.webhook_secret,
                                         in.credential || in.app_id
                                         || in.installation_id
                                         || in.server_url ? "true" : "false",
                                         id))) != NULL) {
        return err;
    }
    if (in.credential || in.webhook_secret) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01901: VCS "
                      "connection %s: %s%s%s rotated by %s", id,
                      in.credential ? "credential" : "",
                      in.credential && in.webhook_secret ? " and " : "",
                      in.webhook_secret ? "webhook secret" : "", req->who->grants.email);
    }
    return send_connection(req, 200, id);
}

tp_err_t *tp_api_vcs_connection_delete(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_VCS_DELETE, &rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "VCS connection %s not found", id);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP01902: VCS "
                  "connection %s deleted by %s", id, req->who->grants.email);
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* ---- testing a connection ---- */

/* Reads what runs will need of a repository: its default branch, the
 * branches and tags, and the archive of the default branch's head,
 * checked as a run from it would take it (tp_vcs_fetch). */
static tp_err_t *read_repository(tp_req_t *req, const tp_vcs_env_t *env,
                                 tp_vcs_conn_t *c, const char *owner,
                                 const char *name, tp_json_t *out)
{
    apr_pool_t *p = req->r->pool;
    apr_array_header_t *branches, *tags;
    const char *branch, *head, *etag, *tarball;
    tp_err_t *err;
    int files;

    if ((err = tp_vcs_default_branch(p, c, owner, name, &branch)) != NULL
        || (err = tp_vcs_refs(p, c, owner, name, 0, &branches)) != NULL
        || (err = tp_vcs_refs(p, c, owner, name, 1, &tags)) != NULL
        || (err = tp_vcs_head(p, c, owner, name, branch, NULL, &head,
                              &etag)) != NULL
        || (err = tp_vcs_fetch(p, env, c, owner, name, head, &tarball,
                               &files)) != NULL) {
        return err;
    }
    tp_json_sets(out, branch, "default-branch", NULL);
    tp_json_sets(out, head, "head", NULL);
    tp_json_setj(out, tp_vcs_refs_json(p, branches), "branches", NULL);
    tp_json_setj(out, tp_vcs_refs_json(p, tags), "tags", NULL);
    tp_json_seti(out, files, "archive-files", NULL);
    return NULL;
}

/* Asks the provider whether the connection works (an installation token
 * and one repository, or the GitLab token's user; with ?repo-url= that
 * repository's refs and head archive too) and records the answer as the
 * connection's health. */
tp_err_t *tp_api_vcs_connection_test(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id"), *who = NULL;
    const char *repo_url = tp_query_arg(req, "repo-url");
    const char *owner = NULL, *name = NULL;
    tp_json_t *doc, *repo = tp_json_object(p);
    tp_vcs_env_t env;
    tp_vcs_link_t link;
    tp_db_t *db;
    tp_rows_t *rows;
    tp_err_t *err, *failed;

    tp_vcs_env_from(req->conf, &env);
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_vcs_link_load(db, p, &env, id, &link)) != NULL) {
        return err;
    }
    if (repo_url && tp_vcs_repo_parse(p, link.conn.provider, link.server_url,
                                      repo_url, &owner, &name)
                    != APR_SUCCESS) {
        return tp_err(p, 422, "repo-url %s is not a repository of this "
                      "connection's host", repo_url);
    }
    failed = tp_vcs_check(p, &link.conn, &who);
    if (!failed && repo_url) {
        failed = read_repository(req, &env, &link.conn, owner, name, repo);
    }
    if ((err = tp_vcs_link_record(db, p, &env, &link, failed)) != NULL) {
        return err;
    }
    if (failed) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP01903: VCS "
                      "connection %s does not work: %s", id, failed->detail);
        return tp_err(p, failed->status == 404 || failed->status == 422
                         ? 422 : 502, "the provider %s: %s",
                      failed->status == 404 ? "does not know the repository "
                      "or does not let the connection read it" : "refused",
                      failed->detail);
    }
    if ((err = load(req, id, &rows)) != NULL) {
        return err;
    }
    doc = tp_jsonapi_doc(p, vcs_resource(req, rows, 0));
    if (who) {
        tp_json_sets(doc, who, "meta", "account", NULL);
    }
    if (repo_url) {
        tp_json_setj(doc, repo, "meta", "repository", NULL);
    }
    return tp_send_json(req, 200, doc);
}
