-- Partitioned events: the summary keeps the days whose partitions the retention dropped
-- (issue 16, decision 91). `socialdb maintain --retain` drops whole months of events without
-- noting their days (no DELETE trigger fires), so the daily summary and the rollup keep those
-- days: they are the only record left of them. rebuild_analytics_daily_summary() recomputed
-- every day the summary holds, and would have deleted them (no events any more); it now
-- recomputes only the summary's days from the first day of the oldest partition on.
-- Supersedes: 027's body of rebuild_analytics_daily_summary().
-- Locks: none on any table (a function's catalog row).

CREATE OR REPLACE FUNCTION rebuild_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  first_kept date;
BEGIN
  -- The oldest partition's first day, from its partition constraint (whose literals carry
  -- their UTC offset); the default partition's is the negation of the others'. NULL with none.
  SELECT min((pg_catalog.substring(pg_catalog.pg_get_partition_constraintdef(t.relid),
                                   'occurred_at >= ''([^'']+)''')::timestamptz AT TIME ZONE 'UTC')::date)
    INTO first_kept
  FROM pg_catalog.pg_partition_tree('public.analytics_events'::regclass) AS t
  WHERE t.level = 1 AND t.relid <> 'public.analytics_events_default'::regclass;
  INSERT INTO public.analytics_summary_changes (user_id, date)
  SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM public.analytics_events
  UNION
  SELECT DISTINCT user_id, date FROM public.analytics_daily_summary WHERE date >= first_kept;
  PERFORM public.refresh_analytics_daily_summary();
END;
$$;

COMMENT ON FUNCTION rebuild_analytics_daily_summary() IS 'Recomputes the summary and the rollup from every event, for repairs; for socialdb_maintenance (socialdb summary rebuild). Days before the oldest partition of analytics_events, whose events the retention dropped, are kept as they are.';

-- ROLLBACK
CREATE OR REPLACE FUNCTION rebuild_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  INSERT INTO public.analytics_summary_changes (user_id, date)
  SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM public.analytics_events
  UNION
  SELECT DISTINCT user_id, date FROM public.analytics_daily_summary;
  PERFORM public.refresh_analytics_daily_summary();
END;
$$;

COMMENT ON FUNCTION rebuild_analytics_daily_summary() IS 'Recomputes the summary and the rollup from every event, for repairs; for socialdb_maintenance (socialdb summary rebuild).';
