-- The summary's upkeep and the events' TRUNCATE on a Citus cluster (issue 26, item 3;
-- decision 241). Where Citus is loaded (its setting citus.shard_count exists):
-- refresh_analytics_daily_summary() and rebuild_analytics_daily_summary() work one seller at a
-- time, through the new recompute_seller_days(), whose statements each name the seller and so
-- run on that seller's node (037's single statement joins and writes every seller's shards,
-- which Citus refuses); forget_analytics_summary(), the events' TRUNCATE trigger, acts only
-- when fired for the coordinator's analytics_events, not for each shard on the workers (a
-- distributed deadlock). A single server runs 037's and 027's statements as they were, after
-- one read of a setting.
-- Supersedes: 037's bodies of refresh_analytics_daily_summary() and
-- rebuild_analytics_daily_summary(), 027's of forget_analytics_summary(). Owners, grants and
-- comments stay: CREATE OR REPLACE keeps them.
-- forget_analytics_summary() becomes SECURITY INVOKER (why: below).
-- recompute_seller_days(uuid, date[]) is no SECURITY DEFINER: only its owner (socialdb_owner)
-- may call it, as the two SECURITY DEFINER functions do.
-- Locks: none on any table (the functions' catalog rows).

CREATE FUNCTION recompute_seller_days(p_seller uuid, p_days date[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF p_seller IS NULL OR p_days IS NULL OR pg_catalog.cardinality(p_days) = 0 THEN
    RETURN;
  END IF;
  -- Every statement names the seller: on Citus each runs on the seller's node, the INSERT ...
  -- SELECTs between its co-located shards. The days' rows are replaced whole; the totals are
  -- 037's (count, sum and avg per day, account, category and type; the rollup sums them).
  DELETE FROM public.analytics_daily_summary AS s WHERE s.user_id = p_seller AND s.date = ANY (p_days);
  DELETE FROM public.analytics_daily_rollup AS r WHERE r.user_id = p_seller AND r.date = ANY (p_days);
  INSERT INTO public.analytics_daily_summary
    (user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value)
  SELECT e.user_id, e.client_account_id,
         coalesce(e.client_account_id, '00000000-0000-0000-0000-000000000000'::uuid),
         (e.occurred_at AT TIME ZONE 'UTC')::date, e.event_category, e.event_type,
         count(*), sum(e.value), avg(e.value)
  FROM public.analytics_events AS e
  WHERE e.user_id = p_seller AND (e.occurred_at AT TIME ZONE 'UTC')::date = ANY (p_days)
  GROUP BY e.user_id, e.client_account_id, (e.occurred_at AT TIME ZONE 'UTC')::date, e.event_category, e.event_type;
  INSERT INTO public.analytics_daily_rollup (user_id, date, event_category, event_count, total_value)
  SELECT s.user_id, s.date, s.event_category, sum(s.event_count)::bigint, sum(s.total_value)
  FROM public.analytics_daily_summary AS s
  WHERE s.user_id = p_seller AND s.date = ANY (p_days)
  GROUP BY s.user_id, s.date, s.event_category;
END;
$$;

ALTER FUNCTION recompute_seller_days(uuid, date[]) OWNER TO socialdb_owner;
REVOKE ALL ON FUNCTION recompute_seller_days(uuid, date[]) FROM PUBLIC;
COMMENT ON FUNCTION recompute_seller_days(uuid, date[]) IS 'One seller''s summary and rollup rows of the given UTC days, recomputed from its events by statements that name the seller (on Citus, its node alone); called by the refresh and the rebuild, as socialdb_owner.';

CREATE OR REPLACE FUNCTION refresh_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET work_mem = '256MB'
AS $$
DECLARE
  first_kept date;
  sellers uuid[];
  seller uuid;
  days date[];
BEGIN
  -- On Citus (its settings exist) one seller at a time: each statement of
  -- recompute_seller_days names the seller, so it runs on that seller's node alone; the
  -- statement below, which joins and writes every seller's shards in one, Citus cannot run
  -- (decision 241). A single server runs it as 037 wrote it.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    LOCK TABLE public.analytics_summary_changes IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT coalesce(min((pg_catalog.substring(pg_catalog.pg_get_partition_constraintdef(t.relid),
                                     'occurred_at >= ''([^'']+)''')::timestamptz AT TIME ZONE 'UTC')::date),
                    '-infinity'::date)
      INTO first_kept
    FROM pg_catalog.pg_partition_tree('public.analytics_events'::regclass) AS t
    WHERE t.level = 1 AND t.relid <> 'public.analytics_events_default'::regclass;
    SELECT pg_catalog.array_agg(DISTINCT c.user_id) INTO sellers FROM public.analytics_summary_changes AS c;
    FOREACH seller IN ARRAY coalesce(sellers, '{}') LOOP
      -- The seller's noted days, claimed (a change noted after this read stays for the next run).
      SELECT pg_catalog.array_agg(DISTINCT c.date) INTO days
      FROM public.analytics_summary_changes AS c WHERE c.user_id = seller;
      DELETE FROM public.analytics_summary_changes AS c WHERE c.user_id = seller AND c.date = ANY (days);
      PERFORM public.recompute_seller_days(
        seller, ARRAY(SELECT d FROM pg_catalog.unnest(days) AS d WHERE d >= first_kept));
    END LOOP;
    RETURN;
  END IF;
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

CREATE OR REPLACE FUNCTION rebuild_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET work_mem = '256MB'
AS $$
DECLARE
  first_kept date;
  sellers uuid[];
  summarised uuid[];
  seller uuid;
  days date[];
BEGIN
  -- On Citus (its settings exist) one seller at a time, every day of its events, summary
  -- and rollup from the oldest partition's first day on, each recomputed whole by statements
  -- that name the seller (decision 241). A single server runs 037's statement, which writes
  -- only what differs.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    LOCK TABLE public.analytics_summary_changes IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT coalesce(min((pg_catalog.substring(pg_catalog.pg_get_partition_constraintdef(t.relid),
                                     'occurred_at >= ''([^'']+)''')::timestamptz AT TIME ZONE 'UTC')::date),
                    '-infinity'::date)
      INTO first_kept
    FROM pg_catalog.pg_partition_tree('public.analytics_events'::regclass) AS t
    WHERE t.level = 1 AND t.relid <> 'public.analytics_events_default'::regclass;
    SELECT pg_catalog.array_agg(u.id) INTO sellers FROM public.users AS u;
    SELECT pg_catalog.array_agg(DISTINCT s.user_id) INTO summarised FROM public.analytics_daily_summary AS s;
    SELECT pg_catalog.array_agg(DISTINCT x) INTO sellers
    FROM pg_catalog.unnest(coalesce(sellers, '{}') || coalesce(summarised, '{}')) AS x;
    FOREACH seller IN ARRAY coalesce(sellers, '{}') LOOP
      DELETE FROM public.analytics_summary_changes AS c WHERE c.user_id = seller;
      SELECT pg_catalog.array_agg(x.date) INTO days FROM (
        SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS date FROM public.analytics_events AS e
        WHERE e.user_id = seller AND e.occurred_at >= first_kept::timestamp AT TIME ZONE 'UTC'
        UNION SELECT s.date FROM public.analytics_daily_summary AS s WHERE s.user_id = seller AND s.date >= first_kept
        UNION SELECT r.date FROM public.analytics_daily_rollup AS r WHERE r.user_id = seller AND r.date >= first_kept
      ) AS x;
      PERFORM public.recompute_seller_days(seller, coalesce(days, '{}'));
    END LOOP;
    RETURN;
  END IF;
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

CREATE OR REPLACE FUNCTION forget_analytics_summary()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  -- On Citus the trigger fires for the coordinator's table and for every shard on the workers;
  -- only the first empties the summary (and so every shard of it). A shard's, emptying the
  -- distributed summary from a worker while the coordinator's TRUNCATE holds its shards,
  -- was a distributed deadlock (decision 241).
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL
     AND TG_RELID <> 'public.analytics_events'::pg_catalog.regclass THEN
    RETURN NULL;
  END IF;
  TRUNCATE public.analytics_daily_summary, public.analytics_daily_rollup, public.analytics_summary_changes;
  RETURN NULL;
END;
$$;

-- SECURITY INVOKER, no longer DEFINER: only the events' owner and its members may TRUNCATE
-- them, and they own the summary too. On Citus the summary's shards, co-located with the
-- events', were just truncated over connections of the invoker, and Citus refuses to touch
-- them as another user in the transaction ("cannot perform query on placements that were
-- modified in this transaction by a different user").
COMMENT ON FUNCTION forget_analytics_summary() IS 'Trigger on TRUNCATE of analytics_events: empties the summary, the rollup and the change list, as the role that truncates (the events'' owner or a member of it).';

-- ROLLBACK
-- 037's bodies and 027's trigger function; the helper dropped.
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

CREATE OR REPLACE FUNCTION forget_analytics_summary()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  TRUNCATE public.analytics_daily_summary, public.analytics_daily_rollup, public.analytics_summary_changes;
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION forget_analytics_summary() IS 'Trigger on TRUNCATE of analytics_events: empties the summary, the rollup and the change list (SECURITY DEFINER).';

DROP FUNCTION recompute_seller_days(uuid, date[]);
