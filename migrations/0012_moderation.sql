-- Reports and moderation (issue 5): reports, what moderators did (the audit log), and the flags
-- their actions leave on posts and accounts. policy/moderation.py says which action applies where.

-- A report on an account, and optionally on its posts or cameos. `reporter_id` is the local
-- person who reported, or the remote actor a `Flag` came from (then `origin_domain` is set); NULL
-- is a system report, such as a generation the output safety check held (`generation_id`).
CREATE TABLE reports (
    id bigserial PRIMARY KEY,
    reporter_id bigint REFERENCES actors (id) ON DELETE SET NULL,
    target_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    origin_domain text,
    category text NOT NULL DEFAULT 'other'
        CHECK (category IN ('spam', 'legal', 'violation', 'other', 'likeness')),
    comment text NOT NULL DEFAULT '',
    -- A report on a remote account that was sent on to its instance as a `Flag`.
    forwarded boolean NOT NULL DEFAULT false,
    generation_id bigint REFERENCES generation_jobs (id) ON DELETE SET NULL,
    assigned_to bigint REFERENCES users (id) ON DELETE SET NULL,
    resolved_by bigint REFERENCES users (id) ON DELETE SET NULL,
    resolved_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reports_open ON reports (id DESC) WHERE resolved_at IS NULL;
CREATE INDEX reports_target ON reports (target_id, id DESC);
-- A second report by one reporter on one account while the first is open merges into it.
CREATE UNIQUE INDEX reports_one_open ON reports (reporter_id, target_id)
    WHERE resolved_at IS NULL AND reporter_id IS NOT NULL;

CREATE TABLE report_posts (
    report_id bigint NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (report_id, post_id)
);

CREATE TABLE report_cameos (
    report_id bigint NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    cameo_id bigint NOT NULL REFERENCES cameos (id) ON DELETE CASCADE,
    PRIMARY KEY (report_id, cameo_id)
);

-- The audit log: every moderation action and report state change, who made it (NULL: the admin
-- command line), on what, under which report, with the moderator's text.
CREATE TABLE moderation_actions (
    id bigserial PRIMARY KEY,
    moderator_id bigint REFERENCES users (id) ON DELETE SET NULL,
    action text NOT NULL,
    target_kind text NOT NULL CHECK (target_kind IN ('account', 'status', 'cameo', 'report')),
    account_id bigint REFERENCES actors (id) ON DELETE SET NULL,
    post_id bigint REFERENCES posts (id) ON DELETE SET NULL,
    cameo_id bigint REFERENCES cameos (id) ON DELETE SET NULL,
    report_id bigint REFERENCES reports (id) ON DELETE CASCADE,
    text text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_actions_report ON moderation_actions (report_id, id) WHERE report_id IS NOT NULL;

-- A post a moderator hid: shown to its author and staff only. (Deleted posts use deleted_at.)
ALTER TABLE posts ADD COLUMN hidden_at timestamptz;
-- A silenced account stays out of public timelines; a sensitized one's media is always sensitive.
-- (`actors.suspended` and `users.disabled` exist since 0001.)
ALTER TABLE actors ADD COLUMN silenced boolean NOT NULL DEFAULT false;
ALTER TABLE actors ADD COLUMN sensitized boolean NOT NULL DEFAULT false;

-- What a moderation notification is about: a report (admin.report, report_resolved) or an
-- action taken on the person's account (moderation_warning).
ALTER TABLE notifications ADD COLUMN report_id bigint REFERENCES reports (id) ON DELETE CASCADE;
ALTER TABLE notifications
    ADD COLUMN moderation_action_id bigint REFERENCES moderation_actions (id) ON DELETE CASCADE;
