-- Drift detection: the runs the drift task queues, when each workspace is
-- next due (kept by a trigger, so the task's selection is one range scan
-- of a partial index however many workspaces there are), what a drift
-- run's plan held once the ignore rules were applied, and the assessment
-- each finished drift run leaves (TFE's assessment-results), written with
-- the workspace's drift status in the transaction that ends the run.

ALTER TABLE runs
    ADD COLUMN is_drift_detection boolean NOT NULL DEFAULT false,
    -- from the plan JSON after the workspace's drift-ignore-rules; NULL
    -- until classified (or when the plan JSON never came)
    ADD COLUMN drift_resources_drifted bigint,
    ADD COLUMN drift_resources_undrifted bigint;
CREATE INDEX runs_drift_active ON runs (workspace_id)
    WHERE is_drift_detection
      AND status NOT IN ('planned_and_finished', 'applied', 'discarded',
                         'errored', 'canceled');

-- NULL while drift detection is off; -infinity when never checked
ALTER TABLE workspaces ADD COLUMN drift_due_at timestamptz;

-- A little jitter (up to a tenth of the interval, at most ten minutes)
-- spreads workspaces checked together over time instead of keeping them
-- due at the same instant forever.
CREATE FUNCTION tp_drift_due() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.drift_due_at := CASE
        -- only agent runs can check; a local workspace is never due
        WHEN NOT NEW.drift_detection_enabled
             OR NEW.execution_mode <> 'agent' THEN NULL
        WHEN NEW.drift_last_checked_at IS NULL THEN '-infinity'
        ELSE NEW.drift_last_checked_at + make_interval(secs =>
               NEW.drift_detection_interval_seconds
               + floor(random() * least(NEW.drift_detection_interval_seconds
                                        / 10, 600)))
        END;
    RETURN NEW;
END $$;

CREATE TRIGGER workspaces_drift_due_insert
    BEFORE INSERT ON workspaces
    FOR EACH ROW EXECUTE FUNCTION tp_drift_due();
CREATE TRIGGER workspaces_drift_due_update
    BEFORE UPDATE ON workspaces
    FOR EACH ROW
    WHEN (OLD.drift_detection_enabled IS DISTINCT FROM NEW.drift_detection_enabled
          OR OLD.execution_mode IS DISTINCT FROM NEW.execution_mode
          OR OLD.drift_detection_interval_seconds
             IS DISTINCT FROM NEW.drift_detection_interval_seconds
          OR OLD.drift_last_checked_at IS DISTINCT FROM NEW.drift_last_checked_at)
    EXECUTE FUNCTION tp_drift_due();

UPDATE workspaces SET drift_due_at = CASE
    WHEN NOT drift_detection_enabled OR execution_mode <> 'agent' THEN NULL
    ELSE COALESCE(drift_last_checked_at + make_interval(
                      secs => drift_detection_interval_seconds),
                  '-infinity') END;
CREATE INDEX workspaces_drift_due ON workspaces (drift_due_at, id)
    WHERE drift_due_at IS NOT NULL;

-- One per finished drift run (id: asmtres- and the run's suffix). What a
-- notification of drift hangs on: an insert here is a new result.
CREATE TABLE drift_assessments (
    id                  text PRIMARY KEY,
    seq                 bigserial NOT NULL UNIQUE,
    workspace_id        text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    run_id              text NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE,
    drift_status        text NOT NULL
                        CHECK (drift_status IN ('no_drift', 'drifted', 'errored')),
    resources_drifted   bigint,
    resources_undrifted bigint,
    error_message       text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drift_assessments_workspace ON drift_assessments (workspace_id, seq DESC);

-- A drift run that ends records its result on the workspace; a canceled or
-- discarded one only counts as a check (so the task does not queue
-- another at once). A successful apply of any other run makes the last
-- drift run no longer the one that explains the infrastructure.
CREATE FUNCTION tp_drift_run_ended() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    IF NOT NEW.is_drift_detection THEN
        IF NEW.status = 'applied' THEN
            UPDATE workspaces SET drift_latest_run_id = NULL
             WHERE id = NEW.workspace_id AND drift_latest_run_id IS NOT NULL;
        END IF;
        RETURN NULL;
    END IF;
    IF NEW.status IN ('canceled', 'discarded') THEN
        UPDATE workspaces SET drift_last_checked_at = now()
         WHERE id = NEW.workspace_id;
        RETURN NULL;
    END IF;
    result := CASE
        WHEN NEW.status = 'errored' THEN 'errored'
        WHEN NEW.drift_resources_drifted IS NOT NULL
            THEN CASE WHEN NEW.drift_resources_drifted > 0
                      THEN 'drifted' ELSE 'no_drift' END
        -- no classified plan: what terraform said
        WHEN NEW.has_changes IS NOT DISTINCT FROM false THEN 'no_drift'
        ELSE 'drifted' END;
    UPDATE workspaces SET drift_status = result, drift_last_checked_at = now(),
           drift_latest_run_id = NEW.id
     WHERE id = NEW.workspace_id;
    PERFORM tp_event('drift_status_change', NEW.workspace_id, NULL,
                     jsonb_build_object('workspace_id', NEW.workspace_id,
                                        'run_id', NEW.id,
                                        'drift_status', result));
    INSERT INTO drift_assessments (id, workspace_id, run_id, drift_status,
                                   resources_drifted, resources_undrifted,
                                   error_message)
    VALUES ('asmtres-' || substr(NEW.id, 5), NEW.workspace_id, NEW.id, result,
            NEW.drift_resources_drifted, NEW.drift_resources_undrifted,
            NEW.error_message)
    ON CONFLICT (run_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER runs_drift_ended
    AFTER UPDATE OF status ON runs
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND NEW.status IN ('planned_and_finished', 'applied', 'errored',
                             'canceled', 'discarded'))
    EXECUTE FUNCTION tp_drift_run_ended();

-- a drift check is no news for the commit it ran: no commit status
DROP TRIGGER runs_vcs_status_insert ON runs;
DROP TRIGGER runs_vcs_status_update ON runs;
CREATE TRIGGER runs_vcs_status_insert AFTER INSERT ON runs
    FOR EACH ROW WHEN (NOT NEW.is_drift_detection)
    EXECUTE FUNCTION tp_vcs_status_enqueue();
CREATE TRIGGER runs_vcs_status_update AFTER UPDATE OF status ON runs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       AND NOT NEW.is_drift_detection)
    EXECUTE FUNCTION tp_vcs_status_enqueue();
