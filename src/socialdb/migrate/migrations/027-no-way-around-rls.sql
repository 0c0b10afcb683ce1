-- No way around row-level security (issue 10, decision 42; docs/security.md).
--
-- Closes the owner escape: SECURITY DEFINER functions named `public` but not `pg_temp` in
-- their search_path, so PostgreSQL searched the caller's temporary schema first and a
-- temporary table shadowing analytics_summary_changes ran the caller's trigger as the
-- owner. Fixed at every level:
--   * every SECURITY DEFINER function: search_path pg_catalog, public, pg_temp (pg_temp
--     last) and every relation and non-built-in function in its body schema-qualified;
--   * PUBLIC (hence socialdb_app) may not create temporary objects in this database;
--   * functions created later by the owner or the migrating role are not executable by
--     PUBLIC unless granted;
--   * the summary's refresh and rebuild belong to the new socialdb_maintenance role, not
--     the application, and take a lock the application cannot take (so cannot stall);
--   * page and search limits: NULL is refused, anything above 200 is capped.
--
-- Locks: catalog changes only (CREATE OR REPLACE FUNCTION, GRANT/REVOKE, ALTER DEFAULT
-- PRIVILEGES); no table is locked, so this waits for nothing an application does.
-- Supersedes: the function bodies of 020 (search), 023 (summary) and 025 (pages).

-- Roles are cluster-wide: created where missing, never dropped (as in 018).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'socialdb_maintenance') THEN
    BEGIN
      CREATE ROLE socialdb_maintenance NOLOGIN;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'cannot create role socialdb_maintenance: % may not create roles. Ask an administrator to run: CREATE ROLE socialdb_maintenance NOLOGIN; then migrate again', current_user;
    END;
  END IF;
END
$$;

-- Temporary objects were the escape's vehicle. CREATE DATABASE gives PUBLIC TEMPORARY;
-- take it back here (the database's name is only known at run time), and check: a
-- REVOKE by a role without the right only warns.
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM socialdb_app', current_database());
  IF has_database_privilege('socialdb_app', current_database(), 'TEMPORARY') THEN
    RAISE EXCEPTION 'socialdb_app may still create temporary tables in database %: ask its owner to run REVOKE TEMPORARY ON DATABASE % FROM PUBLIC (and from any role socialdb_app belongs to), then migrate again', current_database(), current_database();
  END IF;
END
$$;

-- Functions created from now on by the owner or by the role running migrations are
-- private until granted (PostgreSQL's default grants EXECUTE to PUBLIC).
ALTER DEFAULT PRIVILEGES FOR ROLE socialdb_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- A page's or a search's row limit: NULL or less than 1 is an error (LIMIT NULL would
-- mean no limit at all), more than the maximum is capped to it.
CREATE FUNCTION seller_limit(p_caller text, p_limit integer, p_max integer)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
BEGIN
  IF p_limit IS NULL OR p_limit < 1 THEN
    RAISE EXCEPTION '%: the limit must be at least 1 (at most % rows are returned), not %',
      p_caller, p_max, coalesce(p_limit::text, 'null')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN least(p_limit, p_max);
END;
$$;

ALTER FUNCTION seller_limit(text, integer, integer) OWNER TO socialdb_owner;
GRANT EXECUTE ON FUNCTION seller_limit(text, integer, integer) TO socialdb_app;

CREATE OR REPLACE FUNCTION note_analytics_changes()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO public.analytics_summary_changes (user_id, date)
    SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM new_events;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO public.analytics_summary_changes (user_id, date)
    SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM old_events;
  END IF;
  RETURN NULL;
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

CREATE OR REPLACE FUNCTION search_seller_products(p_query text, p_limit integer)
RETURNS TABLE (id uuid, name text, price numeric, rank real)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT p.id, p.name, p.price, ts_rank(public.product_search_document(p.name, p.description), q) AS rank
  FROM public.products AS p, websearch_to_tsquery('public.portuguese_unaccent', p_query) AS q
  WHERE p.user_id = public.app_user_id() AND p.deleted_at IS NULL
    AND public.product_search_document(p.name, p.description) @@ q
  ORDER BY rank DESC, p.id
  LIMIT public.seller_limit('search_seller_products', p_limit, 200)
$$;

CREATE OR REPLACE FUNCTION seller_inbox_page(
  p_seller uuid,
  p_account uuid,
  p_limit integer,
  p_after_at timestamptz DEFAULT NULL,
  p_after_id uuid DEFAULT NULL
)
RETURNS TABLE (
  id uuid,
  platform_conversation_id text,
  participant_username text,
  last_message_at timestamptz,
  unread_count bigint
)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
SET app.user_id = ''
AS $$
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_inbox_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  IF p_after_at IS NULL AND p_after_id IS NULL THEN
    RETURN QUERY
      SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
      FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.status = 'open'
      ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
  ELSE
    -- The scalar `<=` is implied by the row comparison; it is there for the planner, which
    -- estimates a row comparison's selectivity poorly and would then sort.
    RETURN QUERY
      SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
      FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.status = 'open'
        AND c.last_message_at <= p_after_at AND (c.last_message_at, c.id) < (p_after_at, p_after_id)
      ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION seller_message_page(
  p_seller uuid,
  p_conversation uuid,
  p_limit integer,
  p_after_at timestamptz DEFAULT NULL,
  p_after_id uuid DEFAULT NULL
)
RETURNS TABLE (
  id uuid,
  sender_type text,
  message_type text,
  content text,
  sent_at timestamptz,
  is_read boolean
)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
SET app.user_id = ''
AS $$
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_message_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  IF p_after_at IS NULL AND p_after_id IS NULL THEN
    RETURN QUERY
      SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
      FROM public.messages AS m
      WHERE m.conversation_id = p_conversation
      ORDER BY m.sent_at DESC, m.id DESC
      LIMIT public.seller_limit('seller_message_page', p_limit, 200);
  ELSE
    RETURN QUERY
      SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
      FROM public.messages AS m
      WHERE m.conversation_id = p_conversation
        AND m.sent_at <= p_after_at AND (m.sent_at, m.id) < (p_after_at, p_after_id)
      ORDER BY m.sent_at DESC, m.id DESC
      LIMIT public.seller_limit('seller_message_page', p_limit, 200);
  END IF;
END;
$$;

ALTER FUNCTION auth_user_by_email(text) SET search_path = pg_catalog, public, pg_temp;

-- Maintenance is not the application's: it may read the summary, not recompute it.
REVOKE EXECUTE ON FUNCTION refresh_analytics_daily_summary() FROM socialdb_app;
GRANT USAGE ON SCHEMA public TO socialdb_maintenance;
GRANT EXECUTE ON FUNCTION refresh_analytics_daily_summary(), rebuild_analytics_daily_summary()
  TO socialdb_maintenance;

-- ROLLBACK
REVOKE EXECUTE ON FUNCTION refresh_analytics_daily_summary(), rebuild_analytics_daily_summary()
  FROM socialdb_maintenance;
REVOKE USAGE ON SCHEMA public FROM socialdb_maintenance;
GRANT EXECUTE ON FUNCTION refresh_analytics_daily_summary() TO socialdb_app;

ALTER FUNCTION auth_user_by_email(text) SET search_path = pg_catalog, public;

-- As 020, 023 and 025 left them.
CREATE OR REPLACE FUNCTION seller_message_page(
  p_seller uuid,
  p_conversation uuid,
  p_limit integer,
  p_after_at timestamptz DEFAULT NULL,
  p_after_id uuid DEFAULT NULL
)
RETURNS TABLE (
  id uuid,
  sender_type text,
  message_type text,
  content text,
  sent_at timestamptz,
  is_read boolean
)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
SET app.user_id = ''
AS $$
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_message_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  IF p_after_at IS NULL AND p_after_id IS NULL THEN
    RETURN QUERY
      SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
      FROM public.messages AS m
      WHERE m.conversation_id = p_conversation
      ORDER BY m.sent_at DESC, m.id DESC
      LIMIT p_limit;
  ELSE
    RETURN QUERY
      SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
      FROM public.messages AS m
      WHERE m.conversation_id = p_conversation
        AND m.sent_at <= p_after_at AND (m.sent_at, m.id) < (p_after_at, p_after_id)
      ORDER BY m.sent_at DESC, m.id DESC
      LIMIT p_limit;
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION seller_inbox_page(
  p_seller uuid,
  p_account uuid,
  p_limit integer,
  p_after_at timestamptz DEFAULT NULL,
  p_after_id uuid DEFAULT NULL
)
RETURNS TABLE (
  id uuid,
  platform_conversation_id text,
  participant_username text,
  last_message_at timestamptz,
  unread_count bigint
)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
SET app.user_id = ''
AS $$
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_inbox_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  IF p_after_at IS NULL AND p_after_id IS NULL THEN
    RETURN QUERY
      SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
      FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.status = 'open'
      ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT p_limit;
  ELSE
    -- The scalar `<=` is implied by the row comparison; it is there for the planner, which
    -- estimates a row comparison's selectivity poorly and would then sort.
    RETURN QUERY
      SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
      FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.status = 'open'
        AND c.last_message_at <= p_after_at AND (c.last_message_at, c.id) < (p_after_at, p_after_id)
      ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT p_limit;
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION search_seller_products(p_query text, p_limit integer)
RETURNS TABLE (id uuid, name text, price numeric, rank real)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT p.id, p.name, p.price, ts_rank(public.product_search_document(p.name, p.description), q) AS rank
  FROM public.products AS p, websearch_to_tsquery('public.portuguese_unaccent', p_query) AS q
  WHERE p.user_id = public.app_user_id() AND p.deleted_at IS NULL
    AND public.product_search_document(p.name, p.description) @@ q
  ORDER BY rank DESC, p.id
  LIMIT p_limit
$$;

CREATE OR REPLACE FUNCTION rebuild_analytics_daily_summary()
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

CREATE OR REPLACE FUNCTION refresh_analytics_daily_summary()
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

CREATE OR REPLACE FUNCTION forget_analytics_summary()
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

CREATE OR REPLACE FUNCTION note_analytics_changes()
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

DROP FUNCTION seller_limit(text, integer, integer);

ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE socialdb_owner GRANT EXECUTE ON FUNCTIONS TO PUBLIC;

DO $$
BEGIN
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
END
$$;
