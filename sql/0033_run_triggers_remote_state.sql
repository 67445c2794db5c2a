-- Workspaces that feed each other: run triggers (a successful apply of a
-- source queues a run in each of its destinations) and remote-state
-- consumers (the workspaces whose runs may read a producer's state when
-- it does not share it globally: workspaces.global_remote_state, 0019).

-- The API keeps a destination to 20 sources: it holds the destination's
-- row while it counts and inserts.
CREATE TABLE run_triggers (
    id              text PRIMARY KEY,
    source_id       text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    destination_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (destination_id, source_id),
    CHECK (source_id <> destination_id)
);
CREATE INDEX run_triggers_source ON run_triggers (source_id);

CREATE TABLE remote_state_consumers (
    id              text PRIMARY KEY,
    producer_id     text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    consumer_id     text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (producer_id, consumer_id),
    CHECK (producer_id <> consumer_id)
);
CREATE INDEX remote_state_consumers_consumer
    ON remote_state_consumers (consumer_id);

-- A run a trigger queued: the source's run, and the chain of workspaces
-- whose applies led to it (the source's chain and the source). A
-- destination already in the chain is not triggered again, so a cycle
-- of triggers ends after one turn instead of looping.
ALTER TABLE runs
    ADD COLUMN triggered_by_run_id text REFERENCES runs (id)
        ON DELETE SET NULL,
    ADD COLUMN trigger_chain jsonb NOT NULL DEFAULT '[]';

-- The trigger outbox: one row for each destination of a source's
-- applied run, written by the transaction that marks the run applied,
-- so no trigger is lost to a crash. The background child's
-- `run-triggers` task queues the destination's run and deletes the row
-- in one transaction, so each fires once. No foreign key to the
-- destination: its share lock would make two workspaces that trigger
-- each other, applying at once, wait for each other's row (which each
-- holds while it ends its run); a row whose destination is gone is
-- dropped by the task.
CREATE TABLE run_trigger_outbox (
    seq             bigserial PRIMARY KEY,
    source_run_id   text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    destination_id  text NOT NULL,
    chain           jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION tp_run_triggers_enqueue() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_trigger_outbox (source_run_id, destination_id, chain)
    SELECT NEW.id, rt.destination_id,
           NEW.trigger_chain || to_jsonb(NEW.workspace_id)
      FROM run_triggers rt
     WHERE rt.source_id = NEW.workspace_id
       AND NOT NEW.trigger_chain ? rt.destination_id;
    RETURN NULL;
END $$;
-- plan-only runs (speculative ones and drift checks among them) never
-- reach applied
CREATE TRIGGER runs_run_triggers AFTER UPDATE OF status ON runs
    FOR EACH ROW
    WHEN (NEW.status = 'applied' AND OLD.status <> 'applied'
          AND NOT NEW.plan_only)
    EXECUTE FUNCTION tp_run_triggers_enqueue();

-- Live events: a trigger or a grant added or removed shows on both
-- workspaces' streams, so pages of either side follow it.
-- The trigger's arguments: the two workspace columns and the event type.
CREATE FUNCTION tp_event_ws_pair() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    j jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD)
                    ELSE to_jsonb(NEW) END;
    ws text;
BEGIN
    FOREACH ws IN ARRAY ARRAY[j ->> TG_ARGV[0], j ->> TG_ARGV[1]] LOOP
        PERFORM tp_event(TG_ARGV[2], ws, NULL,
            jsonb_build_object('workspace_id', ws, 'id', j ->> 'id',
                               TG_ARGV[0], j ->> TG_ARGV[0],
                               TG_ARGV[1], j ->> TG_ARGV[1],
                               'action', CASE TG_OP WHEN 'INSERT' THEN 'created'
                                                    ELSE 'deleted' END));
    END LOOP;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER run_triggers_event
    AFTER INSERT OR DELETE ON run_triggers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_ws_pair('source_id', 'destination_id',
                                      'run_trigger_change');
CREATE CONSTRAINT TRIGGER remote_state_consumers_event
    AFTER INSERT OR DELETE ON remote_state_consumers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tp_event_ws_pair('producer_id', 'consumer_id',
                                      'remote_state_consumer_change');
