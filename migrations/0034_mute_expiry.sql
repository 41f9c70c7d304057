-- A mute for a time (Mastodon's `duration`): after `expires_at` it counts as gone, every query
-- that reads mutes comparing with now(), so no job has to delete it. NULL: until unmuted.
ALTER TABLE mutes ADD COLUMN expires_at timestamptz;
