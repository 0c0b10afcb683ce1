-- Partitioned events, step 2 of 4 (issue 16, decision 87): a CHECK on the existing events
-- matching the range they will have as the first partition, [2000-01-01, bound). Once 033
-- has validated it, 034's ATTACH PARTITION knows the rows fit and skips its scan.
-- The bound is the first day (UTC) of the month after next, computed when this runs, so
-- that there is a month or more between this migration and the bound: run 031-034 in one
-- `migrate up`. Until 034 has run, an event dated at or after the bound is refused with
-- this constraint's name (SQLSTATE 23514); from 034 on it lands in its month's partition
-- (or the default one). The lower bound is 028's: no event is older.
-- Supersedes: nothing.
-- Locks: ACCESS EXCLUSIVE on analytics_events for a catalog change only (NOT VALID: no scan).

DO $$
BEGIN
  EXECUTE format(
    'ALTER TABLE public.analytics_events ADD CONSTRAINT analytics_events_partition_bound'
    ' CHECK (occurred_at >= %L AND occurred_at < %L) NOT VALID',
    '2000-01-01 00:00:00+00',
    to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months', 'YYYY-MM-DD') || ' 00:00:00+00');
END
$$;

-- ROLLBACK
ALTER TABLE analytics_events DROP CONSTRAINT analytics_events_partition_bound;
