-- Account moves, as Mastodon's: the new account lists the old one among its aliases
-- (`alsoKnownAs`), the old one names the new one (`movedTo`) once it has moved. Kept for local
-- and remote actors alike: a remote actor's come from its document, a local one's from its owner.
ALTER TABLE actors ADD COLUMN also_known_as text[] NOT NULL DEFAULT '{}';
ALTER TABLE actors ADD COLUMN moved_to_uri text;
ALTER TABLE actors ADD COLUMN moved_at timestamptz;
CREATE INDEX actors_moved_to ON actors (moved_to_uri) WHERE moved_to_uri IS NOT NULL;
