-- What a run's plan and apply did, as TFE reports them on plans and
-- applies: the resource counts (of the plan, from its JSON when the runner
-- stores it; of the apply, from terraform's summary when the phase ends;
-- NULL until known), and where each phase ran (execution-details, as the
-- listener and its pool were when it claimed the phase).

ALTER TABLE runs
    ADD COLUMN plan_additions      bigint,
    ADD COLUMN plan_changes        bigint,
    ADD COLUMN plan_destructions   bigint,
    ADD COLUMN plan_imports        bigint,
    ADD COLUMN apply_additions     bigint,
    ADD COLUMN apply_changes       bigint,
    ADD COLUMN apply_destructions  bigint,
    ADD COLUMN apply_imports       bigint,
    ADD COLUMN plan_execution      jsonb,
    ADD COLUMN apply_execution     jsonb;

-- A finished plan has or has not changes: a listener that did not say
-- reported none, which is what the run went on with.
UPDATE runs SET has_changes = false
 WHERE has_changes IS NULL AND plan_status = 'finished';
