-- Workspace settings TFE clients send and read. allow_destroy_plan is
-- enforced when a run is queued; the others shape VCS-driven runs and
-- remote-state sharing, which read them where they are built.
ALTER TABLE workspaces
    ADD COLUMN allow_destroy_plan boolean NOT NULL DEFAULT true,
    ADD COLUMN file_triggers_enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN queue_all_runs boolean NOT NULL DEFAULT false,
    ADD COLUMN speculative_enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN global_remote_state boolean NOT NULL DEFAULT false,
    ADD COLUMN trigger_prefixes jsonb NOT NULL DEFAULT '[]';
