-- Saved plans (`terraform plan -out` with a cloud block, runs with
-- save-plan): the plan ends in planned_and_saved, holding no workspace
-- lock, until someone applies it. It can be applied only while the
-- workspace's current state version is still the one the plan read.

ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN (
    'pending', 'plan_queued', 'planning', 'planned', 'planned_and_finished',
    'planned_and_saved', 'confirmed', 'apply_queued', 'applying', 'applied',
    'discarded', 'errored', 'canceled'));

-- The state version the runner fetched while planning (NULL: there was
-- none). No foreign key: a version deleted since still differs from the
-- current one, which is what makes the plan stale.
ALTER TABLE runs ADD COLUMN plan_state_version_id text;
