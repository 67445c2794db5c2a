/* Live events' httpd-free parts: SSE frames, the ring of recent events,
 * Last-Event-ID, and who is sent which event. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "tp_events.h"
#include "tp_flat.h"
#include "tp_json.h"

/* ---- frames ---- */

/* s without CR and LF */
static const char *one_line(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) + 1), *o = out;

    for (; *s; s++) {
        if (*s != '\r' && *s != '\n') {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

const char *tp_sse_frame(apr_pool_t *p, apr_int64_t id, const char *event,
                         const char *data)
{
    /* each line break of data (CRLF, CR or LF) starts a data: line */
    char *out = apr_palloc(p, 64 + strlen(event) + strlen(data) * 7 + 8);
    char *o = out;

    o += apr_snprintf(o, 32, "id: %" APR_INT64_T_FMT "\n", id);
    o = stpcpy(stpcpy(stpcpy(o, "event: "), one_line(p, event)), "\n");
    o = stpcpy(o, "data: ");
    for (; *data; data++) {
        if (*data == '\r' || *data == '\n') {
            if (*data == '\r' && data[1] == '\n') {
                data++;
            }
            o = stpcpy(o, "\ndata: ");
        }
        else {
            *o++ = *data;
        }
    }
    stpcpy(o, "\n\n");
    return out;
}

const char *tp_sse_start(apr_pool_t *p, int retry_ms, apr_int64_t id)
{
    return apr_psprintf(p, "retry: %d\nid: %" APR_INT64_T_FMT "\n\n",
                        retry_ms, id);
}

const char *tp_sse_comment(apr_pool_t *p, const char *text)
{
    return apr_pstrcat(p, ": ", one_line(p, text), "\n\n", NULL);
}

int tp_ev_parse_id(const char *s, apr_int64_t *id)
{
    apr_int64_t v = 0;

    if (!s || !*s || strlen(s) > 19) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (APR_INT64_MAX - (*s - '0')) / 10) {
            return 0;
        }
        v = v * 10 + (*s - '0');
    }
    *id = v;
    return 1;
}

/* ---- the ring ---- */

struct tp_ev_ring {
    tp_event_t **slot;     /* capacity of them, malloc'd one by one */
    int capacity, head, count;
    apr_int64_t dropped_id;    /* the newest event dropped so far */
    apr_time_t dropped_at;     /* the latest time of one dropped */
};

static const apr_size_t STRINGS[] = {
    offsetof(tp_event_t, type),
    offsetof(tp_event_t, workspace_id),
    offsetof(tp_event_t, pool_id),
    offsetof(tp_event_t, principal),
    offsetof(tp_event_t, data),
    offsetof(tp_event_t, ws_name),
    offsetof(tp_event_t, ws_owner),
    offsetof(tp_event_t, ws_labels),
};
#define N_STRINGS (sizeof(STRINGS) / sizeof(STRINGS[0]))
#define FIELD(e, i) TP_FLAT_STR(e, STRINGS[i])

tp_ev_ring_t *tp_ev_ring_create(int capacity)
{
    tp_ev_ring_t *ring = calloc(1, sizeof(*ring));

    if (ring && (ring->slot = calloc((size_t)capacity,
                                     sizeof(*ring->slot))) == NULL) {
        free(ring);
        return NULL;
    }
    if (ring) {
        ring->capacity = capacity;
    }
    return ring;
}

void tp_ev_ring_destroy(tp_ev_ring_t *ring)
{
    int i;

    if (!ring) {
        return;
    }
    for (i = 0; i < ring->count; i++) {
        free(ring->slot[(ring->head + i) % ring->capacity]);
    }
    free(ring->slot);
    free(ring);
}

int tp_ev_ring_push(tp_ev_ring_t *ring, const tp_event_t *ev)
{
    tp_event_t *c = tp_flat_copy(ev, sizeof(*ev), STRINGS, N_STRINGS), *old;

    if (!c) {
        return 0;
    }
    if (ring->count == ring->capacity) {
        old = ring->slot[ring->head];
        ring->dropped_id = old->id;
        if (old->at > ring->dropped_at) {
            ring->dropped_at = old->at;
        }
        free(old);
        ring->head = (ring->head + 1) % ring->capacity;
        ring->count--;
    }
    ring->slot[(ring->head + ring->count) % ring->capacity] = c;
    ring->count++;
    return 1;
}

int tp_ev_ring_since(const tp_ev_ring_t *ring, apr_int64_t after,
                     apr_time_t since, apr_pool_t *p, int max,
                     tp_event_t **out, int *lost)
{
    int lo = 0, hi = ring->count, n = 0, i;

    *lost = after < ring->dropped_id && ring->dropped_at >= since;
    /* the first event above after: ids increase through the ring */
    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (ring->slot[(ring->head + mid) % ring->capacity]->id <= after) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    *out = apr_palloc(p, sizeof(**out) * (apr_size_t)(max > 0 ? max : 1));
    for (i = lo; i < ring->count && n < max; i++) {
        const tp_event_t *ev = ring->slot[(ring->head + i) % ring->capacity];
        apr_size_t s;

        if (ev->at < since) {
            continue;
        }
        (*out)[n] = *ev;
        for (s = 0; s < N_STRINGS; s++) {
            FIELD(&(*out)[n], s) = FIELD(ev, s) ? apr_pstrdup(p, FIELD(ev, s))
                                                : NULL;
        }
        n++;
    }
    return n;
}

/* ---- who is sent what ---- */

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* What the workspace list would show the subscriber: the same decision,
 * on the workspace as the event found it. */
static int may_read(apr_pool_t *p, const tp_grants_t *who,
                    const tp_event_t *ev)
{
    tp_resource_t res;

    if (!who) {
        return 0;
    }
    if (!ev->ws_name) {
        /* gone: nobody's to own or label any more */
        return who->is_admin || who->is_audit;
    }
    res.name = ev->ws_name;
    res.owner_email = ev->ws_owner;
    res.labels = ev->ws_labels ? tp_json_parse(p, ev->ws_labels,
                                               strlen(ev->ws_labels), NULL)
                               : NULL;
    return tp_rbac_level(who, TP_AXIS_WORKSPACE, &res) >= TP_LEVEL_READ;
}

tp_ev_verdict_e tp_ev_decide(apr_pool_t *p, const tp_ev_sub_t *sub,
                             const tp_event_t *ev)
{
    if (strcmp(ev->type, TP_EV_PRINCIPALS) == 0) {
        return ev->id > sub->opened
               && (!ev->principal || (sub->who && same(ev->principal,
                                                   sub->who->email)))
               ? TP_EV_END : TP_EV_SKIP;
    }
    switch (sub->scope) {
    case TP_EV_WORKSPACE:
        if (!same(ev->workspace_id, sub->id)) {
            return TP_EV_SKIP;
        }
        /* relabelled or gone out of the subscriber's sight: the stream
         * ends, and opening it again is refused */
        return may_read(p, sub->who, ev) ? TP_EV_SEND : TP_EV_END;
    case TP_EV_POOL:
        return same(ev->pool_id, sub->id) ? TP_EV_SEND : TP_EV_SKIP;
    case TP_EV_WORKSPACES:
        return ev->workspace_id && may_read(p, sub->who, ev) ? TP_EV_SEND
                                                               : TP_EV_SKIP;
    }
    return TP_EV_SKIP;
}

/* ---- the table ---- */

#define CATCH_UP_MARGIN 3600   /* seconds kept beyond the window */

static int retention = 600 + CATCH_UP_MARGIN;

/* a plain DELETE: one that removes nothing is no change to the processes'
 * cached reads (tp_db) */
static const tp_stmt_t SQL_EVENTS_PURGE = {"events_purge",
    "DELETE FROM events"
    " WHERE created_at < now() - %s::integer * interval '1 second'"};

void tp_events_set_retention(int window)
{
    retention = window + CATCH_UP_MARGIN;
}

tp_err_t *tp_events_purge(tp_db_t *db, apr_pool_t *p, const char **summary)
{
    const char *seconds = apr_itoa(p, retention);
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_EVENTS_PURGE, &rows,
                               TP_DB_ARGS(seconds));

    if (err) {
        return err;
    }
    *summary = apr_psprintf(p, "removed %lld events older than %s seconds",
                            rows->changed, seconds);
    return NULL;
}
