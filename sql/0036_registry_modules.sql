-- The private module registry: modules of the one namespace "default",
-- labelled and owned like workspaces so that registry RBAC decides who
-- sees and changes them; their versions, each a gzip tarball in storage
-- (registry/modules/<module>/<version>.tar.gz) with the interface and
-- README found in it at upload; and the workspaces linked to a module,
-- which get a plan-only run when a new version is published. A module
-- may instead follow a repository of a VCS connection, whose tags
-- matching its pattern become versions.

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
    -- VCS-backed: NULL connection, a module published by uploads
    vcs_connection_id text REFERENCES vcs_connections (id)
                    ON DELETE SET NULL,
    vcs_repo_url    text NOT NULL DEFAULT '',
    vcs_tag_pattern text NOT NULL DEFAULT 'v*'
                    CHECK (length(vcs_tag_pattern) BETWEEN 1 AND 100),
    vcs_checked_at  timestamptz,
    vcs_error       text,
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
    -- its precedence as bytes (tp_semver_parse), compared COLLATE "C"
    prerelease_order text NOT NULL DEFAULT '',
    size            bigint NOT NULL,
    -- {"variables": [...], "outputs": [...]} as the scanner found them
    interface       jsonb NOT NULL DEFAULT '{}',
    readme          text NOT NULL DEFAULT '',
    created_by      text,
    -- from a tag: the tag and its commit; a tag moved since to another
    -- commit is reported (moved_to_sha), never published again
    vcs_tag         text,
    vcs_commit_sha  text,
    vcs_moved_to_sha text,
    vcs_moved_at    timestamptz,
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
