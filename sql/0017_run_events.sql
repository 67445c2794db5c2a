-- Run events (TFE's run-events): what happened to a run, when, and who
-- did it. The statement that moves a run records its event, so a run's
-- events and its status never disagree. Who confirmed a run (TFE's
-- confirmed-by), and who asked to cancel a run a listener was running:
-- the listener reports the cancel, and the event names that person.

CREATE TABLE run_events (
    id          text PRIMARY KEY,
    -- the order events happened in: several share a transaction's now()
    seq         bigserial NOT NULL,
    run_id      text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    action      text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- the email of the user whose request made the move, as runs.created_by
    -- keeps it; NULL when the server made it (a listener's report, the
    -- reconciler, a waiting run queued once its workspace came free)
    actor       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX run_events_run ON run_events (run_id, seq);

ALTER TABLE runs
    ADD COLUMN confirmed_by        text,
    ADD COLUMN cancel_requested_by text;
