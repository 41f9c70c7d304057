-- An uploaded video is published only once the NSFW classifier has looked at a sample of its
-- frames, which takes too long for the upload request (server/upload_checks.py runs it on the
-- worker): 'pending' until then, 'refused' with the reason the uploader reads when flagged or
-- when it could not be checked. Everything else (images, checked on the request path; drafts;
-- remote media) is 'ready'.
ALTER TABLE media
    ADD COLUMN check_state text NOT NULL DEFAULT 'ready'
        CHECK (check_state IN ('pending', 'ready', 'refused')),
    ADD COLUMN check_reason text;

-- The sweeper looks for checks that Redis lost.
CREATE INDEX media_check_pending ON media (created_at) WHERE check_state = 'pending';
