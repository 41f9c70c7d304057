-- OAuth 2 apps (Mastodon's POST /api/v1/apps), their authorization codes, and app tokens.

CREATE TABLE oauth_apps (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    website text,
    redirect_uris text[] NOT NULL,
    scopes text NOT NULL,
    client_id text NOT NULL UNIQUE,
    -- Only hashes: the secret is shown once, when the app registers.
    client_secret_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Single use: taking a code deletes it.
CREATE TABLE oauth_codes (
    code_hash bytea PRIMARY KEY,
    app_id bigint NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri text NOT NULL,
    scopes text NOT NULL,
    code_challenge text,
    expires_at timestamptz NOT NULL
);

-- A token issued to an app carries its app; a client-credentials token has no user.
ALTER TABLE access_tokens
    ADD COLUMN app_id bigint REFERENCES oauth_apps (id) ON DELETE CASCADE,
    ALTER COLUMN user_id DROP NOT NULL,
    ADD CONSTRAINT access_tokens_owner CHECK (user_id IS NOT NULL OR app_id IS NOT NULL);
