-- Workspaces, their state versions and outputs, and the role rules that
-- decide who may do what with them.

ALTER TABLE roles
    ADD COLUMN workspace_permission text NOT NULL DEFAULT 'read'
        CHECK (workspace_permission IN ('read', 'plan', 'write', 'admin')),
    ADD COLUMN pool_permission text NOT NULL DEFAULT 'read'
        CHECK (pool_permission IN ('read', 'write', 'admin')),
    ADD COLUMN registry_permission text NOT NULL DEFAULT 'read'
        CHECK (registry_permission IN ('read', 'write', 'admin')),
    ADD COLUMN allow_labels jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN allow_names  jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN deny_labels  jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN deny_names   jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now();

CREATE TABLE workspaces (
    id                    text PRIMARY KEY,
    name                  text NOT NULL UNIQUE
                          CHECK (name ~ '^[A-Za-z0-9_-]{1,90}$'),
    description           text NOT NULL DEFAULT '',
    owner_email           text,
    execution_mode        text NOT NULL DEFAULT 'local'
                          CHECK (execution_mode IN ('local', 'agent')),
    auto_apply            boolean NOT NULL DEFAULT false,
    terraform_version     text NOT NULL DEFAULT 'latest',
    execution_backend     text NOT NULL DEFAULT 'terraform'
                          CHECK (execution_backend IN ('terraform', 'tofu')),
    working_directory     text NOT NULL DEFAULT '',
    resource_cpu          text NOT NULL DEFAULT '1',
    resource_memory       text NOT NULL DEFAULT '2Gi',
    labels                jsonb NOT NULL DEFAULT '{}',
    vcs_connection_id     text,
    vcs_repo_url          text NOT NULL DEFAULT '',
    vcs_branch            text NOT NULL DEFAULT '',
    drift_detection_enabled boolean NOT NULL DEFAULT false,
    drift_detection_interval_seconds integer NOT NULL DEFAULT 86400
                          CHECK (drift_detection_interval_seconds >= 3600),
    drift_ignore_rules    jsonb NOT NULL DEFAULT '[]',
    drift_last_checked_at timestamptz,
    drift_status          text NOT NULL DEFAULT '',
    drift_latest_run_id   text,
    ai_summary_mode       text NOT NULL DEFAULT 'default'
                          CHECK (ai_summary_mode IN ('default', 'enabled', 'disabled')),
    ai_summary_context    text NOT NULL DEFAULT ''
                          CHECK (length(ai_summary_context) <= 4000),
    lifecycle_state       text NOT NULL DEFAULT 'active',
    lifecycle_reason      text NOT NULL DEFAULT '',
    autodiscovery_pr_number integer,
    state_diverged        boolean NOT NULL DEFAULT false,
    lock_holder           text,          -- email of the user holding the lock
    lock_reason           text NOT NULL DEFAULT '',
    locked_at             timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workspaces_labels ON workspaces USING gin (labels);
CREATE INDEX workspaces_created ON workspaces (created_at, id);

-- A version is pending until its bytes are stored and verified; the
-- current one is the newest finalized (by seq).
CREATE TABLE state_versions (
    id             text PRIMARY KEY,
    seq            bigserial NOT NULL UNIQUE,
    workspace_id   text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    serial         bigint NOT NULL CHECK (serial >= 0),
    lineage        text NOT NULL DEFAULT '',
    md5            text NOT NULL CHECK (md5 ~ '^[0-9a-f]{32}$'),
    size           bigint,
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'finalized', 'discarded')),
    forced         boolean NOT NULL DEFAULT false,
    resource_count integer,          -- NULL: not counted (state too large)
    terraform_version text NOT NULL DEFAULT '',
    has_json_state boolean NOT NULL DEFAULT false,
    created_by     text,
    run_id         text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    finalized_at   timestamptz
);
CREATE INDEX state_versions_workspace ON state_versions (workspace_id, status, seq DESC);
-- two pending versions with the same serial cannot exist: parallel
-- creates race on this index and one wins
CREATE UNIQUE INDEX state_versions_pending_serial
    ON state_versions (workspace_id, serial) WHERE status = 'pending';

CREATE TABLE state_version_outputs (
    id               text PRIMARY KEY,
    state_version_id text NOT NULL REFERENCES state_versions (id) ON DELETE CASCADE,
    name             text NOT NULL,
    sensitive        boolean NOT NULL DEFAULT false,
    value            jsonb,
    detailed_type    jsonb,
    UNIQUE (state_version_id, name)
);

-- RFC 3339 in UTC, the one timestamp format of the API.
CREATE FUNCTION tp_ts(t timestamptz) RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;
