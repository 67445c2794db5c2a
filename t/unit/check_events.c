/* Unit tests of the live events' pure parts: SSE frames and how line
 * breaks are kept out of their fields, Last-Event-ID, the ring of recent
 * events (order, eviction, the replay window, what was lost), and which
 * subscriber is sent which event. */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "tp_events.h"
#include "tp_flat.h"
#include "tp_json.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(sse_frames)
{
    ck_assert_str_eq(tp_sse_frame(pool, 42, "workspace_updated",
                                  "{\"id\":\"42\"}"),
                     "id: 42\nevent: workspace_updated\n"
                     "data: {\"id\":\"42\"}\n\n");
    /* a line break in data continues it on another data: line, whatever
     * the break; one in the event name cannot end the frame early */
    ck_assert_str_eq(tp_sse_frame(pool, 7, "a\nb", "x\ny\r\nz\rw"),
                     "id: 7\nevent: ab\ndata: x\ndata: y\ndata: z\n"
                     "data: w\n\n");
    ck_assert_str_eq(tp_sse_frame(pool, 1, "e", ""),
                     "id: 1\nevent: e\ndata: \n\n");
    ck_assert_str_eq(tp_sse_frame(pool, 2, "e", "\n\n"),
                     "id: 2\nevent: e\ndata: \ndata: \ndata: \n\n");
    ck_assert_str_eq(tp_sse_start(pool, 1000, 4711),
                     "retry: 1000\nid: 4711\n\n");
    ck_assert_str_eq(tp_sse_comment(pool, "keepalive"), ": keepalive\n\n");
    ck_assert_str_eq(tp_sse_comment(pool, "a\r\nb"), ": ab\n\n");
}
END_TEST

START_TEST(last_event_id)
{
    apr_int64_t id = -1;

    ck_assert_int_eq(tp_ev_parse_id("0", &id), 1);
    ck_assert(id == 0);
    ck_assert_int_eq(tp_ev_parse_id("1234", &id), 1);
    ck_assert(id == 1234);
    ck_assert_int_eq(tp_ev_parse_id("9223372036854775807", &id), 1);
    ck_assert(id == APR_INT64_MAX);
    id = 5;
    ck_assert_int_eq(tp_ev_parse_id("9223372036854775808", &id), 0);
    ck_assert_int_eq(tp_ev_parse_id("99999999999999999999", &id), 0);
    ck_assert_int_eq(tp_ev_parse_id("", &id), 0);
    ck_assert_int_eq(tp_ev_parse_id(NULL, &id), 0);
    ck_assert_int_eq(tp_ev_parse_id("-1", &id), 0);
    ck_assert_int_eq(tp_ev_parse_id("+1", &id), 0);
    ck_assert_int_eq(tp_ev_parse_id("1 ", &id), 0);
    ck_assert_int_eq(tp_ev_parse_id("0x10", &id), 0);
    ck_assert(id == 5);   /* untouched by a refusal */
}
END_TEST

static tp_event_t event(apr_int64_t id, apr_time_t at, const char *ws)
{
    tp_event_t ev = {0};

    ev.id = id;
    ev.at = at;
    ev.type = "workspace_updated";
    ev.workspace_id = ws;
    ev.data = apr_psprintf(pool, "{\"id\":\"%" APR_INT64_T_FMT "\"}", id);
    return ev;
}

START_TEST(ring_order_and_eviction)
{
    tp_ev_ring_t *ring = tp_ev_ring_create(4);
    tp_event_t *out, ev;
    int lost = -1, n, i;

    ck_assert_ptr_nonnull(ring);
    ck_assert_int_eq(tp_ev_ring_since(ring, 0, 0, pool, 10, &out, &lost), 0);
    ck_assert_int_eq(lost, 0);
    /* ids with gaps, as rolled back transactions leave them */
    for (i = 1; i <= 3; i++) {
        ev = event(i * 10, 100, "ws-a");
        ck_assert_int_eq(tp_ev_ring_push(ring, &ev), 1);
    }
    n = tp_ev_ring_since(ring, 10, 0, pool, 10, &out, &lost);
    ck_assert_int_eq(n, 2);
    ck_assert(out[0].id == 20 && out[1].id == 30);
    ck_assert_str_eq(out[0].data, "{\"id\":\"20\"}");
    ck_assert_str_eq(out[0].workspace_id, "ws-a");
    ck_assert_ptr_null(out[0].pool_id);
    ck_assert_int_eq(lost, 0);
    /* between two ids, and max */
    ck_assert_int_eq(tp_ev_ring_since(ring, 15, 0, pool, 10, &out, &lost), 2);
    ck_assert(out[0].id == 20);
    ck_assert_int_eq(tp_ev_ring_since(ring, 0, 0, pool, 1, &out, &lost), 1);
    ck_assert(out[0].id == 10);
    ck_assert_int_eq(tp_ev_ring_since(ring, 30, 0, pool, 10, &out, &lost), 0);
    /* past capacity the oldest go, and a reader behind them is told */
    for (i = 4; i <= 6; i++) {
        ev = event(i * 10, 100, "ws-a");
        ck_assert_int_eq(tp_ev_ring_push(ring, &ev), 1);
    }
    n = tp_ev_ring_since(ring, 0, 0, pool, 10, &out, &lost);
    ck_assert_int_eq(n, 4);
    ck_assert(out[0].id == 30 && out[3].id == 60);
    ck_assert_int_eq(lost, 1);
    ck_assert_int_eq(tp_ev_ring_since(ring, 20, 0, pool, 10, &out, &lost), 4);
    ck_assert_int_eq(lost, 0);
    /* what was dropped was older than the window: nothing lost to it */
    ck_assert_int_eq(tp_ev_ring_since(ring, 0, 101, pool, 10, &out, &lost),
                     0);
    ck_assert_int_eq(lost, 0);
    tp_ev_ring_destroy(ring);
}
END_TEST

START_TEST(ring_window)
{
    tp_ev_ring_t *ring = tp_ev_ring_create(8);
    tp_event_t *out, ev;
    int lost, i;

    for (i = 1; i <= 5; i++) {
        ev = event(i, (apr_time_t)i * 1000, NULL);
        tp_ev_ring_push(ring, &ev);
    }
    /* a replay starts inside the window */
    ck_assert_int_eq(tp_ev_ring_since(ring, 0, 3000, pool, 10, &out, &lost),
                     3);
    ck_assert(out[0].id == 3);
    ck_assert_ptr_null(out[0].workspace_id);
    tp_ev_ring_destroy(ring);
}
END_TEST

/* grants of a user with one custom role reading workspaces labelled
 * team=blue */
static tp_grants_t *grants(const char *email, int admin, int audit,
                           int with_role)
{
    tp_grants_t *g = apr_pcalloc(pool, sizeof(*g));
    apr_array_header_t *roles = apr_array_make(pool, 1, sizeof(tp_role_t));

    g->email = email;
    g->is_admin = admin;
    g->is_audit = audit;
    if (with_role) {
        const char *j = "{\"name\":\"blue\",\"workspace_permission\":\"read\","
                        "\"pool_permission\":\"read\","
                        "\"registry_permission\":\"read\","
                        "\"allow_labels\":{\"team\":\"blue\"},"
                        "\"allow_names\":[],\"deny_labels\":{},"
                        "\"deny_names\":[\"blue-secret\"]}";
        tp_role_t *r = tp_role_from_json(pool, tp_json_parse(pool, j,
                                                             strlen(j), NULL));

        ck_assert_ptr_nonnull(r);
        APR_ARRAY_PUSH(roles, tp_role_t) = *r;
    }
    g->roles = roles;
    return g;
}

static tp_event_t ws_event(const char *ws, const char *name,
                           const char *owner, const char *labels)
{
    tp_event_t ev = event(1, 0, ws);

    ev.ws_name = name;
    ev.ws_owner = owner;
    ev.ws_labels = labels;
    return ev;
}

START_TEST(decide_scopes)
{
    tp_grants_t *alice = grants("alice@example.com", 0, 0, 0);
    tp_ev_sub_t ws = {TP_EV_WORKSPACE, "ws-a", alice};
    tp_ev_sub_t pool_sub = {TP_EV_POOL, "apool-1", alice};
    tp_event_t ev = ws_event("ws-a", "a", "alice@example.com", "{}");

    ck_assert_int_eq(tp_ev_decide(pool, &ws, &ev), TP_EV_SEND);
    ev.workspace_id = "ws-b";
    ck_assert_int_eq(tp_ev_decide(pool, &ws, &ev), TP_EV_SKIP);
    ck_assert_int_eq(tp_ev_decide(pool, &pool_sub, &ev), TP_EV_SKIP);
    ev.workspace_id = NULL;
    ev.pool_id = "apool-1";
    ev.type = "listener_heartbeat";
    ck_assert_int_eq(tp_ev_decide(pool, &pool_sub, &ev), TP_EV_SEND);
    ck_assert_int_eq(tp_ev_decide(pool, &ws, &ev), TP_EV_SKIP);
    ev.pool_id = "apool-2";
    ck_assert_int_eq(tp_ev_decide(pool, &pool_sub, &ev), TP_EV_SKIP);
}
END_TEST

START_TEST(decide_workspace_out_of_sight)
{
    tp_grants_t *alice = grants("alice@example.com", 0, 0, 1);
    tp_grants_t *auditor = grants("audit@example.com", 0, 1, 0);
    tp_ev_sub_t a = {TP_EV_WORKSPACE, "ws-1", alice};
    tp_ev_sub_t au = {TP_EV_WORKSPACE, "ws-1", auditor};
    tp_event_t ev = ws_event("ws-1", "blue-1", NULL, "{\"team\":\"blue\"}");

    ck_assert_int_eq(tp_ev_decide(pool, &a, &ev), TP_EV_SEND);
    /* relabelled away from the role that showed it */
    ev.ws_labels = "{\"team\":\"red\"}";
    ck_assert_int_eq(tp_ev_decide(pool, &a, &ev), TP_EV_END);
    ck_assert_int_eq(tp_ev_decide(pool, &au, &ev), TP_EV_SEND);
    /* renamed into the role's deny rule */
    ev.ws_labels = "{\"team\":\"blue\"}";
    ev.ws_name = "blue-secret";
    ck_assert_int_eq(tp_ev_decide(pool, &a, &ev), TP_EV_END);
    /* deleted */
    ev.ws_name = NULL;
    ck_assert_int_eq(tp_ev_decide(pool, &a, &ev), TP_EV_END);
    ck_assert_int_eq(tp_ev_decide(pool, &au, &ev), TP_EV_SEND);
}
END_TEST

START_TEST(decide_visibility)
{
    tp_grants_t *alice = grants("alice@example.com", 0, 0, 1);
    tp_grants_t *bob = grants("bob@example.com", 0, 0, 0);
    tp_grants_t *auditor = grants("audit@example.com", 0, 1, 0);
    tp_ev_sub_t a = {TP_EV_WORKSPACES, NULL, alice};
    tp_ev_sub_t b = {TP_EV_WORKSPACES, NULL, bob};
    tp_ev_sub_t au = {TP_EV_WORKSPACES, NULL, auditor};
    tp_event_t blue = ws_event("ws-1", "blue-1", NULL, "{\"team\":\"blue\"}");
    tp_event_t denied = ws_event("ws-2", "blue-secret", NULL,
                                 "{\"team\":\"blue\"}");
    tp_event_t owned = ws_event("ws-3", "bobs", "bob@example.com", "{}");
    tp_event_t open = ws_event("ws-4", "open", NULL,
                               "{\"access\":\"everyone\"}");
    tp_event_t gone = ws_event("ws-5", NULL, NULL, NULL);
    tp_event_t pool_ev = ws_event(NULL, NULL, NULL, NULL);

    /* a role's labels, its deny rule, ownership, access=everyone */
    ck_assert_int_eq(tp_ev_decide(pool, &a, &blue), TP_EV_SEND);
    ck_assert_int_eq(tp_ev_decide(pool, &b, &blue), TP_EV_SKIP);
    ck_assert_int_eq(tp_ev_decide(pool, &a, &denied), TP_EV_SKIP);
    ck_assert_int_eq(tp_ev_decide(pool, &b, &owned), TP_EV_SEND);
    ck_assert_int_eq(tp_ev_decide(pool, &a, &owned), TP_EV_SKIP);
    ck_assert_int_eq(tp_ev_decide(pool, &a, &open), TP_EV_SEND);
    ck_assert_int_eq(tp_ev_decide(pool, &b, &open), TP_EV_SEND);
    /* auditors read everything, even a workspace gone since */
    ck_assert_int_eq(tp_ev_decide(pool, &au, &denied), TP_EV_SEND);
    ck_assert_int_eq(tp_ev_decide(pool, &au, &gone), TP_EV_SEND);
    ck_assert_int_eq(tp_ev_decide(pool, &a, &gone), TP_EV_SKIP);
    /* events of no workspace are not the workspaces stream's */
    pool_ev.pool_id = "apool-1";
    ck_assert_int_eq(tp_ev_decide(pool, &au, &pool_ev), TP_EV_SKIP);
}
END_TEST

START_TEST(decide_principal_changes)
{
    tp_grants_t *alice = grants("alice@example.com", 0, 0, 0);
    tp_ev_sub_t subs[] = {{TP_EV_WORKSPACES, NULL, alice},
                          {TP_EV_WORKSPACE, "ws-a", alice},
                          {TP_EV_POOL, "apool-1", alice}};
    tp_event_t ev = event(9, 0, NULL);
    tp_ev_sub_t late = {TP_EV_WORKSPACES, NULL, NULL, 9};
    int i;

    ev.type = TP_EV_PRINCIPALS;
    for (i = 0; i < 3; i++) {
        ev.principal = NULL;            /* a role changed: everyone's */
        ck_assert_int_eq(tp_ev_decide(pool, &subs[i], &ev), TP_EV_END);
        ev.principal = "alice@example.com";
        ck_assert_int_eq(tp_ev_decide(pool, &subs[i], &ev), TP_EV_END);
        ev.principal = "bob@example.com";
        ck_assert_int_eq(tp_ev_decide(pool, &subs[i], &ev), TP_EV_SKIP);
    }
    /* a change before a stream opened (it authenticated after it) is
     * replayed without ending it again */
    late.who = alice;
    ev.principal = NULL;
    ck_assert_int_eq(tp_ev_decide(pool, &late, &ev), TP_EV_SKIP);
    late.opened = 8;
    ck_assert_int_eq(tp_ev_decide(pool, &late, &ev), TP_EV_END);
}
END_TEST

/* The strings travel with the record: the copy outlives its source and
 * frees as one block. */
START_TEST(flat_copy)
{
    struct rec { int n; const char *a, *b, *c; } r = {7, "one", NULL, ""};
    static const apr_size_t strings[] = {
        offsetof(struct rec, a), offsetof(struct rec, b),
        offsetof(struct rec, c)};
    char buf[8];
    struct rec *c;

    strcpy(buf, "one");
    r.a = buf;
    c = tp_flat_copy(&r, sizeof(r), strings, 3);
    ck_assert_ptr_nonnull(c);
    memset(buf, 'x', sizeof(buf) - 1);
    ck_assert_int_eq(c->n, 7);
    ck_assert_str_eq(c->a, "one");
    ck_assert_ptr_null(c->b);
    ck_assert_str_eq(c->c, "");
    /* inside the copy's own block, not the source's */
    ck_assert((const char *)c->a > (const char *)c
              && (const char *)c->c > c->a);
    free(c);
}
END_TEST

Suite *events_suite(void);

Suite *events_suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("events");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sse_frames);
    tcase_add_test(tc, last_event_id);
    tcase_add_test(tc, ring_order_and_eviction);
    tcase_add_test(tc, ring_window);
    tcase_add_test(tc, decide_scopes);
    tcase_add_test(tc, decide_workspace_out_of_sight);
    tcase_add_test(tc, decide_visibility);
    tcase_add_test(tc, decide_principal_changes);
    tcase_add_test(tc, flat_copy);
    suite_add_tcase(s, tc);
    return s;
}
