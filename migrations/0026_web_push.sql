-- Web Push (Mastodon's /api/v1/push/subscription): one subscription per access token, gone
-- with its token, as Mastodon keeps them.
CREATE TABLE web_push_subscriptions (
    id bigserial PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE REFERENCES access_tokens (token_hash) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Mastodon's push payload carries the token, so that the app can fetch the notification; the
    -- row goes when the token does.
    access_token text NOT NULL,
    endpoint text NOT NULL,
    -- The browser's P-256 public key (uncompressed point) and its 16-byte auth secret (RFC 8291).
    p256dh bytea NOT NULL CHECK (length(p256dh) = 65),
    auth bytea NOT NULL CHECK (length(auth) = 16),
    -- RFC 8291's aes128gcm; false: the draft's aesgcm, which Mastodon still sends older apps.
    standard boolean NOT NULL,
    alerts jsonb NOT NULL,
    policy text NOT NULL CHECK (policy IN ('all', 'followed', 'follower', 'none')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX web_push_subscriptions_user ON web_push_subscriptions (user_id);

-- Whether the pusher has taken up a notification; those made before push existed count as taken.
ALTER TABLE notifications ADD COLUMN push_queued boolean NOT NULL DEFAULT true;
ALTER TABLE notifications ALTER COLUMN push_queued SET DEFAULT false;
CREATE INDEX notifications_push_pending ON notifications (id) WHERE NOT push_queued;
