-- Cameos: a person's likeness, its private reference images and who may use it.

CREATE TABLE cameos (
    id bigserial PRIMARY KEY,
    uri text NOT NULL UNIQUE,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    local boolean NOT NULL,
    name text NOT NULL,
    instructions text NOT NULL DEFAULT '',
    permission text NOT NULL DEFAULT 'only_me'
        CHECK (permission IN ('only_me', 'approved', 'mutuals', 'followers', 'everyone')),
    approval text NOT NULL DEFAULT 'automatic' CHECK (approval IN ('automatic', 'manual')),
    paused boolean NOT NULL DEFAULT false,
    preview_key text UNIQUE,
    preview_media_type text,
    preview_url text,
    document jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX cameos_actor ON cameos (actor_id, id) WHERE deleted_at IS NULL;

-- Reference images are never public: they are served only to a live authorization.
CREATE TABLE cameo_references (
    id bigserial PRIMARY KEY,
    cameo_id bigint NOT NULL REFERENCES cameos (id) ON DELETE CASCADE,
    position smallint NOT NULL,
    storage_key text NOT NULL UNIQUE,
    media_type text NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    UNIQUE (cameo_id, position)
);

-- The "people I approve" list of a cameo.
CREATE TABLE cameo_approved_actors (
    cameo_id bigint NOT NULL REFERENCES cameos (id) ON DELETE CASCADE,
    actor_id bigint NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    PRIMARY KEY (cameo_id, actor_id)
);
