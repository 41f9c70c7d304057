-- A remote account's own server may suspend it (Mastodon's `toot:suspended` on the actor, sent in
-- an Update). `actors.suspended` stays the one flag that every query reads; this says whose
-- decision it is, as Mastodon's `suspension_origin`: the origin's (which its next Update lifts),
-- or, when false, a moderator's here (which no Update lifts). A moderator's action replaces it.
ALTER TABLE actors ADD COLUMN suspended_by_origin boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT actors_suspended_by_origin CHECK (NOT suspended_by_origin OR suspended AND NOT local);

-- A change of a local account's role (POST /api/v1/admin/accounts/:id/role, `likeness admin
-- set-role`) is an audit entry too: action `change_role` on the account, with both roles.
ALTER TABLE moderation_actions ADD COLUMN old_role text, ADD COLUMN new_role text,
    ADD CONSTRAINT moderation_actions_roles CHECK (CASE WHEN action = 'change_role'
        THEN old_role IS NOT NULL AND new_role IS NOT NULL ELSE old_role IS NULL AND new_role IS NULL END);
-- The admin view of an account shows its entries.
CREATE INDEX moderation_actions_account ON moderation_actions (account_id, id) WHERE account_id IS NOT NULL;
