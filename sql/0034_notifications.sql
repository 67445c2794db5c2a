-- Notification configurations of workspaces, and their durable delivery:
-- the transaction that moves a run writes an event, the background child
-- turns it into one delivery per (configuration, run, trigger) and sends
-- those, tried again with growing waits; the last results of each
-- configuration are kept for its readers.

CREATE TABLE notification_configurations (
    id                text PRIMARY KEY,          -- nc-...
    workspace_id      text NOT NULL REFERENCES workspaces (id)
                      ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    destination_type  text NOT NULL CHECK (destination_type IN
                      ('generic', 'slack', 'microsoft-teams', 'email')),
    url               text,
    -- the generic destination's HMAC key, sealed; never shown
    token_sealed      text,
    triggers          jsonb NOT NULL DEFAULT '[]',
    email_addresses   jsonb NOT NULL DEFAULT '[]',
    email_user_ids    jsonb NOT NULL DEFAULT '[]',
    enabled           boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_configurations_workspace
    ON notification_configurations (workspace_id, created_at);

-- A run's status changes of workspaces with an enabled configuration,
-- written by the transaction that moves the run (so none is lost to a
-- crash), until the delivery task has fanned them out.
CREATE TABLE notification_events (
    seq         bigserial PRIMARY KEY,
    run_id      text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One delivery per configuration, run and trigger: the unique key is what
-- keeps a (run, trigger) from being told twice. attempts counts the tries
-- begun; a try is counted (and the next one scheduled) before it is made,
-- so a crash mid-delivery leads to a retry, never to a loss.
CREATE TABLE notification_deliveries (
    id                bigserial PRIMARY KEY,
    configuration_id  text NOT NULL REFERENCES notification_configurations (id)
                      ON DELETE CASCADE,
    run_id            text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    trigger           text NOT NULL,
    run_status        text NOT NULL,
    run_updated_at    timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at      timestamptz,
    given_up          boolean NOT NULL DEFAULT false,
    last_error        text,
    UNIQUE (configuration_id, run_id, trigger)
);
CREATE INDEX notification_deliveries_due
    ON notification_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND NOT given_up;
CREATE INDEX notification_deliveries_run ON notification_deliveries (run_id);

-- What each try (and each verification) got back; the last 10 of each
-- configuration are kept.
CREATE TABLE notification_delivery_results (
    id                bigserial PRIMARY KEY,
    configuration_id  text NOT NULL REFERENCES notification_configurations (id)
                      ON DELETE CASCADE,
    trigger           text NOT NULL,
    run_id            text,
    successful        boolean NOT NULL,
    code              integer,       -- the HTTP status; NULL: no answer
    response          text NOT NULL DEFAULT '',  -- an excerpt
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_delivery_results_configuration
    ON notification_delivery_results (configuration_id, id DESC);

CREATE FUNCTION tp_notification_event() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM notification_configurations c
                WHERE c.workspace_id = NEW.workspace_id AND c.enabled) THEN
        INSERT INTO notification_events (run_id, status)
        VALUES (NEW.id, NEW.status);
        -- wakes the background child (TP_NOTIFY_CHANNEL) at the commit
        PERFORM pg_notify('terrapod_notifications', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER runs_notification_insert AFTER INSERT ON runs
    FOR EACH ROW EXECUTE FUNCTION tp_notification_event();
CREATE TRIGGER runs_notification_update AFTER UPDATE OF status ON runs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tp_notification_event();
