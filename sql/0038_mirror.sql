-- The provider network mirror's pull-through cache of an upstream
-- registry, and the binary cache of terraform and tofu releases.
--
-- A provider's version list as upstream last answered it, so that the
-- mirror's index.json answers while upstream is away.
CREATE TABLE mirror_providers (
    hostname   text NOT NULL,
    namespace  text NOT NULL,
    type       text NOT NULL,
    versions   jsonb NOT NULL,      -- [{version, protocols, platforms}]
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hostname, namespace, type)
);

-- A version whose SHA256SUMS passed its signature check: what the
-- mirror's {version}.json answers from, upstream reachable or not.
CREATE TABLE mirror_versions (
    id             text PRIMARY KEY,
    hostname       text NOT NULL,
    namespace      text NOT NULL,
    type           text NOT NULL,
    version        text NOT NULL,
    shasums        text NOT NULL,
    signing_key_id text NOT NULL,
    verified_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (hostname, namespace, type, version)
);

-- One platform's archive: its name and SHA-256 from the signed manifest;
-- the rest once the archive was fetched, checked and stored (storage key
-- registry/mirror/<id>.zip).
CREATE TABLE mirror_archives (
    id         text PRIMARY KEY,
    version_id text NOT NULL REFERENCES mirror_versions ON DELETE CASCADE,
    os         text NOT NULL,
    arch       text NOT NULL,
    filename   text NOT NULL,
    shasum     text NOT NULL,
    h1         text,
    size       bigint,
    cached_at  timestamptz,
    UNIQUE (version_id, os, arch)
);

-- A release of terraform or tofu for one platform, checked against its
-- signed SHA256SUMS and stored (storage key cache/binaries/<tool>/...).
CREATE TABLE binary_cache (
    id         text NOT NULL UNIQUE,
    tool       text NOT NULL CHECK (tool IN ('terraform', 'tofu')),
    version    text NOT NULL,
    os         text NOT NULL,
    arch       text NOT NULL,
    filename   text NOT NULL,
    shasum     text NOT NULL,
    size       bigint NOT NULL,
    cached_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tool, version, os, arch)
);
