-- The real person a local account is, as this instance's staff verified it ("Taylor Swift"):
-- the only thing that lets a prompt name a public figure through that account's cameo. Set by
-- an admin (API or `likeness admin verified-identity`), never by the account itself, and never
-- taken from a remote server (the policy reads it for local accounts only).
ALTER TABLE actors ADD COLUMN verified_identity text
    CHECK (verified_identity IS NULL OR (local AND length(verified_identity) BETWEEN 1 AND 100));
