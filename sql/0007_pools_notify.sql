-- Workspaces name the agent pool their runs go to (none: the pool named
-- "default"), and a run becoming claimable wakes the listeners waiting in
-- runs/next instead of leaving them to poll.

ALTER TABLE workspaces
    ADD COLUMN agent_pool_id text REFERENCES agent_pools (id)
                             ON DELETE SET NULL;
CREATE INDEX workspaces_agent_pool ON workspaces (agent_pool_id)
    WHERE agent_pool_id IS NOT NULL;

CREATE FUNCTION tp_run_queued_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_notify('terrapod_run_queued', NEW.id); RETURN NULL; END $$;

CREATE TRIGGER runs_queued_notify
    AFTER INSERT OR UPDATE OF status ON runs
    FOR EACH ROW WHEN (NEW.status IN ('plan_queued', 'apply_queued'))
    EXECUTE FUNCTION tp_run_queued_notify();
