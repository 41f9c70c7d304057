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
