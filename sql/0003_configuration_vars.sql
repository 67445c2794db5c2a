-- Configuration versions (uploaded terraform configurations), workspace
-- variables and variable sets.

CREATE TABLE configuration_versions (
    id              text PRIMARY KEY,
    seq             bigserial NOT NULL UNIQUE,
    workspace_id    text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'uploaded', 'errored', 'archived')),
    error_message   text NOT NULL DEFAULT '',
    auto_queue_runs boolean NOT NULL DEFAULT true,
    speculative     boolean NOT NULL DEFAULT false,
    provisional     boolean NOT NULL DEFAULT false,
    source          text NOT NULL DEFAULT 'tfe-api',
    size            bigint,
    sha256          text,
    file_count      integer,
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    uploaded_at     timestamptz
);
CREATE INDEX configuration_versions_workspace
    ON configuration_versions (workspace_id, seq DESC);

CREATE TABLE variable_sets (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
    description text NOT NULL DEFAULT '',
    global      boolean NOT NULL DEFAULT false,
    -- among sets, the higher priority wins a key both define
    priority    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A variable belongs to a workspace or to a variable set. Sensitive values
-- are kept only sealed (AES-256-GCM under a key derived from the
-- deployment's HMAC key), never in value.
CREATE TABLE variables (
    id           text PRIMARY KEY,
    workspace_id text REFERENCES workspaces (id) ON DELETE CASCADE,
    varset_id    text REFERENCES variable_sets (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_-]{0,127}$'),
    value        text NOT NULL DEFAULT '',
    sealed_value text,
    category     text NOT NULL CHECK (category IN ('terraform', 'env')),
    hcl          boolean NOT NULL DEFAULT false,
    sensitive    boolean NOT NULL DEFAULT false,
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 512),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((workspace_id IS NULL) <> (varset_id IS NULL)),
    CHECK (NOT sensitive OR value = '')
);
CREATE UNIQUE INDEX variables_workspace_key
    ON variables (workspace_id, category, key) WHERE workspace_id IS NOT NULL;
CREATE UNIQUE INDEX variables_varset_key
    ON variables (varset_id, category, key) WHERE varset_id IS NOT NULL;

CREATE TABLE variable_set_workspaces (
    varset_id    text NOT NULL REFERENCES variable_sets (id) ON DELETE CASCADE,
    workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    PRIMARY KEY (varset_id, workspace_id)
);
CREATE INDEX variable_set_workspaces_ws ON variable_set_workspaces (workspace_id);
