-- A worker handling a delivery or an inbox activity holds it by a short lease that it renews
-- while the work runs (federation/leases.py). A worker that dies stops renewing: its rows are
-- released, and queued again, as soon as the lease runs out, instead of ten minutes later.
-- `next_attempt_at` stays when a delivery is due; `leased_until` says it is being worked on.
ALTER TABLE deliveries ADD COLUMN leased_until timestamptz;
ALTER TABLE inbox_activities ADD COLUMN leased_until timestamptz;
-- The sweeper's look-up of expired leases, every few seconds: only rows in flight are indexed.
CREATE INDEX deliveries_leased ON deliveries (leased_until) WHERE leased_until IS NOT NULL;
CREATE INDEX inbox_activities_leased ON inbox_activities (leased_until) WHERE leased_until IS NOT NULL;
