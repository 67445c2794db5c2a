-- Signing people in: browser sessions, the single-use authorization codes
-- of `terraform login` (OAuth 2 with PKCE) and failed sign-in attempts for
-- throttling. Every secret is stored as its SHA-256 hash.

CREATE TABLE sessions (
    id            text PRIMARY KEY,
    token_hash    text NOT NULL UNIQUE,
    user_email    text NOT NULL REFERENCES users (email) ON DELETE CASCADE,
    provider_name text NOT NULL,
    client_address text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    -- idle expiry, moved forward while the session is used, never past
    -- max_expires_at
    expires_at    timestamptz NOT NULL,
    max_expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_email ON sessions (user_email);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE oauth_codes (
    code_hash      text PRIMARY KEY,
    client_id      text NOT NULL,
    redirect_uri   text NOT NULL,
    code_challenge text NOT NULL,
    user_email     text NOT NULL REFERENCES users (email) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

-- One row per failed attempt, keyed by the email as typed (known or not,
-- so throttling says nothing about which accounts exist) and by address.
CREATE TABLE login_failures (
    id             bigserial PRIMARY KEY,
    email          text NOT NULL,
    client_address text NOT NULL,
    failed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON login_failures (email, failed_at);
CREATE INDEX login_failures_address ON login_failures (client_address,
                                                       failed_at);

-- Deactivating a person ends their sign-ins at once, whoever changes the
-- row (the API, the admin tool or SQL).
CREATE FUNCTION tp_end_sessions_of_inactive() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sessions WHERE user_email = NEW.email;
    DELETE FROM oauth_codes WHERE user_email = NEW.email;
    RETURN NEW;
END $$;

CREATE TRIGGER users_deactivated AFTER UPDATE OF is_active ON users
    FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active)
    EXECUTE FUNCTION tp_end_sessions_of_inactive();
