-- Autodiscovery rules: a connection's repository and branch, a glob of
-- the files that make a directory a workspace, and the settings each
-- workspace it creates gets. Platform admins manage them. A workspace a
-- rule created names it; deleting the rule leaves the workspace, without
-- the rule.

CREATE TABLE autodiscovery_rules (
    id                      text PRIMARY KEY,
    name                    text NOT NULL
                            CHECK (length(name) BETWEEN 1 AND 90),
    vcs_connection_id       text NOT NULL
                            REFERENCES vcs_connections (id) ON DELETE CASCADE,
    repo_url                text NOT NULL,
    -- '' follows the repository's default branch
    branch                  text NOT NULL DEFAULT '',
    pattern                 text NOT NULL,
    ignore_patterns         jsonb NOT NULL DEFAULT '[]',
    name_template           text NOT NULL DEFAULT '{path}',
    enabled                 boolean NOT NULL DEFAULT true,
    -- what each workspace it creates gets
    execution_mode          text NOT NULL DEFAULT 'local'
                            CHECK (execution_mode IN ('local', 'agent')),
    execution_backend       text NOT NULL DEFAULT 'terraform'
                            CHECK (execution_backend IN ('terraform', 'tofu')),
    agent_pool_id           text REFERENCES agent_pools (id)
                            ON DELETE SET NULL,
    terraform_version       text NOT NULL DEFAULT 'latest',
    resource_cpu            text NOT NULL DEFAULT '1',
    resource_memory         text NOT NULL DEFAULT '2Gi',
    auto_apply              boolean NOT NULL DEFAULT false,
    on_directory_delete     text NOT NULL DEFAULT 'flag'
                            CHECK (on_directory_delete IN ('flag', 'destroy')),
    labels                  jsonb NOT NULL DEFAULT '{}',
    owner_email             text,
    -- stored for the features that will read them; the secrets in the
    -- templates (hmac-key, token) sealed
    var_files               jsonb NOT NULL DEFAULT '[]',
    run_task_templates      jsonb NOT NULL DEFAULT '[]',
    notification_templates  jsonb NOT NULL DEFAULT '[]',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX autodiscovery_rules_name
    ON autodiscovery_rules (vcs_connection_id, lower(name));

ALTER TABLE workspaces
    ADD COLUMN autodiscovery_rule_id text
        REFERENCES autodiscovery_rules (id) ON DELETE SET NULL,
    -- the destroy run a rule's on-directory-delete "destroy" queued: its
    -- apply archives the workspace
    ADD COLUMN lifecycle_run_id text REFERENCES runs (id) ON DELETE SET NULL;
CREATE INDEX workspaces_autodiscovery_rule ON workspaces (autodiscovery_rule_id)
    WHERE autodiscovery_rule_id IS NOT NULL;
-- a repository's directories are looked up per walk
CREATE INDEX workspaces_vcs_directory
    ON workspaces (lower(vcs_repo_url), working_directory)
    WHERE vcs_repo_url <> '';

CREATE FUNCTION tp_lifecycle_destroyed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workspaces
       SET lifecycle_state = 'archived',
           lifecycle_reason = lifecycle_reason || '; destroyed by ' || NEW.id,
           lifecycle_run_id = NULL, updated_at = now()
     WHERE lifecycle_run_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER runs_lifecycle_destroyed
    AFTER UPDATE OF status ON runs
    FOR EACH ROW WHEN (NEW.status = 'applied' AND NEW.is_destroy)
    EXECUTE FUNCTION tp_lifecycle_destroyed();
