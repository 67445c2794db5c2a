/* The private module registry: modules of the namespace "default" under
 * registry RBAC (labels, owner, custom roles' registry-permission), their
 * versions published by one streamed PUT of a gzip tarball (checked as
 * configuration tarballs are, its interface and README read at upload),
 * the workspaces linked to a module (each gets a plan-only run when a
 * version is published), and the modules.v1 protocol terraform installs
 * them with: the archive itself is served by a signed URL, since
 * terraform sends no token there. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_archive.h"
#include "../tp_backup.h"
#include "../tp_crypto.h"
#include "../tp_module.h"
#include "../tp_vcs.h"
#include "../tp_vcs_store.h"

#define ARCHIVE_TTL apr_time_from_sec(300)
#define ARCHIVE_KIND "module-archive"
#define UPLOAD_TTL apr_time_from_sec(3600)
#define UPLOAD_KIND "module-upload"
/* .tf files and READMEs larger than this are not read for the interface */
#define INSPECT_FILE_MAX (1 << 20)
#define NATIVE_PATH "/api/terrapod/v1/registry-modules/private/default/"

/* The module table is w in every statement, as the visibility conditions
 * shared with workspace lists (TP_WS_VISIBLE) name it. */
/* versions newest first: a release above its pre-releases */
#define VERSION_ORDER \
    "v.major DESC, v.minor DESC, v.patch DESC, v.prerelease = '' DESC," \
    " v.prerelease_order COLLATE \"C\" DESC"
#define MOD_COLUMNS \
    "w.id, w.namespace, w.name, w.provider, w.description," \
    " w.labels::text AS labels, w.owner_email," \
    " tp_ts(w.created_at) AS created_at, tp_ts(w.updated_at) AS updated_at," \
    " w.vcs_connection_id, w.vcs_repo_url, w.vcs_tag_pattern, w.vcs_error," \
    " tp_ts(w.vcs_checked_at) AS vcs_checked_at," \
    " (SELECT COALESCE(jsonb_agg(v.version ORDER BY " VERSION_ORDER "), '[]')" \
    "    FROM registry_module_versions v WHERE v.module_id = w.id)::text" \
    "   AS versions"
#define VER_COLUMNS \
    "v.id, v.module_id, v.version, v.size, v.interface::text AS interface," \
    " v.readme, v.created_by, tp_ts(v.created_at) AS created_at," \
    " v.vcs_tag, v.vcs_commit_sha, v.vcs_moved_to_sha," \
    " tp_ts(v.vcs_moved_at) AS vcs_moved_at"

static const tp_stmt_t SQL_MOD_GET = {"regmod_get",
    "SELECT " MOD_COLUMNS " FROM registry_modules w"
    " WHERE w.namespace = 'default' AND w.name = %s AND w.provider = %s"};
static const tp_stmt_t SQL_MOD_BY_ID = {"regmod_by_id",
    "SELECT " MOD_COLUMNS " FROM registry_modules w WHERE w.id = %s"};
/* what the caller may read, decided as workspace lists decide it */
static const tp_stmt_t SQL_MOD_PAGE = {"regmod_page",
    TP_WS_RULES
    "SELECT " MOD_COLUMNS ", count(*) OVER () AS total"
    "  FROM registry_modules w"
    " WHERE (%s::text IS NULL OR strpos(lower(w.name), lower(%s)) > 0)"
    TP_WS_VISIBLE
    " ORDER BY w.name, w.provider LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_MOD_INSERT = {"regmod_insert",
    "INSERT INTO registry_modules (id, name, provider, description, labels,"
    "  owner_email, vcs_connection_id, vcs_repo_url, vcs_tag_pattern)"
    " VALUES (%s, %s, %s, COALESCE(%s, ''), COALESCE(%s::jsonb, '{}'), %s,"
    "         %s, COALESCE(%s, ''), COALESCE(%s, 'v*'))"
    " ON CONFLICT DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_MOD_UPDATE = {"regmod_update",
    "UPDATE registry_modules SET description = COALESCE(%s, description),"
    " labels = COALESCE(%s::jsonb, labels),"
    " vcs_connection_id = COALESCE(%s, vcs_connection_id),"
    " vcs_repo_url = COALESCE(%s, vcs_repo_url),"
    " vcs_tag_pattern = COALESCE(%s, vcs_tag_pattern), updated_at = now()"
    " WHERE id = %s"};
static const tp_stmt_t SQL_MOD_DELETE = {"regmod_delete",
    "DELETE FROM registry_modules WHERE id = %s"};

static const tp_stmt_t SQL_VER_GET = {"regmod_ver_get",
    "SELECT " VER_COLUMNS " FROM registry_module_versions v"
    " WHERE v.module_id = %s AND v.version = %s"};
static const tp_stmt_t SQL_VER_BY_ID = {"regmod_ver_by_id",
    "SELECT " VER_COLUMNS " FROM registry_module_versions v WHERE v.id = %s"};
static const tp_stmt_t SQL_VER_PAGE = {"regmod_ver_page",
    "SELECT " VER_COLUMNS ", count(*) OVER () AS total"
    "  FROM registry_module_versions v WHERE v.module_id = %s"
    " ORDER BY " VERSION_ORDER " LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_VER_DELETE = {"regmod_ver_delete",
    "DELETE FROM registry_module_versions WHERE id = %s"};

#define LINK_COLUMNS \
    "l.id, l.module_id, l.workspace_id, l.created_by," \
    " tp_ts(l.created_at) AS created_at," TP_WS_ACCESS_COLUMNS
static const tp_stmt_t SQL_LINK_LIST = {"regmod_link_list",
    "SELECT " LINK_COLUMNS " FROM registry_module_links l"
    "  JOIN workspaces w ON w.id = l.workspace_id"
    " WHERE l.module_id = %s ORDER BY w.name"};
static const tp_stmt_t SQL_LINK_GET = {"regmod_link_get",
    "SELECT " LINK_COLUMNS " FROM registry_module_links l"
    "  JOIN workspaces w ON w.id = l.workspace_id WHERE l.id = %s"};
static const tp_stmt_t SQL_LINK_INSERT = {"regmod_link_insert",
    "INSERT INTO registry_module_links (id, module_id, workspace_id,"
    "                                   created_by)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_LINK_DELETE = {"regmod_link_delete",
    "DELETE FROM registry_module_links WHERE id = %s AND module_id = %s"
    " RETURNING id"};
/* ---- modules ---- */

static const char *module_address(apr_pool_t *p, const tp_rows_t *rows,
                                  int i)
{
    return apr_pstrcat(p, "default/", tp_row(rows, i, "name"), "/",
                       tp_row(rows, i, "provider"), NULL);
}

static tp_json_t *module_resource(tp_req_t *req, const tp_rows_t *rows,
                                  int i)
{
    apr_pool_t *p = req->r->pool;
    static const char *const strs[][2] = {
        {"name", "name"}, {"namespace", "namespace"},
        {"provider", "provider"}, {"description", "description"},
        {"owner_email", "owner-email"}, {"created_at", "created-at"},
        {"updated_at", "updated-at"}, {NULL, NULL}
    };
    tp_json_t *m = tp_jsonapi_resource(p, "registry-modules",
                                       tp_row(rows, i, "id"));
    tp_json_t *versions = tp_row_json(p, rows, i, "versions");
    tp_json_t *statuses = tp_json_array(p);
    tp_level_e lvl = tp_row_level(req, rows, i, TP_AXIS_REGISTRY);
    apr_size_t k, n = tp_json_len(versions);

    for (k = 0; strs[k][0]; k++) {
        tp_json_sets(m, tp_row(rows, i, strs[k][0]), "attributes",
                     strs[k][1], NULL);
    }
    for (k = 0; k < n; k++) {
        tp_json_t *s = tp_json_object(p);

        tp_json_sets(s, tp_json_gets(tp_json_at(versions, k), NULL),
                     "version", NULL);
        tp_json_sets(s, "ok", "status", NULL);
        tp_json_push(statuses, s);
    }
    tp_json_sets(m, "private", "attributes", "registry-name", NULL);
    tp_json_sets(m, n ? "setup_complete" : "pending", "attributes", "status",
                 NULL);
    tp_json_sets(m, module_address(p, rows, i), "attributes", "source", NULL);
    tp_json_setj(m, statuses, "attributes", "version-statuses", NULL);
    tp_json_setj(m, tp_row_json(p, rows, i, "labels"), "attributes",
                 "labels", NULL);
    if (tp_row(rows, i, "vcs_connection_id")) {
        static const char *const vcs[][2] = {
            {"vcs_connection_id", "vcs-connection-id"},
            {"vcs_repo_url", "repo-url"}, {"vcs_tag_pattern", "tag-pattern"},
            {"vcs_checked_at", "checked-at"}, {"vcs_error", "error"},
            {NULL, NULL}
        };

        for (k = 0; vcs[k][0]; k++) {
            tp_json_sets(m, tp_row(rows, i, vcs[k][0]), "attributes",
                         "vcs-repo", vcs[k][1], NULL);
        }
    }
    else {
        tp_json_setnull(m, "attributes", "vcs-repo", NULL);
    }
    tp_json_setb(m, lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                 "can-update", NULL);
    tp_json_setb(m, lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                 "can-destroy", NULL);
    tp_json_setb(m, lvl >= TP_LEVEL_WRITE
                    && !tp_row(rows, i, "vcs_connection_id"),
                 "attributes", "permissions", "can-create-version", NULL);
    tp_json_sets(m, apr_pstrcat(p, NATIVE_PATH, tp_row(rows, i, "name"), "/",
                                tp_row(rows, i, "provider"), NULL),
                 "links", "self", NULL);
    return m;
}

static tp_err_t *send_module(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_MOD_BY_ID, &rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "module %s not found", id);
    }
    return tp_send_json(req, status,
                        tp_jsonapi_doc(req->r->pool,
                                       module_resource(req, rows, 0)));
}

/* The module of the path's {name} and {provider} when the caller holds
 * need on it: 404 when it does not exist or the caller cannot read it,
 * 403 below need. */
static tp_err_t *module_require(tp_req_t *req, tp_level_e need,
                                tp_rows_t **rows, tp_level_e *level)
{
    apr_pool_t *p = req->r->pool;
    const char *name = tp_param(&req->params, "name");
    const char *provider = tp_param(&req->params, "provider");
    tp_level_e lvl;
    tp_err_t *err = tp_req_exec(req, &SQL_MOD_GET, rows,
                                TP_DB_ARGS(name, provider));

    if (err) {
        return err;
    }
    lvl = (*rows)->nrows ? tp_row_level(req, *rows, 0, TP_AXIS_REGISTRY)
                         : TP_LEVEL_NONE;
    if (lvl < TP_LEVEL_READ) {
        return tp_err(p, 404, "module default/%s/%s not found", name,
                      provider);
    }
    if (lvl < need) {
        return tp_err(p, 403, "this needs %s on module default/%s/%s; you "
                      "have %s", tp_level_name(need), name, provider,
                      tp_level_name(lvl));
    }
    if (level) {
        *level = lvl;
    }
    /* what the versions and links rendered for it may say they allow */
    req->ctx = apr_pmemdup(p, &lvl, sizeof(lvl));
    return NULL;
}

/* The permissions on a module's version or link: the caller's level on
 * the module, when a module_require has found it (not for an upload
 * link, which is no one's request). */
static void sub_permissions(tp_req_t *req, tp_json_t *r)
{
    const tp_level_e *lvl = req->ctx;

    if (lvl) {
        tp_json_setb(r, *lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                     "can-destroy", NULL);
    }
}

/* The module of the path, at the route's level, and the string attribute
 * name (at most 64 characters) a body of type must carry (422 without). */
static tp_err_t *module_and_attr(tp_req_t *req, const char *type,
                                 const char *name, tp_rows_t **mod,
                                 const char **value)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *a;
    tp_err_t *err;
    int has;

    *value = NULL;
    if ((err = module_require(req, req->route->level, mod, NULL)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, type, &a)) != NULL
        || (err = tp_attr_string(p, a, name, 64, value, &has)) != NULL) {
        return err;
    }
    return has ? NULL : tp_err(p, 422, "%s is required", name);
}

tp_err_t *tp_api_registry_module_list(tp_req_t *req)
{
    const tp_grants_t *g = &req->who->grants;
    const char *search = tp_query_arg(req, "q");
    const char *rules = tp_json_dump(tp_rbac_read_rules(req->r->pool, g,
                                                        TP_AXIS_REGISTRY),
                                     req->r->pool);

    return tp_send_page(req, &SQL_MOD_PAGE,
                        TP_DB_ARGS(rules, search, search,
                                   tp_db_bool(g->is_admin || g->is_audit),
                                   g->scoped ? NULL : g->email),
                        module_resource);
}

tp_err_t *tp_api_registry_module_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = module_require(req, req->route->level, &rows, NULL);

    return err ? err : tp_send_json(req, 200,
                                    tp_jsonapi_doc(req->r->pool,
                                                   module_resource(req, rows,
                                                                   0)));
}

/* description, labels and the repository, as bound values; NULL:
 * unchanged */
typedef struct {
    const char *description, *labels;
    const tp_json_t *labels_json;
    int force;
    const char *vcs_connection_id, *vcs_repo_url, *vcs_tag_pattern;
} module_input_t;

static tp_err_t *parse_module(apr_pool_t *p, const tp_json_t *a,
                              module_input_t *in)
{
    tp_err_t *err;
    int has;

    memset(in, 0, sizeof(*in));
    if ((err = tp_attr_string(p, a, "description", 1000, &in->description,
                              &has)) != NULL
        || (err = tp_attr_bool(p, a, "force", &in->force, &has)) != NULL
        || (err = tp_attr_string(p, a, "vcs-connection-id", 64,
                                 &in->vcs_connection_id, &has)) != NULL
        || (err = tp_attr_string(p, a, "vcs-repo-url", 500,
                                 &in->vcs_repo_url, &has)) != NULL
        || (err = tp_attr_string(p, a, "vcs-tag-pattern", 100,
                                 &in->vcs_tag_pattern, &has)) != NULL) {
        return err;
    }
    if (in->vcs_tag_pattern && !*in->vcs_tag_pattern) {
        return tp_err(p, 422, "vcs-tag-pattern must not be empty");
    }
    if (tp_json_type(a, "labels", NULL) != TP_JSON_ABSENT) {
        in->labels_json = tp_json_get(a, "labels", NULL);
        if ((err = tp_labels_check(p, in->labels_json, "labels", 1))
            != NULL) {
            return err;
        }
        in->labels = tp_json_dump(in->labels_json, p);
    }
    return NULL;
}

/* The repository a module follows: a VCS connection that exists and a
 * repository URL of its host (what row, when not NULL, has already counts
 * unless changed). */
static tp_err_t *check_vcs(tp_req_t *req, const tp_rows_t *row,
                           const module_input_t *in)
{
    apr_pool_t *p = req->r->pool;
    const char *conn = in->vcs_connection_id ? in->vcs_connection_id
                       : row ? tp_row(row, 0, "vcs_connection_id") : NULL;
    const char *url = in->vcs_repo_url ? in->vcs_repo_url
                      : row ? tp_row(row, 0, "vcs_repo_url") : NULL;
    const char *owner, *name, *server;
    tp_db_t *db;
    tp_err_t *err;
    int provider;

    if (!conn) {
        return in->vcs_repo_url || in->vcs_tag_pattern
               ? tp_err(p, 422, "vcs-repo-url and vcs-tag-pattern need a "
                        "vcs-connection-id")
               : NULL;
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_vcs_connection_kind(db, p, conn, &provider, &server))
           != NULL) {
        return err;
    }
    if (!url || tp_vcs_repo_parse(p, provider, server, url, &owner, &name)
                != APR_SUCCESS) {
        return tp_err(p, 422, "vcs-repo-url must be a repository of VCS "
                      "connection %s: %s/OWNER/NAME", conn,
                      tp_vcs_web_root(p, provider, server));
    }
    return NULL;
}

/* Creating needs write on the module as it will be (its name and labels
 * under the caller's roles; owning it comes after): platform admins, and
 * custom roles with registry-permission write or admin that apply. */
tp_err_t *tp_api_registry_module_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "mod");
    const char *name = NULL, *provider = NULL, *registry = NULL, *ns = NULL;
    tp_json_t *body, *a;
    module_input_t in;
    tp_resource_t res;
    tp_level_e lvl;
    tp_rows_t *rows;
    tp_err_t *err;
    int has;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "registry-modules", &a))
           != NULL
        || (err = tp_attr_string(p, a, "name", 64, &name, &has)) != NULL
        || (err = tp_attr_string(p, a, "provider", 64, &provider, &has))
           != NULL
        || (err = tp_attr_string(p, a, "registry-name", 16, &registry, &has))
           != NULL
        || (err = tp_attr_string(p, a, "namespace", 64, &ns, &has)) != NULL
        || (err = parse_module(p, a, &in)) != NULL) {
        return err;
    }
    if (!tp_module_name_valid(name)) {
        return tp_err(p, 422, "name is required: 1 to 64 letters, digits, "
                      "'-' or '_', starting with a letter or digit");
    }
    if (!tp_module_provider_valid(provider)) {
        return tp_err(p, 422, "provider is required: 1 to 64 lower-case "
                      "letters or digits");
    }
    if (registry && strcmp(registry, "private") != 0) {
        return tp_err(p, 422, "registry-name must be \"private\": this "
                      "registry holds private modules only");
    }
    if (ns && strcmp(ns, TP_ORGANIZATION) != 0) {
        return tp_err(p, 422, "namespace must be \"default\", the one "
                      "namespace of this registry");
    }
    res.name = name;
    res.owner_email = NULL;
    res.labels = in.labels_json;
    lvl = tp_rbac_level(&req->who->grants, TP_AXIS_REGISTRY, &res);
    if (lvl < TP_LEVEL_WRITE) {
        return tp_err(p, 403, "creating module default/%s/%s needs registry "
                      "write on it; you have %s", name, provider,
                      tp_level_name(lvl));
    }
    if ((err = check_vcs(req, NULL, &in)) != NULL
        || (err = tp_req_exec(req, &SQL_MOD_INSERT, &rows,
                              TP_DB_ARGS(id, name, provider, in.description,
                                         in.labels, req->who->grants.email,
                                         in.vcs_connection_id,
                                         in.vcs_repo_url,
                                         in.vcs_tag_pattern))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "module default/%s/%s already exists", name,
                      provider);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02100: module "
                  "default/%s/%s (%s) created by %s", name, provider, id,
                  req->who->grants.email);
    return send_module(req, 201, id);
}

/* Self-lockout protection, as for workspaces: a label change that would
 * lower the caller's own level needs "force". */
static tp_err_t *check_lockout(tp_req_t *req, const tp_rows_t *rows,
                               tp_level_e before, const module_input_t *in)
{
    tp_resource_t res;
    tp_level_e after;

    if (!in->labels_json || in->force) {
        return NULL;
    }
    res.name = tp_row(rows, 0, "name");
    res.owner_email = tp_row(rows, 0, "owner_email");
    res.labels = in->labels_json;
    after = tp_rbac_level(&req->who->grants, TP_AXIS_REGISTRY, &res);
    if (after < before) {
        return tp_err(req->r->pool, 409, "this label change would lower your "
                      "access to module %s from %s to %s; send it again with "
                      "\"force\": true to confirm",
                      module_address(req->r->pool, rows, 0),
                      tp_level_name(before), tp_level_name(after));
    }
    return NULL;
}

tp_err_t *tp_api_registry_module_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *a;
    module_input_t in;
    tp_level_e lvl;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = module_require(req, req->route->level, &rows, &lvl)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "registry-modules", &a))
           != NULL
        || (err = parse_module(p, a, &in)) != NULL
        || (err = check_lockout(req, rows, lvl, &in)) != NULL
        || (err = check_vcs(req, rows, &in)) != NULL) {
        return err;
    }
    if (tp_json_type(a, "name", NULL) != TP_JSON_ABSENT
        || tp_json_type(a, "provider", NULL) != TP_JSON_ABSENT) {
        return tp_err(p, 422, "a module's name and provider are its address "
                      "and cannot change");
    }
    if ((err = tp_req_exec(req, &SQL_MOD_UPDATE, NULL,
                           TP_DB_ARGS(in.description, in.labels,
                                      in.vcs_connection_id, in.vcs_repo_url,
                                      in.vcs_tag_pattern,
                                      tp_row(rows, 0, "id")))) != NULL) {
        return err;
    }
    return send_module(req, 200, tp_row(rows, 0, "id"));
}

tp_err_t *tp_api_registry_module_delete(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    int remove;

    if ((err = module_require(req, req->route->level, &rows, NULL)) != NULL
        || (err = tp_req_db(req, &db)) != NULL) {
        return err;
    }
    id = tp_row(rows, 0, "id");
    if ((err = tp_backup_delete(db, p, &SQL_MOD_DELETE, TP_DB_ARGS(id),
                                &remove)) != NULL) {
        return err;
    }
    if (remove) {
        tp_storage_remove_tree(&req->conf->storage, p,
                               apr_pstrcat(p, "registry/modules/", id, NULL));
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02101: module %s "
                  "(%s) deleted by %s%s", module_address(p, rows, 0), id,
                  req->who->grants.email,
                  remove ? "" : " while a backup runs: its files stay");
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* ---- versions ---- */

static tp_json_t *version_resource(tp_req_t *req, const tp_rows_t *rows,
                                   int i)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *v = tp_jsonapi_resource(p, "registry-module-versions",
                                       tp_row(rows, i, "id"));
    tp_json_t *iface = tp_row_json(p, rows, i, "interface");
    static const char *const vcs[][2] = {
        {"vcs_tag", "vcs-tag"}, {"vcs_commit_sha", "vcs-commit-sha"},
        {"vcs_moved_to_sha", "vcs-moved-to-sha"},
        {"vcs_moved_at", "vcs-moved-at"}, {NULL, NULL}
    };
    int k;

    tp_json_sets(v, tp_row(rows, i, "version"), "attributes", "version",
                 NULL);
    tp_json_sets(v, "ok", "attributes", "status", NULL);
    tp_json_seti(v, apr_atoi64(tp_row(rows, i, "size")), "attributes",
                 "size", NULL);
    tp_json_sets(v, tp_row(rows, i, "created_by"), "attributes",
                 "created-by", NULL);
    tp_json_sets(v, tp_row(rows, i, "created_at"), "attributes",
                 "created-at", NULL);
    tp_json_setj(v, tp_json_get(iface, "variables", NULL), "attributes",
                 "inputs", NULL);
    tp_json_setj(v, tp_json_get(iface, "outputs", NULL), "attributes",
                 "outputs", NULL);
    tp_json_sets(v, tp_row(rows, i, "readme"), "attributes", "readme", NULL);
    for (k = 0; vcs[k][0]; k++) {
        tp_json_sets(v, tp_row(rows, i, vcs[k][0]), "attributes", vcs[k][1],
                     NULL);
    }
    tp_jsonapi_relate_to(p, v, "registry-module", "registry-modules",
                         tp_row(rows, i, "module_id"));
    sub_permissions(req, v);
    return v;
}

tp_err_t *tp_api_registry_module_versions(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = module_require(req, req->route->level, &rows, NULL);

    return err ? err : tp_send_page(req, &SQL_VER_PAGE,
                                    TP_DB_ARGS(tp_row(rows, 0, "id")),
                                    version_resource);
}

/* The version of the path's {version} of module row 0. */
static tp_err_t *version_find(tp_req_t *req, const tp_rows_t *mod,
                              tp_rows_t **rows)
{
    const char *version = tp_param(&req->params, "version");
    tp_err_t *err = tp_req_exec(req, &SQL_VER_GET, rows,
                                TP_DB_ARGS(tp_row(mod, 0, "id"), version));

    if (!err && (*rows)->nrows == 0) {
        return tp_err(req->r->pool, 404, "module %s has no version %s",
                      module_address(req->r->pool, mod, 0), version);
    }
    return err;
}

tp_err_t *tp_api_registry_module_version_show(tp_req_t *req)
{
    tp_rows_t *mod, *rows;
    tp_err_t *err;

    if ((err = module_require(req, req->route->level, &mod, NULL)) != NULL
        || (err = version_find(req, mod, &rows)) != NULL) {
        return err;
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(req->r->pool,
                                                 version_resource(req, rows,
                                                                  0)));
}

/* The impact runs of the version just published (tp_module_impact_runs),
 * each that could not be made logged. */
static tp_json_t *queue_impact_runs(tp_req_t *req, const tp_rows_t *mod,
                                    const char *version)
{
    apr_pool_t *p = req->r->pool;
    const char *address = module_address(p, mod, 0);
    tp_json_t *runs;
    apr_size_t i;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_req_db(req, &db)) != NULL) {
        tp_log_err(req->r, err);
        return tp_json_array(p);
    }
    runs = tp_module_impact_runs(db, p, tp_row(mod, 0, "id"), address,
                                 version);
    for (i = 0; i < tp_json_len(runs); i++) {
        const char *why = tp_json_gets(tp_json_at(runs, i), "error", NULL);

        if (why) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP02103: "
                          "module %s %s: no impact run on workspace %s: %s",
                          address, version,
                          tp_json_gets(tp_json_at(runs, i), "workspace-id",
                                       NULL), why);
        }
    }
    return runs;
}

/* Reads the stored upload: a gzip tarball within the configuration
 * limits, whose .tf files the scanner reads. */
static tp_err_t *inspect_upload(tp_req_t *req, tp_upload_t *up,
                                tp_json_t **iface, const char **readme)
{
    tp_archive_limits_t limits = tp_archive_config_limits(
        req->conf->max_upload);
    tp_archive_info_t info;
    tp_err_t *err = tp_archive_validate(req->r->pool, tp_upload_path(up),
                                        &limits, &info);

    return err ? err : tp_module_inspect(req->r->pool, tp_upload_path(up),
                                         &limits, INSPECT_FILE_MAX, iface,
                                         readme);
}

/* 422 for a version that is not a semantic version, 409 for one module
 * row 0 has; *sv is the version parsed. */
static tp_err_t *version_free(tp_req_t *req, const tp_rows_t *mod,
                              const char *version, tp_semver_t *sv)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err;

    if (!tp_semver_parse(p, version, sv)) {
        return tp_err(p, 422, "version \"%s\" is not a semantic version "
                      "(MAJOR.MINOR.PATCH, optionally -PRERELEASE, no build "
                      "metadata)", version);
    }
    if ((err = tp_req_exec(req, &SQL_VER_GET, &rows,
                           TP_DB_ARGS(tp_row(mod, 0, "id"), version)))
        != NULL) {
        return err;
    }
    if (rows->nrows) {
        return tp_err(p, 409, "module %s already has version %s; versions "
                      "are immutable: publish a new one",
                      module_address(p, mod, 0), version);
    }
    return NULL;
}

/* Publishes the request body as version (id vid) of module row 0 for
 * created_by. The archive is stored under the version's own id, so that
 * a concurrent upload of the same version (the loser gets 409) never
 * replaces the winner's bytes. */
static tp_err_t *publish(tp_req_t *req, const tp_rows_t *mod,
                         const char *version, const char *vid,
                         const char *created_by)
{
    apr_pool_t *p = req->r->pool;
    const char *key = tp_module_key(p, tp_row(mod, 0, "id"), vid);
    tp_module_version_t v = {vid, tp_row(mod, 0, "id"), version};
    tp_json_t *iface, *doc;
    tp_upload_t *up;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    int added;

    if (tp_row(mod, 0, "vcs_connection_id")) {
        return tp_err(p, 409, "module %s publishes the tags of its "
                      "repository; it takes no uploads",
                      module_address(p, mod, 0));
    }
    if ((err = version_free(req, mod, version, &v.sv)) != NULL
        || (err = tp_storage_begin(&req->conf->storage, p, key,
                                   req->conf->max_upload, &up)) != NULL
        || (err = tp_receive_upload(req, up)) != NULL) {
        return err;
    }
    if ((err = inspect_upload(req, up, &iface, &v.readme)) != NULL) {
        tp_upload_abort(up);
        return err;
    }
    v.iface = iface;
    v.size = tp_upload_size(up);
    v.created_by = created_by;
    if ((err = tp_upload_commit(up)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_module_version_add(db, p, &v, &added)) != NULL) {
        tp_storage_remove(&req->conf->storage, p, key);
        return err;
    }
    if (!added) {
        tp_storage_remove(&req->conf->storage, p, key);
        return tp_err(p, 409, "module %s already has version %s (published "
                      "concurrently)", module_address(p, mod, 0), version);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02102: module %s "
                  "version %s published by %s", module_address(p, mod, 0),
                  version, created_by);
    if ((err = tp_req_exec(req, &SQL_VER_BY_ID, &rows, TP_DB_ARGS(vid)))
        != NULL) {
        return err;
    }
    doc = tp_jsonapi_doc(p, version_resource(req, rows, 0));
    tp_json_setj(doc, queue_impact_runs(req, mod, version), "meta",
                 "impact-runs", NULL);
    return tp_send_json(req, 201, doc);
}

/* PUT .../versions/{version}/upload: the version is created by its
 * upload. */
tp_err_t *tp_api_registry_module_upload(tp_req_t *req)
{
    tp_rows_t *mod;
    tp_err_t *err = module_require(req, req->route->level, &mod, NULL);

    return err ? err : publish(req, mod, tp_param(&req->params, "version"),
                               tp_id_generate(req->r->pool, "modver"),
                               req->who->grants.email);
}

/* TFE's two steps (go-tfe's CreateVersion, then Upload): the version is
 * checked and an upload link handed out, signed for the module, the
 * version, the id it will have and who asked; nothing is stored until
 * the upload. */
tp_err_t *tp_api_registry_module_version_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *version, *vid = tp_id_generate(p, "modver"), *id;
    const char *email = req->who->grants.email;
    tp_json_t *v;
    tp_semver_t sv;
    tp_rows_t *mod;
    tp_err_t *err;

    if ((err = module_and_attr(req, "registry-module-versions", "version",
                               &mod, &version)) != NULL
        || (err = version_free(req, mod, version, &sv)) != NULL) {
        return err;
    }
    id = apr_pstrcat(p, tp_row(mod, 0, "id"), ":", version, ":", vid, ":",
                     tp_b64url(p, (const unsigned char *)email,
                               strlen(email)), NULL);
    v = tp_jsonapi_resource(p, "registry-module-versions", vid);
    tp_json_sets(v, version, "attributes", "version", NULL);
    tp_json_sets(v, "pending", "attributes", "status", NULL);
    tp_json_sets(v, module_address(p, mod, 0), "attributes", "source", NULL);
    tp_jsonapi_relate_to(p, v, "registry-module", "registry-modules",
                         tp_row(mod, 0, "id"));
    tp_json_sets(v, tp_capability_path_url(req, apr_pstrcat(p,
                     "/api/terrapod/v1/registry-module-uploads/",
                     tp_url_encode(p, id), NULL), UPLOAD_KIND, id,
                     UPLOAD_TTL), "links", "upload", NULL);
    return tp_send_json(req, 201, tp_jsonapi_doc(p, v));
}

/* PUT <links.upload>: the signed URL is the authority. */
tp_err_t *tp_api_registry_module_upload_link(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    char *id = apr_pstrdup(p, tp_param(&req->params, "id")), *last;
    const char *module_id = apr_strtok(id, ":", &last);
    const char *version = apr_strtok(NULL, ":", &last);
    const char *vid = apr_strtok(NULL, ":", &last);
    const char *email = apr_strtok(NULL, ":", &last);
    apr_size_t len;
    unsigned char *who = email ? tp_b64url_decode(p, email, &len) : NULL;
    tp_rows_t *mod;
    tp_err_t *err;

    if (!who) {
        /* signed, so made here: never happens short of a changed format */
        return tp_err(p, 404, "no such upload");
    }
    if ((err = tp_req_exec(req, &SQL_MOD_BY_ID, &mod, TP_DB_ARGS(module_id)))
        != NULL) {
        return err;
    }
    if (mod->nrows == 0) {
        return tp_err(p, 404, "module %s no longer exists", module_id);
    }
    return publish(req, mod, version, vid,
                   apr_pstrmemdup(p, (const char *)who, len));
}

tp_err_t *tp_api_registry_module_version_delete(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *mod, *rows;
    tp_db_t *db;
    tp_err_t *err;
    int remove;

    if ((err = module_require(req, req->route->level, &mod, NULL)) != NULL
        || (err = version_find(req, mod, &rows)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_backup_delete(db, p, &SQL_VER_DELETE,
                                   TP_DB_ARGS(tp_row(rows, 0, "id")),
                                   &remove)) != NULL) {
        return err;
    }
    if (remove) {
        tp_storage_remove(&req->conf->storage, p,
                          tp_module_key(p, tp_row(mod, 0, "id"),
                                        tp_row(rows, 0, "id")));
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02104: module %s "
                  "version %s deleted by %s%s", module_address(p, mod, 0),
                  tp_row(rows, 0, "version"), req->who->grants.email,
                  remove ? "" : " while a backup runs: its file stays");
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* ---- workspace links ---- */

static tp_json_t *link_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *l = tp_jsonapi_resource(p, "module-workspace-links",
                                       tp_row(rows, i, "id"));

    tp_json_sets(l, tp_row(rows, i, "workspace_id"), "attributes",
                 "workspace-id", NULL);
    tp_json_sets(l, tp_row(rows, i, "ws_name"), "attributes",
                 "workspace-name", NULL);
    tp_json_sets(l, tp_row(rows, i, "created_by"), "attributes",
                 "created-by", NULL);
    tp_json_sets(l, tp_row(rows, i, "created_at"), "attributes",
                 "created-at", NULL);
    tp_jsonapi_relate_to(p, l, "workspace", "workspaces",
                         tp_row(rows, i, "workspace_id"));
    tp_jsonapi_relate_to(p, l, "registry-module", "registry-modules",
                         tp_row(rows, i, "module_id"));
    sub_permissions(req, l);
    return l;
}

/* Only the links to workspaces the caller can read: a link names its
 * workspace. */
tp_err_t *tp_api_registry_module_links(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *list = tp_json_array(p);
    tp_rows_t *mod, *rows;
    tp_err_t *err;
    int i;

    if ((err = module_require(req, req->route->level, &mod, NULL)) != NULL
        || (err = tp_req_exec(req, &SQL_LINK_LIST, &rows,
                              TP_DB_ARGS(tp_row(mod, 0, "id")))) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        if (tp_row_ws_level(req, rows, i) >= TP_LEVEL_READ) {
            tp_json_push(list, link_resource(req, rows, i));
        }
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, list));
}

/* Linking needs admin on the module and plan on the workspace: a link
 * queues runs there. */
tp_err_t *tp_api_registry_module_link_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "mwl"), *ws_id;
    tp_rows_t *mod, *rows;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = module_and_attr(req, "module-workspace-links", "workspace-id",
                               &mod, &ws_id)) != NULL
        || (err = tp_ws_require(req, ws_id, TP_LEVEL_PLAN, &ws)) != NULL
        || (err = tp_req_exec(req, &SQL_LINK_INSERT, &rows,
                              TP_DB_ARGS(id, tp_row(mod, 0, "id"), ws->id,
                                         req->who->grants.email))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "workspace %s is already linked to module %s",
                      ws->name, module_address(p, mod, 0));
    }
    if ((err = tp_req_exec(req, &SQL_LINK_GET, &rows, TP_DB_ARGS(id)))
        != NULL) {
        return err;
    }
    return tp_send_json(req, 201, tp_jsonapi_doc(p, link_resource(req, rows,
                                                                  0)));
}

tp_err_t *tp_api_registry_module_link_delete(tp_req_t *req)
{
    const char *link_id = tp_param(&req->params, "link_id");
    tp_rows_t *mod, *rows;
    tp_err_t *err;

    if ((err = module_require(req, req->route->level, &mod, NULL)) != NULL
        || (err = tp_req_exec(req, &SQL_LINK_DELETE, &rows,
                              TP_DB_ARGS(link_id, tp_row(mod, 0, "id"))))
           != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "module %s has no workspace link "
                      "%s", module_address(req->r->pool, mod, 0), link_id);
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* ---- modules.v1: what terraform init reads ---- */

tp_err_t *tp_api_modules_v1_versions(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p), *mod = tp_json_object(p);
    tp_json_t *list = tp_json_array(p), *versions, *modules;
    tp_rows_t *rows;
    apr_size_t k, n;
    tp_err_t *err = module_require(req, TP_LEVEL_READ, &rows, NULL);

    if (err) {
        return err;
    }
    versions = tp_row_json(p, rows, 0, "versions");
    n = tp_json_len(versions);
    for (k = 0; k < n; k++) {
        tp_json_t *v = tp_json_object(p);

        tp_json_sets(v, tp_json_gets(tp_json_at(versions, k), NULL),
                     "version", NULL);
        tp_json_push(list, v);
    }
    tp_json_sets(mod, module_address(p, rows, 0), "source", NULL);
    tp_json_setj(mod, list, "versions", NULL);
    modules = tp_json_array(p);
    tp_json_push(modules, mod);
    tp_json_setj(doc, modules, "modules", NULL);
    return tp_send_json(req, 200, doc);
}

/* 204 with X-Terraform-Get: a signed URL of the archive, whose path ends
 * in .tar.gz so that terraform knows how to unpack it. */
tp_err_t *tp_api_modules_v1_download(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *mod, *rows;
    const char *url;
    tp_err_t *err;

    if ((err = module_require(req, TP_LEVEL_READ, &mod, NULL)) != NULL
        || (err = version_find(req, mod, &rows)) != NULL) {
        return err;
    }
    url = tp_capability_path_url(req, apr_pstrcat(p,
                                     "/api/terrapod/v1/registry-archives/"
                                     "modules/", tp_row(rows, 0, "id"), NULL),
                                 ARCHIVE_KIND, tp_row(rows, 0, "id"),
                                 ARCHIVE_TTL);
    apr_table_setn(req->r->headers_out, "X-Terraform-Get",
                   apr_pstrcat(p, url, "/module.tar.gz", NULL));
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* GET <X-Terraform-Get>: the signed URL is the authority. */
tp_err_t *tp_api_module_archive(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id"), *path;
    apr_off_t size;
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_VER_BY_ID, &rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    path = rows->nrows ? tp_storage_file(&req->conf->storage, p,
                                         tp_module_key(p, tp_row(rows, 0,
                                                                 "module_id"),
                                                       id), &size)
                       : NULL;
    if (!path) {
        return tp_err(p, 404, "module version %s no longer exists", id);
    }
    return tp_send_file(req, path, size, "application/gzip");
}
