-- Retention: the artifacts of old runs (logs, plan files, plan JSON)
-- and the tarballs of old configuration versions are removed by the
-- retention task. A run whose files are gone is marked here, so its log
-- and plan JSON answer 410; a configuration version becomes 'archived'.
-- The indexes hold only what is still to be looked at, oldest first.
ALTER TABLE runs ADD COLUMN artifacts_removed_at timestamptz;
CREATE INDEX runs_retention ON runs (created_at)
    WHERE artifacts_removed_at IS NULL;
CREATE INDEX configuration_versions_retention
    ON configuration_versions (created_at) WHERE status = 'uploaded';
-- whether a run still needs a configuration version, asked per candidate
CREATE INDEX IF NOT EXISTS runs_configuration_version
    ON runs (configuration_version_id);
