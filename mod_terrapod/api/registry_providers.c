/* Private registry providers: management, the strict publishing order
 * (SHA256SUMS, its signature verified against a registered key, then the
 * zips the signed manifest names), providers.v1 for terraform and the
 * signed URLs its downloads come from. Registry RBAC decides: what the
 * caller cannot read does not exist for it. */
#include <apr_strings.h>
#include <apr_lib.h>
#include "../mod_terrapod_registry.h"
#include "../tp_crypto.h"
#include "../tp_gpg.h"
#include "../tp_token.h"
#include "../tp_zip.h"

#define MANIFEST_MAX   65536        /* bytes of SHA256SUMS or its signature */
#define FILE_TTL       apr_time_from_sec(900)  /* signed download URLs */
#define FILE_CAP       "provider-files"

#define PROV_COLUMNS \
    "p.id, p.namespace, p.name, p.description, p.labels::text AS labels," \
    " p.owner_email, tp_ts(p.created_at) AS created_at," \
    " tp_ts(p.updated_at) AS updated_at," \
    " (SELECT count(*) FROM registry_provider_versions v" \
    "   WHERE v.provider_id = p.id) AS version_count"

static const tp_stmt_t SQL_PROV_ALL = {"rprov_all",
    "SELECT " PROV_COLUMNS " FROM registry_providers p"
    " ORDER BY p.namespace, p.name"};
static const tp_stmt_t SQL_PROV_GET = {"rprov_get",
    "SELECT " PROV_COLUMNS " FROM registry_providers p"
    " WHERE p.namespace = %s AND p.name = %s"};
static const tp_stmt_t SQL_PROV_INSERT = {"rprov_insert",
    "INSERT INTO registry_providers (id, namespace, name, description,"
    " labels, owner_email) VALUES (%s, %s, %s, COALESCE(%s, ''),"
    " COALESCE(%s::jsonb, '{}'), %s)"
    " ON CONFLICT (namespace, name) DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_PROV_UPDATE = {"rprov_update",
    "UPDATE registry_providers SET description = COALESCE(%s, description),"
    " labels = COALESCE(%s::jsonb, labels), updated_at = now()"
    " WHERE id = %s"};
static const tp_stmt_t SQL_PROV_DELETE = {"rprov_delete",
    "DELETE FROM registry_providers WHERE id = %s"};

#define VER_COLUMNS \
    "v.id, v.version, v.protocols::text AS protocols, v.signed_by," \
    " v.shasums_sig IS NOT NULL AS signed, tp_ts(v.created_at) AS created_at," \
    " tp_ts(v.updated_at) AS updated_at," \
    " (SELECT COALESCE(jsonb_agg(jsonb_build_object('os', pl.os," \
    "   'arch', pl.arch, 'filename', pl.filename, 'shasum', pl.shasum," \
    "   'h1', pl.h1, 'size', pl.size) ORDER BY pl.os, pl.arch), '[]')" \
    "   FROM registry_provider_platforms pl" \
    "  WHERE pl.version_id = v.id)::text AS platforms"

static const tp_stmt_t SQL_VER_PAGE = {"rprov_ver_page",
    "SELECT " VER_COLUMNS ", count(*) OVER () AS total"
    " FROM registry_provider_versions v WHERE v.provider_id = %s"
    " ORDER BY v.created_at DESC, v.id LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_VER_GET = {"rprov_ver_get",
    "SELECT " VER_COLUMNS ", v.shasums FROM registry_provider_versions v"
    " WHERE v.provider_id = %s AND v.version = %s"};
/* a manifest may be replaced (dropping its signature) until a zip has
 * been published against it */
static const tp_stmt_t SQL_VER_SHASUMS = {"rprov_ver_shasums",
    "INSERT INTO registry_provider_versions AS v (id, provider_id, version,"
    " shasums, created_by) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (provider_id, version) DO UPDATE SET"
    " shasums = EXCLUDED.shasums, shasums_sig = NULL, signed_by = NULL,"
    " updated_at = now() WHERE NOT EXISTS (SELECT 1"
    "   FROM registry_provider_platforms pl WHERE pl.version_id = v.id)"
    " RETURNING v.id, v.id = %s AS created"};
static const tp_stmt_t SQL_VER_SIGN = {"rprov_ver_sign",
    "UPDATE registry_provider_versions v SET shasums_sig = %s,"
    " signed_by = %s, updated_at = now() WHERE id = %s AND NOT EXISTS"
    " (SELECT 1 FROM registry_provider_platforms pl"
    "   WHERE pl.version_id = v.id) RETURNING id"};
static const tp_stmt_t SQL_VER_DELETE = {"rprov_ver_delete",
    "DELETE FROM registry_provider_versions WHERE id = %s"};
static const tp_stmt_t SQL_NS_KEYS = {"rprov_ns_keys",
    "SELECT ascii_armor FROM gpg_keys WHERE namespace = %s"};
static const tp_stmt_t SQL_PLAT_INSERT = {"rprov_plat_insert",
    "INSERT INTO registry_provider_platforms (id, version_id, os, arch,"
    " filename, shasum, h1, size) VALUES (%s, %s, %s, %s, %s, %s, %s,"
    " %s::bigint) ON CONFLICT (version_id, os, arch) DO NOTHING"
    " RETURNING id"};

/* providers.v1: what terraform may install, and one platform's files */
static const tp_stmt_t SQL_V1_VERSIONS = {"rprov_v1_versions",
    "SELECT v.version, v.protocols::text AS protocols,"
    " jsonb_agg(jsonb_build_object('os', pl.os, 'arch', pl.arch)"
    "           ORDER BY pl.os, pl.arch)::text AS platforms"
    " FROM registry_provider_versions v"
    " JOIN registry_provider_platforms pl ON pl.version_id = v.id"
    " WHERE v.provider_id = %s GROUP BY v.id ORDER BY v.created_at"};
static const tp_stmt_t SQL_V1_DOWNLOAD = {"rprov_v1_download",
    "SELECT v.id AS version_id, v.protocols::text AS protocols, pl.os,"
    " pl.arch, pl.filename, pl.shasum, k.key_id, k.ascii_armor, k.source,"
    " k.source_url FROM registry_provider_versions v"
    " JOIN registry_provider_platforms pl ON pl.version_id = v.id"
    " LEFT JOIN gpg_keys k ON k.namespace = %s AND k.key_id = v.signed_by"
    " WHERE v.provider_id = %s AND v.version = %s AND pl.os = %s"
    " AND pl.arch = %s"};
static const tp_stmt_t SQL_FILE = {"rprov_file",
    "SELECT v.provider_id, v.version, v.shasums, v.shasums_sig,"
    " pl.filename, pl.size FROM registry_provider_versions v"
    " LEFT JOIN registry_provider_platforms pl ON pl.version_id = v.id"
    "  AND pl.filename = %s WHERE v.id = %s"};

tp_err_t *tp_registry_admin(tp_req_t *req, const char *doing)
{
    const apr_array_header_t *roles = req->who->grants.roles;
    int i;

    if (req->who->grants.is_admin) {
        return NULL;
    }
    for (i = 0; roles && i < roles->nelts; i++) {
        if (APR_ARRAY_IDX(roles, i, tp_role_t).level[TP_AXIS_REGISTRY]
            >= TP_LEVEL_ADMIN) {
            return NULL;
        }
    }
    return tp_err(req->r->pool, 403, "only a platform admin or a role with "
                  "registry-permission admin may %s", doing);
}

/* ---- providers ---- */

typedef struct provider {
    const char *id, *name;
    tp_level_e level;
    tp_rows_t *row;
} provider_t;

static tp_json_t *provider_resource(tp_req_t *req, const tp_rows_t *rows,
                                    int i)
{
    apr_pool_t *p = req->r->pool;
    static const char *const strs[][2] = {
        {"name", "name"}, {"namespace", "namespace"},
        {"description", "description"}, {"owner_email", "owner-email"},
        {"created_at", "created-at"}, {"updated_at", "updated-at"},
        {NULL, NULL}
    };
    tp_json_t *r = tp_jsonapi_resource(p, "registry-providers",
                                       tp_row(rows, i, "id"));
    tp_level_e lvl = tp_row_level(req, rows, i, TP_AXIS_REGISTRY);
    int k;

    for (k = 0; strs[k][0]; k++) {
        tp_json_sets(r, tp_row(rows, i, strs[k][0]), "attributes",
                     strs[k][1], NULL);
    }
    tp_json_sets(r, "private", "attributes", "registry-name", NULL);
    tp_json_setj(r, tp_row_json(p, rows, i, "labels"), "attributes",
                 "labels", NULL);
    tp_json_seti(r, apr_atoi64(tp_row(rows, i, "version_count")),
                 "attributes", "version-count", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                 "can-update", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_ADMIN, "attributes", "permissions",
                 "can-destroy", NULL);
    tp_json_setb(r, lvl >= TP_LEVEL_WRITE, "attributes", "permissions",
                 "can-create-version", NULL);
    return r;
}

/* The provider of the path's {namespace}/{name} (or {type}) when the
 * caller holds need on it: 404 when absent or invisible, 403 below. */
static tp_err_t *load_provider(tp_req_t *req, tp_level_e need,
                               provider_t *out)
{
    apr_pool_t *p = req->r->pool;
    const char *ns = tp_param(&req->params, "namespace");
    const char *name = tp_param(&req->params, "name");
    tp_err_t *err;

    name = name ? name : tp_param(&req->params, "type");
    if ((err = tp_req_exec(req, &SQL_PROV_GET, &out->row,
                           TP_DB_ARGS(ns, name))) != NULL) {
        return err;
    }
    out->level = out->row->nrows
                 ? tp_row_level(req, out->row, 0, TP_AXIS_REGISTRY)
                 : TP_LEVEL_NONE;
    if (out->level < TP_LEVEL_READ) {
        return tp_err(p, 404, "provider %s/%s not found", ns, name);
    }
    if (out->level < need) {
        return tp_err(p, 403, "this needs %s on provider %s/%s; you have %s",
                      tp_level_name(need), ns, name,
                      tp_level_name(out->level));
    }
    out->id = tp_row(out->row, 0, "id");
    out->name = tp_row(out->row, 0, "name");
    return NULL;
}

static tp_err_t *send_row(tp_req_t *req, int status, tp_rows_t *row)
{
    return tp_send_json(req, status, tp_jsonapi_doc(req->r->pool,
                                                    provider_resource(req,
                                                                      row,
                                                                      0)));
}

static tp_err_t *send_provider(tp_req_t *req, int status)
{
    provider_t prov;
    tp_err_t *err = load_provider(req, TP_LEVEL_READ, &prov);

    return err ? err : send_row(req, status, prov.row);
}

/* Providers are few: every one is read and the caller's level decided
 * per provider, as agent pools are. */
tp_err_t *tp_api_provider_list(tp_req_t *req)
{
    return tp_send_readable(req, &SQL_PROV_ALL, TP_AXIS_REGISTRY,
                            provider_resource);
}

tp_err_t *tp_api_provider_show(tp_req_t *req)
{
    return send_provider(req, 200);
}

typedef struct {
    const char *description, *labels;
    const tp_json_t *labels_json;
    int force;
} prov_input_t;

static tp_err_t *parse_input(apr_pool_t *p, const tp_json_t *a,
                             prov_input_t *in)
{
    tp_json_t *labels;
    tp_err_t *err;
    int has;

    memset(in, 0, sizeof(*in));
    if ((err = tp_attr_string(p, a, "description", 1000, &in->description,
                              &has)) != NULL
        || (err = tp_attr_bool(p, a, "force", &in->force, &has)) != NULL) {
        return err;
    }
    if (tp_json_type(a, "labels", NULL) == TP_JSON_ABSENT) {
        return NULL;
    }
    labels = tp_json_get(a, "labels", NULL);
    if (tp_json_type(labels, NULL) != TP_JSON_OBJECT) {
        return tp_err(p, 422, "labels must be an object of label values");
    }
    if ((err = tp_labels_check(p, labels, "labels", 1)) != NULL) {
        return err;
    }
    in->labels_json = labels;
    in->labels = tp_json_dump(labels, p);
    return NULL;
}

/* Terraform's provider type names: a lower-case letter, then lower-case
 * letters, digits and '-', 64 at most. */
static int provider_name_valid(const char *s)
{
    apr_size_t i;

    if (!apr_islower(s[0])) {
        return 0;
    }
    for (i = 1; s[i]; i++) {
        if (i >= 64 || !(apr_islower(s[i]) || apr_isdigit(s[i])
                         || s[i] == '-')) {
            return 0;
        }
    }
    return 1;
}

/* Creating takes registry write on the provider as it would be: the
 * roles that apply to its name and labels decide, since the creator
 * only owns it afterwards. */
static tp_err_t *may_create(tp_req_t *req, const char *name,
                            const prov_input_t *in)
{
    tp_grants_t grants = req->who->grants;
    tp_resource_t res = {name, NULL, in->labels_json};
    tp_level_e lvl = tp_rbac_level(&grants, TP_AXIS_REGISTRY, &res);

    if (lvl < TP_LEVEL_WRITE) {
        return tp_err(req->r->pool, 403, "creating provider %s needs "
                      "registry write on it; you have %s", name,
                      tp_level_name(lvl));
    }
    return NULL;
}

tp_err_t *tp_api_provider_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *name, *ns = TP_REGISTRY_NAMESPACE, *reg, *id;
    tp_json_t *body, *a;
    prov_input_t in;
    tp_rows_t *rows;
    tp_err_t *err;
    int has;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "registry-providers", &a))
           != NULL
        || (err = tp_attr_string(p, a, "name", 64, &name, &has)) != NULL
        || (err = tp_attr_string(p, a, "namespace", 64, &ns, &has)) != NULL
        || (err = tp_attr_string(p, a, "registry-name", 16, &reg, &has))
           != NULL
        || (err = parse_input(p, a, &in)) != NULL) {
        return err;
    }
    if (!name || !provider_name_valid(name)) {
        return tp_err(p, 422, "name must be 1 to 64 lower-case letters, "
                      "digits or '-', starting with a letter");
    }
    if (strcmp(ns ? ns : "", TP_REGISTRY_NAMESPACE)) {
        return tp_err(p, 422, "namespace must be \"" TP_REGISTRY_NAMESPACE
                      "\"");
    }
    if (has && strcmp(reg ? reg : "", "private")) {
        return tp_err(p, 422, "registry-name must be \"private\"");
    }
    if ((err = may_create(req, name, &in)) != NULL) {
        return err;
    }
    id = tp_id_generate(p, "prov");
    if ((err = tp_req_exec(req, &SQL_PROV_INSERT, &rows,
                           TP_DB_ARGS(id, ns, name, in.description, in.labels,
                                      req->who->grants.email))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "provider %s/%s already exists", ns, name);
    }
    if ((err = tp_req_exec(req, &SQL_PROV_GET, &rows, TP_DB_ARGS(ns, name)))
        != NULL) {
        return err;
    }
    return send_row(req, 201, rows);
}

/* Self-lockout protection, as for workspaces: a label change that would
 * lower the caller's own level needs "force". */
static tp_err_t *check_lockout(tp_req_t *req, const provider_t *prov,
                               const prov_input_t *in)
{
    tp_resource_t res;
    tp_level_e after;

    if (!in->labels_json || in->force) {
        return NULL;
    }
    res.name = prov->name;
    res.owner_email = tp_row(prov->row, 0, "owner_email");
    res.labels = in->labels_json;
    after = tp_rbac_level(&req->who->grants, TP_AXIS_REGISTRY, &res);
    if (after < prov->level) {
        return tp_err(req->r->pool, 409, "this label change would lower your "
                      "access to provider %s from %s to %s; send it again "
                      "with \"force\": true to confirm", prov->name,
                      tp_level_name(prov->level), tp_level_name(after));
    }
    return NULL;
}

tp_err_t *tp_api_provider_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *a;
    prov_input_t in;
    provider_t prov;
    tp_err_t *err;

    if ((err = load_provider(req, TP_LEVEL_ADMIN, &prov)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "registry-providers", &a))
           != NULL
        || (err = parse_input(p, a, &in)) != NULL) {
        return err;
    }
    if (tp_json_type(a, "name", NULL) != TP_JSON_ABSENT
        && strcmp(tp_json_gets(a, "name", NULL) ? tp_json_gets(a, "name",
                                                               NULL) : "",
                  prov.name)) {
        return tp_err(p, 422, "a provider's name cannot change: terraform "
                      "configurations refer to it");
    }
    if ((err = check_lockout(req, &prov, &in)) != NULL
        || (err = tp_req_exec(req, &SQL_PROV_UPDATE, NULL,
                              TP_DB_ARGS(in.description, in.labels, prov.id)))
           != NULL
        || (err = tp_req_exec(req, &SQL_PROV_GET, &prov.row,
                              TP_DB_ARGS(tp_row(prov.row, 0, "namespace"),
                                         prov.name))) != NULL) {
        return err;
    }
    /* a forced change may have taken the caller's access: the answer
     * still shows what was stored, with the permissions now held */
    return send_row(req, 200, prov.row);
}

static const char *storage_prefix(apr_pool_t *p, const char *prov_id,
                                  const char *version)
{
    return version ? apr_pstrcat(p, "registry/providers/", prov_id, "/",
                                 version, NULL)
                   : apr_pstrcat(p, "registry/providers/", prov_id, NULL);
}

tp_err_t *tp_api_provider_delete(tp_req_t *req)
{
    provider_t prov;
    tp_err_t *err;

    if ((err = load_provider(req, TP_LEVEL_ADMIN, &prov)) != NULL
        || (err = tp_req_exec(req, &SQL_PROV_DELETE, NULL,
                              TP_DB_ARGS(prov.id))) != NULL) {
        return err;
    }
    tp_storage_remove_tree(&req->conf->storage, req->r->pool,
                           storage_prefix(req->r->pool, prov.id, NULL));
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* ---- versions ---- */

static tp_json_t *version_resource(tp_req_t *req, const tp_rows_t *rows,
                                   int i)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *r = tp_jsonapi_resource(p, "registry-provider-versions",
                                       tp_row(rows, i, "id"));
    int signed_ = tp_row_bool(rows, i, "signed");

    tp_json_sets(r, tp_row(rows, i, "version"), "attributes", "version",
                 NULL);
    tp_json_setj(r, tp_row_json(p, rows, i, "protocols"), "attributes",
                 "protocols", NULL);
    tp_json_sets(r, tp_row(rows, i, "signed_by"), "attributes", "key-id",
                 NULL);
    tp_json_setb(r, 1, "attributes", "shasums-uploaded", NULL);
    tp_json_setb(r, signed_, "attributes", "shasums-sig-uploaded", NULL);
    tp_json_setj(r, tp_row_json(p, rows, i, "platforms"), "attributes",
                 "platforms", NULL);
    tp_json_sets(r, tp_row(rows, i, "created_at"), "attributes",
                 "created-at", NULL);
    tp_json_sets(r, tp_row(rows, i, "updated_at"), "attributes",
                 "updated-at", NULL);
    return r;
}

tp_err_t *tp_api_provider_versions(tp_req_t *req)
{
    provider_t prov;
    tp_err_t *err = load_provider(req, TP_LEVEL_READ, &prov);

    return err ? err : tp_send_page(req, &SQL_VER_PAGE, TP_DB_ARGS(prov.id),
                                    version_resource);
}

/* Semantic versions as terraform reads them: MAJOR.MINOR.PATCH without
 * leading zeros, an optional -prerelease and +build of [0-9A-Za-z.-]. */
static int semver_valid(const char *s)
{
    int part, n;

    for (part = 0; part < 3; part++) {
        for (n = 0; apr_isdigit(s[n]); n++) {
        }
        if (n == 0 || (n > 1 && s[0] == '0') || n > 9) {
            return 0;
        }
        s += n;
        if (part < 2 && *s++ != '.') {
            return 0;
        }
    }
    if (*s == '-' || *s == '+') {
        s++;
        if (!*s) {
            return 0;
        }
        for (; *s; s++) {
            if (!apr_isalnum(*s) && *s != '.' && *s != '-' && *s != '+') {
                return 0;
            }
        }
    }
    return *s == '\0';
}

static tp_err_t *load_version(tp_req_t *req, const provider_t *prov,
                              tp_rows_t **rows)
{
    const char *version = tp_param(&req->params, "version");
    tp_err_t *err = tp_req_exec(req, &SQL_VER_GET, rows,
                                TP_DB_ARGS(prov->id, version));

    if (!err && (*rows)->nrows == 0) {
        return tp_err(req->r->pool, 404, "provider %s has no version %s",
                      prov->name, version);
    }
    return err;
}

tp_err_t *tp_api_provider_version_delete(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    provider_t prov;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = load_provider(req, TP_LEVEL_WRITE, &prov)) != NULL
        || (err = load_version(req, &prov, &rows)) != NULL
        || (err = tp_req_exec(req, &SQL_VER_DELETE, NULL,
                              TP_DB_ARGS(tp_row(rows, 0, "id")))) != NULL) {
        return err;
    }
    tp_storage_remove_tree(&req->conf->storage, p,
                           storage_prefix(p, prov.id,
                                          tp_row(rows, 0, "version")));
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

static tp_err_t *send_version(tp_req_t *req, const provider_t *prov,
                              int status)
{
    tp_rows_t *rows;
    tp_err_t *err = load_version(req, prov, &rows);

    return err ? err : tp_send_json(req, status,
                                    tp_jsonapi_doc(req->r->pool,
                                                   version_resource(req, rows,
                                                                    0)));
}

/* ---- publishing, in order ---- */

/* The provider for a publishing step (write) and the path's version,
 * checked. */
static tp_err_t *publishing(tp_req_t *req, provider_t *prov)
{
    const char *version = tp_param(&req->params, "version");
    tp_err_t *err = load_provider(req, TP_LEVEL_WRITE, prov);

    if (!err && !semver_valid(version)) {
        return tp_err(req->r->pool, 422, "version \"%s\" is not a semantic "
                      "version (MAJOR.MINOR.PATCH)", version);
    }
    return err;
}

static tp_err_t *read_small(tp_req_t *req, const char *what, char **buf,
                            apr_size_t *len)
{
    tp_err_t *err = tp_read_raw(req, MANIFEST_MAX, buf, len);

    if (!err && *len == 0) {
        return tp_err(req->r->pool, 422, "the body must be the %s", what);
    }
    return err;
}

/* Step one: the manifest. It creates the version, or replaces the
 * manifest (and drops its signature) while no zip has been published. */
tp_err_t *tp_api_provider_shasums_put(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *version = tp_param(&req->params, "version");
    const char *id = tp_id_generate(p, "provver"), *hex;
    provider_t prov;
    tp_rows_t *rows;
    apr_size_t len;
    char *buf;
    tp_err_t *err;

    if ((err = publishing(req, &prov)) != NULL
        || (err = read_small(req, "SHA256SUMS manifest", &buf, &len)) != NULL
        || (err = tp_shasums_find(p, buf, len, "", &hex)) != NULL) {
        return err;
    }
    if (memchr(buf, '\0', len)) {
        return tp_err(p, 422, "SHA256SUMS must be text");
    }
    if ((err = tp_req_exec(req, &SQL_VER_SHASUMS, &rows,
                           TP_DB_ARGS(id, prov.id, version,
                                      apr_pstrmemdup(p, buf, len),
                                      req->who->grants.email, id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "version %s of provider %s already has "
                      "published platforms; delete the version to publish "
                      "it again", version, prov.name);
    }
    return send_version(req, &prov, tp_row_bool(rows, 0, "created")
                                    ? 201 : 200);
}

/* Step two, the trust gate: the detached signature must verify against a
 * key registered in the provider's namespace. */
tp_err_t *tp_api_provider_shasums_sig_put(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *ns = tp_param(&req->params, "namespace");
    const char *signer;
    apr_array_header_t *armors;
    provider_t prov;
    tp_rows_t *ver, *keys;
    apr_size_t len;
    const char *manifest;
    char *buf;
    tp_err_t *err;
    int i;

    if ((err = publishing(req, &prov)) != NULL) {
        return err;
    }
    if ((err = load_version(req, &prov, &ver)) != NULL) {
        return err->status == 404
               ? tp_err(p, 409, "upload SHA256SUMS before its signature")
               : err;
    }
    if ((err = read_small(req, "detached signature of SHA256SUMS", &buf,
                          &len)) != NULL
        || (err = tp_req_exec(req, &SQL_NS_KEYS, &keys, TP_DB_ARGS(ns)))
           != NULL) {
        return err;
    }
    if (keys->nrows == 0) {
        return tp_err(p, 422, "no GPG key is registered in namespace %s: "
                      "register the publisher's public key first", ns);
    }
    armors = apr_array_make(p, keys->nrows, sizeof(const char *));
    for (i = 0; i < keys->nrows; i++) {
        APR_ARRAY_PUSH(armors, const char *) = tp_row(keys, i, "ascii_armor");
    }
    manifest = tp_row(ver, 0, "shasums");
    if ((err = tp_gpg_verify(p, (const char *const *)armors->elts,
                             armors->nelts, manifest, strlen(manifest), buf,
                             len, &signer)) != NULL) {
        return err;
    }
    if ((err = tp_req_exec(req, &SQL_VER_SIGN, &keys,
                           TP_DB_ARGS(tp_b64url(p, (unsigned char *)buf, len),
                                      signer, tp_row(ver, 0, "id"))))
        != NULL) {
        return err;
    }
    if (keys->nrows == 0) {
        return tp_err(p, 409, "version %s of provider %s already has "
                      "published platforms", tp_row(ver, 0, "version"),
                      prov.name);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP02122: SHA256SUMS of "
                  "provider %s version %s verified, signed by key %s",
                  prov.name, tp_row(ver, 0, "version"), signer);
    return send_version(req, &prov, 200);
}

static int platform_valid(const char *s, int underscore)
{
    apr_size_t i;

    for (i = 0; s[i]; i++) {
        if (i >= 32 || !(apr_islower(s[i]) || apr_isdigit(s[i])
                         || (underscore && s[i] == '_'))) {
            return 0;
        }
    }
    return i > 0;
}

/* The zip, streamed to storage, must be the one the signed manifest
 * names for the platform and hold the provider's binary. */
static tp_err_t *receive_zip(tp_req_t *req, const provider_t *prov,
                             const tp_rows_t *ver, const char *filename,
                             tp_upload_t **up, const char **sha,
                             const char **h1)
{
    apr_pool_t *p = req->r->pool;
    const char *manifest = tp_row(ver, 0, "shasums"), *want, *key;
    char *got = NULL;
    tp_err_t *err;

    if ((err = tp_shasums_find(p, manifest, strlen(manifest), filename,
                               &want)) != NULL) {
        return err;
    }
    if (!want) {
        return tp_err(p, 422, "the signed SHA256SUMS does not name %s",
                      filename);
    }
    key = apr_pstrcat(p, storage_prefix(p, prov->id,
                                        tp_row(ver, 0, "version")),
                      "/", filename, NULL);
    if ((err = tp_storage_begin(&req->conf->storage, p, key,
                                req->conf->max_upload, up)) != NULL
        || (err = tp_receive_upload(req, *up)) != NULL) {
        return err;
    }
    if (tp_sha256_file(p, tp_upload_path(*up), &got) != APR_SUCCESS) {
        return tp_err_internal(p, 500, "the upload could not be read",
                               tp_upload_path(*up));
    }
    if (strcmp(got, want)) {
        return tp_err(p, 422, "the zip's SHA-256 %s is not the %s the signed "
                      "SHA256SUMS gives for %s", got, want, filename);
    }
    *sha = got;
    if ((err = tp_zip_check(p, tp_upload_path(*up),
                            apr_pstrcat(p, "terraform-provider-", prov->name,
                                        NULL))) != NULL
        || (err = tp_zip_h1(p, tp_upload_path(*up), h1)) != NULL) {
        return err;
    }
    return NULL;
}

/* Step three, per platform: refused until the manifest is signed. */
tp_err_t *tp_api_provider_platform_put(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *os = tp_param(&req->params, "os");
    const char *arch = tp_param(&req->params, "arch");
    const char *version = tp_param(&req->params, "version");
    const char *filename, *sha = NULL, *h1 = NULL;
    const char *id = tp_id_generate(p, "provplat");
    provider_t prov;
    tp_upload_t *up;
    tp_rows_t *ver, *rows;
    tp_err_t *err;

    if ((err = publishing(req, &prov)) != NULL) {
        return err;
    }
    if (!platform_valid(os, 0) || !platform_valid(arch, 1)) {
        return tp_err(p, 422, "os and arch must be lower-case letters and "
                      "digits (arch also '_'), like linux and amd64");
    }
    if ((err = load_version(req, &prov, &ver)) != NULL) {
        return err->status == 404
               ? tp_err(p, 422, "upload SHA256SUMS and its signature before "
                        "the platforms")
               : err;
    }
    if (!tp_row_bool(ver, 0, "signed")) {
        return tp_err(p, 422, "the SHA256SUMS of version %s has no verified "
                      "signature yet: upload shasums.sig first", version);
    }
    filename = apr_psprintf(p, "terraform-provider-%s_%s_%s_%s.zip",
                            prov.name, version, os, arch);
    if ((err = receive_zip(req, &prov, ver, filename, &up, &sha, &h1)) != NULL
        || (err = tp_upload_commit(up)) != NULL
        || (err = tp_req_exec(req, &SQL_PLAT_INSERT, &rows,
                              TP_DB_ARGS(id, tp_row(ver, 0, "id"), os, arch,
                                         filename, sha, h1,
                                         apr_off_t_toa(p,
                                                       tp_upload_size(up)))))
           != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "version %s already has platform %s_%s",
                      version, os, arch);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02123: provider %s "
                  "version %s published for %s_%s by %s (%s)", prov.name,
                  version, os, arch, req->who->grants.email, h1);
    return send_version(req, &prov, 201);
}

/* ---- providers.v1 ---- */

/* Only the one namespace exists; any other is a provider not found. */
static tp_err_t *v1_provider(tp_req_t *req, provider_t *prov)
{
    return load_provider(req, TP_LEVEL_READ, prov);
}

tp_err_t *tp_api_providers_v1_versions(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p), *list = tp_json_array(p), *v;
    provider_t prov;
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if ((err = v1_provider(req, &prov)) != NULL
        || (err = tp_req_exec(req, &SQL_V1_VERSIONS, &rows,
                              TP_DB_ARGS(prov.id))) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        v = tp_json_object(p);
        tp_json_sets(v, tp_row(rows, i, "version"), "version", NULL);
        tp_json_setj(v, tp_row_json(p, rows, i, "protocols"), "protocols",
                     NULL);
        tp_json_setj(v, tp_row_json(p, rows, i, "platforms"), "platforms",
                     NULL);
        tp_json_push(list, v);
    }
    tp_json_setj(doc, list, "versions", NULL);
    return tp_send_json(req, 200, doc);
}

static const char *file_url(tp_req_t *req, const char *version_id,
                            const char *file)
{
    return tp_capability_url(req, apr_pstrcat(req->r->pool,
                                              "/api/terrapod/v1/registry/"
                                              "provider-versions/",
                                              version_id, "/files/", file,
                                              NULL),
                             FILE_CAP, version_id, FILE_TTL);
}

/* The three URLs terraform fetches without a token are signed for the
 * version; the key is the publisher's own, never a re-signature. */
tp_err_t *tp_api_providers_v1_download(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *ns = tp_param(&req->params, "namespace");
    tp_json_t *doc = tp_json_object(p), *keys = tp_json_array(p), *k;
    const char *vid;
    provider_t prov;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = v1_provider(req, &prov)) != NULL
        || (err = tp_req_exec(req, &SQL_V1_DOWNLOAD, &rows,
                              TP_DB_ARGS(ns, prov.id,
                                         tp_param(&req->params, "version"),
                                         tp_param(&req->params, "os"),
                                         tp_param(&req->params, "arch"))))
           != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "provider %s has no version %s for %s_%s",
                      prov.name, tp_param(&req->params, "version"),
                      tp_param(&req->params, "os"),
                      tp_param(&req->params, "arch"));
    }
    vid = tp_row(rows, 0, "version_id");
    tp_json_setj(doc, tp_row_json(p, rows, 0, "protocols"), "protocols",
                 NULL);
    tp_json_sets(doc, tp_row(rows, 0, "os"), "os", NULL);
    tp_json_sets(doc, tp_row(rows, 0, "arch"), "arch", NULL);
    tp_json_sets(doc, tp_row(rows, 0, "filename"), "filename", NULL);
    tp_json_sets(doc, file_url(req, vid, tp_row(rows, 0, "filename")),
                 "download_url", NULL);
    tp_json_sets(doc, file_url(req, vid, "SHA256SUMS"), "shasums_url", NULL);
    tp_json_sets(doc, file_url(req, vid, "SHA256SUMS.sig"),
                 "shasums_signature_url", NULL);
    tp_json_sets(doc, tp_row(rows, 0, "shasum"), "shasum", NULL);
    if (tp_row(rows, 0, "key_id")) {
        k = tp_json_object(p);
        tp_json_sets(k, tp_row(rows, 0, "key_id"), "key_id", NULL);
        tp_json_sets(k, tp_row(rows, 0, "ascii_armor"), "ascii_armor", NULL);
        tp_json_sets(k, "", "trust_signature", NULL);
        tp_json_sets(k, tp_row(rows, 0, "source"), "source", NULL);
        tp_json_sets(k, tp_row(rows, 0, "source_url"), "source_url", NULL);
        tp_json_push(keys, k);
    }
    tp_json_setj(doc, keys, "signing_keys", "gpg_public_keys", NULL);
    return tp_send_json(req, 200, doc);
}

/* A signed version's files: the manifest, its signature, or a zip. */
tp_err_t *tp_api_provider_file(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    const char *file = tp_param(&req->params, "file");
    const char *path, *sig;
    unsigned char *bytes;
    apr_size_t len;
    apr_off_t size;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_FILE, &rows, TP_DB_ARGS(file, id)))
        != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "provider version %s not found", id);
    }
    sig = tp_row(rows, 0, "shasums_sig");
    if (!strcmp(file, "SHA256SUMS")) {
        path = tp_row(rows, 0, "shasums");
        return tp_send_bytes(req, 200, "text/plain", path, strlen(path));
    }
    if (!strcmp(file, "SHA256SUMS.sig") && sig
        && (bytes = tp_b64url_decode(p, sig, &len)) != NULL) {
        return tp_send_bytes(req, 200, "application/octet-stream",
                             (const char *)bytes, len);
    }
    if (!tp_row(rows, 0, "filename")
        || !(path = tp_storage_file(&req->conf->storage, p,
                                    apr_pstrcat(p, storage_prefix(
                                        p, tp_row(rows, 0, "provider_id"),
                                        tp_row(rows, 0, "version")),
                                                "/", file, NULL), &size))) {
        return tp_err(p, 404, "provider version %s has no file %s", id, file);
    }
    return tp_send_file(req, path, size, "application/zip");
}
