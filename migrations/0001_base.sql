-- Accounts, actors, posts and the federation machinery of the base instance.

CREATE TABLE instance_settings (
    key text PRIMARY KEY,
    value jsonb NOT NULL
);
-- Names this instance's queues in Redis: tied to the database, so that a database made anew
-- never meets jobs left in Redis by its predecessor, and instances can share a Redis.
INSERT INTO instance_settings (key, value) VALUES ('instance_id', to_jsonb(gen_random_uuid()::text));

-- A local login. Its public face is the `actors` row that points back here.
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    username text NOT NULL,
    email text NOT NULL,
    password_hash text NOT NULL,
    role text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'moderator', 'user')),
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE access_tokens (
    token_hash bytea PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes text NOT NULL DEFAULT 'read write follow push',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);
CREATE INDEX access_tokens_user ON access_tokens (user_id);

-- Every actor we know: local people, the instance actor, and cached remote actors.
CREATE TABLE actors (
    id bigserial PRIMARY KEY,
    uri text NOT NULL UNIQUE,
    user_id bigint UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    local boolean NOT NULL,
    type text NOT NULL DEFAULT 'Person',
    username text NOT NULL,
    domain text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    summary text NOT NULL DEFAULT '',
    url text,
    icon_url text,
    inbox text,
    shared_inbox text,
    outbox text,
    followers_url text,
    following_url text,
    manually_approves_followers boolean NOT NULL DEFAULT false,
    public_figure boolean NOT NULL DEFAULT false,
    suspended boolean NOT NULL DEFAULT false,
    document jsonb,
    fetched_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Not unique: a remote server may reuse a name for two actors of different types.
CREATE INDEX actors_handle ON actors (lower(username), lower(domain));

-- Private keys of local actors. They never leave this table except as signatures.
CREATE TABLE actor_keys (
    actor_id bigint PRIMARY KEY REFERENCES actors (id) ON DELETE CASCADE,
    rsa_private_pem text NOT NULL,
    ed25519_private bytea NOT NULL
);

-- Public keys of any actor, local or remote, by key id (`...#main-key`, `...#ed25519-key`).
CREATE TABLE public_keys (
    key_id text PRIMARY KEY,
    owner_uri text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('rsa', 'ed25519')),
    public_pem text NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX public_keys_owner ON public_keys (owner_uri);

CREATE TABLE follows (
    id bigserial PRIMARY KEY,
    uri text NOT NULL UNIQUE,
    follower_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    followed_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    accepted boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (follower_id, followed_id)
);
CREATE INDEX follows_followed ON follows (followed_id) WHERE accepted;

CREATE TABLE blocks (
    id bigserial PRIMARY KEY,
    uri text NOT NULL UNIQUE,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    target_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_id, target_id)
);

-- Posts, local and remote: videos, comments (in_reply_to) and plain notes.
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    uri text NOT NULL UNIQUE,
    url text,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    local boolean NOT NULL,
    object_type text NOT NULL DEFAULT 'Note',
    visibility text NOT NULL CHECK (visibility IN ('public', 'unlisted', 'followers', 'direct')),
    content text NOT NULL DEFAULT '',
    source text,
    summary text,
    sensitive boolean NOT NULL DEFAULT false,
    language text,
    in_reply_to_uri text,
    in_reply_to_id bigint REFERENCES posts (id) ON DELETE SET NULL,
    reblog_of_id bigint REFERENCES posts (id) ON DELETE CASCADE,
    ai_generated boolean NOT NULL DEFAULT false,
    generator text,
    document jsonb,
    published_at timestamptz NOT NULL DEFAULT now(),
    edited_at timestamptz,
    deleted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_actor_published ON posts (actor_id, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX posts_public_timeline ON posts (id DESC)
    WHERE deleted_at IS NULL AND visibility = 'public' AND reblog_of_id IS NULL;
CREATE INDEX posts_reply ON posts (in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
CREATE INDEX posts_reply_uri ON posts (in_reply_to_uri) WHERE in_reply_to_uri IS NOT NULL;
CREATE UNIQUE INDEX posts_one_boost ON posts (actor_id, reblog_of_id)
    WHERE reblog_of_id IS NOT NULL AND deleted_at IS NULL;

-- Who a post addresses besides its visibility: mentions and direct recipients.
CREATE TABLE mentions (
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, actor_id)
);
CREATE INDEX mentions_actor ON mentions (actor_id);

CREATE TABLE tags (
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    name text NOT NULL,
    PRIMARY KEY (post_id, name)
);
CREATE INDEX tags_name ON tags (name, post_id DESC);

-- Uploaded or remote media. A local upload exists before its post (Mastodon's two-step upload).
CREATE TABLE media (
    id bigserial PRIMARY KEY,
    post_id bigint REFERENCES posts (id) ON DELETE CASCADE,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    position smallint NOT NULL DEFAULT 0,
    kind text NOT NULL CHECK (kind IN ('video', 'image')),
    media_type text NOT NULL,
    storage_key text,
    poster_key text,
    remote_url text,
    remote_poster_url text,
    byte_size bigint,
    width integer,
    height integer,
    duration double precision,
    frame_rate double precision,
    blurhash text,
    focal_x double precision NOT NULL DEFAULT 0,
    focal_y double precision NOT NULL DEFAULT 0,
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_post ON media (post_id, position);

CREATE TABLE likes (
    id bigserial PRIMARY KEY,
    uri text NOT NULL UNIQUE,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_id, post_id)
);
CREATE INDEX likes_post ON likes (post_id);

CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL,
    from_actor_id bigint REFERENCES actors (id) ON DELETE CASCADE,
    post_id bigint REFERENCES posts (id) ON DELETE CASCADE,
    read boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user ON notifications (user_id, id DESC);

-- Every activity that reached an inbox, kept before the 202 so that none is lost.
-- The unique activity id makes a redelivery a no-op.
CREATE TABLE inbox_activities (
    id bigserial PRIMARY KEY,
    activity_uri text NOT NULL UNIQUE,
    type text NOT NULL,
    signer_uri text NOT NULL,
    body jsonb NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed', 'ignored')),
    attempts integer NOT NULL DEFAULT 0,
    error text,
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);
CREATE INDEX inbox_activities_pending ON inbox_activities (id) WHERE state = 'pending';

-- What local actors sent, for their outbox collection.
CREATE TABLE outbox_activities (
    id bigserial PRIMARY KEY,
    uri text NOT NULL UNIQUE,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    type text NOT NULL,
    body jsonb NOT NULL,
    public boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_activities_actor ON outbox_activities (actor_id, id DESC);

-- Remote servers: what signature scheme they take and whether they answer.
CREATE TABLE peers (
    host text PRIMARY KEY,
    signature_scheme text NOT NULL DEFAULT 'cavage' CHECK (signature_scheme IN ('cavage', 'rfc9421-rsa', 'rfc9421-ed25519')),
    unreachable_since timestamptz,
    last_success_at timestamptz,
    software text
);

-- One row per (activity, distinct inbox). The arq job only carries the id: if Redis loses it,
-- the sweeper finds the row again.
CREATE TABLE deliveries (
    id bigserial PRIMARY KEY,
    activity_id bigint NOT NULL REFERENCES outbox_activities (id) ON DELETE CASCADE,
    inbox text NOT NULL,
    state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed', 'skipped')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    UNIQUE (activity_id, inbox)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'queued';
