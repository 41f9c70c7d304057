-- A draft its requester deletes leaves its job `discarded` (DELETE /api/v1/generations/:id).
ALTER TABLE generation_jobs DROP CONSTRAINT generation_jobs_state_check;
ALTER TABLE generation_jobs ADD CONSTRAINT generation_jobs_state_check
    CHECK (state IN ('waiting', 'queued', 'running', 'held', 'succeeded', 'failed', 'cancelled',
                     'discarded'));

-- The generation sweeper deletes a draft not yet published once its remix's consent is revoked
-- (generation.jobs.withdraw_drafts): these keep its look-up, every two seconds, to the few
-- revoked remixes and their jobs.
CREATE INDEX remixes_revoked ON remixes (id) WHERE state = 'revoked';
CREATE INDEX generation_jobs_remix ON generation_jobs (remix_id) WHERE remix_id IS NOT NULL;

-- A deleted local post's files are deleted by the sweeper (server/media_cleanup.py), as Mastodon
-- removes a deleted status's media: at once for a remix whose consent was revoked, else once no
-- open report names the post. `media_removed_at` says it was done; the partial index keeps the
-- sweeper's look-up to the posts still waiting.
ALTER TABLE posts ADD COLUMN media_removed_at timestamptz;
CREATE INDEX posts_media_to_remove ON posts (id)
    WHERE deleted_at IS NOT NULL AND media_removed_at IS NULL AND local;
CREATE INDEX report_posts_post ON report_posts (post_id);
