-- Live events (the .../events streams): each change a page follows is
-- recorded here by the transaction that makes it, and NOTIFY wakes every
-- Apache process's event hub to read it. The triggers are deferred to the
-- commit and take one advisory lock there, so ids are handed out in
-- commit order: a reader that has seen id N never sees a smaller one
-- appear later, which is what makes "id > N" a complete catch-up (after a
-- database restart) and a complete replay (Last-Event-ID). The lock is
-- taken after the transaction's own work, so it cannot deadlock with it.

CREATE TABLE events (
    id           bigserial PRIMARY KEY,
    type         text NOT NULL,
    workspace_id text,
    pool_id      text,
    -- the members of the event's JSON beside event, id and at
    payload      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_created ON events (created_at);

CREATE FUNCTION tp_event(kind text, ws text, pool text, payload jsonb)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7310025);
    INSERT INTO events (type, workspace_id, pool_id, payload)
        VALUES (kind, ws, pool, payload);
    PERFORM pg_notify('terrapod_events', '');
END $$;

CREATE FUNCTION tp_event_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tp_event('run_status_change', NEW.workspace_id, NULL,
        jsonb_build_object('workspace_id', NEW.workspace_id,
                           'run_id', NEW.id, 'status', NEW.status,
                           'previous_status', CASE WHEN TG_OP = 'UPDATE'
                                                   THEN OLD.status END));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER runs_event_insert AFTER INSERT ON runs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_run();
CREATE CONSTRAINT TRIGGER runs_event_status AFTER UPDATE OF status ON runs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tp_event_run();

CREATE FUNCTION tp_event_ws_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tp_event('workspace_lock_change', NEW.id, NULL,
        jsonb_build_object('workspace_id', NEW.id,
                           'locked', NEW.lock_holder IS NOT NULL));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER workspaces_event_lock
    AFTER UPDATE OF lock_holder ON workspaces
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.lock_holder IS NULL) <> (NEW.lock_holder IS NULL))
    EXECUTE FUNCTION tp_event_ws_lock();

CREATE FUNCTION tp_event_ws_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tp_event('workspace_updated', NEW.id, NULL,
                     jsonb_build_object('workspace_id', NEW.id));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER workspaces_event_insert AFTER INSERT ON workspaces
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_ws_updated();
-- anything but the lock, which has its own event
CREATE CONSTRAINT TRIGGER workspaces_event_update AFTER UPDATE ON workspaces
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (to_jsonb(OLD) - '{lock_holder,lock_reason,locked_at,lock_run_id}'::text[]
          IS DISTINCT FROM
          to_jsonb(NEW) - '{lock_holder,lock_reason,locked_at,lock_run_id}'::text[])
    EXECUTE FUNCTION tp_event_ws_updated();

-- a state version counts once its bytes are in (finalized)
CREATE FUNCTION tp_event_state_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tp_event('state_version_created', NEW.workspace_id, NULL,
        jsonb_build_object('workspace_id', NEW.workspace_id,
                           'state_version_id', NEW.id,
                           'serial', NEW.serial));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER state_versions_event_insert
    AFTER INSERT ON state_versions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status = 'finalized')
    EXECUTE FUNCTION tp_event_state_version();
CREATE CONSTRAINT TRIGGER state_versions_event_finalized
    AFTER UPDATE OF status ON state_versions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status = 'finalized' AND OLD.status <> 'finalized')
    EXECUTE FUNCTION tp_event_state_version();

-- workspace variables only: a variable set's reach many workspaces
CREATE FUNCTION tp_event_var() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v variables;
BEGIN
    v := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    PERFORM tp_event('workspace_variable_change', v.workspace_id, NULL,
        jsonb_build_object('workspace_id', v.workspace_id, 'var_id', v.id,
                           'action', CASE TG_OP WHEN 'INSERT' THEN 'created'
                                                WHEN 'UPDATE' THEN 'updated'
                                                ELSE 'deleted' END));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER variables_event_write
    AFTER INSERT OR UPDATE ON variables
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.workspace_id IS NOT NULL)
    EXECUTE FUNCTION tp_event_var();
CREATE CONSTRAINT TRIGGER variables_event_delete AFTER DELETE ON variables
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.workspace_id IS NOT NULL)
    EXECUTE FUNCTION tp_event_var();

-- a join inserts the listener, a rejoin under its name sets joined_with
CREATE FUNCTION tp_event_listener() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tp_event(TG_ARGV[0], NULL, NEW.pool_id,
        jsonb_build_object('pool_id', NEW.pool_id, 'listener_id', NEW.id,
                           'name', NEW.name,
                           'status', CASE WHEN NEW.revoked THEN 'revoked'
                                          ELSE 'online' END));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER listeners_event_joined
    AFTER INSERT OR UPDATE OF joined_with ON listeners
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_listener('listener_joined');
CREATE CONSTRAINT TRIGGER listeners_event_heartbeat
    AFTER UPDATE OF last_heartbeat_at ON listeners
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_listener('listener_heartbeat');

-- Never sent: ends the open streams of the person named (every stream
-- without one), whose access was decided when they opened. The browser
-- reconnects, authenticates again and is replayed what it missed.
CREATE FUNCTION tp_event_principal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text;
BEGIN
    -- TG_ARGV[0]: the column naming the person, if any
    IF TG_NARGS > 0 THEN
        who := COALESCE(to_jsonb(OLD), to_jsonb(NEW)) ->> TG_ARGV[0];
    END IF;
    PERFORM tp_event('principals_changed', NULL, NULL,
                     jsonb_strip_nulls(jsonb_build_object('email', who)));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER role_assignments_event
    AFTER INSERT OR UPDATE OR DELETE ON role_assignments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_principal('email');
CREATE CONSTRAINT TRIGGER roles_event AFTER UPDATE OR DELETE ON roles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_principal();
CREATE CONSTRAINT TRIGGER users_event_active AFTER UPDATE OF is_active ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.is_active AND NOT NEW.is_active)
    EXECUTE FUNCTION tp_event_principal('email');
CREATE CONSTRAINT TRIGGER users_event_delete AFTER DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_principal('email');
CREATE CONSTRAINT TRIGGER api_tokens_event_delete AFTER DELETE ON api_tokens
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_principal('user_email');

-- Listeners' long polls wait on their process's event hub, woken by the
-- run_status_change of a queued run: the channel of 0007 has no listener.
DROP TRIGGER runs_queued_notify ON runs;
DROP FUNCTION tp_run_queued_notify();
