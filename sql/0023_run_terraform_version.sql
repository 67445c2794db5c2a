-- The terraform version a run's plan ran with (TFE's terraform-version),
-- as the plan JSON the runner uploads names it.
ALTER TABLE runs ADD COLUMN terraform_version text;
