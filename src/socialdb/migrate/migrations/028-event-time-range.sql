-- Events must happen at a real time (issue 10, decision 48). Found by attacking 027: one
-- event of one seller at '294276-12-31 23:00+00' made every refresh and rebuild of the
-- daily summary fail ("date out of range for timestamp": the day after is past the last
-- timestamp), so no seller's dashboard moved until the row was deleted. Bounds 2000 to
-- 2200 (UTC) also refuse 'infinity', whose day is no day.
-- Locks: ACCESS EXCLUSIVE on analytics_events for a catalog change only (NOT VALID: no
-- scan). 029 validates the existing rows without blocking writers.

ALTER TABLE analytics_events ADD CONSTRAINT analytics_events_occurred_at_range
  CHECK (occurred_at >= '2000-01-01 00:00:00+00' AND occurred_at < '2200-01-01 00:00:00+00') NOT VALID;

-- ROLLBACK
ALTER TABLE analytics_events DROP CONSTRAINT analytics_events_occurred_at_range;
