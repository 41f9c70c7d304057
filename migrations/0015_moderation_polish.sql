-- A remote account's own server may suspend it (Mastodon's `toot:suspended` on the actor, sent in
-- an Update). `actors.suspended` stays the one flag that every query reads; this says whose
-- decision it is, as Mastodon's `suspension_origin`: the origin's (which its next Update lifts),
-- or, when false, a moderator's here (which no Update lifts). A moderator's action replaces it.
ALTER TABLE actors ADD COLUMN suspended_by_origin boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT actors_suspended_by_origin CHECK (NOT suspended_by_origin OR suspended AND NOT local);
