-- Instance rules: domain blocks and allows (Mastodon's), and the federation mode.

CREATE TABLE domain_blocks (
    id bigserial PRIMARY KEY,
    -- Normalised by policy/instance_rules.py: lowercase host, `:port` only when the rule has one.
    domain text NOT NULL UNIQUE,
    severity text NOT NULL DEFAULT 'silence' CHECK (severity IN ('silence', 'suspend', 'noop')),
    reject_media boolean NOT NULL DEFAULT false,
    reject_reports boolean NOT NULL DEFAULT false,
    reject_remix_requests boolean NOT NULL DEFAULT false,
    public_comment text,
    private_comment text,
    obfuscate boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The allow list, which counts only in allow-list mode (instance setting `federation_mode`).
CREATE TABLE domain_allows (
    id bigserial PRIMARY KEY,
    domain text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Why a cameo owner's instance refused a remix request, as its Reject said.
ALTER TABLE remix_cameos ADD COLUMN reason text;

-- The rule domains that could cover an authority (host[:port]), most specific first: itself,
-- its host, then each parent domain (none for IP addresses). Mirrors `candidates` in
-- policy/instance_rules.py, so that what timelines hide is what the inbox refuses.
CREATE FUNCTION domain_candidates(authority text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[a] || CASE
        WHEN h ~ '^[0-9.]+$' OR left(h, 1) = '[' THEN ARRAY[h]
        ELSE ARRAY(SELECT array_to_string(labels[i:], '.')
                   FROM generate_subscripts(labels, 1) AS i ORDER BY i)
    END
    FROM (SELECT lower(authority) AS a, regexp_replace(lower(authority), ':[0-9]+$', '') AS h) s,
         LATERAL (SELECT string_to_array(h, '.') AS labels) l
$$;

-- The block that applies to an authority: the most specific one covering it.
CREATE FUNCTION domain_block_for(authority text) RETURNS domain_blocks
LANGUAGE sql STABLE AS $$
    SELECT * FROM domain_blocks WHERE domain = ANY(domain_candidates(authority))
    ORDER BY length(domain) DESC LIMIT 1
$$;

-- Whether nothing may come from an authority: a suspend block, or allow-list mode without an
-- allow for it. Only ever asked about remote actors' domains.
CREATE FUNCTION domain_suspended(authority text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT severity = 'suspend' FROM domain_block_for(authority)), false)
        OR (coalesce((SELECT value = '"allowlist"'::jsonb FROM instance_settings
                      WHERE key = 'federation_mode'), false)
            AND NOT EXISTS (SELECT 1 FROM domain_allows
                            WHERE domain = ANY(domain_candidates(authority))))
$$;

-- Whether an authority's posts stay out of public timelines and non-followers' notifications.
CREATE FUNCTION domain_limited(authority text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT severity = 'silence' FROM domain_block_for(authority)), false)
        OR domain_suspended(authority)
$$;

-- Whether an authority's media are neither stored nor shown.
CREATE FUNCTION domain_rejects_media(authority text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT reject_media FROM domain_block_for(authority)), false)
        OR domain_suspended(authority)
$$;
