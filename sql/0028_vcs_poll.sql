-- The VCS poller's memory, so that a restart of Apache, its background
-- child or PostgreSQL loses nothing: per (connection, repository, branch)
-- tracked by workspaces, what the provider last answered and when to ask
-- again; what webhooks asked for; and the webhook deliveries already
-- seen, so a replay does nothing twice.

CREATE TABLE vcs_poll_state (
    vcs_connection_id   text NOT NULL
                        REFERENCES vcs_connections (id) ON DELETE CASCADE,
    repo_owner          text NOT NULL,
    repo_name           text NOT NULL,
    -- as workspaces name it; '' for the repository's default branch,
    -- which default_branch then holds once asked
    branch              text NOT NULL,
    default_branch      text,
    etag                text,      -- of the last answer about the head
    last_sha            text,      -- the head seen last
    -- when the poller last asked (a webhook's request older than this
    -- has been answered) and when it asks next (NULL: now)
    checked_at          timestamptz,
    next_at             timestamptz,
    failures            integer NOT NULL DEFAULT 0,  -- in a row: backoff
    last_error          text,
    last_error_at       timestamptz,
    PRIMARY KEY (vcs_connection_id, repo_owner, repo_name, branch)
);

CREATE TABLE vcs_webhook_deliveries (
    provider      text NOT NULL CHECK (provider IN ('github', 'gitlab')),
    delivery_id   text NOT NULL CHECK (length(delivery_id) <= 200),
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, delivery_id)
);
CREATE INDEX vcs_webhook_deliveries_received
    ON vcs_webhook_deliveries (received_at);

-- What webhooks asked of the poller, one row per repository (owner/name
-- in lower case) and branch: '' asks for every tracked branch (pull
-- requests, tags, pings); a push names its branch and the commit it
-- pushed, so that later deliveries of a commit the poller has already
-- seen ask nothing.
CREATE TABLE vcs_poll_requests (
    vcs_connection_id   text NOT NULL
                        REFERENCES vcs_connections (id) ON DELETE CASCADE,
    repo                text NOT NULL,
    branch              text NOT NULL,
    sha                 text,
    requested_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vcs_connection_id, repo, branch)
);

-- wakes the background child, which LISTENs on its own connection
CREATE FUNCTION tp_vcs_poll_requested_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_notify('terrapod_vcs_poll', ''); RETURN NULL; END $$;

CREATE TRIGGER vcs_poll_requests_notify
    AFTER INSERT OR UPDATE ON vcs_poll_requests
    FOR EACH ROW EXECUTE FUNCTION tp_vcs_poll_requested_notify();
