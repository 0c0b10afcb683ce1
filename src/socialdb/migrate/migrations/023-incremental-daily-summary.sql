-- The daily summary, refreshed incrementally (docs/performance.md, decision 36).
--
-- REFRESH MATERIALIZED VIEW CONCURRENTLY recomputes every day of every seller and then
-- diffs 3M old rows against 3M new ones: 50 s at scale 1, however few events arrived.
-- Here the summary is a table with the same columns and key. Triggers on analytics_events
-- note each (seller, day) whose events changed; refresh_analytics_daily_summary()
-- recomputes just those days, in one statement, so the cost follows the change and
-- readers never wait (plain row versions, no table lock).
--
-- analytics_daily_rollup is the dashboard's grain: one row per seller, day and category,
-- summed over accounts and event types, kept by the same refresh. The summary holds 1.7
-- events per row at scale 1; a 90-day dashboard of the biggest seller read 58,507 of its
-- rows, and reads at most 360 rollup rows.
--
-- Both are tenant tables: the application reads its seller's rows (RLS), never writes.
-- While this runs, the old summary and event writers wait for the fill (the first refresh).

DROP VIEW seller_daily_summary;
DROP MATERIALIZED VIEW analytics_daily_summary;
DROP FUNCTION refresh_analytics_daily_summary();

CREATE TABLE analytics_daily_summary (
  user_id uuid NOT NULL,
  client_account_id uuid,
  client_account_key uuid NOT NULL,
  date date NOT NULL,
  event_category text NOT NULL,
  event_type text NOT NULL,
  event_count bigint NOT NULL,
  total_value numeric,
  avg_value numeric,
  CONSTRAINT idx_analytics_daily_unique PRIMARY KEY (user_id, client_account_key, date, event_category, event_type)
);

CREATE TABLE analytics_daily_rollup (
  user_id uuid NOT NULL,
  date date NOT NULL,
  event_category text NOT NULL,
  event_count bigint NOT NULL,
  total_value numeric,
  -- The dashboard reads the index alone.
  CONSTRAINT analytics_daily_rollup_pkey PRIMARY KEY (user_id, date, event_category) INCLUDE (event_count, total_value)
);

-- The (seller, day) pairs to recompute. Append-only: every writing statement adds its own
-- rows, which commit with its events, so a refresh that sees a pair also sees its events.
CREATE TABLE analytics_summary_changes (
  user_id uuid NOT NULL,
  date date NOT NULL
);

CREATE FUNCTION note_analytics_changes()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_summary_changes (user_id, date)
    SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM new_events;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO analytics_summary_changes (user_id, date)
    SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM old_events;
  END IF;
  RETURN NULL;
END;
$$;

-- A trigger with transition tables serves one event, hence three.
CREATE TRIGGER analytics_events_inserted AFTER INSERT ON analytics_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_updated AFTER UPDATE ON analytics_events
  REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_deleted AFTER DELETE ON analytics_events
  REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();

CREATE FUNCTION forget_analytics_summary()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
  TRUNCATE analytics_daily_summary, analytics_daily_rollup, analytics_summary_changes;
  RETURN NULL;
END;
$$;

CREATE TRIGGER analytics_events_truncated AFTER TRUNCATE ON analytics_events
  FOR EACH STATEMENT EXECUTE FUNCTION forget_analytics_summary();

-- Claims every noted pair visible to this statement's snapshot, recomputes those days from
-- the events (visible in the same snapshot), writes only the rows that differ and deletes
-- those whose events are gone. The upserts and deletes touch disjoint rows. One refresh
-- at a time: a second caller waits, then finds what arrived meanwhile.
CREATE FUNCTION refresh_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
SET work_mem = '256MB'
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock('public.analytics_summary_changes'::regclass::oid::bigint);
  -- The plan must know how many days changed: after a backfill it merges the whole event
  -- table (35 s at scale 1) where one index probe per day would take 125 s.
  ANALYZE analytics_summary_changes;
  WITH claimed AS (
    DELETE FROM analytics_summary_changes RETURNING user_id, date
  ), days AS (
    SELECT DISTINCT user_id, date FROM claimed
  ), fresh AS (
    SELECT e.user_id, e.client_account_id,
           coalesce(e.client_account_id, '00000000-0000-0000-0000-000000000000'::uuid) AS client_account_key,
           d.date, e.event_category, e.event_type,
           count(*) AS event_count, sum(e.value) AS total_value, avg(e.value) AS avg_value
    FROM days AS d
    JOIN analytics_events AS e
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
    DELETE FROM analytics_daily_summary AS s
    USING days AS d
    WHERE s.user_id = d.user_id AND s.date = d.date
      AND NOT EXISTS (
        SELECT FROM fresh AS f
        WHERE f.user_id = s.user_id AND f.date = s.date AND f.client_account_key = s.client_account_key
          AND f.event_category = s.event_category AND f.event_type = s.event_type)
  ), stale_rollup AS (
    DELETE FROM analytics_daily_rollup AS r
    USING days AS d
    WHERE r.user_id = d.user_id AND r.date = d.date
      AND NOT EXISTS (
        SELECT FROM fresh_rollup AS f
        WHERE f.user_id = r.user_id AND f.date = r.date AND f.event_category = r.event_category)
  ), rollup AS (
    INSERT INTO analytics_daily_rollup AS r (user_id, date, event_category, event_count, total_value)
    SELECT user_id, date, event_category, event_count, total_value FROM fresh_rollup
    ON CONFLICT (user_id, date, event_category) DO UPDATE
      SET event_count = EXCLUDED.event_count, total_value = EXCLUDED.total_value
      WHERE (r.event_count, r.total_value) IS DISTINCT FROM (EXCLUDED.event_count, EXCLUDED.total_value)
  )
  INSERT INTO analytics_daily_summary AS s
    (user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value)
  SELECT user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value
  FROM fresh
  ON CONFLICT (user_id, client_account_key, date, event_category, event_type) DO UPDATE
    SET event_count = EXCLUDED.event_count, total_value = EXCLUDED.total_value, avg_value = EXCLUDED.avg_value
    WHERE (s.event_count, s.total_value, s.avg_value)
      IS DISTINCT FROM (EXCLUDED.event_count, EXCLUDED.total_value, EXCLUDED.avg_value);
END;
$$;

-- Recompute every day from scratch: for repairs, and to fill the summary below.
CREATE FUNCTION rebuild_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
  INSERT INTO analytics_summary_changes (user_id, date)
  SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM analytics_events
  UNION
  SELECT DISTINCT user_id, date FROM analytics_daily_summary;
  PERFORM refresh_analytics_daily_summary();
END;
$$;

SELECT rebuild_analytics_daily_summary();

-- After the fill: built once rather than maintained row by row during it.
CREATE INDEX idx_analytics_daily_date ON analytics_daily_summary (date DESC);
CREATE INDEX idx_analytics_daily_user_date ON analytics_daily_summary (user_id, date);

CREATE VIEW seller_daily_summary WITH (security_barrier) AS
SELECT user_id, client_account_id, date, event_category, event_type, event_count, total_value, avg_value
FROM analytics_daily_summary
WHERE user_id = app_user_id();

ALTER TABLE analytics_daily_summary OWNER TO socialdb_owner;
ALTER TABLE analytics_daily_rollup OWNER TO socialdb_owner;
ALTER TABLE analytics_summary_changes OWNER TO socialdb_owner;
ALTER VIEW seller_daily_summary OWNER TO socialdb_owner;
ALTER FUNCTION note_analytics_changes() OWNER TO socialdb_owner;
ALTER FUNCTION forget_analytics_summary() OWNER TO socialdb_owner;
ALTER FUNCTION refresh_analytics_daily_summary() OWNER TO socialdb_owner;
ALTER FUNCTION rebuild_analytics_daily_summary() OWNER TO socialdb_owner;

ALTER TABLE analytics_daily_summary ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_daily_summary FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_daily_summary_seller ON analytics_daily_summary FOR SELECT TO socialdb_app
  USING (user_id = app_user_id());
CREATE POLICY analytics_daily_summary_owner ON analytics_daily_summary TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE analytics_daily_rollup ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_daily_rollup FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_daily_rollup_seller ON analytics_daily_rollup FOR SELECT TO socialdb_app
  USING (user_id = app_user_id());
CREATE POLICY analytics_daily_rollup_owner ON analytics_daily_rollup TO socialdb_owner USING (true) WITH CHECK (true);

-- Only the owner's functions touch the change list.
ALTER TABLE analytics_summary_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_summary_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_summary_changes_owner ON analytics_summary_changes TO socialdb_owner USING (true) WITH CHECK (true);

GRANT SELECT ON analytics_daily_summary, analytics_daily_rollup, seller_daily_summary TO socialdb_app;
REVOKE EXECUTE ON FUNCTION note_analytics_changes(), forget_analytics_summary(),
  refresh_analytics_daily_summary(), rebuild_analytics_daily_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refresh_analytics_daily_summary() TO socialdb_app;

-- ROLLBACK
DROP VIEW seller_daily_summary;
DROP TRIGGER analytics_events_truncated ON analytics_events;
DROP TRIGGER analytics_events_deleted ON analytics_events;
DROP TRIGGER analytics_events_updated ON analytics_events;
DROP TRIGGER analytics_events_inserted ON analytics_events;
DROP FUNCTION rebuild_analytics_daily_summary();
DROP FUNCTION refresh_analytics_daily_summary();
DROP FUNCTION forget_analytics_summary();
DROP FUNCTION note_analytics_changes();
DROP TABLE analytics_summary_changes;
DROP TABLE analytics_daily_rollup;
DROP TABLE analytics_daily_summary;

-- As 009, 019, 021 and 022 left them.
CREATE MATERIALIZED VIEW analytics_daily_summary AS
SELECT
  user_id,
  client_account_id,
  coalesce(client_account_id, '00000000-0000-0000-0000-000000000000'::uuid) AS client_account_key,
  (occurred_at AT TIME ZONE 'UTC')::date AS date,
  event_category,
  event_type,
  count(*) AS event_count,
  sum(value) AS total_value,
  avg(value) AS avg_value
FROM analytics_events
GROUP BY user_id, client_account_id, (occurred_at AT TIME ZONE 'UTC')::date, event_category, event_type;

CREATE UNIQUE INDEX idx_analytics_daily_unique
  ON analytics_daily_summary (user_id, client_account_key, date, event_category, event_type);
CREATE INDEX idx_analytics_daily_date ON analytics_daily_summary (date DESC);
CREATE INDEX idx_analytics_daily_user_date ON analytics_daily_summary (user_id, date);
ALTER MATERIALIZED VIEW analytics_daily_summary OWNER TO socialdb_owner;

CREATE VIEW seller_daily_summary WITH (security_barrier) AS
SELECT user_id, client_account_id, date, event_category, event_type, event_count, total_value, avg_value
FROM analytics_daily_summary
WHERE user_id = app_user_id();
ALTER VIEW seller_daily_summary OWNER TO socialdb_owner;
GRANT SELECT ON seller_daily_summary TO socialdb_app;

CREATE FUNCTION refresh_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
SET work_mem = '256MB'
AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY analytics_daily_summary;
END;
$$;
ALTER FUNCTION refresh_analytics_daily_summary() OWNER TO socialdb_owner;
REVOKE EXECUTE ON FUNCTION refresh_analytics_daily_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refresh_analytics_daily_summary() TO socialdb_app;
