-- TFE's current-run of a workspace: the run holding it, or the last one
-- that held it (lock_run_id is cleared when the run ends).
ALTER TABLE workspaces ADD COLUMN current_run_id text
    REFERENCES runs (id) ON DELETE SET NULL;
UPDATE workspaces w SET current_run_id = COALESCE(w.lock_run_id,
    (SELECT r.id FROM runs r
      WHERE r.workspace_id = w.id AND NOT r.plan_only
        AND r.status_timestamps ? 'plan-queued-at'
      ORDER BY r.seq DESC LIMIT 1));
