/* Remote-state consumers: the producer-controlled list of workspaces whose
 * runs may read a producer's state (terraform_remote_state) besides its
 * readers, and the check behind those reads. Admins of the producer
 * manage it, so a consumer can neither grant nor revoke itself; a
 * producer with global-remote-state shares with every workspace. */
#include <apr_strings.h>
#include "../mod_terrapod.h"

/* consumers a producer may list */
#define MAX_CONSUMERS 100

#define RSC_COLUMNS \
    "SELECT c.id, c.producer_id, c.consumer_id," \
    "       pw.name AS producer_workspace_name," \
    "       cw.name AS consumer_workspace_name," \
    "       tp_ts(c.created_at) AS created_at, c.created_by"
#define RSC_FROM \
    "  FROM remote_state_consumers c" \
    "  JOIN workspaces pw ON pw.id = c.producer_id" \
    "  JOIN workspaces cw ON cw.id = c.consumer_id"
/* a producer's consumers (outbound) or a consumer's producers */
#define RSC_LIST(side) \
    RSC_COLUMNS ", count(*) OVER () AS total" RSC_FROM \
    " WHERE c." side " = %s ORDER BY c.created_at, c.id" \
    " LIMIT %s::bigint OFFSET %s::bigint"

static const tp_stmt_t SQL_RSC_GET = {"rsc_get",
    RSC_COLUMNS RSC_FROM " WHERE c.id = %s"};
static const tp_stmt_t SQL_RSC_OUTBOUND = {"rsc_outbound",
    RSC_LIST("producer_id")};
static const tp_stmt_t SQL_RSC_INBOUND = {"rsc_inbound",
    RSC_LIST("consumer_id")};
/* the ids of a producer's consumers, as a JSON array */
static const tp_stmt_t SQL_RSC_IDS = {"rsc_ids",
    "SELECT COALESCE(jsonb_agg(consumer_id ORDER BY created_at, id),"
    "                '[]')::text AS ids"
    "  FROM remote_state_consumers WHERE producer_id = %s"};
/* Holding the producer's row, changes to its list wait for each other:
 * the cap holds under concurrent requests. */
static const tp_stmt_t SQL_RSC_HOLD = {"rsc_hold",
    "SELECT id FROM workspaces WHERE id = %s FOR UPDATE"};
static const tp_stmt_t SQL_RSC_INSERT = {"rsc_insert",
    "INSERT INTO remote_state_consumers (id, producer_id, consumer_id,"
    "                                    created_by)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_RSC_COUNT = {"rsc_count",
    "SELECT count(*) AS n FROM remote_state_consumers WHERE producer_id = %s"};
/* the consumers among ids (a JSON array), or, with keep, the others */
static const tp_stmt_t SQL_RSC_REMOVE = {"rsc_remove",
    "DELETE FROM remote_state_consumers"
    " WHERE producer_id = %s AND (consumer_id IN"
    "       (SELECT jsonb_array_elements_text(%s::jsonb))) <> %s::boolean"};
static const tp_stmt_t SQL_RSC_DELETE = {"rsc_delete",
    "DELETE FROM remote_state_consumers WHERE id = %s"};
/* Whether producer shares its state with consumer. */
static const tp_stmt_t SQL_RSC_SHARES = {"rsc_shares",
    "SELECT w.global_remote_state"
    "       OR EXISTS (SELECT 1 FROM remote_state_consumers c"
    "                   WHERE c.producer_id = w.id AND c.consumer_id = %s)"
    "       AS shares,"
    "       (SELECT name FROM workspaces WHERE id = %s) AS consumer_name"
    "  FROM workspaces w WHERE w.id = %s"};

static const tp_attr_t RSC_ATTRS[] = {
    {"producer-workspace-name", "producer_workspace_name", TP_ATTR_STRING},
    {"consumer-workspace-name", "consumer_workspace_name", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"created-by", "created_by", TP_ATTR_STRING},
    {NULL, NULL, 0}
};
static const tp_rel_t RSC_RELS[] = {
    {"producer", "workspaces", TP_REL_ONE, "producer_id", NULL, NULL, NULL},
    {"consumer", "workspaces", TP_REL_ONE, "consumer_id", NULL, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL, NULL, NULL}
};
static const tp_type_desc_t RSC_DESC = {
    "remote-state-consumers", NULL,
    "/api/terrapod/v1/remote-state-consumers/%s", RSC_ATTRS, RSC_RELS
};

static tp_json_t *rsc_render(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_resource_render(req->r->pool, &RSC_DESC, rows, i);
}

static tp_err_t *send_rsc(tp_req_t *req, int status, const tp_rows_t *rows)
{
    return tp_send_json(req, status, tp_jsonapi_doc(req->r->pool,
                                                    rsc_render(req, rows, 0)));
}

/* ---- the changes, each in one transaction holding the producer ---- */

/* Adds consumer to producer's list: *added is 0 when it was on it. */
static tp_err_t *add_one(tp_req_t *req, tp_db_t *db, const tp_ws_t *producer,
                         const char *consumer, int *added)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_RSC_INSERT, &rows,
                               TP_DB_ARGS(tp_id_generate(p, "rsc"),
                                          producer->id, consumer,
                                          req->who->grants.email));

    *added = !err && rows->nrows > 0;
    return err;
}

/* 422, and nothing kept, when producer's list has grown past the cap. */
static tp_err_t *check_cap(tp_req_t *req, tp_db_t *db, const tp_ws_t *producer)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, req->r->pool, &SQL_RSC_COUNT, &rows,
                               TP_DB_ARGS(producer->id));

    if (!err && apr_atoi64(tp_row(rows, 0, "n")) > MAX_CONSUMERS) {
        err = tp_err(req->r->pool, 422, "workspace %s may have at most %d "
                     "remote-state consumers", producer->name, MAX_CONSUMERS);
    }
    return err;
}

/* The change to producer's list that op names: "add" the consumers of ids
 * (a JSON array), "remove" them, or "replace" the list with them. */
static tp_err_t *change(tp_req_t *req, const tp_ws_t *producer,
                        const char *op, const apr_array_header_t *ids,
                        const char *ids_json)
{
    apr_pool_t *p = req->r->pool;
    tp_db_t *db;
    tp_err_t *err;
    int i, added;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RSC_HOLD, NULL,
                             TP_DB_ARGS(producer->id))) != NULL) {
        return err;
    }
    if (strcmp(op, "add") != 0
        && (err = tp_db_exec(db, p, &SQL_RSC_REMOVE, NULL,
                             TP_DB_ARGS(producer->id, ids_json,
                                        tp_db_bool(strcmp(op, "replace")
                                                   == 0))))
           != NULL) {
        return err;
    }
    for (i = 0; strcmp(op, "remove") != 0 && i < ids->nelts; i++) {
        if ((err = add_one(req, db, producer,
                           APR_ARRAY_IDX(ids, i, const char *), &added))
            != NULL) {
            return err;
        }
    }
    if ((err = check_cap(req, db, producer)) != NULL) {
        return err;
    }
    return tp_db_commit(db);
}

/* The workspace consumer names, for producer: one the caller may read,
 * and not the producer itself. */
static tp_err_t *consumer_of(tp_req_t *req, const tp_ws_t *producer,
                             const char *id, const char *type)
{
    tp_ws_t *ws;

    if (!id) {
        return tp_err(req->r->pool, 422, "a consumer needs the id of a "
                      "workspace");
    }
    if (type && strcmp(type, "workspaces") != 0) {
        return tp_err(req->r->pool, 422, "a consumer must be of type "
                      "workspaces, not %s", type);
    }
    if (strcmp(id, producer->id) == 0) {
        return tp_err(req->r->pool, 422, "workspace %s reads its own state "
                      "already: it cannot be its own remote-state consumer",
                      producer->name);
    }
    return tp_ws_require(req, id, TP_LEVEL_READ, &ws);
}

/* The workspaces of a body's data: [{type, id}, ...], each checked, and
 * the same ids as a JSON array. */
static tp_err_t *consumer_list(tp_req_t *req, const tp_ws_t *producer,
                               apr_array_header_t **ids,
                               const char **ids_json)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *body, *data;
    tp_err_t *err;
    apr_size_t i;

    if ((err = tp_read_json(req, &body)) != NULL) {
        return err;
    }
    data = tp_json_get(body, "data", NULL);
    if (!data || tp_json_type(data, NULL) != TP_JSON_ARRAY
        || tp_json_len(data) > MAX_CONSUMERS) {
        return tp_err(p, 422, "data must be a list of at most %d "
                      "{\"type\": \"workspaces\", \"id\": ...} objects",
                      MAX_CONSUMERS);
    }
    *ids = apr_array_make(p, (int)tp_json_len(data) + 1,
                          sizeof(const char *));
    for (i = 0; i < tp_json_len(data); i++) {
        tp_json_t *item = tp_json_at(data, i);
        const char *id = tp_json_gets(item, "id", NULL);

        if ((err = consumer_of(req, producer, id,
                               tp_json_gets(item, "type", NULL))) != NULL) {
            return err;
        }
        APR_ARRAY_PUSH(*ids, const char *) = id;
    }
    *ids_json = tp_json_dump(tp_json_strings(p, *ids), p);
    return NULL;
}

/* The producer {id} of the path, at the route's level. */
static tp_err_t *producer_of(tp_req_t *req, tp_ws_t **producer)
{
    return tp_ws_load(req, tp_param(&req->params, "id"), 0, producer);
}

/* ---- native API ---- */

tp_err_t *tp_api_remote_state_consumer_list(tp_req_t *req)
{
    const char *type = tp_query_arg(req, "filter[remote-state-consumer][type]");
    tp_ws_t *ws;
    tp_err_t *err;

    if (type && strcmp(type, "inbound") && strcmp(type, "outbound")) {
        return tp_err(req->r->pool, 422, "filter[remote-state-consumer][type] "
                      "is outbound (the workspaces that read this one's "
                      "state, the default) or inbound (the workspaces whose "
                      "state this one reads)");
    }
    if ((err = producer_of(req, &ws)) != NULL) {
        return err;
    }
    return tp_send_page(req, type && strcmp(type, "inbound") == 0
                             ? &SQL_RSC_INBOUND : &SQL_RSC_OUTBOUND,
                        TP_DB_ARGS(ws->id), rsc_render);
}

tp_err_t *tp_api_remote_state_consumer_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "rsc");
    const char *consumer;
    tp_json_t *body;
    tp_ws_t *producer;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = producer_of(req, &producer)) != NULL
        || (err = tp_read_json(req, &body)) != NULL) {
        return err;
    }
    consumer = tp_json_gets(body, "data", "relationships", "consumer", "data",
                            "id", NULL);
    if ((err = consumer_of(req, producer, consumer,
                           tp_json_gets(body, "data", "relationships",
                                        "consumer", "data", "type", NULL)))
        != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RSC_HOLD, NULL,
                             TP_DB_ARGS(producer->id))) != NULL
        || (err = tp_db_exec(db, p, &SQL_RSC_INSERT, &rows,
                             TP_DB_ARGS(id, producer->id, consumer,
                                        req->who->grants.email))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 409, "workspace %s may already read the state of "
                      "%s", consumer, producer->name);
    }
    if ((err = check_cap(req, db, producer)) != NULL
        || (err = tp_db_commit(db)) != NULL
        || (err = tp_db_exec(db, p, &SQL_RSC_GET, &rows, TP_DB_ARGS(id)))
           != NULL) {
        return err;
    }
    return send_rsc(req, 201, rows);
}

/* The request's producer changed by op with the consumers of its body. */
static tp_err_t *change_from_body(tp_req_t *req, const char *op,
                                  tp_ws_t **producer)
{
    apr_array_header_t *ids = NULL;
    const char *ids_json = NULL;
    tp_err_t *err;

    if ((err = producer_of(req, producer)) != NULL
        || (err = consumer_list(req, *producer, &ids, &ids_json)) != NULL) {
        return err;
    }
    return change(req, *producer, op, ids, ids_json);
}

tp_err_t *tp_api_remote_state_consumer_replace(tp_req_t *req)
{
    tp_ws_t *producer;
    tp_err_t *err;

    if ((err = change_from_body(req, "replace", &producer)) != NULL) {
        return err;
    }
    return tp_send_page(req, &SQL_RSC_OUTBOUND, TP_DB_ARGS(producer->id),
                        rsc_render);
}

/* Grant {id} when the caller holds need on its producer; 404 when it
 * cannot read the producer. */
static tp_err_t *load_rsc(tp_req_t *req, tp_level_e need, tp_rows_t **rows)
{
    const char *id = tp_param(&req->params, "id");
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_RSC_GET, rows, TP_DB_ARGS(id))) != NULL) {
        return err;
    }
    err = (*rows)->nrows == 0 ? NULL
          : tp_ws_require(req, tp_row(*rows, 0, "producer_id"), need, &ws);
    if ((*rows)->nrows == 0 || (err && err->status == 404)) {
        return tp_err(req->r->pool, 404, "remote-state consumer %s not found",
                      id);
    }
    return err;
}

tp_err_t *tp_api_remote_state_consumer_show(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_rsc(req, TP_LEVEL_READ, &rows);

    return err ? err : send_rsc(req, 200, rows);
}

tp_err_t *tp_api_remote_state_consumer_delete(tp_req_t *req)
{
    tp_rows_t *rows;
    tp_err_t *err = load_rsc(req, TP_LEVEL_ADMIN, &rows);

    if (err || (err = tp_req_exec(req, &SQL_RSC_DELETE, NULL,
                                  TP_DB_ARGS(tp_row(rows, 0, "id"))))
               != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* ---- TFE's relationship endpoints: lists of workspaces ---- */

tp_err_t *tp_api_remote_state_consumers_tfe_list(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *list = tp_json_array(p), *doc;
    tp_rows_t *rows;
    tp_ws_t *producer;
    tp_err_t *err;
    int i;

    if ((err = producer_of(req, &producer)) != NULL
        || (err = tp_req_exec(req, &SQL_RSC_IDS, &rows,
                              TP_DB_ARGS(producer->id))) != NULL
        || (err = tp_req_exec(req, tp_type_workspaces.by_id, &rows,
                              TP_DB_ARGS(tp_row(rows, 0, "ids")))) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        tp_json_t *ws = tp_type_workspaces.render(req, rows, i);

        if (ws) {
            tp_json_push(list, ws);
        }
    }
    doc = tp_jsonapi_doc(p, list);
    return tp_send_json(req, 200, doc);
}

static tp_err_t *tfe_change(tp_req_t *req, const char *op)
{
    tp_ws_t *producer;
    tp_err_t *err = change_from_body(req, op, &producer);

    return err ? err : tp_send_empty(req, HTTP_NO_CONTENT);
}

tp_err_t *tp_api_remote_state_consumers_tfe_add(tp_req_t *req)
{
    return tfe_change(req, "add");
}

tp_err_t *tp_api_remote_state_consumers_tfe_replace(tp_req_t *req)
{
    return tfe_change(req, "replace");
}

tp_err_t *tp_api_remote_state_consumers_tfe_remove(tp_req_t *req)
{
    return tfe_change(req, "remove");
}

/* ---- runs reading other workspaces' state ---- */

tp_err_t *tp_remote_state_admit(tp_req_t *req, tp_ws_t *ws, tp_level_e need)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err;

    if (need > TP_LEVEL_PLAN) {
        return tp_err(p, 403, "a run's token only reads state");
    }
    if (strcmp(ws->id, req->reader_ws) != 0) {
        if ((err = tp_req_exec(req, &SQL_RSC_SHARES, &rows,
                               TP_DB_ARGS(req->reader_ws, req->reader_ws,
                                          ws->id))) != NULL) {
            return err;
        }
        if (!tp_row_bool(rows, 0, "shares")) {
            return tp_err(p, 403, "workspace %s does not share its state "
                          "with workspace %s: an admin of %s can add %s to "
                          "its remote-state consumers, or turn on "
                          "global-remote-state", ws->name,
                          tp_row(rows, 0, "consumer_name"), ws->name,
                          tp_row(rows, 0, "consumer_name"));
        }
    }
    ws->level = TP_LEVEL_PLAN;
    return NULL;
}
