-- The private module registry: modules of the one namespace "default",
-- labelled and owned like workspaces so that registry RBAC decides who
-- sees and changes them; their versions, each a gzip tarball in storage
-- (registry/modules/<module>/<version>.tar.gz) with the interface and
-- README found in it at upload; and the workspaces linked to a module,
-- which get a plan-only run when a new version is published.

CREATE TABLE registry_modules (
    id              text PRIMARY KEY,
    namespace       text NOT NULL DEFAULT 'default'
                    CHECK (namespace = 'default'),
    name            text NOT NULL
                    CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    provider        text NOT NULL CHECK (provider ~ '^[a-z0-9]{1,64}$'),
    description     text NOT NULL DEFAULT '',
    labels          jsonb NOT NULL DEFAULT '{}',
    owner_email     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX registry_modules_address
    ON registry_modules (namespace, name, provider);

-- Versions are semantic versions; their numbers are kept apart so that
-- lists sort by precedence (a release above its pre-releases).
CREATE TABLE registry_module_versions (
    id              text PRIMARY KEY,
    module_id       text NOT NULL
                    REFERENCES registry_modules (id) ON DELETE CASCADE,
    version         text NOT NULL,
    major           bigint NOT NULL,
    minor           bigint NOT NULL,
    patch           bigint NOT NULL,
    prerelease      text NOT NULL DEFAULT '',
    size            bigint NOT NULL,
    -- {"variables": [...], "outputs": [...]} as the scanner found them
    interface       jsonb NOT NULL DEFAULT '{}',
    readme          text NOT NULL DEFAULT '',
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (module_id, version)
);

CREATE TABLE registry_module_links (
    id              text PRIMARY KEY,
    module_id       text NOT NULL
                    REFERENCES registry_modules (id) ON DELETE CASCADE,
    workspace_id    text NOT NULL
                    REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (module_id, workspace_id)
);
CREATE INDEX registry_module_links_workspace
    ON registry_module_links (workspace_id);
