-- A post to many followers is expanded into its deliveries by a worker, not by the posting call:
-- the call records the activity with this mark, and the worker inserts one delivery per distinct
-- follower inbox and clears the mark in one transaction. A mark older than a lease is an
-- expansion whose job was lost (or whose worker died): the sweep queues it again.
ALTER TABLE outbox_activities ADD COLUMN followers_pending_since timestamptz;
CREATE INDEX outbox_activities_followers_pending ON outbox_activities (followers_pending_since)
    WHERE followers_pending_since IS NOT NULL;
