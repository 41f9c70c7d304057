-- Published remixes: the cameos a post uses and the consent it carries (PROTOCOL.md step 4-6).

-- The prompt digest a post's authorizations are bound to.
ALTER TABLE posts ADD COLUMN prompt_digest text;
-- When the consent of a post that uses cameos was last verified (NULL: a post without cameos).
ALTER TABLE posts ADD COLUMN consent_checked_at timestamptz;

-- Each cameo a post uses, with the owner's signed authorization as it arrived (NULL for the
-- author's own cameo, which needs none).
CREATE TABLE post_cameos (
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position smallint NOT NULL,
    cameo_uri text NOT NULL,
    owner_uri text NOT NULL,
    authorization_uri text,
    authorization_document jsonb,
    PRIMARY KEY (post_id, position)
);
CREATE INDEX post_cameos_authorization ON post_cameos (authorization_uri)
    WHERE authorization_uri IS NOT NULL;

-- Authorizations their owner revoked, kept even when no post here used them yet: a post that
-- arrives later citing one is refused.
CREATE TABLE revoked_authorizations (
    uri text PRIMARY KEY,
    owner_uri text NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);

-- FEP-044f quote stamps for local posts, served at their ids while the quote is allowed.
CREATE TABLE quote_authorizations (
    id bigserial PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    request_uri text NOT NULL UNIQUE,
    quoting_uri text NOT NULL,
    requester_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    state text NOT NULL CHECK (state IN ('approved', 'rejected')),
    created_at timestamptz NOT NULL DEFAULT now()
);
