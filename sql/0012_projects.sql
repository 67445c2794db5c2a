-- Projects: named groups of workspaces, as TFE has them. Every workspace
-- belongs to exactly one; the built-in default project holds those
-- created without one, cannot be deleted, and keeps the id it gets here.

CREATE TABLE projects (
    id                     text PRIMARY KEY,
    -- TFE's rule: letters, digits, spaces, - and _, no space at either end
    name                   text NOT NULL
                           CHECK (name ~ '^[A-Za-z0-9_-][A-Za-z0-9 _-]{1,38}[A-Za-z0-9_-]$'),
    description            text NOT NULL DEFAULT ''
                           CHECK (length(description) <= 256),
    -- the execution mode of workspaces created in the project without one
    default_execution_mode text NOT NULL DEFAULT 'local'
                           CHECK (default_execution_mode IN ('local', 'agent')),
    is_default             boolean NOT NULL DEFAULT false,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
-- names are found ignoring case (filter[names]), so they are unique so
CREATE UNIQUE INDEX projects_name ON projects (lower(name));
CREATE UNIQUE INDEX projects_one_default ON projects ((true)) WHERE is_default;

-- A TFE-looking id (prj- and 16 letters or digits), as the module makes
-- the ids of everything it creates.
INSERT INTO projects (id, name, is_default)
SELECT 'prj-' || string_agg(substr('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
                                   1 + floor(random() * 62)::int, 1), ''),
       'Default Project', true
  FROM generate_series(1, 16);

CREATE FUNCTION tp_default_project() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT id FROM projects WHERE is_default $$;

-- Existing workspaces, and any row inserted without a project (tools,
-- benchmarks), go to the default project. Deleting a project that still
-- holds workspaces is refused by the API first, by the key last.
ALTER TABLE workspaces
    ADD COLUMN project_id text NOT NULL DEFAULT tp_default_project()
        REFERENCES projects (id);
CREATE INDEX workspaces_project ON workspaces (project_id, name);
