-- A remote account's recent public posts and its cameos, fetched when someone here first looks at
-- it or follows it (federation/backfill.py): when that was last done, so that it is done at most
-- once an hour, and until when a worker holds it, so that it never runs twice at once.
ALTER TABLE actors ADD COLUMN backfilled_at timestamptz, ADD COLUMN backfilling_until timestamptz;
