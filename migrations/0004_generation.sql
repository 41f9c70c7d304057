-- Generation jobs (issue 4). The row is the job; the arq message only wakes a worker, and the
-- sweeper sends another when Redis has lost it.

CREATE TABLE generation_jobs (
    id bigserial PRIMARY KEY,
    -- Who asked: a local person, or (priority 0) a request that came from elsewhere.
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    remix_id bigint REFERENCES remixes (id) ON DELETE CASCADE,
    prompt text NOT NULL,
    -- The prompt with the cameos' written instructions, as the pipeline gets it.
    render_prompt text NOT NULL,
    cameo_uris text[] NOT NULL DEFAULT '{}',
    duration_s double precision NOT NULL,
    seed bigint NOT NULL,
    priority smallint NOT NULL DEFAULT 0,
    state text NOT NULL
        CHECK (state IN ('waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts integer NOT NULL DEFAULT 0,
    -- The arq job that stands for this row while it is queued, and when it was sent.
    arq_job_id text,
    enqueued_at timestamptz,
    -- The lease of the worker running it: only the holder of the token may finish the job.
    claim_token uuid,
    worker text,
    heartbeat_at timestamptz,
    step integer NOT NULL DEFAULT 0,
    total_steps integer,
    eta_s double precision,
    last_error text,
    failure_reason text,
    generator text,
    result_media_id bigint REFERENCES media (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX generation_jobs_queued ON generation_jobs (priority DESC, id) WHERE state = 'queued';
CREATE INDEX generation_jobs_running ON generation_jobs (heartbeat_at) WHERE state = 'running';
CREATE INDEX generation_jobs_waiting ON generation_jobs (remix_id) WHERE state = 'waiting';
CREATE INDEX generation_jobs_actor ON generation_jobs (actor_id, id DESC);
-- The fair queue serves first whoever was served longest ago.
CREATE INDEX generation_jobs_served ON generation_jobs (actor_id, started_at);
-- A remix has at most one job on the way; asking again returns it.
CREATE UNIQUE INDEX generation_jobs_remix_active ON generation_jobs (remix_id)
    WHERE state IN ('waiting', 'queued', 'running');
