-- Mastodon's markers: where a person stopped reading a timeline, so that any of their apps can
-- show what is new since (the web app's badge on Notifications counts the notifications after it).
CREATE TABLE markers (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    timeline text NOT NULL CHECK (timeline IN ('home', 'notifications')),
    last_read_id bigint NOT NULL,
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, timeline)
);
