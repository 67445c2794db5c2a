/* Run events (TFE's run-events): what happened to a run, when, and who
 * did it. tp_runs.c records one with every status move; here they are
 * listed under their run, oldest first, and read one by one. Whoever may
 * read the run may read its events. */
#include "../mod_terrapod.h"

#define EVENT_COLUMNS \
    "e.id, e.run_id, e.action, e.description," \
    " tp_ts(e.created_at) AS created_at," \
    " (SELECT u.id FROM users u WHERE u.email = e.actor) AS actor_id"
/* events with the workspace columns the caller's access is decided on */
#define EVENT_WITH_WS(column) \
    "SELECT " EVENT_COLUMNS ", e.run_id AS key," TP_WS_ACCESS_COLUMNS \
    "  FROM run_events e JOIN runs r ON r.id = e.run_id" \
    "  JOIN workspaces w ON w.id = r.workspace_id" \
    " WHERE" TP_AMONG_KEYS(column) " ORDER BY e.seq"

static const tp_stmt_t SQL_EVENTS_BY_ID = {"run_events_by_id",
                                           EVENT_WITH_WS("e.id")};
static const tp_stmt_t SQL_EVENTS_BY_RUN = {"run_events_by_run",
                                            EVENT_WITH_WS("e.run_id")};
static const tp_stmt_t SQL_EVENT_LIST = {"run_event_list",
    "SELECT " EVENT_COLUMNS ", count(*) OVER () AS total FROM run_events e"
    " WHERE e.run_id = %s ORDER BY e.seq LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_EVENT_RUN = {"run_event_run",
    "SELECT workspace_id FROM runs WHERE id = %s"};

static const tp_attr_t EVENT_ATTRS[] = {
    {"action", "action", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"description", "description", TP_ATTR_STRING},
    {NULL, NULL, 0}
};

static const tp_rel_t EVENT_RELS[] = {
    /* null when the server made the move */
    {"actor", "users", TP_REL_ONE, "actor_id"},
    /* no comments are kept here, so no event has one */
    {"comment", "comments", TP_REL_ONE, NULL},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t EVENT_DESC = {
    "run-events", NULL, "/api/v2/run-events/%s", EVENT_ATTRS, EVENT_RELS
};

static tp_json_t *event_render(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_resource_render(req->r->pool, &EVENT_DESC, rows, i);
}

/* An event for include=, when the caller may read its run. */
static tp_json_t *event_include(tp_req_t *req, const tp_rows_t *rows, int i)
{
    return tp_row_ws_level(req, rows, i) < TP_LEVEL_READ
           ? NULL : event_render(req, rows, i);
}

const tp_type_t tp_type_run_events = {&EVENT_DESC, &SQL_EVENTS_BY_ID,
                                      &SQL_EVENTS_BY_RUN, event_include};

/* GET /runs/{id}/run-events: 404 when the run is missing or unreadable. */
tp_err_t *tp_api_run_event_list(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_ws_t *ws;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_EVENT_RUN, &rows, TP_DB_ARGS(id)))
        != NULL
        || (err = tp_ws_owner(req, rows, TP_LEVEL_READ, "run", id, &ws))
           != NULL) {
        return err;
    }
    return tp_send_page(req, &SQL_EVENT_LIST, TP_DB_ARGS(id), event_render);
}

/* GET /run-events/{id}: 404 alike for an unknown event and for one of a
 * run the caller may not read. */
tp_err_t *tp_api_run_event_show(tp_req_t *req)
{
    return tp_type_show(req, &tp_type_run_events,
                        tp_param(&req->params, "id"), "run event");
}
