-- Each move of an account, as Mastodon's account_migrations: a local account's own moves (their
-- 30-day cooldown) and the remote moves handled here (a repeated Move within 7 days is ignored,
-- as Mastodon's move_in_progress key does). The origin's followers at the time are kept.
CREATE TABLE account_migrations (
    id bigserial PRIMARY KEY,
    origin_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    target_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    followers_count integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_migrations_origin ON account_migrations (origin_id, created_at DESC);
