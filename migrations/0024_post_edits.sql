-- Mastodon's status edits: each version of an edited post, the original first, for
-- GET /api/v1/statuses/:id/history. `media` keeps the attachments as they were then (the rows
-- of a remote post's media are replaced on each edit, and a local one's may be detached).
CREATE TABLE post_edits (
    id bigserial PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    content text NOT NULL,
    summary text,
    sensitive boolean NOT NULL,
    media jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL
);
CREATE INDEX post_edits_post ON post_edits (post_id, created_at, id);
