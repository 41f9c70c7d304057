-- The output safety check (issue 5): a draft whose frames the NSFW classifier scores at or above
-- the threshold is `held` until a moderator releases it (-> succeeded) or rejects it (-> failed,
-- its media deleted).

ALTER TABLE generation_jobs DROP CONSTRAINT generation_jobs_state_check;
ALTER TABLE generation_jobs ADD CONSTRAINT generation_jobs_state_check
    CHECK (state IN ('waiting', 'queued', 'running', 'held', 'succeeded', 'failed', 'cancelled'));

-- The check's verdict on the draft: the highest score and the frame that had it (both NULL when
-- the check itself failed, which holds too), and why it was held, for staff.
ALTER TABLE generation_jobs ADD COLUMN safety_score double precision;
ALTER TABLE generation_jobs ADD COLUMN safety_frame integer;
ALTER TABLE generation_jobs ADD COLUMN held_reason text;
-- Who released or rejected a held job, and when.
ALTER TABLE generation_jobs ADD COLUMN reviewed_by bigint REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE generation_jobs ADD COLUMN reviewed_at timestamptz;

-- Serving /media/ asks whether a file is a held draft, on every request.
CREATE INDEX generation_jobs_held ON generation_jobs (result_media_id) WHERE state = 'held';

-- A held remix render still counts as the remix's one job on the way: asking again returns it
-- rather than rendering again until a moderator decides.
DROP INDEX generation_jobs_remix_active;
CREATE UNIQUE INDEX generation_jobs_remix_active ON generation_jobs (remix_id)
    WHERE state IN ('waiting', 'queued', 'running', 'held');
