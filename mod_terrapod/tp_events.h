/* Live events: what a stream is sent and how. The SSE frames, the ring of
 * recent events an Apache process keeps for its streams, Last-Event-ID,
 * and which events a subscriber may be sent. No httpd, no database: the
 * hub and the streams (mod_terrapod_events.c) are built on these. */
#ifndef TP_EVENTS_H
#define TP_EVENTS_H

#include <apr_pools.h>
#include <apr_time.h>
#include "tp_rbac.h"
#include "tp_db.h"

/* The internal event that ends the streams of a person whose access may
 * have changed (never sent). */
#define TP_EV_PRINCIPALS "principals_changed"

typedef struct tp_event {
    apr_int64_t id;           /* increasing in commit order */
    apr_time_t at;            /* when it was recorded */
    const char *type;
    const char *workspace_id; /* NULL when it is about none */
    const char *pool_id;
    const char *principal;    /* TP_EV_PRINCIPALS: whose (NULL: everyone) */
    const char *data;         /* the JSON sent as data: */
    /* the workspace's name, owner and labels (JSON text) as it stood,
     * for visibility; NULL name: the workspace is gone */
    const char *ws_name;
    const char *ws_owner;
    const char *ws_labels;
} tp_event_t;

/* ---- frames ---- */

/* One event as an SSE frame: id, event and data lines and the blank line
 * that ends it. A line break in data continues it on another data: line
 * (the client joins them back with LF); one in id or event, which cannot
 * hold one, is dropped. */
const char *tp_sse_frame(apr_pool_t *p, apr_int64_t id, const char *event,
                         const char *data);
/* The frame a stream starts with: how soon to reconnect, and the id it
 * starts after. It dispatches no event, but the browser keeps the id and
 * sends it back as Last-Event-ID: a stream that ends before its first
 * event resumes where it began, not at its reconnect. */
const char *tp_sse_start(apr_pool_t *p, int retry_ms, apr_int64_t id);
/* A comment frame (": text"), what keep-alives are; line breaks dropped. */
const char *tp_sse_comment(apr_pool_t *p, const char *text);

/* 1 and *id for a Last-Event-ID: decimal digits only, at most
 * APR_INT64_MAX; 0 for anything else. */
int tp_ev_parse_id(const char *s, apr_int64_t *id);

/* ---- the ring ---- */

/* The newest events, at most capacity of them; the oldest is dropped for
 * a new one. Not locked: its owner serializes the calls. */
typedef struct tp_ev_ring tp_ev_ring_t;

tp_ev_ring_t *tp_ev_ring_create(int capacity);   /* NULL without memory */
void tp_ev_ring_destroy(tp_ev_ring_t *ring);
/* Adds a copy of ev, newer than every event added before; 0 without
 * memory (then it is not added). */
int tp_ev_ring_push(tp_ev_ring_t *ring, const tp_event_t *ev);
/* Copies into p up to max events with an id above after and recorded at
 * or after since (the replay window), oldest first, in *out; returns how
 * many. *lost is set when events above after that were recorded at or
 * after since were dropped before they could be read. */
int tp_ev_ring_since(const tp_ev_ring_t *ring, apr_int64_t after,
                     apr_time_t since, apr_pool_t *p, int max,
                     tp_event_t **out, int *lost);

/* ---- who is sent what ---- */

typedef enum {
    TP_EV_WORKSPACE,    /* the events of one workspace */
    TP_EV_WORKSPACES,   /* the events of every workspace the reader sees */
    TP_EV_POOL          /* the events of one agent pool */
} tp_ev_scope_e;

typedef struct tp_ev_sub {
    tp_ev_scope_e scope;
    const char *id;              /* the workspace's or the pool's */
    const tp_grants_t *who;      /* the subscriber, as it opened */
    /* the newest event id when it opened: the principal changes up to
     * it came before its authentication, so they do not end it */
    apr_int64_t opened;
} tp_ev_sub_t;

typedef enum {
    TP_EV_SKIP,   /* not this subscriber's */
    TP_EV_SEND,
    /* the subscriber's access may have changed (its roles, or its
     * workspace's name, owner or labels): end */
    TP_EV_END
} tp_ev_verdict_e;

/* What to do with ev for sub; p for the decision's scratch. */
tp_ev_verdict_e tp_ev_decide(apr_pool_t *p, const tp_ev_sub_t *sub,
                             const tp_event_t *ev);

/* ---- the table ---- */

/* How long rows are kept: the replay window (seconds), set once at
 * start-up, plus an hour for a hub that was cut off from the database
 * to catch up from. */
void tp_events_set_retention(int window);
/* The periodic task that deletes older rows. */
tp_err_t *tp_events_purge(tp_db_t *db, apr_pool_t *p, const char **summary);

#endif
