-- Runs executed by listeners: who claimed a run and when, whether someone
-- asked to cancel it while terraform ran, what the runner stored, and the
-- resources the runner used.

ALTER TABLE runs
    ADD COLUMN listener_id        text REFERENCES listeners (id)
                                  ON DELETE SET NULL,
    ADD COLUMN claimed_at         timestamptz,
    ADD COLUMN cancel_requested   boolean NOT NULL DEFAULT false,
    ADD COLUMN plan_file_stored   boolean NOT NULL DEFAULT false,
    ADD COLUMN peak_memory_bytes  bigint,
    ADD COLUMN peak_cpu_usec      bigint,
    ADD COLUMN exit_code          integer;

-- what runs/next scans: queued runs, oldest first
CREATE INDEX runs_queued ON runs (seq)
    WHERE status IN ('plan_queued', 'apply_queued');
-- what the reconciler scans
CREATE INDEX runs_claimed ON runs (listener_id)
    WHERE status IN ('planning', 'applying');
