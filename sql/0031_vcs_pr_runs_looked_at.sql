-- A request's commit that a workspace looked at and that touches nothing
-- of it is recorded without a run (so it is not looked at again): the
-- run is optional. Workspaces made for the directories of a request's
-- branch use workspaces.autodiscovery_pr_number, which exists already.
ALTER TABLE vcs_pr_runs ALTER COLUMN run_id DROP NOT NULL;
