-- Pull and merge requests: the speculative plan each one gets per
-- workspace and head commit, the one comment per workspace and request,
-- and the commit statuses a run of a configuration from a repository
-- owes its provider.

-- one speculative run per (workspace, request, head commit): a commit
-- seen again is not planned again
CREATE TABLE vcs_pr_runs (
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    pr_number     integer NOT NULL CHECK (pr_number > 0),
    head_sha      text NOT NULL,
    run_id        text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, pr_number, head_sha)
);
CREATE INDEX vcs_pr_runs_run ON vcs_pr_runs (run_id);

-- the open requests of a repository's branch as last listed: asked again
-- with their ETag, an unchanged list costs a 304; only while the
-- workspaces of that branch stay as they were (their digest)
CREATE TABLE vcs_pr_lists (
    vcs_connection_id text NOT NULL
                      REFERENCES vcs_connections (id) ON DELETE CASCADE,
    identifier        text NOT NULL,
    branch            text NOT NULL,
    workspaces        text NOT NULL,
    etag              text NOT NULL,
    PRIMARY KEY (vcs_connection_id, identifier, branch)
);

-- the comment each workspace keeps on a request, edited in place
CREATE TABLE vcs_pr_comments (
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    pr_number     integer NOT NULL CHECK (pr_number > 0),
    comment_id    text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, pr_number)
);

-- The status outbox: a row for each status a run of a configuration from
-- a repository enters, written by the transaction that moves the run, so
-- no change is lost to a crash or a provider that is down. Rows of a run
-- are sent in order (seq); a row that failed waits (next_attempt_at) and
-- holds back the later ones of its run. Once sent, a row stays until the
-- next one of its run is: what the provider was last told.
CREATE TABLE vcs_status_outbox (
    seq               bigserial PRIMARY KEY,
    run_id            text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    workspace_id      text NOT NULL,
    status            text NOT NULL,
    vcs_connection_id text NOT NULL
                      REFERENCES vcs_connections (id) ON DELETE CASCADE,
    -- where: the repository (owner/name) and commit, and the request
    identifier        text NOT NULL,
    commit_sha        text NOT NULL,
    pr_number         integer,
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- the status posted; the comment (of a request's finished plan) too
    status_sent       boolean NOT NULL DEFAULT false,
    sent_at           timestamptz,
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_error        text
);
CREATE INDEX vcs_status_outbox_due ON vcs_status_outbox (next_attempt_at)
    WHERE sent_at IS NULL;
CREATE INDEX vcs_status_outbox_run ON vcs_status_outbox (run_id, seq);

CREATE FUNCTION tp_vcs_status_enqueue() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO vcs_status_outbox (run_id, workspace_id, status,
                                   vcs_connection_id, identifier, commit_sha,
                                   pr_number)
    SELECT NEW.id, NEW.workspace_id, NEW.status, cv.vcs_connection_id,
           cv.ingress ->> 'identifier', cv.ingress ->> 'commit-sha',
           NULLIF(NULLIF(cv.ingress ->> 'pull-request-number', ''), '0')::integer
      FROM configuration_versions cv
     WHERE cv.id = NEW.configuration_version_id
       AND cv.vcs_connection_id IS NOT NULL
       AND cv.ingress ->> 'identifier' IS NOT NULL
       AND cv.ingress ->> 'commit-sha' IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER runs_vcs_status_insert AFTER INSERT ON runs
    FOR EACH ROW EXECUTE FUNCTION tp_vcs_status_enqueue();
CREATE TRIGGER runs_vcs_status_update AFTER UPDATE OF status ON runs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tp_vcs_status_enqueue();
