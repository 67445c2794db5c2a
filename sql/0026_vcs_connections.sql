-- VCS connections: how the module reaches a GitHub App installation or a
-- GitLab account. Platform admins manage them; workspaces and
-- autodiscovery rules will name one. Credentials are sealed at rest
-- (tp_seal, purpose "vcs-credentials") and never leave the server.

CREATE TABLE vcs_connections (
    id                      text PRIMARY KEY,
    name                    text NOT NULL
                            CHECK (length(name) BETWEEN 1 AND 90),
    provider                text NOT NULL
                            CHECK (provider IN ('github', 'gitlab')),
    -- NULL: the public service (api.github.com, gitlab.com)
    server_url              text,
    status                  text NOT NULL DEFAULT 'active'
                            CHECK (status IN ('active', 'disabled')),
    github_app_id           bigint,
    github_installation_id  bigint,
    github_account_login    text,
    github_account_type     text,
    -- the App's private key (PEM) or the GitLab token, sealed
    credential_sealed       text NOT NULL,
    -- a GitHub App's installation access token, sealed, kept until
    -- shortly before it expires; dropped when the App's key or ids change
    token_sealed            text,
    token_expires_at        timestamptz,
    -- NULL: the server-wide TerrapodVCSWebhookSecret
    webhook_secret_sealed   text,
    -- health, as the provider last answered
    last_success_at         timestamptz,
    last_error              text,
    last_error_at           timestamptz,
    rate_limit_remaining    integer,
    rate_limit_reset_at     timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (provider <> 'github'
           OR (github_app_id IS NOT NULL
               AND github_installation_id IS NOT NULL))
);
CREATE UNIQUE INDEX vcs_connections_name ON vcs_connections (lower(name));
-- one connection per App installation: webhooks name the installation
CREATE UNIQUE INDEX vcs_connections_installation
    ON vcs_connections (github_installation_id)
    WHERE github_installation_id IS NOT NULL;
