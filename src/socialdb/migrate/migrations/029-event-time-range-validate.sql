-- Validate 028's range on the events already stored (decision 48). A row outside it makes
-- this migration fail naming the constraint: move or delete that event, then migrate again.
-- Locks: SHARE UPDATE EXCLUSIVE on analytics_events during one scan (reads and writes go
-- on; at scale 1, 5M events, a few seconds).

ALTER TABLE analytics_events VALIDATE CONSTRAINT analytics_events_occurred_at_range;

-- ROLLBACK
-- A constraint cannot be un-validated: put it back as 028 left it (NOT VALID).
ALTER TABLE analytics_events DROP CONSTRAINT analytics_events_occurred_at_range;
ALTER TABLE analytics_events ADD CONSTRAINT analytics_events_occurred_at_range
  CHECK (occurred_at >= '2000-01-01 00:00:00+00' AND occurred_at < '2200-01-01 00:00:00+00') NOT VALID;
