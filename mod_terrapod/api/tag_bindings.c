/* Workspace tags as the TFE API and the CLI's tags strategy know them:
 * tag bindings (key/value) and plain tags (names). Both are views of the
 * workspace's labels; a plain tag is a label with an empty value. */
#include <apr_strings.h>
#include "../mod_terrapod.h"

static const tp_stmt_t SQL_SET_LABELS = {"ws_set_labels",
    "UPDATE workspaces SET labels = %s::jsonb, updated_at = now()"
    " WHERE id = %s"};

/* The plain tags of the workspaces the caller may read, with how many
 * carry each: q narrows by name, filter[exclude][taggable][id] leaves out
 * the tags a workspace already has. */
static const tp_stmt_t SQL_ORG_TAGS = {"org_tags",
    TP_WS_RULES "SELECT l.key AS id, count(*) AS instance_count,"
    " count(*) OVER () AS total"
    "  FROM workspaces w, jsonb_each_text(w.labels) l"
    " WHERE l.value = ''"
    "   AND (%s::text IS NULL OR strpos(lower(l.key), lower(%s)) > 0)"
    "   AND NOT EXISTS (SELECT 1 FROM workspaces x"
    "                    WHERE x.id = %s AND x.labels -> l.key = '\"\"')"
    TP_WS_VISIBLE
    " GROUP BY l.key ORDER BY l.key LIMIT %s::bigint OFFSET %s::bigint"};

static const tp_attr_t TAG_ATTRS[] = {
    {"name", "id", TP_ATTR_STRING},
    {"instance-count", "instance_count", TP_ATTR_INT},
    {NULL, NULL, 0}
};

static const tp_type_desc_t TAG_DESC = {"tags", NULL, NULL, TAG_ATTRS, NULL};

static tp_json_t *org_tag(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_resource_render(req->r->pool, &TAG_DESC, rows, i);
}

tp_err_t *tp_api_organization_tags(tp_req_t *req)
{
    const char *q = tp_query_arg(req, "q");
    tp_ws_visibility_t v = tp_ws_visibility(req);

    return tp_send_page(req, &SQL_ORG_TAGS,
                        TP_DB_ARGS(v.rules, q, q,
                                   tp_query_arg(req,
                                       "filter[exclude][taggable][id]"),
                                   v.sees_all, v.owner),
                        org_tag);
}

static tp_json_t *labels_of(apr_pool_t *p, const tp_ws_t *ws)
{
    const char *text = tp_row(ws->row, 0, "labels");

    return tp_json_parse(p, text, strlen(text), NULL);
}

typedef struct {
    apr_pool_t *p;
    tp_json_t *list;
    const char *type;
    int names_only;   /* plain tags only (empty value) */
} collect_t;

static int collect(void *baton, const char *key, tp_json_t *val)
{
    collect_t *c = baton;
    const char *v = tp_json_gets(val, NULL);
    tp_json_t *r;

    if (c->names_only) {
        if (v && *v) {
            return 0;
        }
        r = tp_jsonapi_resource(c->p, "tags", key);
        tp_json_sets(r, key, "attributes", "name", NULL);
    }
    else {
        r = tp_jsonapi_resource(c->p, c->type,
                                apr_pstrcat(c->p, "tb-", key, NULL));
        tp_json_sets(r, key, "attributes", "key", NULL);
        tp_json_sets(r, v ? v : "", "attributes", "value", NULL);
    }
    tp_json_push(c->list, r);
    return 0;
}

static tp_err_t *send_list(tp_req_t *req, const char *type, int names_only)
{
    apr_pool_t *p = req->r->pool;
    collect_t c = {p, tp_json_array(p), type, names_only};
    tp_ws_t *ws;
    tp_err_t *err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws);

    if (err) {
        return err;
    }
    tp_json_each(labels_of(p, ws), collect, &c);
    return tp_send_json(req, 200, tp_jsonapi_doc(p, c.list));
}

tp_err_t *tp_api_tag_bindings_list(tp_req_t *req)
{
    return send_list(req, "tag-bindings", 0);
}

tp_err_t *tp_api_effective_tag_bindings_list(tp_req_t *req)
{
    return send_list(req, "effective-tag-bindings", 0);
}

tp_err_t *tp_api_tags_list(tp_req_t *req)
{
    return send_list(req, "tags", 1);
}

/* Applies data[] of tags (add or remove) or tag bindings (add). */
static tp_err_t *change(tp_req_t *req, int remove, int bindings)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *data, *labels;
    apr_size_t i;
    tp_ws_t *ws;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws)) != NULL
        || (err = tp_read_json(req, &body)) != NULL) {
        return err;
    }
    if (tp_json_type(body, "data", NULL) != TP_JSON_ARRAY) {
        return tp_err(p, 400, "data must be a list");
    }
    data = tp_json_get(body, "data", NULL);
    labels = labels_of(p, ws);
    for (i = 0; i < tp_json_len(data); i++) {
        tp_json_t *t = tp_json_at(data, i);
        const char *key = bindings ? tp_json_gets(t, "attributes", "key", NULL)
                                   : tp_json_gets(t, "attributes", "name",
                                                  NULL);
        const char *val = bindings ? tp_json_gets(t, "attributes", "value",
                                                  NULL) : "";

        if (!key && !bindings) {
            key = tp_json_gets(t, "id", NULL);
        }
        if (!key || !*key) {
            return tp_err(p, 422, "each entry needs a %s",
                          bindings ? "key" : "name");
        }
        if (remove) {
            tp_json_del(labels, key);
        }
        else {
            tp_json_sets(labels, val ? val : "", key, NULL);
        }
    }
    if ((err = tp_labels_check(p, labels, "labels", 1)) != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_exec(db, p, &SQL_SET_LABELS, NULL,
                             TP_DB_ARGS(tp_json_dump(labels, p), ws->id)))
           != NULL) {
        return err;
    }
    if (bindings) {
        collect_t c = {p, tp_json_array(p), "tag-bindings", 0};

        tp_json_each(labels, collect, &c);
        return tp_send_json(req, 200, tp_jsonapi_doc(p, c.list));
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

tp_err_t *tp_api_tags_add(tp_req_t *req)
{
    return change(req, 0, 0);
}

tp_err_t *tp_api_tags_remove(tp_req_t *req)
{
    return change(req, 1, 0);
}

tp_err_t *tp_api_tag_bindings_update(tp_req_t *req)
{
    return change(req, 0, 1);
}
