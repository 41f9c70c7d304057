-- Every render this instance keeps as a draft, remembered after the draft is gone (published,
-- withdrawn, discarded, expired) and after its job or requester is: an upload of the same bytes,
-- or one carrying this instance's C2PA manifest, is refused (server/upload_checks.py), and so is
-- a re-encoded copy of a remix's render, found by its perceptual fingerprint
-- (generation/fingerprint.py): one 64-bit hash per sampled frame, and its 16-bit pieces as coarse
-- keys, which the GIN index looks up without reading every render.
CREATE TABLE render_fingerprints (
    id bigserial PRIMARY KEY,
    job_id bigint REFERENCES generation_jobs (id) ON DELETE SET NULL,
    remix boolean NOT NULL,
    sha256 bytea NOT NULL,
    duration double precision NOT NULL,
    frames bigint[] NOT NULL,
    band_keys integer[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX render_fingerprints_sha256 ON render_fingerprints (sha256);
CREATE INDEX render_fingerprints_band_keys ON render_fingerprints USING gin (band_keys) WHERE remix;
CREATE INDEX render_fingerprints_job ON render_fingerprints (job_id);
