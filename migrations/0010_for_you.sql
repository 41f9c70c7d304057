-- For You (policy/ranking.py): engagement counters that triggers keep, whichever path writes
-- (the API, an inbox handler, a moderator), and a `hot` score derived from them.

CREATE FUNCTION post_hot(likes integer, boosts integer, replies integer, seen timestamptz)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT log((1 + likes + 2 * boosts + replies)::double precision)
           + (extract(epoch FROM seen) - 1704067200) / 45000.0
$$;

ALTER TABLE posts
    ADD COLUMN like_count integer NOT NULL DEFAULT 0,
    ADD COLUMN boost_count integer NOT NULL DEFAULT 0,
    ADD COLUMN reply_count integer NOT NULL DEFAULT 0;

UPDATE posts p SET
    like_count = (SELECT count(*) FROM likes l WHERE l.post_id = p.id),
    boost_count = (SELECT count(*) FROM posts b WHERE b.reblog_of_id = p.id AND b.deleted_at IS NULL),
    reply_count = (SELECT count(*) FROM posts r WHERE r.in_reply_to_id = p.id AND r.deleted_at IS NULL);

-- A remote post counts from when it arrived here (created_at), whatever date it claims.
ALTER TABLE posts ADD COLUMN hot double precision
    GENERATED ALWAYS AS (post_hot(like_count, boost_count, reply_count, LEAST(published_at, created_at)))
    STORED;

-- Increments, not recounts: two likes committing at once both count (the row lock orders them).
CREATE FUNCTION likes_engagement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE posts SET like_count = like_count + 1 WHERE id = NEW.post_id;
    ELSE
        UPDATE posts SET like_count = like_count - 1 WHERE id = OLD.post_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER likes_engagement AFTER INSERT OR DELETE ON likes
    FOR EACH ROW EXECUTE FUNCTION likes_engagement();

-- A boost or a reply counts while it is not deleted.
CREATE FUNCTION posts_engagement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL THEN
        IF OLD.reblog_of_id IS NOT NULL THEN
            UPDATE posts SET boost_count = boost_count - 1 WHERE id = OLD.reblog_of_id;
        END IF;
        IF OLD.in_reply_to_id IS NOT NULL THEN
            UPDATE posts SET reply_count = reply_count - 1 WHERE id = OLD.in_reply_to_id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
        IF NEW.reblog_of_id IS NOT NULL THEN
            UPDATE posts SET boost_count = boost_count + 1 WHERE id = NEW.reblog_of_id;
        END IF;
        IF NEW.in_reply_to_id IS NOT NULL THEN
            UPDATE posts SET reply_count = reply_count + 1 WHERE id = NEW.in_reply_to_id;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER posts_engagement AFTER INSERT OR DELETE OR UPDATE OF deleted_at, reblog_of_id, in_reply_to_id
    ON posts FOR EACH ROW EXECUTE FUNCTION posts_engagement();

CREATE INDEX posts_for_you ON posts (hot DESC, id DESC)
    WHERE deleted_at IS NULL AND visibility = 'public' AND reblog_of_id IS NULL AND in_reply_to_id IS NULL;
CREATE INDEX posts_actor_hot ON posts (actor_id, hot DESC, id DESC)
    WHERE deleted_at IS NULL AND visibility = 'public' AND reblog_of_id IS NULL AND in_reply_to_id IS NULL;

-- A person's steering: more or less of a creator, or of a topic (a hashtag).
CREATE TABLE feed_preferences (
    id bigserial PRIMARY KEY,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    target_actor_id bigint REFERENCES actors (id) ON DELETE CASCADE,
    tag text,
    direction text NOT NULL CHECK (direction IN ('more', 'less')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((target_actor_id IS NULL) <> (tag IS NULL))
);
CREATE UNIQUE INDEX feed_preferences_account ON feed_preferences (actor_id, target_actor_id)
    WHERE target_actor_id IS NOT NULL;
CREATE UNIQUE INDEX feed_preferences_tag ON feed_preferences (actor_id, tag) WHERE tag IS NOT NULL;
