-- A pool admin revokes a listener: when and by whom is kept and shown.
-- Each claim of a run by a listener gets an id of its own, which the
-- runner tokens minted for that phase are signed with: a later claim (the
-- apply after the plan, or a claim by another listener) leaves the tokens
-- of the earlier one useless.

ALTER TABLE listeners
    ADD COLUMN revoked_at timestamptz,
    ADD COLUMN revoked_by text;

UPDATE listeners SET revoked_at = updated_at WHERE revoked;

ALTER TABLE runs
    ADD COLUMN claim_id text;
