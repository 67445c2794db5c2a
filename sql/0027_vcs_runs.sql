-- Configurations from a repository: a configuration version made from a
-- commit records where it came from (TFE's ingress attributes) and the
-- connection that fetched it; a workspace remembers the commit of its
-- tracked branch it last ran, and forgets its connection with it.

ALTER TABLE configuration_versions
    -- NULL unless fetched from a repository; keys as TFE's
    -- ingress-attributes name them (commit-sha, branch, tag, ...)
    ADD COLUMN ingress jsonb,
    ADD COLUMN vcs_connection_id text
        REFERENCES vcs_connections (id) ON DELETE SET NULL;

ALTER TABLE workspaces
    -- the tracked branch's commit the workspace last ran, or was seeded
    -- with; NULL: none yet
    ADD COLUMN vcs_last_commit_sha text;

-- a connection id that names no connection binds nothing
UPDATE workspaces SET vcs_connection_id = NULL
 WHERE vcs_connection_id IS NOT NULL
   AND vcs_connection_id NOT IN (SELECT id FROM vcs_connections);
ALTER TABLE workspaces
    ADD CONSTRAINT workspaces_vcs_connection_fk
        FOREIGN KEY (vcs_connection_id) REFERENCES vcs_connections (id)
        ON DELETE SET NULL;
CREATE INDEX workspaces_vcs_connection ON workspaces (vcs_connection_id)
    WHERE vcs_connection_id IS NOT NULL;
