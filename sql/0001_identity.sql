-- Users, platform roles and API tokens: what authentication needs.

CREATE TABLE users (
    email              text PRIMARY KEY
                       CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    id                 text NOT NULL UNIQUE,
    display_name       text NOT NULL DEFAULT '',
    password_hash      text,
    is_active          boolean NOT NULL DEFAULT true,
    is_service_account boolean NOT NULL DEFAULT false,
    last_login_at      timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE roles (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    description text NOT NULL DEFAULT '',
    built_in    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO roles (name, description, built_in) VALUES
    ('admin', 'Full access to everything', true),
    ('audit', 'Read access to everything', true),
    ('everyone', 'Read access to resources labelled access=everyone', true);

-- Assignments may name people who have not signed in yet (SSO), so the
-- email is not a foreign key.
CREATE TABLE role_assignments (
    provider_name text NOT NULL DEFAULT 'local',
    email         text NOT NULL,
    role_name     text NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_name, email, role_name)
);
CREATE INDEX role_assignments_email ON role_assignments (email);

CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    token_hash   text NOT NULL UNIQUE,
    user_email   text REFERENCES users (email) ON DELETE CASCADE,
    kind         text NOT NULL DEFAULT 'interactive'
                 CHECK (kind IN ('interactive', 'service_bound', 'service_detached')),
    description  text NOT NULL DEFAULT '',
    pinned_roles text[],
    created_by   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at   timestamptz,
    last_used_at timestamptz,
    expires_at   timestamptz,
    CHECK (kind = 'service_detached' OR user_email IS NOT NULL)
);
CREATE INDEX api_tokens_user_email ON api_tokens (user_email);
CREATE INDEX api_tokens_expires_at ON api_tokens (expires_at)
    WHERE expires_at IS NOT NULL;
