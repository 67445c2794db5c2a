/* GPG keys: the OpenPGP public keys of provider publishers, by namespace
 * and long key id, the trust anchors a version's SHA256SUMS signature is
 * verified against. Anyone signed in reads them (they are public);
 * registry admins register and remove them. Also served under go-tfe's
 * /api/registry/private/v2/gpg-keys. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_gpg.h"
#include "../tp_token.h"
#include "../mod_terrapod_registry.h"

#define KEY_COLUMNS \
    "id, namespace, key_id, fingerprint, ascii_armor, source, source_url," \
    " created_by, tp_ts(created_at) AS created_at," \
    " tp_ts(updated_at) AS updated_at"

static const tp_stmt_t SQL_KEY_PAGE = {"gpg_key_page",
    "SELECT " KEY_COLUMNS ", count(*) OVER () AS total FROM gpg_keys"
    " WHERE %s::text IS NULL OR namespace = %s"
    " ORDER BY namespace, created_at, key_id"
    " LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_KEY_GET = {"gpg_key_get",
    "SELECT " KEY_COLUMNS " FROM gpg_keys WHERE namespace = %s"
    " AND key_id = upper(%s)"};
static const tp_stmt_t SQL_KEY_INSERT = {"gpg_key_insert",
    "INSERT INTO gpg_keys (id, namespace, key_id, fingerprint, ascii_armor,"
    " created_by) VALUES (%s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (namespace, key_id) DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_KEY_SIGNED = {"gpg_key_signed",
    "SELECT count(*) AS n FROM registry_provider_versions v"
    " JOIN registry_providers p ON p.id = v.provider_id"
    " WHERE v.signed_by = %s AND p.namespace = %s"};
static const tp_stmt_t SQL_KEY_DELETE = {"gpg_key_delete",
    "DELETE FROM gpg_keys WHERE namespace = %s AND key_id = %s"};

tp_json_t *tp_gpg_key_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    static const char *const strs[][2] = {
        {"namespace", "namespace"}, {"key_id", "key-id"},
        {"fingerprint", "fingerprint"}, {"ascii_armor", "ascii-armor"},
        {"source", "source"}, {"source_url", "source-url"},
        {"created_by", "created-by"}, {"created_at", "created-at"},
        {"updated_at", "updated-at"}, {NULL, NULL}
    };
    tp_json_t *r = tp_jsonapi_resource(req->r->pool, "gpg-keys",
                                       tp_row(rows, i, "id"));
    int k;

    for (k = 0; strs[k][0]; k++) {
        tp_json_sets(r, tp_row(rows, i, strs[k][0]), "attributes",
                     strs[k][1], NULL);
    }
    /* a private registry's keys are never partner-signed */
    tp_json_sets(r, "", "attributes", "trust-signature", NULL);
    return r;
}

tp_err_t *tp_api_gpg_key_list(tp_req_t *req)
{
    const char *ns = tp_query_arg(req, "filter[namespace]");

    return tp_send_page(req, &SQL_KEY_PAGE, TP_DB_ARGS(ns, ns),
                        tp_gpg_key_resource);
}

static tp_err_t *load_key(tp_req_t *req, tp_rows_t **rows)
{
    const char *ns = tp_param(&req->params, "namespace");
    const char *key_id = tp_param(&req->params, "key_id");
    tp_err_t *err = tp_req_exec(req, &SQL_KEY_GET, rows,
                                TP_DB_ARGS(ns, key_id));

    if (!err && (*rows)->nrows == 0) {
        return tp_err(req->r->pool, 404, "GPG key %s not found in namespace "
                      "%s", key_id, ns);
    }
    return err;
}

tp_err_t *tp_api_gpg_key_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_key(req, &rows);

    return err ? err : tp_send_json(req, 200,
                                    tp_jsonapi_doc(req->r->pool,
                                                   tp_gpg_key_resource(req,
                                                                       rows,
                                                                       0)));
}

tp_err_t *tp_api_gpg_key_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *ns = TP_REGISTRY_NAMESPACE, *armor, *id;
    tp_json_t *body, *a;
    tp_gpg_key_t *key;
    tp_rows_t *rows;
    tp_err_t *err;
    int has;

    if ((err = tp_registry_admin(req, "register GPG keys")) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = tp_jsonapi_attributes(p, body, "gpg-keys", &a)) != NULL
        || (err = tp_attr_string(p, a, "namespace", 64, &ns, &has)) != NULL
        || (err = tp_attr_string(p, a, "ascii-armor", 65536, &armor, &has))
           != NULL) {
        return err;
    }
    if (!has) {
        return tp_err(p, 422, "ascii-armor is required: the publisher's "
                      "ASCII-armoured public key");
    }
    if (strcmp(ns ? ns : "", TP_REGISTRY_NAMESPACE)) {
        return tp_err(p, 422, "namespace must be \"" TP_REGISTRY_NAMESPACE
                      "\"");
    }
    if ((err = tp_gpg_key_parse(p, armor, strlen(armor), &key)) != NULL) {
        return err;
    }
    id = tp_id_generate(p, "gpgkey");
    if ((err = tp_req_exec(req, &SQL_KEY_INSERT, &rows,
                           TP_DB_ARGS(id, ns, key->key_id, key->fingerprint,
                                      key->armor, req->who->grants.email)))
        != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "GPG key %s is already registered in namespace "
                      "%s", key->key_id, ns);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02120: GPG key %s "
                  "(%s) registered in namespace %s by %s", key->key_id,
                  key->fingerprint, ns, req->who->grants.email);
    if ((err = tp_req_exec(req, &SQL_KEY_GET, &rows,
                           TP_DB_ARGS(ns, key->key_id))) != NULL) {
        return err;
    }
    return tp_send_json(req, 201, tp_jsonapi_doc(p, tp_gpg_key_resource(req,
                                                                       rows,
                                                                       0)));
}

/* A key that verified published versions is what terraform is shown for
 * them: removing it would break their installs, so it takes force. */
tp_err_t *tp_api_gpg_key_delete(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *force = tp_query_arg(req, "force");
    const char *ns, *key_id, *n;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_registry_admin(req, "remove GPG keys")) != NULL
        || (err = load_key(req, &rows)) != NULL) {
        return err;
    }
    ns = tp_row(rows, 0, "namespace");
    key_id = tp_row(rows, 0, "key_id");
    if ((err = tp_req_exec(req, &SQL_KEY_SIGNED, &rows,
                           TP_DB_ARGS(key_id, ns))) != NULL) {
        return err;
    }
    n = tp_row(rows, 0, "n");
    if (strcmp(n, "0") && !(force && !strcmp(force, "true"))) {
        return tp_err(p, 409, "GPG key %s signed %s published provider "
                      "version(s), whose installs would then fail; delete "
                      "with ?force=true to remove it anyway", key_id, n);
    }
    if ((err = tp_req_exec(req, &SQL_KEY_DELETE, NULL,
                           TP_DB_ARGS(ns, key_id))) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02121: GPG key %s "
                  "removed from namespace %s by %s (it had signed %s "
                  "version(s))", key_id, ns, req->who->grants.email, n);
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
