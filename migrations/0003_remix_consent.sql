-- Remix consent (PROTOCOL.md "Cameos and consent").

-- On the requester's instance: a remix waiting for its cameo owners' consent. Its post id is
-- final from the start (the Note is inserted with it when the remix is published).
CREATE TABLE remixes (
    id bigserial PRIMARY KEY,
    post_id bigint NOT NULL UNIQUE,
    post_uri text NOT NULL UNIQUE,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    prompt text NOT NULL,
    prompt_digest text NOT NULL,
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'authorized', 'rejected', 'revoked', 'published')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX remixes_actor ON remixes (actor_id, id DESC);

-- Each cameo a remix uses, and the owner's answer for it.
CREATE TABLE remix_cameos (
    remix_id bigint NOT NULL REFERENCES remixes (id) ON DELETE CASCADE,
    cameo_uri text NOT NULL,
    owner_uri text NOT NULL,
    request_uri text UNIQUE,
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'approved', 'rejected', 'revoked')),
    authorization_uri text UNIQUE,
    authorization_document jsonb,
    answered_at timestamptz,
    PRIMARY KEY (remix_id, cameo_uri)
);

-- On the owner's instance: every request for a local cameo, answered or not, kept for good.
CREATE TABLE remix_requests (
    id bigserial PRIMARY KEY,
    uri text NOT NULL UNIQUE,
    cameo_id bigint NOT NULL REFERENCES cameos (id) ON DELETE CASCADE,
    requester_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_uri text NOT NULL,
    prompt text NOT NULL DEFAULT '',
    prompt_digest text NOT NULL,
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'approved', 'rejected', 'revoked')),
    reason text,
    revoked_at timestamptz,
    authorization_uri text UNIQUE,
    authorization_document jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz
);
CREATE INDEX remix_requests_cameo ON remix_requests (cameo_id, id DESC);

-- Instances that fetched an authorization (signed GETs): a revoke is sent to each of them.
CREATE TABLE authorization_fetches (
    request_id bigint NOT NULL REFERENCES remix_requests (id) ON DELETE CASCADE,
    inbox text NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, inbox)
);
