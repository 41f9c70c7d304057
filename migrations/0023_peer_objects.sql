-- What peers send, kept as Mastodon keeps it (issue 14).

-- Remote media as Mastodon types it: audio, and `unknown` for a file it links rather than shows.
-- (`gifv` is a video Mastodon found to have no sound once downloaded; allowed for the same API.)
ALTER TABLE media DROP CONSTRAINT media_kind_check;
ALTER TABLE media ADD CONSTRAINT media_kind_check
    CHECK (kind IN ('video', 'image', 'gifv', 'audio', 'unknown'));

-- A local account a remote post addresses in `to`/`cc` without a Mention tag: Mastodon's silent
-- mention, which lets it see the post but neither notifies it nor lists it among the mentions.
ALTER TABLE mentions ADD COLUMN silent boolean NOT NULL DEFAULT false;

-- A remote Question's poll: {"multiple", "options": [{"title", "votes_count"}], "expires_at",
-- "voters_count", "closed"}, as its server last reported it.
ALTER TABLE posts ADD COLUMN poll jsonb;

-- A quote post (FEP-044f `quote`, or Misskey's `_misskey_quote` / `quoteUrl`): the post it
-- quotes, and whether the quoted author approved it (Mastodon 4.5's Quote `state`).
ALTER TABLE posts ADD COLUMN quote_uri text;
ALTER TABLE posts ADD COLUMN quote_id bigint REFERENCES posts (id) ON DELETE SET NULL;
ALTER TABLE posts ADD COLUMN quote_state text CHECK (quote_state IN ('pending', 'accepted', 'rejected'));
CREATE INDEX posts_quote_uri ON posts (quote_uri) WHERE quote_uri IS NOT NULL;
