-- Profile pictures: the header's address for every actor (a remote one's `image`, as `icon_url`
-- is its `icon`), and for a local account the storage keys of the avatar and header it uploaded,
-- which /media/ serves and which are deleted when replaced or when the account goes.
ALTER TABLE actors ADD COLUMN header_url text;
ALTER TABLE actors ADD COLUMN avatar_key text;
ALTER TABLE actors ADD COLUMN header_key text;
CREATE UNIQUE INDEX actors_avatar_key ON actors (avatar_key) WHERE avatar_key IS NOT NULL;
CREATE UNIQUE INDEX actors_header_key ON actors (header_key) WHERE header_key IS NOT NULL;
