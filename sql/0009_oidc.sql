-- Single sign-on attempts between the redirect to an OpenID Connect
-- provider and its callback. The state travels through the browser, so
-- only its SHA-256 is kept; the PKCE verifier is sealed. Rows are consumed
-- by the callback (single use) and expire after ten minutes.
CREATE TABLE sso_states (
    state_hash      text PRIMARY KEY,
    provider_name   text NOT NULL,
    nonce           text NOT NULL,
    verifier_sealed text NOT NULL,
    binding_hash    text NOT NULL,   -- SHA-256 of the browser's cookie
    return_to       text NOT NULL,
    redirect_uri    text NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX sso_states_expires_at ON sso_states (expires_at);
