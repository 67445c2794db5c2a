-- The private provider registry. Publishers register their OpenPGP public
-- keys; a version's SHA256SUMS and its detached signature are kept here
-- (small, and served as they came), the platform zips in storage under
-- registry/providers/{provider}/{version}/. A version is published in a
-- strict order: manifest, signature (verified against a registered key,
-- recorded in signed_by), then the zips the signed manifest names.
CREATE TABLE gpg_keys (
    id           text PRIMARY KEY,
    namespace    text NOT NULL DEFAULT 'default',
    key_id       text NOT NULL CHECK (key_id ~ '^[0-9A-F]{16}$'),
    fingerprint  text NOT NULL,
    ascii_armor  text NOT NULL,
    source       text NOT NULL DEFAULT '',
    source_url   text,
    created_by   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, key_id)
);

CREATE TABLE registry_providers (
    id           text PRIMARY KEY,
    namespace    text NOT NULL DEFAULT 'default',
    name         text NOT NULL CHECK (name ~ '^[a-z][a-z0-9-]{0,63}$'),
    description  text NOT NULL DEFAULT '',
    labels       jsonb NOT NULL DEFAULT '{}',
    owner_email  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);

CREATE TABLE registry_provider_versions (
    id           text PRIMARY KEY,
    provider_id  text NOT NULL REFERENCES registry_providers (id)
                               ON DELETE CASCADE,
    version      text NOT NULL,
    protocols    jsonb NOT NULL DEFAULT '["5.0"]',
    shasums      text NOT NULL,
    -- the detached signature, base64url; NULL until one verified
    shasums_sig  text,
    -- the namespace's key that verified it (its long id)
    signed_by    text,
    created_by   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider_id, version),
    CHECK ((shasums_sig IS NULL) = (signed_by IS NULL))
);
CREATE INDEX registry_provider_versions_signed_by
    ON registry_provider_versions (signed_by) WHERE signed_by IS NOT NULL;

CREATE TABLE registry_provider_platforms (
    id           text PRIMARY KEY,
    version_id   text NOT NULL REFERENCES registry_provider_versions (id)
                              ON DELETE CASCADE,
    os           text NOT NULL CHECK (os ~ '^[a-z0-9]{1,32}$'),
    arch         text NOT NULL CHECK (arch ~ '^[a-z0-9_]{1,32}$'),
    filename     text NOT NULL,
    shasum       text NOT NULL CHECK (shasum ~ '^[0-9a-f]{64}$'),
    h1           text NOT NULL,
    size         bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (version_id, os, arch)
);
