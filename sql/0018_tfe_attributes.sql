-- Why a run was made (TFE's trigger-reason): runs made through the API
-- are manual; VCS and run triggers will give their own.
ALTER TABLE runs ADD COLUMN trigger_reason text NOT NULL DEFAULT 'manual';

-- A short code of why a configuration upload was refused, beside the
-- message (TFE's error and error-message).
ALTER TABLE configuration_versions ADD COLUMN error text;
