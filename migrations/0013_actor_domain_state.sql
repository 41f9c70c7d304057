-- Every timeline row asks whether its author's server is suspended or limited. Evaluating the
-- domain rules (0006's functions) per row cost about 0.2 ms each, most of a For You page; the
-- answer now sits on the actor, set when an actor is stored and refreshed for every remote actor
-- whenever the rules change (federation/domain_rules.py calls refresh_domain_states).
ALTER TABLE actors
    ADD COLUMN domain_suspended boolean NOT NULL DEFAULT false,
    ADD COLUMN domain_limited boolean NOT NULL DEFAULT false;

CREATE FUNCTION actor_domain_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.domain_suspended := NOT NEW.local AND domain_suspended(NEW.domain);
    NEW.domain_limited := NOT NEW.local AND domain_limited(NEW.domain);
    RETURN NEW;
END $$;

CREATE TRIGGER actor_domain_state BEFORE INSERT OR UPDATE OF domain, local ON actors
    FOR EACH ROW EXECUTE FUNCTION actor_domain_state();

-- Once per distinct remote domain, not per actor; only rows whose state changes are written.
CREATE FUNCTION refresh_domain_states() RETURNS void LANGUAGE sql AS $$
    UPDATE actors a SET domain_suspended = s.suspended, domain_limited = s.limited
    FROM (SELECT domain, domain_suspended(domain) AS suspended, domain_limited(domain) AS limited
          FROM (SELECT DISTINCT domain FROM actors WHERE NOT local) d) s
    WHERE NOT a.local AND a.domain = s.domain
      AND (a.domain_suspended, a.domain_limited) IS DISTINCT FROM (s.suspended, s.limited)
$$;

SELECT refresh_domain_states();

-- The moderation and domain flags are rare: partial indexes keep their anti-joins cheap.
CREATE INDEX actors_suspended ON actors (id) WHERE suspended;
CREATE INDEX actors_silenced ON actors (id) WHERE silenced;
CREATE INDEX actors_domain_suspended ON actors (id) WHERE domain_suspended;
CREATE INDEX actors_domain_limited ON actors (id) WHERE domain_limited;
