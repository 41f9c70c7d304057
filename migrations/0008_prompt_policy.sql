-- The prompt policy: terms admins add, the refusal log, and what a remix keeps of each cameo's
-- owner (their instructions for the model, and the reason they refused).

-- Terms admins add to a category of the built-in lexicon (policy/lexicon/), as written.
CREATE TABLE prompt_terms (
    id bigserial PRIMARY KEY,
    category text NOT NULL CHECK (category IN ('sexual', 'minors', 'violence', 'self_harm', 'hate',
                                              'harassment', 'public_figure', 'override')),
    term text NOT NULL,
    created_by bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (category, term)
);

-- Every refused prompt, with the rule that fired. The prompt itself is not kept: a refused
-- prompt may sexualise or abuse a real person, and keeping it would keep that. Its digest
-- (the promptDigest form) lets a moderator match a prompt shown to them; the rule and the
-- lexicon term say why, which is what tuning the lists needs.
CREATE TABLE prompt_refusals (
    id bigserial PRIMARY KEY,
    actor_id bigint REFERENCES actors (id) ON DELETE SET NULL,
    actor_uri text NOT NULL,
    source text NOT NULL CHECK (source IN ('generation', 'remix', 'remix_request')),
    category text NOT NULL,
    rule text NOT NULL,
    term text NOT NULL,
    prompt_digest text NOT NULL,
    prompt_chars integer NOT NULL,
    cameo_uris text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prompt_refusals_actor ON prompt_refusals (actor_id, id DESC);

-- On the requester's instance: a remote cameo's instructions, from its Cameo `summary`, so that
-- they reach the model with the prompt (the reason an owner gave for a Reject is 0006's).
ALTER TABLE remix_cameos ADD COLUMN instructions text NOT NULL DEFAULT '';
