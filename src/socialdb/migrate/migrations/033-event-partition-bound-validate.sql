-- Partitioned events, step 3 of 4 (issue 16, decision 87): validate 032's bound on the
-- events already stored, so that 034 attaches the table without scanning it under its
-- ACCESS EXCLUSIVE lock.
-- Supersedes: nothing.
-- Locks: SHARE UPDATE EXCLUSIVE on analytics_events during one scan (reads and writes go
-- on; at scale 1, 5M events, a few seconds).

ALTER TABLE analytics_events VALIDATE CONSTRAINT analytics_events_partition_bound;

-- ROLLBACK
-- A constraint cannot be un-validated: put it back as 032 left it (NOT VALID), same bound.
DO $$
DECLARE
  definition text := pg_catalog.pg_get_constraintdef(
    (SELECT oid FROM pg_catalog.pg_constraint
     WHERE conrelid = 'public.analytics_events'::regclass AND conname = 'analytics_events_partition_bound'));
BEGIN
  EXECUTE 'ALTER TABLE public.analytics_events DROP CONSTRAINT analytics_events_partition_bound';
  EXECUTE format('ALTER TABLE public.analytics_events ADD CONSTRAINT analytics_events_partition_bound %s NOT VALID',
                 definition);
END
$$;
