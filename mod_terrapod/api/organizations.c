/* The one organization, "default", and its entitlements. The dispatcher
 * has already answered 404 for any other name. */
#include "../mod_terrapod.h"

/* The organization came to be with the database: its first migration. */
static const tp_stmt_t SQL_ORG_BY_IDS = {"org_by_ids",
    "SELECT k AS id, (SELECT tp_ts(min(applied_at)) FROM schema_migrations)"
    "       AS created_at"
    "  FROM jsonb_array_elements_text(%s::jsonb) k"
    " WHERE k = '" TP_ORGANIZATION "'"};

static const tp_attr_t ORG_ATTRS[] = {
    {"name", "id", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {NULL, NULL, 0}
};

static const tp_type_desc_t ORG_DESC = {
    "organizations", NULL, "/api/v2/organizations/%s", ORG_ATTRS, NULL
};

static tp_json_t *org_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *o = tp_resource_render(p, &ORG_DESC, rows, i);
    const char *admin_email = req->r->server->server_admin;
    int admin = req->who->grants.is_admin;

    tp_json_sets(o, "org-" TP_ORGANIZATION, "attributes", "external-id", NULL);
    /* the contact Apache's ServerAdmin names, when it is an address */
    tp_json_sets(o, admin_email && strchr(admin_email, '@') ? admin_email
                                                            : NULL,
                 "attributes", "email", NULL);
    tp_json_sets(o, "local", "attributes", "default-execution-mode", NULL);
    tp_json_setb(o, 1, "attributes", "permissions", "can-create-workspace",
                 NULL);
    tp_json_setb(o, admin, "attributes", "permissions", "can-update", NULL);
    tp_json_setb(o, 0, "attributes", "permissions", "can-destroy", NULL);
    tp_json_setb(o, admin, "attributes", "permissions", "can-manage-users",
                 NULL);
    tp_jsonapi_relate(o, "entitlement-set", "entitlement-sets",
                      "org-" TP_ORGANIZATION);
    tp_json_sets(o, "/api/v2/organizations/" TP_ORGANIZATION
                    "/entitlement-set",
                 "relationships", "entitlement-set", "links", "related", NULL);
    return o;
}

const tp_type_t tp_type_organizations = {&ORG_DESC, &SQL_ORG_BY_IDS, NULL,
                                         org_resource};

static tp_err_t *load(tp_req_t *req, tp_rows_t **rows)
{
    return tp_req_exec(req, &SQL_ORG_BY_IDS, rows,
                       TP_DB_ARGS("[\"" TP_ORGANIZATION "\"]"));
}

tp_err_t *tp_api_organization_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load(req, &rows);

    return err ? err : tp_send_json(req, 200,
                                    tp_jsonapi_doc(req->r->pool,
                                                   org_resource(req, rows,
                                                                0)));
}

/* A list of one, as TFE's for a user of a single organization. */
tp_err_t *tp_api_organization_list(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *list = tp_json_array(p);
    tp_json_t *doc;
    tp_rows_t *rows;
    tp_page_t pg;
    tp_err_t *err = tp_page_parse(p, tp_query_arg(req, "page[number]"),
                                  tp_query_arg(req, "page[size]"), &pg);

    if (err || (err = load(req, &rows)) != NULL) {
        return err;
    }
    if (pg.number == 1) {
        tp_json_push(list, org_resource(req, rows, 0));
    }
    doc = tp_jsonapi_doc(p, list);
    tp_paginate(req, doc, &pg, 1);
    return tp_send_json(req, 200, doc);
}

tp_err_t *tp_api_entitlement_set(tp_req_t *req)
{
    static const char *const enabled[] = {
        "agents", "audit-logging", "configuration-designer", "global-run-tasks",
        "module-tests-generation", "operations", "private-module-registry",
        "private-policy-agents", "run-tasks", "sso",
        "state-storage", "teams", "vcs-integrations",
        NULL
    };
    static const char *const disabled[] = {
        "cost-estimation", "sentinel", NULL
    };
    apr_pool_t *p = req->r->pool;
    tp_json_t *e = tp_jsonapi_resource(p, "entitlement-sets",
                                       "org-" TP_ORGANIZATION);
    int i;

    /* operations: true lets the CLI run remotely where a workspace's
     * execution mode asks for it */
    for (i = 0; enabled[i]; i++) {
        tp_json_setb(e, 1, "attributes", enabled[i], NULL);
    }
    for (i = 0; disabled[i]; i++) {
        tp_json_setb(e, 0, "attributes", disabled[i], NULL);
    }
    return tp_send_json(req, 200, tp_jsonapi_doc(p, e));
}
