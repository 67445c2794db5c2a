/* Run triggers: a destination workspace's sources, whose successful
 * applies queue a run in it (fired by the run-triggers task,
 * tp_run_triggers.c). Admins of the destination manage them; readers of
 * either side see them. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_run_triggers.h"

#define RT_COLUMNS \
    "SELECT t.id, t.source_id, t.destination_id, d.name AS workspace_name," \
    "       s.name AS sourceable_name, tp_ts(t.created_at) AS created_at"
#define RT_FROM \
    "  FROM run_triggers t" \
    "  JOIN workspaces d ON d.id = t.destination_id" \
    "  JOIN workspaces s ON s.id = t.source_id"
/* a destination's sources (inbound) or a source's destinations */
#define RT_LIST(side) \
    RT_COLUMNS ", count(*) OVER () AS total" RT_FROM \
    " WHERE t." side " = %s ORDER BY t.created_at, t.id" \
    " LIMIT %s::bigint OFFSET %s::bigint"

static const tp_stmt_t SQL_RT_GET = {"rt_get",
    RT_COLUMNS RT_FROM " WHERE t.id = %s"};
static const tp_stmt_t SQL_RT_INBOUND = {"rt_inbound",
    RT_LIST("destination_id")};
static const tp_stmt_t SQL_RT_OUTBOUND = {"rt_outbound",
    RT_LIST("source_id")};
/* Holding the destination's row, a second create waits for this one's
 * count and insert: the cap holds under concurrent requests. */
static const tp_stmt_t SQL_RT_HOLD = {"rt_hold",
    "SELECT (SELECT count(*) FROM run_triggers"
    "         WHERE destination_id = w.id) AS sources"
    "  FROM workspaces w WHERE w.id = %s FOR UPDATE"};
static const tp_stmt_t SQL_RT_INSERT = {"rt_insert",
    "INSERT INTO run_triggers (id, source_id, destination_id, created_by)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_RT_DELETE = {"rt_delete",
    "DELETE FROM run_triggers WHERE id = %s"};

static const tp_attr_t RT_ATTRS[] = {
    {"workspace-name", "workspace_name", TP_ATTR_STRING},
    {"sourceable-name", "sourceable_name", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {NULL, NULL, 0}
};
static const tp_rel_t RT_RELS[] = {
    {"workspace", "workspaces", TP_REL_ONE, "destination_id", NULL, NULL,
     NULL},
    {"sourceable", "workspaces", TP_REL_ONE, "source_id", NULL, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL, NULL, NULL}
};
static const tp_type_desc_t RT_DESC = {"run-triggers", NULL,
                                       "/api/v2/run-triggers/%s", RT_ATTRS,
                                       RT_RELS};

static tp_json_t *rt_render(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_resource_render(req->r->pool, &RT_DESC, rows, i);
}

static tp_err_t *send_rt(tp_req_t *req, int status, const tp_rows_t *rows)
{
    return tp_send_json(req, status, tp_jsonapi_doc(req->r->pool,
                                                    rt_render(req, rows, 0)));
}

/* Trigger {id} when the caller holds need on its destination, or (for a
 * read) on either side: 404 when it sees neither. */
static tp_err_t *load_rt(tp_req_t *req, tp_level_e need, tp_rows_t **rows)
{
    const char *id = tp_param(&req->params, "id");
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_RT_GET, rows, TP_DB_ARGS(id))) != NULL) {
        return err;
    }
    if ((*rows)->nrows == 0) {
        return tp_err(req->r->pool, 404, "run trigger %s not found", id);
    }
    err = tp_ws_require(req, tp_row(*rows, 0, "destination_id"), need, &ws);
    if (err && err->status == 404 && need == TP_LEVEL_READ) {
        err = tp_ws_require(req, tp_row(*rows, 0, "source_id"), need, &ws);
    }
    return err && err->status == 404
           ? tp_err(req->r->pool, 404, "run trigger %s not found", id) : err;
}

tp_err_t *tp_api_run_trigger_list(tp_req_t *req)
{
    const char *type = tp_query_arg(req, "filter[run-trigger][type]");
    tp_ws_t *ws;
    tp_err_t *err;

    if (!type || (strcmp(type, "inbound") && strcmp(type, "outbound"))) {
        return tp_err(req->r->pool, 422, "filter[run-trigger][type] is "
                      "required: inbound (what triggers runs here) or "
                      "outbound (what this workspace's applies trigger)");
    }
    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws))
        != NULL) {
        return err;
    }
    return tp_send_page(req, strcmp(type, "inbound") == 0 ? &SQL_RT_INBOUND
                                                          : &SQL_RT_OUTBOUND,
                        TP_DB_ARGS(ws->id), rt_render);
}

/* The source a create names: relationships.sourceable, a workspace the
 * caller may read. */
static tp_err_t *sourceable(tp_req_t *req, const tp_json_t *body,
                            tp_ws_t **src)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_json_gets(body, "data", "relationships", "sourceable",
                                  "data", "id", NULL);
    const char *type = tp_json_gets(body, "data", "relationships",
                                    "sourceable", "data", "type", NULL);

    if (!id) {
        return tp_err(p, 422, "relationships.sourceable.data.id is required "
                      "(the source workspace)");
    }
    if (type && strcmp(type, "workspaces") != 0) {
        return tp_err(p, 422, "relationships.sourceable must be of type "
                      "workspaces");
    }
    return tp_ws_require(req, id, TP_LEVEL_READ, src);
}

tp_err_t *tp_api_run_trigger_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "rt");
    tp_json_t *body;
    tp_ws_t *dest, *src;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &dest))
        != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = sourceable(req, body, &src)) != NULL) {
        return err;
    }
    if (strcmp(src->id, dest->id) == 0) {
        return tp_err(p, 422, "a workspace cannot trigger its own runs");
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RT_HOLD, &rows,
                             TP_DB_ARGS(dest->id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 404, "workspace %s not found", dest->id);
    }
    if (apr_atoi64(tp_row(rows, 0, "sources"))
        >= TP_RUN_TRIGGERS_MAX_SOURCES) {
        return tp_err(p, 422, "workspace %s already has %d source "
                      "workspaces, the most it may have", dest->name,
                      TP_RUN_TRIGGERS_MAX_SOURCES);
    }
    if ((err = tp_db_exec(db, p, &SQL_RT_INSERT, &rows,
                          TP_DB_ARGS(id, src->id, dest->id,
                                     req->who->grants.email))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 422, "workspace %s already triggers runs in %s",
                      src->name, dest->name);
    }
    if ((err = tp_db_commit(db)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RT_GET, &rows, TP_DB_ARGS(id)))
           != NULL) {
        return err;
    }
    return send_rt(req, 201, rows);
}

tp_err_t *tp_api_run_trigger_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_rt(req, TP_LEVEL_READ, &rows);

    return err ? err : send_rt(req, 200, rows);
}

tp_err_t *tp_api_run_trigger_delete(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_rt(req, TP_LEVEL_ADMIN, &rows);

    if (err || (err = tp_req_exec(req, &SQL_RT_DELETE, NULL,
                                  TP_DB_ARGS(tp_row(rows, 0, "id"))))
               != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
