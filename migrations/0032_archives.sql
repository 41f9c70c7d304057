-- A person's archive (Mastodon's "request your archive"), imports on a new server, and a server
-- that closes down properly (issue 17).

-- An archive asked for: built in the background by a worker (state and percent done as it goes),
-- then kept in the media store under `storage_key` until `expires_at`. One per 7 days, as Mastodon.
CREATE TABLE archives (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'building', 'ready', 'failed', 'expired')),
    progress smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    storage_key text UNIQUE,
    byte_size bigint,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- A building archive's worker moves this as it goes: one that stops moving was abandoned.
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    expires_at timestamptz
);
CREATE INDEX archives_user ON archives (user_id, id DESC);
CREATE INDEX archives_unfinished ON archives (updated_at) WHERE state IN ('queued', 'building');

-- Mastodon's mutes, which its muted_accounts.csv brings along.
CREATE TABLE mutes (
    id bigserial PRIMARY KEY,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    target_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    hide_notifications boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_id, target_id)
);

-- A cameo recreated from an archive names the cameo it was on the old server: importing the same
-- archive again finds it, and the consent ledger's authorizations name the old one.
ALTER TABLE cameos ADD COLUMN imported_from text;
CREATE UNIQUE INDEX cameos_imported_from ON cameos (actor_id, imported_from) WHERE imported_from IS NOT NULL;

-- The consent ledger a local account brought from its old server: every authorization its owner
-- gave there, exactly as signed (document, with its proof), whether it still stands, the signed
-- Delete that revoked it, and the inboxes that fetched it (those a revoke must reach).
CREATE TABLE imported_authorizations (
    id bigserial PRIMARY KEY,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    uri text NOT NULL,
    owner_uri text NOT NULL,
    cameo_uri text NOT NULL,
    -- The cameo recreated here from `cameo_uri`, if the archive carried it.
    cameo_id bigint REFERENCES cameos (id) ON DELETE SET NULL,
    grantee_uri text NOT NULL,
    post_uri text NOT NULL,
    prompt_digest text NOT NULL,
    request_uri text,
    document jsonb NOT NULL,
    -- The key that signed it, as the archive listed it: a third server checks the document
    -- against it offline, and the new actor can list it among its own former keys.
    key_id text NOT NULL,
    public_key_multibase text NOT NULL,
    published timestamptz NOT NULL,
    end_time timestamptz NOT NULL,
    state text NOT NULL CHECK (state IN ('live', 'revoked')),
    revocation jsonb,
    revoked_at timestamptz,
    holders text[] NOT NULL DEFAULT '{}',
    imported_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_id, uri)
);
CREATE INDEX imported_authorizations_uri ON imported_authorizations (uri);
CREATE INDEX imported_authorizations_cameo ON imported_authorizations (cameo_uri);

-- The rest of the ledger, kept as the archive gave it: each request the owner received or sent,
-- with its answer (one row per request, `entry` the archive's JSON of it).
CREATE TABLE imported_consent_records (
    id bigserial PRIMARY KEY,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    direction text NOT NULL CHECK (direction IN ('received', 'sent')),
    request_uri text NOT NULL,
    entry jsonb NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_id, direction, request_uri)
);
