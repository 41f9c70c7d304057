-- What Mastodon apps keep for a person besides posts: bookmarks (private to them) and the posts
-- pinned to their profile (public: the actor's `featured` collection). Each row's id pages the
-- lists by when it was made, as Mastodon pages them.
CREATE TABLE bookmarks (
    id bigserial PRIMARY KEY,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_id, post_id)
);
CREATE INDEX bookmarks_actor ON bookmarks (actor_id, id DESC);

CREATE TABLE pins (
    id bigserial PRIMARY KEY,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_id, post_id)
);

-- Hashtags a person follows: posts with them join their home timeline.
CREATE TABLE followed_tags (
    id bigserial PRIMARY KEY,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_id, name)
);

-- The followers and favourites lists page by these rows' ids, newest first.
CREATE INDEX follows_following ON follows (follower_id, id DESC) WHERE accepted;
CREATE INDEX likes_actor ON likes (actor_id, id DESC);

-- Mastodon's filters (v2): words, or single posts, that a person asks to be warned of or not
-- shown in the contexts named (home, notifications, public, thread, account).
CREATE TABLE filters (
    id bigserial PRIMARY KEY,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    title text NOT NULL,
    context text[] NOT NULL,
    filter_action text NOT NULL CHECK (filter_action IN ('warn', 'hide', 'blur')),
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX filters_actor ON filters (actor_id);

CREATE TABLE filter_keywords (
    id bigserial PRIMARY KEY,
    filter_id bigint NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    keyword text NOT NULL,
    whole_word boolean NOT NULL DEFAULT true
);
CREATE INDEX filter_keywords_filter ON filter_keywords (filter_id);

CREATE TABLE filter_statuses (
    id bigserial PRIMARY KEY,
    filter_id bigint NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    UNIQUE (filter_id, post_id)
);

-- Mastodon's lists: accounts a person follows, gathered under a title, each list a timeline.
CREATE TABLE lists (
    id bigserial PRIMARY KEY,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    title text NOT NULL,
    replies_policy text NOT NULL DEFAULT 'list' CHECK (replies_policy IN ('followed', 'list', 'none')),
    -- An exclusive list's members' posts leave the home timeline.
    exclusive boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lists_actor ON lists (actor_id);

CREATE TABLE list_accounts (
    id bigserial PRIMARY KEY,
    list_id bigint NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    UNIQUE (list_id, actor_id)
);
CREATE INDEX list_accounts_actor ON list_accounts (actor_id);

-- Mastodon's conversations: each thread of direct posts a person is in (named by its first
-- post), where they stopped reading it, and up to which post they took it out of their list.
CREATE TABLE conversation_states (
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    root_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    last_read_id bigint,
    removed_through bigint,
    PRIMARY KEY (actor_id, root_id)
);
