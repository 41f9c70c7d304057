-- For You lists videos only. It looked each of ~500 candidates up in `media` for a video, which
-- was about 70% of the feed query's time at a million posts; the post row now says so itself,
-- kept by a trigger on `media` whichever path attaches, detaches or deletes a file, and For You's
-- index holds only posts with a video.

ALTER TABLE posts ADD COLUMN has_video boolean NOT NULL DEFAULT false;

UPDATE posts p SET has_video = true
    WHERE EXISTS (SELECT 1 FROM media m WHERE m.post_id = p.id AND m.kind = 'video');

CREATE FUNCTION posts_has_video(post bigint) RETURNS void LANGUAGE sql AS $$
    UPDATE posts SET has_video = v.has
    FROM (SELECT EXISTS (SELECT 1 FROM media WHERE post_id = post AND kind = 'video') AS has) v
    WHERE id = post AND has_video <> v.has
$$;

CREATE FUNCTION media_has_video() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.post_id IS NOT NULL THEN
        PERFORM posts_has_video(OLD.post_id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.post_id IS NOT NULL
            AND (TG_OP = 'INSERT' OR NEW.post_id IS DISTINCT FROM OLD.post_id OR NEW.kind <> OLD.kind) THEN
        PERFORM posts_has_video(NEW.post_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER media_has_video AFTER INSERT OR DELETE OR UPDATE OF post_id, kind ON media
    FOR EACH ROW EXECUTE FUNCTION media_has_video();

CREATE INDEX posts_for_you_video ON posts (hot DESC, id DESC)
    WHERE deleted_at IS NULL AND visibility = 'public' AND reblog_of_id IS NULL AND in_reply_to_id IS NULL
    AND has_video;
