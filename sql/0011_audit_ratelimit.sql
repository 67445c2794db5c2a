-- The audit log: one row per API request the module answered, written
-- after the response went out. Rows are never changed; only the retention
-- task deletes them, oldest first.

CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    token_id      text,
    method        text NOT NULL,
    -- never the query string: signed URLs carry their signature there
    path          text NOT NULL,
    resource_type text,
    resource_id   text,
    status        integer NOT NULL,
    client_ip     text NOT NULL,
    duration_ms   integer NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id,
                                              at DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
