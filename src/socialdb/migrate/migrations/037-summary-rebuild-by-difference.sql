-- The summary's rebuild writes only what differs (issue 15, decision 102), and neither the
-- rebuild nor the refresh touches a day before the oldest partition (decision 104).
-- Before, rebuild_analytics_daily_summary() noted every (seller, day) of the events and of
-- the summary, then ran the refresh over all of them: the refresh's per-day join over the
-- whole event table, and an upsert of every summary row that locked (so wrote) each one
-- even when its values were equal. 0.87x the spec's REFRESH MATERIALIZED VIEW CONCURRENTLY
-- at scale 1. Now, as that REFRESH does: one aggregate over the events, a full join with
-- the summary (and one with the rollup), and writes for the rows that differ only.
-- Days before the oldest partition lost their events to the retention; the summary is all
-- that is left of them (035, decision 91). A late event of such a day lands in the default
-- partition; the refresh recomputed the day from it alone and the rebuild counted it, both
-- overwriting the kept totals (found in review). Both now leave those days frozen; the
-- stray is reported by `socialdb maintain`.
-- Supersedes: 035's body of rebuild_analytics_daily_summary() and 027's of
-- refresh_analytics_daily_summary().
-- Locks: none on any table (a function's catalog row). The rebuild itself, when run, takes
-- the refresh's SHARE UPDATE EXCLUSIVE on analytics_summary_changes, as before; readers of
-- the summary wait for nothing.

CREATE OR REPLACE FUNCTION rebuild_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET work_mem = '256MB'
AS $$
DECLARE
  first_kept date;
BEGIN
  -- One refresh or rebuild at a time (the refresh's lock); every day is recomputed here,
  -- so the noted changes are done with: those committed after this snapshot stay noted.
  LOCK TABLE public.analytics_summary_changes IN SHARE UPDATE EXCLUSIVE MODE;
  -- The oldest partition's first day, from its partition constraint (whose literals carry
  -- their UTC offset); the default partition's is the negation of the others'. With none,
  -- every day. Days before it lost their events to the retention: kept as they are (035).
  SELECT coalesce(min((pg_catalog.substring(pg_catalog.pg_get_partition_constraintdef(t.relid),
                                   'occurred_at >= ''([^'']+)''')::timestamptz AT TIME ZONE 'UTC')::date),
                  '-infinity'::date)
    INTO first_kept
  FROM pg_catalog.pg_partition_tree('public.analytics_events'::regclass) AS t
  WHERE t.level = 1 AND t.relid <> 'public.analytics_events_default'::regclass;
  WITH claimed AS (
    DELETE FROM public.analytics_summary_changes
  ), fresh AS (
    SELECT e.user_id, e.client_account_id,
           coalesce(e.client_account_id, '00000000-0000-0000-0000-000000000000'::uuid) AS client_account_key,
           (e.occurred_at AT TIME ZONE 'UTC')::date AS date, e.event_category, e.event_type,
           count(*) AS event_count, sum(e.value) AS total_value, avg(e.value) AS avg_value
    FROM public.analytics_events AS e
    WHERE e.occurred_at >= first_kept::timestamp AT TIME ZONE 'UTC'
    GROUP BY e.user_id, e.client_account_id, (e.occurred_at AT TIME ZONE 'UTC')::date, e.event_category, e.event_type
  ), diff AS (
    -- Every summary row that must change: missing (s null), gone (f null) or different.
    SELECT s.user_id AS old_user, s.client_account_key AS old_key, s.date AS old_date,
           s.event_category AS old_category, s.event_type AS old_type, f.*
    FROM (SELECT * FROM public.analytics_daily_summary WHERE date >= first_kept) AS s
    FULL JOIN fresh AS f
      ON f.user_id = s.user_id AND f.date = s.date AND f.client_account_key = s.client_account_key
     AND f.event_category = s.event_category AND f.event_type = s.event_type
    WHERE f.user_id IS NULL OR s.user_id IS NULL
       OR (s.event_count, s.total_value, s.avg_value) IS DISTINCT FROM (f.event_count, f.total_value, f.avg_value)
  ), fresh_rollup AS (
    SELECT user_id, date, event_category, sum(event_count)::bigint AS event_count, sum(total_value) AS total_value
    FROM fresh
    GROUP BY user_id, date, event_category
  ), diff_rollup AS (
    SELECT r.user_id AS old_user, r.date AS old_date, r.event_category AS old_category, f.*
    FROM (SELECT * FROM public.analytics_daily_rollup WHERE date >= first_kept) AS r
    FULL JOIN fresh_rollup AS f
      ON f.user_id = r.user_id AND f.date = r.date AND f.event_category = r.event_category
    WHERE f.user_id IS NULL OR r.user_id IS NULL
       OR (r.event_count, r.total_value) IS DISTINCT FROM (f.event_count, f.total_value)
  ), stale AS (
    DELETE FROM public.analytics_daily_summary AS s
    USING diff AS d
    WHERE d.user_id IS NULL AND s.user_id = d.old_user AND s.client_account_key = d.old_key
      AND s.date = d.old_date AND s.event_category = d.old_category AND s.event_type = d.old_type
  ), stale_rollup AS (
    DELETE FROM public.analytics_daily_rollup AS r
    USING diff_rollup AS d
    WHERE d.user_id IS NULL AND r.user_id = d.old_user AND r.date = d.old_date AND r.event_category = d.old_category
  ), rollup AS (
    INSERT INTO public.analytics_daily_rollup AS r (user_id, date, event_category, event_count, total_value)
    SELECT user_id, date, event_category, event_count, total_value FROM diff_rollup WHERE user_id IS NOT NULL
    ON CONFLICT (user_id, date, event_category) DO UPDATE
      SET event_count = EXCLUDED.event_count, total_value = EXCLUDED.total_value
  )
  INSERT INTO public.analytics_daily_summary AS s
    (user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value)
  SELECT user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value
  FROM diff WHERE user_id IS NOT NULL
  ON CONFLICT (user_id, client_account_key, date, event_category, event_type) DO UPDATE
    SET event_count = EXCLUDED.event_count, total_value = EXCLUDED.total_value, avg_value = EXCLUDED.avg_value;
END;
$$;

CREATE OR REPLACE FUNCTION refresh_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET work_mem = '256MB'
AS $$
DECLARE
  first_kept date;
BEGIN
  -- One refresh at a time, under a lock only the owner can take: the application has no
  -- privilege on the change list, so it can neither take this lock nor hold it to stall
  -- the refresh (it could take the advisory lock used before). Event writers' ROW
  -- EXCLUSIVE does not conflict with it.
  LOCK TABLE public.analytics_summary_changes IN SHARE UPDATE EXCLUSIVE MODE;
  -- The plan must know how many days changed: after a backfill it merges the whole event
  -- table (35 s at scale 1) where one index probe per day would take 125 s.
  ANALYZE public.analytics_summary_changes;
  -- The oldest partition's first day, from its partition constraint (whose literals carry
  -- their UTC offset); the default partition's is the negation of the others'. With none,
  -- every day. Days before it lost their events to the retention: kept as they are (035).
  SELECT coalesce(min((pg_catalog.substring(pg_catalog.pg_get_partition_constraintdef(t.relid),
                                   'occurred_at >= ''([^'']+)''')::timestamptz AT TIME ZONE 'UTC')::date),
                  '-infinity'::date)
    INTO first_kept
  FROM pg_catalog.pg_partition_tree('public.analytics_events'::regclass) AS t
  WHERE t.level = 1 AND t.relid <> 'public.analytics_events_default'::regclass;
  WITH claimed AS (
    DELETE FROM public.analytics_summary_changes RETURNING user_id, date
  ), days AS (
    SELECT DISTINCT user_id, date FROM claimed WHERE date >= first_kept
  ), fresh AS (
    SELECT e.user_id, e.client_account_id,
           coalesce(e.client_account_id, '00000000-0000-0000-0000-000000000000'::uuid) AS client_account_key,
           d.date, e.event_category, e.event_type,
           count(*) AS event_count, sum(e.value) AS total_value, avg(e.value) AS avg_value
    FROM days AS d
    JOIN public.analytics_events AS e
      ON e.user_id = d.user_id
     AND (e.occurred_at AT TIME ZONE 'UTC')::date = d.date
     AND e.occurred_at >= d.date::timestamp AT TIME ZONE 'UTC'
     AND e.occurred_at < (d.date + 1)::timestamp AT TIME ZONE 'UTC'
    GROUP BY e.user_id, e.client_account_id, d.date, e.event_category, e.event_type
  ), fresh_rollup AS (
    SELECT user_id, date, event_category, sum(event_count)::bigint AS event_count, sum(total_value) AS total_value
    FROM fresh
    GROUP BY user_id, date, event_category
  ), stale AS (
    DELETE FROM public.analytics_daily_summary AS s
    USING days AS d
    WHERE s.user_id = d.user_id AND s.date = d.date
      AND NOT EXISTS (
        SELECT FROM fresh AS f
        WHERE f.user_id = s.user_id AND f.date = s.date AND f.client_account_key = s.client_account_key
          AND f.event_category = s.event_category AND f.event_type = s.event_type)
  ), stale_rollup AS (
    DELETE FROM public.analytics_daily_rollup AS r
    USING days AS d
    WHERE r.user_id = d.user_id AND r.date = d.date
      AND NOT EXISTS (
        SELECT FROM fresh_rollup AS f
        WHERE f.user_id = r.user_id AND f.date = r.date AND f.event_category = r.event_category)
  ), rollup AS (
    INSERT INTO public.analytics_daily_rollup AS r (user_id, date, event_category, event_count, total_value)
    SELECT user_id, date, event_category, event_count, total_value FROM fresh_rollup
    ON CONFLICT (user_id, date, event_category) DO UPDATE
      SET event_count = EXCLUDED.event_count, total_value = EXCLUDED.total_value
      WHERE (r.event_count, r.total_value) IS DISTINCT FROM (EXCLUDED.event_count, EXCLUDED.total_value)
  )
  INSERT INTO public.analytics_daily_summary AS s
    (user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value)
  SELECT user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value
  FROM fresh
  ON CONFLICT (user_id, client_account_key, date, event_category, event_type) DO UPDATE
    SET event_count = EXCLUDED.event_count, total_value = EXCLUDED.total_value, avg_value = EXCLUDED.avg_value
    WHERE (s.event_count, s.total_value, s.avg_value)
      IS DISTINCT FROM (EXCLUDED.event_count, EXCLUDED.total_value, EXCLUDED.avg_value);
END;
$$;

-- ROLLBACK
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

CREATE OR REPLACE FUNCTION refresh_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET work_mem = '256MB'
AS $$
BEGIN
  -- One refresh at a time, under a lock only the owner can take: the application has no
  -- privilege on the change list, so it can neither take this lock nor hold it to stall
  -- the refresh (it could take the advisory lock used before). Event writers' ROW
  -- EXCLUSIVE does not conflict with it.
  LOCK TABLE public.analytics_summary_changes IN SHARE UPDATE EXCLUSIVE MODE;
  -- The plan must know how many days changed: after a backfill it merges the whole event
  -- table (35 s at scale 1) where one index probe per day would take 125 s.
  ANALYZE public.analytics_summary_changes;
  WITH claimed AS (
    DELETE FROM public.analytics_summary_changes RETURNING user_id, date
  ), days AS (
    SELECT DISTINCT user_id, date FROM claimed
  ), fresh AS (
    SELECT e.user_id, e.client_account_id,
           coalesce(e.client_account_id, '00000000-0000-0000-0000-000000000000'::uuid) AS client_account_key,
           d.date, e.event_category, e.event_type,
           count(*) AS event_count, sum(e.value) AS total_value, avg(e.value) AS avg_value
    FROM days AS d
    JOIN public.analytics_events AS e
      ON e.user_id = d.user_id
     AND (e.occurred_at AT TIME ZONE 'UTC')::date = d.date
     AND e.occurred_at >= d.date::timestamp AT TIME ZONE 'UTC'
     AND e.occurred_at < (d.date + 1)::timestamp AT TIME ZONE 'UTC'
    GROUP BY e.user_id, e.client_account_id, d.date, e.event_category, e.event_type
  ), fresh_rollup AS (
    SELECT user_id, date, event_category, sum(event_count)::bigint AS event_count, sum(total_value) AS total_value
    FROM fresh
    GROUP BY user_id, date, event_category
  ), stale AS (
    DELETE FROM public.analytics_daily_summary AS s
    USING days AS d
    WHERE s.user_id = d.user_id AND s.date = d.date
      AND NOT EXISTS (
        SELECT FROM fresh AS f
        WHERE f.user_id = s.user_id AND f.date = s.date AND f.client_account_key = s.client_account_key
          AND f.event_category = s.event_category AND f.event_type = s.event_type)
  ), stale_rollup AS (
    DELETE FROM public.analytics_daily_rollup AS r
    USING days AS d
    WHERE r.user_id = d.user_id AND r.date = d.date
      AND NOT EXISTS (
        SELECT FROM fresh_rollup AS f
        WHERE f.user_id = r.user_id AND f.date = r.date AND f.event_category = r.event_category)
  ), rollup AS (
    INSERT INTO public.analytics_daily_rollup AS r (user_id, date, event_category, event_count, total_value)
    SELECT user_id, date, event_category, event_count, total_value FROM fresh_rollup
    ON CONFLICT (user_id, date, event_category) DO UPDATE
      SET event_count = EXCLUDED.event_count, total_value = EXCLUDED.total_value
      WHERE (r.event_count, r.total_value) IS DISTINCT FROM (EXCLUDED.event_count, EXCLUDED.total_value)
  )
  INSERT INTO public.analytics_daily_summary AS s
    (user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value)
  SELECT user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value
  FROM fresh
  ON CONFLICT (user_id, client_account_key, date, event_category, event_type) DO UPDATE
    SET event_count = EXCLUDED.event_count, total_value = EXCLUDED.total_value, avg_value = EXCLUDED.avg_value
    WHERE (s.event_count, s.total_value, s.avg_value)
      IS DISTINCT FROM (EXCLUDED.event_count, EXCLUDED.total_value, EXCLUDED.avg_value);
END;
$$;
