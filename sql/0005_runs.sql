-- Runs with their plan and apply phases. A workspace runs one
-- non-speculative run at a time; the others wait in "pending", in order.

CREATE TABLE runs (
    id                text PRIMARY KEY,
    seq               bigserial NOT NULL UNIQUE,
    plan_id           text NOT NULL UNIQUE,
    apply_id          text NOT NULL UNIQUE,
    workspace_id      text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    configuration_version_id text REFERENCES configuration_versions (id)
                      ON DELETE SET NULL,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN (
                          'pending', 'plan_queued', 'planning', 'planned',
                          'planned_and_finished', 'confirmed', 'apply_queued',
                          'applying', 'applied', 'discarded', 'errored',
                          'canceled')),
    plan_status       text NOT NULL DEFAULT 'pending',
    apply_status      text NOT NULL DEFAULT 'pending',
    message           text NOT NULL DEFAULT '',
    source            text NOT NULL DEFAULT 'tfe-api',
    is_destroy        boolean NOT NULL DEFAULT false,
    auto_apply        boolean NOT NULL DEFAULT false,
    plan_only         boolean NOT NULL DEFAULT false,
    refresh           boolean NOT NULL DEFAULT true,
    refresh_only      boolean NOT NULL DEFAULT false,
    allow_empty_apply boolean NOT NULL DEFAULT false,
    save_plan         boolean NOT NULL DEFAULT false,
    target_addrs      jsonb NOT NULL DEFAULT '[]',
    replace_addrs     jsonb NOT NULL DEFAULT '[]',
    variables         jsonb NOT NULL DEFAULT '[]',
    vcs_ref           text NOT NULL DEFAULT '',
    has_changes       boolean,
    error_message     text NOT NULL DEFAULT '',
    created_by        text,
    created_state_version_id text,
    -- "<status>-at" -> RFC 3339, as the API reports them
    status_timestamps jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_workspace ON runs (workspace_id, seq DESC);
CREATE INDEX runs_active ON runs (status, seq)
    WHERE status NOT IN ('planned_and_finished', 'applied', 'discarded',
                         'errored', 'canceled');

-- a workspace lock may be held by a run instead of a person
ALTER TABLE workspaces ADD COLUMN lock_run_id text;
