-- Consent that outlives its server (issue 17). A succession is an account's move from an old
-- actor to a new one, proven by a `Move` that the old actor's Ed25519 key signed (FEP-8b32):
-- kept by the new account's server, which publishes it, and by every server that checked it, so
-- that the old key still proves the old authorizations once the old server is gone.
CREATE TABLE successions (
    old_actor_uri text PRIMARY KEY,
    new_actor_uri text NOT NULL,
    -- The old actor's Multikey that signed the Move (and the old authorizations).
    key_id text NOT NULL,
    public_key_multibase text NOT NULL,
    move jsonb NOT NULL,
    verified_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX successions_new_actor ON successions (new_actor_uri);

