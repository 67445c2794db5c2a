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
-- in one transaction, so each fires once.
CREATE TABLE run_trigger_outbox (
    seq             bigserial PRIMARY KEY,
    source_run_id   text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    destination_id  text NOT NULL REFERENCES workspaces (id)
                    ON DELETE CASCADE,
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
