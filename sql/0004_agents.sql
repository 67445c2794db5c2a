-- Agent pools, the join tokens listeners register with, and the listeners
-- themselves with the one client certificate each may present.

CREATE TABLE agent_pools (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_-]{1,90}$'),
    description text NOT NULL DEFAULT '',
    labels      jsonb NOT NULL DEFAULT '{}',
    owner_email text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 of a join token is kept, like api_tokens.
CREATE TABLE agent_pool_tokens (
    id           text PRIMARY KEY,
    pool_id      text NOT NULL REFERENCES agent_pools (id) ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    description  text NOT NULL DEFAULT '',
    max_uses     integer CHECK (max_uses IS NULL OR max_uses > 0),
    uses         integer NOT NULL DEFAULT 0
                 CHECK (max_uses IS NULL OR uses <= max_uses),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    created_by   text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_pool_tokens_pool ON agent_pool_tokens (pool_id, created_at);

-- A listener is known by the fingerprint of its current certificate: a
-- reissue replaces it, so the previous certificate stops working.
CREATE TABLE listeners (
    id                text PRIMARY KEY,
    pool_id           text NOT NULL REFERENCES agent_pools (id) ON DELETE CASCADE,
    name              text NOT NULL
                      CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    cert_serial       text NOT NULL,
    cert_fingerprint  text NOT NULL UNIQUE,
    cert_not_after    timestamptz NOT NULL,
    revoked           boolean NOT NULL DEFAULT false,
    joined_with       text REFERENCES agent_pool_tokens (id) ON DELETE SET NULL,
    last_heartbeat_at timestamptz,
    capacity          integer NOT NULL DEFAULT 1 CHECK (capacity >= 0),
    version           text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pool_id, name)
);
