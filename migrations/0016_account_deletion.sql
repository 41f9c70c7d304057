-- A deleted local account (server/account_deletion.py). Its actor row stays, with its keys, so
-- that the Delete it sends can still be signed and verified, its id answers 410, and its username
-- is never given to someone else; everything it made or held is gone.
ALTER TABLE actors ADD COLUMN deleted_at timestamptz;
