/* Live events: the three streams a page follows (text/event-stream). The
 * access to a workspace's or a pool's stream is decided once, as it
 * opens; the stream of every workspace filters each event by what the
 * subscriber may read (tp_ev_decide). See docs/events.md. */
#include "../mod_terrapod.h"
#include "../tp_events.h"

/* GET /api/terrapod/v1/workspaces/{id}/runs/events */
tp_err_t *tp_api_workspace_events(tp_req_t *req)
{
    tp_ev_sub_t sub = {TP_EV_WORKSPACE, NULL, NULL, 0};
    tp_ws_t *ws;
    tp_err_t *err = tp_ws_load(req, tp_param(&req->params, "id"), 0, &ws);

    if (err) {
        return err;
    }
    sub.id = ws->id;
    sub.who = &req->who->grants;
    return tp_events_stream(req, &sub);
}

/* GET /api/terrapod/v1/workspace-events */
tp_err_t *tp_api_workspaces_events(tp_req_t *req)
{
    tp_ev_sub_t sub = {TP_EV_WORKSPACES, NULL, NULL, 0};

    sub.who = &req->who->grants;
    return tp_events_stream(req, &sub);
}

/* GET /api/terrapod/v1/agent-pools/{id}/events (admin or audit) */
tp_err_t *tp_api_agent_pool_events(tp_req_t *req)
{
    tp_ev_sub_t sub = {TP_EV_POOL, NULL, NULL, 0};
    tp_rows_t *pool;
    tp_err_t *err = tp_pool_require(req, tp_param(&req->params, "id"),
                                    TP_LEVEL_READ, &pool);

    if (err) {
        return err;
    }
    sub.id = tp_row(pool, 0, "id");
    sub.who = &req->who->grants;
    return tp_events_stream(req, &sub);
}
