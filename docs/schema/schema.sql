-- The schema the migrations produce, up to 062-mark-read-one-statement.sql: written by `socialdb schema docs`
-- from the catalog, normalised (sorted, no OIDs, no version-specific lines). Do not edit:
-- change the migrations. The runner's history table is left out.

SET check_function_bodies = false;
SET search_path = public;

-- Extensions

CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- Text search

CREATE TEXT SEARCH CONFIGURATION public.portuguese_unaccent (PARSER = pg_catalog."default");
ALTER TEXT SEARCH CONFIGURATION public.portuguese_unaccent ADD MAPPING FOR asciihword, asciiword, hword_asciipart WITH portuguese_stem;
ALTER TEXT SEARCH CONFIGURATION public.portuguese_unaccent ADD MAPPING FOR email, file, float, host, hword_numpart, int, numhword, numword, sfloat, uint, url, url_path, version WITH simple;
ALTER TEXT SEARCH CONFIGURATION public.portuguese_unaccent ADD MAPPING FOR hword, hword_part, word WITH unaccent, portuguese_stem;

-- Functions

CREATE OR REPLACE FUNCTION public.app_user_id()
 RETURNS uuid
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  SELECT nullif(current_setting('app.user_id', true), '')::uuid
$function$;

CREATE OR REPLACE FUNCTION public.auth_user_by_email(p_email text)
 RETURNS TABLE(id uuid, password_hash text, email_verified boolean)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
DECLARE
  v_user uuid;
BEGIN
  SELECT e.user_id INTO v_user FROM public.user_emails AS e WHERE e.email_key = pg_catalog.lower(p_email);
  IF v_user IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY
    SELECT u.id, u.password_hash, u.email_verified
    FROM public.users AS u
    WHERE u.id = v_user AND u.deleted_at IS NULL
      AND pg_catalog.lower(u.email) = pg_catalog.lower(p_email);  -- a stale lookup row signs no one in
END;
$function$;

CREATE OR REPLACE FUNCTION public.claim_platform_account(p_platform text, p_platform_account_id text, p_seller uuid, p_account uuid)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
  v_seller uuid;
  v_account uuid;
  v_live boolean;
BEGIN
  INSERT INTO public.platform_accounts AS p (platform, platform_account_id, user_id, client_account_id)
  VALUES (p_platform, p_platform_account_id, p_seller, p_account) ON CONFLICT DO NOTHING;
  IF FOUND THEN
    RETURN;
  END IF;
  SELECT p.user_id, p.client_account_id INTO v_seller, v_account FROM public.platform_accounts AS p
  WHERE p.platform = p_platform AND p.platform_account_id = p_platform_account_id;
  IF v_seller = p_seller AND v_account = p_account THEN
    RETURN;
  END IF;
  SELECT a.deleted_at IS NULL AND a.platform = p_platform AND a.platform_account_id = p_platform_account_id INTO v_live
  FROM public.client_accounts AS a WHERE a.user_id = v_seller AND a.id = v_account FOR UPDATE;
  IF v_live THEN
    RAISE EXCEPTION 'duplicate key value violates unique constraint "platform_accounts_pkey"'
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'platform_accounts_pkey', TABLE = 'platform_accounts',
            SCHEMA = 'public',
            DETAIL = pg_catalog.format('Key (platform, platform_account_id)=(%s, %s) already exists.',
                                       p_platform, p_platform_account_id);
  END IF;
  UPDATE public.platform_accounts AS p SET user_id = p_seller, client_account_id = p_account
  WHERE p.platform = p_platform AND p.platform_account_id = p_platform_account_id;
END;
$function$;

CREATE OR REPLACE FUNCTION public.claim_short_link(p_short_link text, p_seller uuid, p_link uuid)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
  v_seller uuid;
  v_link uuid;
  v_live boolean;
BEGIN
  INSERT INTO public.short_links AS s (short_link, user_id, product_link_id)
  VALUES (p_short_link, p_seller, p_link) ON CONFLICT DO NOTHING;
  IF FOUND THEN
    RETURN;
  END IF;
  SELECT s.user_id, s.product_link_id INTO v_seller, v_link FROM public.short_links AS s
  WHERE s.short_link = p_short_link;
  IF v_seller = p_seller AND v_link = p_link THEN
    RETURN;
  END IF;
  SELECT l.short_link = p_short_link INTO v_live
  FROM public.product_links AS l WHERE l.user_id = v_seller AND l.id = v_link FOR UPDATE;
  -- The seller's own code again: one server's per-seller key refuses it first (051, 055).
  IF v_live AND v_seller = p_seller THEN
    RAISE EXCEPTION 'duplicate key value violates unique constraint "product_links_seller_short_link_key"'
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'product_links_seller_short_link_key', TABLE = 'product_links',
            SCHEMA = 'public',
            DETAIL = pg_catalog.format('Key (user_id, short_link)=(%s, %s) already exists.', p_seller, p_short_link);
  END IF;
  IF v_live THEN
    RAISE EXCEPTION 'duplicate key value violates unique constraint "short_links_pkey"'
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'short_links_pkey', TABLE = 'short_links', SCHEMA = 'public',
            DETAIL = pg_catalog.format('Key (short_link)=(%s) already exists.', p_short_link);
  END IF;
  UPDATE public.short_links AS s SET user_id = p_seller, product_link_id = p_link WHERE s.short_link = p_short_link;
END;
$function$;

CREATE OR REPLACE FUNCTION public.claim_user_email(p_email text, p_user uuid)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
  v_key text := pg_catalog.lower(p_email);
  v_holder uuid;
  v_live boolean;
BEGIN
  INSERT INTO public.user_emails AS e (email_key, user_id) VALUES (v_key, p_user) ON CONFLICT DO NOTHING;
  IF FOUND THEN
    RETURN;
  END IF;
  SELECT e.user_id INTO v_holder FROM public.user_emails AS e WHERE e.email_key = v_key;
  IF v_holder = p_user THEN
    RETURN;
  END IF;
  SELECT u.deleted_at IS NULL AND pg_catalog.lower(u.email) = v_key INTO v_live
  FROM public.users AS u WHERE u.id = v_holder FOR UPDATE;
  IF v_live THEN
    RAISE EXCEPTION 'duplicate key value violates unique constraint "user_emails_pkey"'
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'user_emails_pkey', TABLE = 'user_emails', SCHEMA = 'public',
            DETAIL = pg_catalog.format('Key (email_key)=(%s) already exists.', v_key);
  END IF;
  UPDATE public.user_emails AS e SET user_id = p_user WHERE e.email_key = v_key;
END;
$function$;

CREATE OR REPLACE FUNCTION public.connect_client_account(p_platform text, p_platform_account_id text, p_username text)
 RETURNS TABLE(id uuid, platform text, platform_account_id text, username text, status text, reconnected boolean)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
#variable_conflict use_column
DECLARE
  v_me uuid := public.app_user_id();
  v_claims boolean := public.lookup_claims_needed('client_accounts');
  v_id uuid;
  v_username text;
  v_status text;
BEGIN
  IF v_me IS NULL THEN
    RAISE EXCEPTION 'connect_client_account: no seller in this transaction (app.user_id)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT a.id, a.username, a.status INTO v_id, v_username, v_status FROM public.client_accounts AS a
  WHERE a.user_id = v_me AND a.platform = p_platform AND a.platform_account_id = p_platform_account_id
    AND a.deleted_at IS NULL;
  IF FOUND THEN
    RETURN QUERY SELECT v_id, p_platform, p_platform_account_id, v_username, v_status, false;
    RETURN;
  END IF;
  SELECT a.id INTO v_id FROM public.client_accounts AS a
  WHERE a.user_id = v_me AND a.platform = p_platform AND a.platform_account_id = p_platform_account_id
    AND a.deleted_at IS NOT NULL
  ORDER BY a.deleted_at DESC, a.id LIMIT 1;
  IF FOUND THEN
    IF v_claims THEN
      PERFORM public.claim_platform_account(p_platform, p_platform_account_id, v_me, v_id);
    END IF;
    UPDATE public.client_accounts AS a SET deleted_at = NULL, status = 'active', username = p_username
    WHERE a.user_id = v_me AND a.id = v_id AND a.deleted_at IS NOT NULL
    RETURNING a.username, a.status INTO v_username, v_status;
    IF FOUND THEN
      RETURN QUERY SELECT v_id, p_platform, p_platform_account_id, v_username, v_status, true;
      RETURN;
    END IF;
  END IF;
  SELECT pg_catalog.gen_random_uuid() INTO v_id;
  IF v_claims THEN
    PERFORM public.claim_platform_account(p_platform, p_platform_account_id, v_me, v_id);
  END IF;
  INSERT INTO public.client_accounts AS a (id, user_id, platform, platform_account_id, username)
  VALUES (v_id, v_me, p_platform, p_platform_account_id, p_username)
  RETURNING a.username, a.status INTO v_username, v_status;
  RETURN QUERY SELECT v_id, p_platform, p_platform_account_id, v_username, v_status, false;
END;
$function$;

CREATE OR REPLACE FUNCTION public.create_product_link(p_product uuid, p_account uuid, p_short_link text, p_media text)
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
  v_me uuid := public.app_user_id();
  v_id uuid := pg_catalog.gen_random_uuid();
BEGIN
  IF v_me IS NULL THEN
    RAISE EXCEPTION 'create_product_link: no seller in this transaction (app.user_id)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_short_link IS NOT NULL AND public.lookup_claims_needed('product_links') THEN
    PERFORM public.claim_short_link(p_short_link, v_me, v_id);
  END IF;
  INSERT INTO public.product_links (id, user_id, product_id, client_account_id, short_link, instagram_media_id)
  VALUES (v_id, v_me, p_product, p_account, p_short_link, p_media);
  RETURN v_id;
END;
$function$;

CREATE OR REPLACE FUNCTION public.decrement_unread_count()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_seller uuid;
  v_ids uuid[];
  v_delta bigint[];
BEGIN
  -- On Citus: the transition tables read into arrays, then per seller, as in
  -- increment_unread_count (decision 230). A single server takes 038's statements below.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    FOR v_seller, v_ids, v_delta IN
      SELECT d.user_id, pg_catalog.array_agg(d.conversation_id ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.delta ORDER BY d.conversation_id)
      FROM (
        SELECT ch.user_id, ch.conversation_id, pg_catalog.sum(ch.moved) AS delta
        FROM (
          SELECT w.user_id, w.conversation_id, (w.sender_type = 'customer' AND NOT w.is_read)::int AS moved
          FROM new_messages AS w
          UNION ALL
          SELECT o.user_id, o.conversation_id, -(o.sender_type = 'customer' AND NOT o.is_read)::int
          FROM old_messages AS o
        ) AS ch
        GROUP BY ch.user_id, ch.conversation_id
        HAVING pg_catalog.sum(ch.moved) <> 0
      ) AS d
      GROUP BY d.user_id
      ORDER BY d.user_id
    LOOP
      PERFORM 1 FROM public.conversations AS c
      WHERE c.user_id = v_seller AND c.id = ANY (v_ids)
      ORDER BY c.id
      FOR NO KEY UPDATE OF c;
      UPDATE public.conversations AS c
      SET unread_count = greatest(c.unread_count + d.delta, 0)
      FROM unnest(v_ids, v_delta) AS d (id, delta)
      WHERE c.user_id = v_seller AND c.id = d.id;
    END LOOP;
    RETURN NULL;
  END IF;
  PERFORM 1 FROM conversations AS c
  WHERE c.id IN (
    SELECT conversation_id
    FROM (
      SELECT conversation_id, (sender_type = 'customer' AND NOT is_read)::int AS n FROM new_messages
      UNION ALL
      SELECT conversation_id, -(sender_type = 'customer' AND NOT is_read)::int FROM old_messages
    ) AS changes
    GROUP BY conversation_id
    HAVING sum(n) <> 0
  )
  ORDER BY c.id
  FOR NO KEY UPDATE OF c;
  UPDATE conversations AS c
  SET unread_count = greatest(c.unread_count + d.delta, 0)
  FROM (
    SELECT conversation_id, sum(n) AS delta
    FROM (
      SELECT conversation_id, (sender_type = 'customer' AND NOT is_read)::int AS n FROM new_messages
      UNION ALL
      SELECT conversation_id, -(sender_type = 'customer' AND NOT is_read)::int FROM old_messages
    ) AS changes
    GROUP BY conversation_id
  ) AS d
  WHERE c.id = d.conversation_id AND d.delta <> 0;
  RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.disconnect_client_account(p_account uuid)
 RETURNS TABLE(disconnected bigint, revoked bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
  v_me uuid := public.app_user_id();
  v_platform text;
  v_platform_account_id text;
  v_gone bigint := 0;
  v_revoked bigint := 0;
BEGIN
  IF v_me IS NULL THEN
    RAISE EXCEPTION 'disconnect_client_account: no seller in this transaction (app.user_id)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT a.platform, a.platform_account_id INTO v_platform, v_platform_account_id FROM public.client_accounts AS a
  WHERE a.user_id = v_me AND a.id = p_account AND a.deleted_at IS NULL;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 0::bigint, 0::bigint;
    RETURN;
  END IF;
  IF public.lookup_claims_needed('client_accounts') THEN
    DELETE FROM public.platform_accounts AS p
    WHERE p.platform = v_platform AND p.platform_account_id = v_platform_account_id
      AND p.client_account_id = p_account AND p.user_id = v_me;
  END IF;
  UPDATE public.client_accounts AS a SET deleted_at = pg_catalog.now(), status = 'disconnected'
  WHERE a.user_id = v_me AND a.id = p_account AND a.deleted_at IS NULL;
  GET DIAGNOSTICS v_gone = ROW_COUNT;
  IF v_gone > 0 THEN
    UPDATE public.oauth_tokens AS t SET revoked_at = pg_catalog.now()
    WHERE t.user_id = v_me AND t.client_account_id = p_account AND t.revoked_at IS NULL;
    GET DIAGNOSTICS v_revoked = ROW_COUNT;
  END IF;
  RETURN QUERY SELECT v_gone, v_revoked;
END;
$function$;

CREATE OR REPLACE FUNCTION public.forget_analytics_summary()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION public.forget_deleted_messages()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_seller uuid;
  v_ids uuid[];
  v_unread bigint[];
  v_newest timestamptz[];
BEGIN
  -- On Citus: the transition table read into arrays, then per seller, as in
  -- increment_unread_count (decision 230); the newest remaining message is looked up on the
  -- seller's shard. A single server takes 036's statements below.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    FOR v_seller, v_ids, v_unread, v_newest IN
      SELECT d.user_id, pg_catalog.array_agg(d.conversation_id ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.unread ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.newest ORDER BY d.conversation_id)
      FROM (
        SELECT o.user_id, o.conversation_id,
               pg_catalog.count(*) FILTER (WHERE o.sender_type = 'customer' AND NOT o.is_read) AS unread,
               pg_catalog.max(o.sent_at) AS newest
        FROM old_messages AS o
        GROUP BY o.user_id, o.conversation_id
      ) AS d
      GROUP BY d.user_id
      ORDER BY d.user_id
    LOOP
      PERFORM 1 FROM public.conversations AS c
      WHERE c.user_id = v_seller AND c.id = ANY (v_ids)
      ORDER BY c.id
      FOR NO KEY UPDATE OF c;
      UPDATE public.conversations AS c
      SET unread_count = greatest(c.unread_count - d.unread, 0),
          last_message_at = CASE
            WHEN d.newest >= c.last_message_at
              THEN (SELECT pg_catalog.max(m.sent_at) FROM public.messages AS m
                    WHERE m.user_id = v_seller AND m.conversation_id = c.id)
            ELSE c.last_message_at
          END
      FROM unnest(v_ids, v_unread, v_newest) AS d (id, unread, newest)
      WHERE c.user_id = v_seller AND c.id = d.id;
    END LOOP;
    RETURN NULL;
  END IF;
  PERFORM 1 FROM conversations AS c
  WHERE c.id IN (SELECT conversation_id FROM old_messages)
  ORDER BY c.id
  FOR NO KEY UPDATE OF c;
  UPDATE conversations AS c
  SET unread_count = greatest(c.unread_count - d.unread, 0),
      last_message_at = CASE
        WHEN d.newest >= c.last_message_at
          THEN (SELECT max(m.sent_at) FROM messages AS m WHERE m.conversation_id = c.id)
        ELSE c.last_message_at
      END
  FROM (
    SELECT conversation_id,
           count(*) FILTER (WHERE sender_type = 'customer' AND NOT is_read) AS unread,
           max(sent_at) AS newest
    FROM old_messages
    GROUP BY conversation_id
  ) AS d
  WHERE c.id = d.conversation_id;
  RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.forget_truncated_lookups()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
  IF TG_RELID = pg_catalog.to_regclass('public.users') THEN
    DELETE FROM public.user_emails;
  ELSIF TG_RELID = pg_catalog.to_regclass('public.client_accounts') THEN
    DELETE FROM public.platform_accounts;
  ELSIF TG_RELID = pg_catalog.to_regclass('public.product_links') THEN
    DELETE FROM public.short_links;
  END IF;
  RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.increment_unread_count()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_seller uuid;
  v_ids uuid[];
  v_unread bigint[];
  v_newest timestamptz[];
BEGIN
  -- On Citus (its setting citus.shard_count exists) this runs on the node of a shard of
  -- messages, where a statement reading a transition table and a distributed table fails:
  -- the changes are read into arrays first, then each seller's conversations are locked in
  -- id order and counted by statements naming the seller, which run on the co-located shard
  -- of this node (decision 230). A single server takes 038's statements below, unchanged.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    FOR v_seller, v_ids, v_unread, v_newest IN
      SELECT d.user_id, pg_catalog.array_agg(d.conversation_id ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.unread ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.newest ORDER BY d.conversation_id)
      FROM (
        SELECT n.user_id, n.conversation_id,
               pg_catalog.count(*) FILTER (WHERE n.sender_type = 'customer' AND NOT n.is_read) AS unread,
               pg_catalog.max(n.sent_at) AS newest
        FROM new_messages AS n
        GROUP BY n.user_id, n.conversation_id
      ) AS d
      GROUP BY d.user_id
      ORDER BY d.user_id
    LOOP
      PERFORM 1 FROM public.conversations AS c
      WHERE c.user_id = v_seller AND c.id = ANY (v_ids)
      ORDER BY c.id
      FOR NO KEY UPDATE OF c;
      UPDATE public.conversations AS c
      SET unread_count = c.unread_count + d.unread,
          last_message_at = greatest(c.last_message_at, d.newest)
      FROM unnest(v_ids, v_unread, v_newest) AS d (id, unread, newest)
      WHERE c.user_id = v_seller AND c.id = d.id;
    END LOOP;
    RETURN NULL;
  END IF;
  PERFORM 1 FROM conversations AS c
  WHERE c.id IN (SELECT conversation_id FROM new_messages)
  ORDER BY c.id
  FOR NO KEY UPDATE OF c;
  UPDATE conversations AS c
  SET unread_count = c.unread_count + d.unread,
      last_message_at = greatest(c.last_message_at, d.newest)
  FROM (
    SELECT conversation_id,
           count(*) FILTER (WHERE sender_type = 'customer' AND NOT is_read) AS unread,
           max(sent_at) AS newest
    FROM new_messages
    GROUP BY conversation_id
  ) AS d
  WHERE c.id = d.conversation_id;
  RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.keep_platform_accounts()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
BEGIN
  -- On a Citus shard: checked, not written (connect_client_account() wrote it; decision 260).
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL AND TG_TABLE_NAME <> 'client_accounts' THEN
    IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
      PERFORM public.lookup_check_is_fresh('client_accounts');
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL
       AND NOT EXISTS (SELECT FROM public.platform_accounts AS p
                       WHERE p.platform = NEW.platform AND p.platform_account_id = NEW.platform_account_id
                         AND p.client_account_id = NEW.id AND p.user_id = NEW.user_id) THEN
      RAISE EXCEPTION 'account % is live without its row in platform_accounts: on Citus a connection goes through connect_client_account()', NEW.id
        USING ERRCODE = 'integrity_constraint_violation', TABLE = 'client_accounts', SCHEMA = 'public',
              HINT = 'call connect_client_account(platform, platform_account_id, username) in the seller''s transaction (migration 059)';
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL THEN
    DELETE FROM public.platform_accounts AS p
    WHERE p.platform = OLD.platform AND p.platform_account_id = OLD.platform_account_id
      AND p.client_account_id = OLD.id AND p.user_id = OLD.user_id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
    INSERT INTO public.platform_accounts (platform, platform_account_id, user_id, client_account_id)
    VALUES (NEW.platform, NEW.platform_account_id, NEW.user_id, NEW.id);
  END IF;
  RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.keep_short_links()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
BEGIN
  -- On a Citus shard: checked, not written (create_product_link() wrote it; decision 260).
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL AND TG_TABLE_NAME <> 'product_links' THEN
    IF TG_OP <> 'DELETE' AND NEW.short_link IS NOT NULL THEN
      PERFORM public.lookup_check_is_fresh('product_links');
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.short_link IS NOT NULL
       AND NOT EXISTS (SELECT FROM public.short_links AS s
                       WHERE s.short_link = NEW.short_link AND s.product_link_id = NEW.id AND s.user_id = NEW.user_id) THEN
      RAISE EXCEPTION 'link % has a short link without its row in short_links: on Citus a link goes through create_product_link()', NEW.id
        USING ERRCODE = 'integrity_constraint_violation', TABLE = 'product_links', SCHEMA = 'public',
              HINT = 'call create_product_link(product, account, short_link, media) in the seller''s transaction (migration 059)';
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.short_link IS NOT NULL THEN
    DELETE FROM public.short_links AS s
    WHERE s.short_link = OLD.short_link AND s.product_link_id = OLD.id AND s.user_id = OLD.user_id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.short_link IS NOT NULL THEN
    INSERT INTO public.short_links (short_link, user_id, product_link_id) VALUES (NEW.short_link, NEW.user_id, NEW.id);
  END IF;
  RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.keep_user_emails()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
BEGIN
  -- On a Citus shard (Citus loaded, and the trigger fired for a shard, users_<shard id>, not
  -- for users): a write to a reference table is not a local task, so the lookup row was
  -- written by sign_up_user() in this transaction, on the same connection; here it is only
  -- checked, by a read of this node's copy (decision 260). Elsewhere 054's body, unchanged.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL AND TG_TABLE_NAME <> 'users' THEN
    IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
      PERFORM public.lookup_check_is_fresh('users');
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL
       AND NOT EXISTS (SELECT FROM public.user_emails AS e
                       WHERE e.email_key = pg_catalog.lower(NEW.email) AND e.user_id = NEW.id) THEN
      RAISE EXCEPTION 'user % is live without its row in user_emails: on Citus a sign-up goes through sign_up_user()', NEW.id
        USING ERRCODE = 'integrity_constraint_violation', TABLE = 'users', SCHEMA = 'public',
              HINT = 'call sign_up_user(id, email, password_hash, name) under the new user''s app.user_id (migration 059)';
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL THEN
    DELETE FROM public.user_emails AS e WHERE e.email_key = pg_catalog.lower(OLD.email) AND e.user_id = OLD.id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
    INSERT INTO public.user_emails (email_key, user_id) VALUES (pg_catalog.lower(NEW.email), NEW.id);
  END IF;
  RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.lookup_check_is_fresh(p_table text)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
  IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'on Citus a row of % takes its key only in READ COMMITTED, not %', p_table,
      pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))
      USING ERRCODE = 'invalid_transaction_state',
            HINT = 'a snapshot older than another seller''s takeover of the key would pass the check: run the write in a READ COMMITTED transaction (decision 264)';
  END IF;
END;
$function$;

CREATE OR REPLACE FUNCTION public.lookup_claims_needed(p_table text)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
  -- Citus's library preloaded without CREATE EXTENSION citus in this database: one server.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NULL
     OR pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
    RETURN false;
  END IF;
  RETURN EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d
                 WHERE d.logicalrelid = pg_catalog.to_regclass('public.' || p_table));
END;
$function$;

CREATE OR REPLACE FUNCTION public.note_analytics_changes()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
DECLARE
  v_seller uuid;
  v_day date;
BEGIN
  -- On Citus this runs on the node of a shard of analytics_events, where an INSERT ... SELECT
  -- from a transition table into a distributed table fails: each (seller, day) is read
  -- first and inserted by a statement naming its seller, on the co-located shard of this
  -- node, so the definer opens no connection (decision 233). A single server takes 027's
  -- statements below, unchanged.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      FOR v_seller, v_day IN
        SELECT DISTINCT e.user_id, (e.occurred_at AT TIME ZONE 'UTC')::date FROM new_events AS e ORDER BY 1, 2
      LOOP
        INSERT INTO public.analytics_summary_changes (user_id, date) VALUES (v_seller, v_day);
      END LOOP;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
      FOR v_seller, v_day IN
        SELECT DISTINCT e.user_id, (e.occurred_at AT TIME ZONE 'UTC')::date FROM old_events AS e ORDER BY 1, 2
      LOOP
        INSERT INTO public.analytics_summary_changes (user_id, date) VALUES (v_seller, v_day);
      END LOOP;
    END IF;
    RETURN NULL;
  END IF;
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
$function$;

CREATE OR REPLACE FUNCTION public.product_search_document(name text, description text)
 RETURNS tsvector
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT setweight(to_tsvector('public.portuguese_unaccent'::regconfig, coalesce(name, '')), 'A')
      || setweight(to_tsvector('public.portuguese_unaccent'::regconfig, coalesce(description, '')), 'B')
$function$;

CREATE OR REPLACE FUNCTION public.rebuild_analytics_daily_summary()
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
 SET work_mem TO '256MB'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION public.recompute_seller_days(p_seller uuid, p_days date[])
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION public.refresh_analytics_daily_summary()
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
 SET work_mem TO '256MB'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION public.refuse_event_far_ahead()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.occurred_at = OLD.occurred_at THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'analytics_events: occurred_at % is more than 1 day after now (%): an event records something that happened; correct its time',
      to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00"'),
      to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00"')
    USING ERRCODE = 'check_violation', TABLE = 'analytics_events', COLUMN = 'occurred_at',
          CONSTRAINT = 'analytics_events_not_far_ahead';
END;
$function$;

CREATE OR REPLACE FUNCTION public.route_platform_account(p_platform text, p_platform_account_id text)
 RETURNS TABLE(user_id uuid, client_account_id uuid)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
BEGIN
  RETURN QUERY
    SELECT p.user_id, p.client_account_id
    FROM public.platform_accounts AS p
    WHERE p.platform = p_platform AND p.platform_account_id = p_platform_account_id;
END;
$function$;

CREATE OR REPLACE FUNCTION public.search_seller_products(p_query text, p_limit integer)
 RETURNS TABLE(id uuid, name text, price numeric, rank real)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
  SELECT p.id, p.name, p.price, ts_rank(public.product_search_document(p.name, p.description), q) AS rank
  FROM public.products AS p, websearch_to_tsquery('public.portuguese_unaccent', p_query) AS q
  WHERE p.user_id = public.app_user_id() AND p.deleted_at IS NULL
    AND public.product_search_document(p.name, p.description) @@ q
  ORDER BY rank DESC, p.id
  LIMIT public.seller_limit('search_seller_products', p_limit, 200)
$function$;

CREATE OR REPLACE FUNCTION public.seller_inbox_page(p_seller uuid, p_account uuid, p_limit integer, p_after_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_id uuid DEFAULT NULL::uuid)
 RETURNS TABLE(id uuid, platform_conversation_id text, participant_username text, last_message_at timestamp with time zone, unread_count bigint)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_inbox_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- On a Citus coordinator or worker (citus loaded: its settings exist) the seller is set
  -- with SET LOCAL, which Citus propagates to the workers (set_config() it never sends), and
  -- each query names the seller, so that it reads one shard (decision 212). A single server
  -- takes the other branch: 040's statements, plans and all.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
    IF p_after_at IS NULL AND p_after_id IS NULL THEN
      RETURN QUERY
        SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
        FROM public.conversations AS c
        WHERE c.client_account_id = p_account AND c.user_id = p_seller AND c.status = 'open'
        ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
        LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
    ELSE
      -- The scalar `<=` is implied by the row comparison; it is there for the planner, which
      -- estimates a row comparison's selectivity poorly and would then sort.
      RETURN QUERY
        SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
        FROM public.conversations AS c
        WHERE c.client_account_id = p_account AND c.user_id = p_seller AND c.status = 'open'
          AND c.last_message_at <= p_after_at AND (c.last_message_at, c.id) < (p_after_at, p_after_id)
        ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
        LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
    END IF;
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
    RETURN;
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
  PERFORM set_config('app.user_id', previous, true);
END;
$function$;

CREATE OR REPLACE FUNCTION public.seller_ingest_batch(p_seller uuid, p_accounts uuid[], p_conversations text[], p_participants text[], p_usernames text[], p_messages text[], p_senders text[], p_types text[], p_contents text[], p_sent_ats timestamp with time zone[])
 RETURNS TABLE(stored bigint, not_connected uuid[])
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
 SET "DateStyle" TO 'ISO, MDY'
AS $function$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  connected uuid[];
  missing uuid[];
  pair record;
  found_ids uuid[];
  found_accounts uuid[];
  found_names text[];
  aligned uuid[];
  rows_sql text;
  counted bigint := 0;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_ingest_batch: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SET LOCAL citus.propagate_set_commands = 'local';
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
  SELECT coalesce(pg_catalog.array_agg(a.id), '{}') INTO connected
  FROM public.client_accounts AS a
  WHERE a.user_id = p_seller AND a.id = ANY (p_accounts) AND a.deleted_at IS NULL;
  SELECT pg_catalog.array_agg(s.account) INTO missing
  FROM (SELECT DISTINCT i.account FROM unnest(p_accounts) AS i (account)
        WHERE i.account IS NULL OR NOT (i.account = ANY (connected))
        ORDER BY i.account LIMIT 10) AS s;
  IF missing IS NOT NULL THEN
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
    RETURN QUERY SELECT 0::bigint, missing;
    RETURN;
  END IF;
  FOR pair IN
    SELECT DISTINCT ON (i.account, i.conversation) i.account, i.conversation, i.participant, i.username
    FROM unnest(p_accounts, p_conversations, p_participants, p_usernames)
      AS i (account, conversation, participant, username)
    ORDER BY i.account, i.conversation
  LOOP
    INSERT INTO public.conversations
      (user_id, client_account_id, platform_conversation_id, participant_platform_id, participant_username)
    VALUES (p_seller, pair.account, pair.conversation, pair.participant, pair.username)
    ON CONFLICT (client_account_id, user_id, platform_conversation_id) DO NOTHING;
  END LOOP;
  SELECT pg_catalog.array_agg(c.id), pg_catalog.array_agg(c.client_account_id), pg_catalog.array_agg(c.platform_conversation_id)
  INTO found_ids, found_accounts, found_names
  FROM public.conversations AS c
  WHERE c.user_id = p_seller AND c.client_account_id = ANY (p_accounts) AND c.platform_conversation_id = ANY (p_conversations);
  -- The conversation of each message, by its position in the arrays (NULL: none found).
  SELECT pg_catalog.array_agg(f.id ORDER BY i.k) INTO aligned
  FROM unnest(p_accounts, p_conversations) WITH ORDINALITY AS i (account, conversation, k)
  LEFT JOIN unnest(found_ids, found_accounts, found_names) AS f (id, account, conversation)
    ON f.account = i.account AND f.conversation = i.conversation;
  -- Each row's values as literals (format's %L quotes them): with `$2[k]` subscripts Citus
  -- put every whole array into the statement once per row, quadratic in the batch (out of
  -- memory at 5,000 rows; decision 273), read back under the function's own DateStyle.
  SELECT pg_catalog.string_agg(
           pg_catalog.format('(%L::uuid, %L::uuid, %L, %L, %L, %L, %L::timestamptz)', p_seller, i.conversation,
                             i.message, p_senders[i.k], p_types[i.k], p_contents[i.k], p_sent_ats[i.k]), ', '
           ORDER BY i.message, i.k)
  INTO rows_sql
  FROM unnest(p_messages, aligned) WITH ORDINALITY AS i (message, conversation, k)
  WHERE i.conversation IS NOT NULL;
  IF rows_sql IS NOT NULL THEN
    EXECUTE 'INSERT INTO public.messages (user_id, conversation_id, platform_message_id, sender_type, message_type,'
            ' content, sent_at) VALUES ' || rows_sql || ' ON CONFLICT DO NOTHING';
    GET DIAGNOSTICS counted = ROW_COUNT;
  END IF;
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
  RETURN QUERY SELECT counted, NULL::uuid[];
END;
$function$;

CREATE OR REPLACE FUNCTION public.seller_ingest_message(p_seller uuid, p_account uuid, p_conversation text, p_participant text, p_username text, p_message text, p_sender text, p_type text, p_content text, p_sent_at timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  unread integer := (p_sender = 'customer')::integer;
  conversation uuid;
  stored uuid;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_ingest_message: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- On Citus (decision 231): the same steps as plain statements that each name the seller,
  -- so that, delegated to the seller's node, every one runs on its co-located shards there
  -- and the definer opens no connection; 050's statements span shards (a data-modifying
  -- CTE without the seller). The seller is set with SET LOCAL (053). The order of the locks
  -- is the same: the message first, then its conversation. A single server takes 050's
  -- statements below, with the account's check inside the first (062).
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
    IF NOT EXISTS (SELECT FROM public.client_accounts AS a
                   WHERE a.user_id = p_seller AND a.id = p_account AND a.deleted_at IS NULL) THEN
      RAISE EXCEPTION 'seller_ingest_message: account % is not a connected account of the seller', p_account
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'route the webhook again (route_platform_account): the account was disconnected, or is not this seller''s';
    END IF;
    FOR attempt IN 1..3 LOOP
      SELECT c.id INTO conversation FROM public.conversations AS c
      WHERE c.user_id = p_seller AND c.client_account_id = p_account AND c.platform_conversation_id = p_conversation;
      IF conversation IS NOT NULL THEN
        INSERT INTO public.messages
          (user_id, conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
        VALUES (p_seller, conversation, p_message, p_sender, p_type, p_content, p_sent_at)
        ON CONFLICT (user_id, conversation_id, platform_message_id) DO NOTHING
        RETURNING conversation_id INTO stored;
        IF stored IS NOT NULL THEN
          UPDATE public.conversations AS c
          SET participant_username = coalesce(p_username, c.participant_username),
              unread_count = c.unread_count + unread,
              last_message_at = greatest(c.last_message_at, p_sent_at)
          WHERE c.user_id = p_seller AND c.id = conversation;
        END IF;
        EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
        RETURN stored IS NOT NULL;
      END IF;
      INSERT INTO public.conversations AS c
        (user_id, client_account_id, platform_conversation_id, participant_platform_id, participant_username,
         unread_count, last_message_at)
      VALUES (p_seller, p_account, p_conversation, p_participant, p_username, unread, p_sent_at)
      ON CONFLICT (client_account_id, user_id, platform_conversation_id) DO NOTHING
      RETURNING c.id INTO conversation;
      IF conversation IS NOT NULL THEN
        INSERT INTO public.messages
          (user_id, conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
        VALUES (p_seller, conversation, p_message, p_sender, p_type, p_content, p_sent_at);
        EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
        RETURN true;
      END IF;
      EXIT WHEN attempt > 1;
    END LOOP;
    RAISE EXCEPTION 'seller_ingest_message: conversation % of account % is not the seller''s', p_conversation, p_account
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM pg_catalog.set_config('app.user_id', p_seller::text, true);
  -- Again after another transaction's insert of the conversation won (then found, unless
  -- deleted meanwhile: one more try).
  FOR attempt IN 1..3 LOOP
    -- As in 044, an account that is not a connected account of the seller is refused before
    -- anything is written: here its conversation is not found (the account's check is this
    -- statement's own InitPlan, one index probe, where 057 ran a statement of its own for it),
    -- and the refusal below comes before any insert.
    WITH found AS (
      SELECT c.id FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.platform_conversation_id = p_conversation
        AND EXISTS (SELECT FROM public.client_accounts AS a WHERE a.id = p_account AND a.deleted_at IS NULL)
    ), inserted AS (
      INSERT INTO public.messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
      SELECT found.id, p_message, p_sender, p_type, p_content, p_sent_at
      FROM found
      ON CONFLICT (user_id, conversation_id, platform_message_id) DO NOTHING
      RETURNING conversation_id
    ), counted AS (
      -- The conversation's row lock comes after the message's, as in the triggers.
      UPDATE public.conversations AS c
      SET participant_username = coalesce(p_username, c.participant_username),
          unread_count = c.unread_count + unread,
          last_message_at = greatest(c.last_message_at, p_sent_at)
      FROM inserted
      WHERE c.id = inserted.conversation_id
      RETURNING c.id
    )
    SELECT found.id, counted.id INTO conversation, stored
    FROM found LEFT JOIN counted ON true;
    IF conversation IS NOT NULL THEN
      PERFORM pg_catalog.set_config('app.user_id', previous, true);
      RETURN stored IS NOT NULL;
    END IF;
    IF NOT EXISTS (SELECT FROM public.client_accounts AS a WHERE a.id = p_account AND a.deleted_at IS NULL) THEN
      RAISE EXCEPTION 'seller_ingest_message: account % is not a connected account of the seller', p_account
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'route the webhook again (route_platform_account): the account was disconnected, or is not this seller''s';
    END IF;
    -- Not found: the conversation, already counting its first message, and the message.
    WITH created AS (
      INSERT INTO public.conversations AS c
        (client_account_id, platform_conversation_id, participant_platform_id, participant_username,
         unread_count, last_message_at)
      VALUES (p_account, p_conversation, p_participant, p_username, unread, p_sent_at)
      ON CONFLICT (client_account_id, user_id, platform_conversation_id) DO NOTHING
      RETURNING c.id
    ), inserted AS (
      INSERT INTO public.messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
      SELECT created.id, p_message, p_sender, p_type, p_content, p_sent_at
      FROM created
      RETURNING conversation_id
    )
    SELECT inserted.conversation_id INTO stored FROM inserted;
    IF stored IS NOT NULL THEN
      PERFORM pg_catalog.set_config('app.user_id', previous, true);
      RETURN true;
    END IF;
    -- Not found twice, and not insertable: a conversation the seller cannot see.
    EXIT WHEN attempt > 1;
  END LOOP;
  RAISE EXCEPTION 'seller_ingest_message: conversation % of account % is not the seller''s', p_conversation, p_account
    USING ERRCODE = 'insufficient_privilege';
END;
$function$;

CREATE OR REPLACE FUNCTION public.seller_limit(p_caller text, p_limit integer, p_max integer)
 RETURNS integer
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
BEGIN
  IF p_limit IS NULL OR p_limit < 1 THEN
    RAISE EXCEPTION '%: the limit must be at least 1 (at most % rows are returned), not %',
      p_caller, p_max, coalesce(p_limit::text, 'null')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN least(p_limit, p_max);
END;
$function$;

CREATE OR REPLACE FUNCTION public.seller_mark_read(p_seller uuid, p_conversation uuid)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  changed bigint;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_mark_read: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- On Citus the seller goes with SET LOCAL, which Citus sends to the workers (053); one server
  -- takes set_config(), which needs no statement built and parsed per call.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
  ELSE
    PERFORM pg_catalog.set_config('app.user_id', p_seller::text, true);
  END IF;
  -- The statement of 057 (socialdb.app.statements.MARK_READ naming the seller: one shard on
  -- Citus). Its trigger (decrement_unread_count) moves the counter, on that shard's node there.
  UPDATE public.messages AS m SET is_read = true, read_at = pg_catalog.now()
  WHERE m.conversation_id = p_conversation AND m.user_id = p_seller AND m.sender_type = 'customer' AND NOT m.is_read;
  GET DIAGNOSTICS changed = ROW_COUNT;
  -- The caller's seller back the way this one was set: on Citus only SET LOCAL reaches the
  -- workers, where a set_config() would leave them acting for p_seller for the rest of the
  -- transaction (found by review; tests/test_citus_calls.py).
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
  ELSE
    PERFORM pg_catalog.set_config('app.user_id', previous, true);
  END IF;
  RETURN changed;
END;
$function$;

CREATE OR REPLACE FUNCTION public.seller_message_page(p_seller uuid, p_conversation uuid, p_limit integer, p_after_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_id uuid DEFAULT NULL::uuid)
 RETURNS TABLE(id uuid, sender_type text, message_type text, content text, sent_at timestamp with time zone, is_read boolean)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_message_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- On a Citus coordinator or worker (citus loaded: its settings exist) the seller is set
  -- with SET LOCAL, which Citus propagates to the workers (set_config() it never sends), and
  -- each query names the seller, so that it reads one shard (decision 212). A single server
  -- takes the other branch: 040's statements, plans and all.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
    IF p_after_at IS NULL AND p_after_id IS NULL THEN
      RETURN QUERY
        SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
        FROM public.messages AS m
        WHERE m.conversation_id = p_conversation AND m.user_id = p_seller
        ORDER BY m.sent_at DESC, m.id DESC
        LIMIT public.seller_limit('seller_message_page', p_limit, 200);
    ELSE
      RETURN QUERY
        SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
        FROM public.messages AS m
        WHERE m.conversation_id = p_conversation AND m.user_id = p_seller
          AND m.sent_at <= p_after_at AND (m.sent_at, m.id) < (p_after_at, p_after_id)
        ORDER BY m.sent_at DESC, m.id DESC
        LIMIT public.seller_limit('seller_message_page', p_limit, 200);
    END IF;
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
    RETURN;
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
  PERFORM set_config('app.user_id', previous, true);
END;
$function$;

CREATE OR REPLACE FUNCTION public.seller_record_events(p_seller uuid, p_accounts uuid[], p_types text[], p_categories text[], p_times timestamp with time zone[], p_values numeric[], p_entity_types text[], p_entity_ids uuid[])
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
 SET "DateStyle" TO 'ISO, MDY'
AS $function$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  rows_sql text;
  counted bigint := 0;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_record_events: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SET LOCAL citus.propagate_set_commands = 'local';
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
  -- Each row's values as literals, as in seller_ingest_batch (decision 273).
  SELECT pg_catalog.string_agg(
           pg_catalog.format('(%L::uuid, %L::uuid, %L, %L, %L::timestamptz, %L::numeric, %L, %L::uuid)', p_seller,
                             p_accounts[k], p_types[k], p_categories[k], p_times[k], p_values[k], p_entity_types[k],
                             p_entity_ids[k]), ', '
           ORDER BY k)
  INTO rows_sql
  FROM pg_catalog.generate_subscripts(p_types, 1) AS k;
  IF rows_sql IS NOT NULL THEN
    EXECUTE 'INSERT INTO public.analytics_events (user_id, client_account_id, event_type, event_category,'
            ' occurred_at, value, entity_type, entity_id) VALUES ' || rows_sql;
    GET DIAGNOSTICS counted = ROW_COUNT;
  END IF;
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
  RETURN counted;
END;
$function$;

CREATE OR REPLACE FUNCTION public.seller_search_products(p_seller uuid, p_query text, p_limit integer)
 RETURNS TABLE(id uuid, name text, price numeric, rank real)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
DECLARE
  q tsquery := pg_catalog.websearch_to_tsquery('public.portuguese_unaccent'::pg_catalog.regconfig, p_query);
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_search_products: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  RETURN QUERY
    SELECT p.id, p.name, p.price, pg_catalog.ts_rank(public.product_search_document(p.name, p.description), q)
    FROM public.products AS p
    WHERE p.user_id = p_seller AND p.deleted_at IS NULL
      AND public.product_search_document(p.name, p.description) OPERATOR(pg_catalog.@@) q
    ORDER BY 4 DESC, 1
    LIMIT public.seller_limit('seller_search_products', p_limit, 200);
END;
$function$;

CREATE OR REPLACE FUNCTION public.sign_up_user(p_id uuid, p_email text, p_password_hash text, p_name text)
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
  IF p_id IS NULL OR public.app_user_id() IS DISTINCT FROM p_id THEN
    RAISE EXCEPTION 'new row violates row-level security policy for table "users"'
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'sign up under the new user''s id as the seller of the transaction (app.user_id)';
  END IF;
  IF public.lookup_claims_needed('users') THEN
    PERFORM public.claim_user_email(p_email, p_id);
  END IF;
  INSERT INTO public.users (id, email, password_hash, name) VALUES (p_id, p_email, p_password_hash, p_name);
  RETURN p_id;
END;
$function$;

CREATE OR REPLACE FUNCTION public.time_ordered_uuid()
 RETURNS uuid
 LANGUAGE sql
 PARALLEL SAFE
AS $function$
  -- A random UUID (its variant bits are already right) with the Unix time in milliseconds
  -- over its first six bytes and version 7 in its version bits (bits 52 and 53 of the
  -- bytes turn version 4, 0100, into 0111).
  SELECT pg_catalog.encode(
    pg_catalog.set_bit(pg_catalog.set_bit(
      pg_catalog.overlay(
        pg_catalog.uuid_send(pg_catalog.gen_random_uuid()),
        pg_catalog.substr(
          pg_catalog.int8send(pg_catalog.floor(
            pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000
          )::pg_catalog.int8),
          3),
        1, 6),
      52, 1), 53, 1),
    'hex')::pg_catalog.uuid
$function$;

CREATE OR REPLACE FUNCTION public.update_updated_at_column()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$function$;


-- Tables

CREATE TABLE public.analytics_daily_rollup (
    user_id uuid NOT NULL,
    date date NOT NULL,
    event_category text NOT NULL,
    event_count bigint NOT NULL,
    total_value numeric
);

CREATE TABLE public.analytics_daily_summary (
    user_id uuid NOT NULL,
    client_account_id uuid,
    client_account_key uuid NOT NULL,
    date date NOT NULL,
    event_category text NOT NULL,
    event_type text NOT NULL,
    event_count bigint NOT NULL,
    total_value numeric,
    avg_value numeric
);

CREATE TABLE public.analytics_events (
    id uuid DEFAULT time_ordered_uuid() NOT NULL,
    user_id uuid NOT NULL,
    client_account_id uuid,
    event_type text NOT NULL,
    event_category text NOT NULL,
    entity_type text,
    entity_id uuid,
    value numeric(12,2),
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
) PARTITION BY RANGE (occurred_at);

CREATE TABLE public.analytics_summary_changes (
    user_id uuid NOT NULL,
    date date NOT NULL
);

CREATE TABLE public.client_accounts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid DEFAULT app_user_id() NOT NULL,
    platform text NOT NULL,
    platform_account_id text NOT NULL,
    username text NOT NULL,
    profile_picture_url text,
    follower_count bigint DEFAULT 0 NOT NULL,
    following_count bigint DEFAULT 0 NOT NULL,
    media_count bigint DEFAULT 0 NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    last_sync_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

CREATE TABLE public.conversations (
    id uuid DEFAULT time_ordered_uuid() NOT NULL,
    client_account_id uuid NOT NULL,
    platform_conversation_id text NOT NULL,
    participant_platform_id text NOT NULL,
    participant_username text,
    participant_profile_pic text,
    last_message_at timestamp with time zone,
    unread_count bigint DEFAULT 0 NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    user_id uuid DEFAULT app_user_id() NOT NULL
);

CREATE TABLE public.instagram_media (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    client_account_id uuid NOT NULL,
    platform_media_id text NOT NULL,
    media_type text NOT NULL,
    media_url text,
    thumbnail_url text,
    permalink text,
    caption text,
    like_count bigint DEFAULT 0 NOT NULL,
    comment_count bigint DEFAULT 0 NOT NULL,
    "timestamp" timestamp with time zone,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    synced_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    user_id uuid DEFAULT app_user_id() NOT NULL
);

CREATE TABLE public.message_products (
    id uuid DEFAULT time_ordered_uuid() NOT NULL,
    message_id uuid NOT NULL,
    product_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    user_id uuid DEFAULT app_user_id() NOT NULL
);

CREATE TABLE public.messages (
    id uuid DEFAULT time_ordered_uuid() NOT NULL,
    conversation_id uuid NOT NULL,
    platform_message_id text NOT NULL,
    sender_type text NOT NULL,
    sender_platform_id text,
    message_type text DEFAULT 'text'::text NOT NULL,
    content text,
    media_url text,
    media_type text,
    is_read boolean DEFAULT false NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    delivered_at timestamp with time zone,
    read_at timestamp with time zone,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    user_id uuid DEFAULT app_user_id() NOT NULL
);

CREATE TABLE public.notifications (
    id uuid DEFAULT time_ordered_uuid() NOT NULL,
    user_id uuid DEFAULT app_user_id() NOT NULL,
    type text NOT NULL,
    title text NOT NULL,
    message text NOT NULL,
    action_url text,
    is_read boolean DEFAULT false NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    read_at timestamp with time zone
);

CREATE TABLE public.oauth_tokens (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid DEFAULT app_user_id() NOT NULL,
    client_account_id uuid NOT NULL,
    platform text NOT NULL,
    access_token text NOT NULL,
    token_type text DEFAULT 'Bearer'::text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone
);

CREATE TABLE public.platform_accounts (
    platform text NOT NULL,
    platform_account_id text NOT NULL,
    user_id uuid NOT NULL,
    client_account_id uuid NOT NULL
);

CREATE TABLE public.product_links (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    product_id uuid NOT NULL,
    client_account_id uuid NOT NULL,
    instagram_media_id text,
    short_link text,
    clicks bigint DEFAULT 0 NOT NULL,
    conversions bigint DEFAULT 0 NOT NULL,
    revenue numeric(14,2) DEFAULT 0 NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    user_id uuid DEFAULT app_user_id() NOT NULL
);

CREATE TABLE public.products (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid DEFAULT app_user_id() NOT NULL,
    name text NOT NULL,
    description text,
    price numeric(10,2),
    currency text DEFAULT 'BRL'::text NOT NULL,
    category text,
    tags text[],
    images jsonb DEFAULT '[]'::jsonb NOT NULL,
    stock_quantity bigint,
    sku text,
    is_available boolean DEFAULT true NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);

CREATE TABLE public.refresh_tokens (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    token_hash text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone
);

CREATE TABLE public.short_links (
    short_link text NOT NULL,
    user_id uuid NOT NULL,
    product_link_id uuid NOT NULL
);

CREATE TABLE public.user_emails (
    email_key text NOT NULL,
    user_id uuid NOT NULL
);

CREATE TABLE public.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    password_hash text NOT NULL,
    name text NOT NULL,
    timezone text DEFAULT 'America/Sao_Paulo'::text NOT NULL,
    language text DEFAULT 'pt-BR'::text NOT NULL,
    subscription_tier text DEFAULT 'free'::text NOT NULL,
    email_verified boolean DEFAULT false NOT NULL,
    email_verification_token text,
    password_reset_token text,
    password_reset_expires timestamp with time zone,
    last_login_at timestamp with time zone,
    last_login_ip inet,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone
);


-- Keys and checks

ALTER TABLE public.analytics_daily_rollup ADD CONSTRAINT analytics_daily_rollup_pkey PRIMARY KEY (user_id, date, event_category) INCLUDE (event_count, total_value);
ALTER TABLE public.analytics_daily_summary ADD CONSTRAINT idx_analytics_daily_unique PRIMARY KEY (user_id, client_account_key, date, event_category, event_type);
ALTER TABLE public.analytics_events ADD CONSTRAINT analytics_events_pkey PRIMARY KEY (id, user_id, occurred_at);
ALTER TABLE public.client_accounts ADD CONSTRAINT client_accounts_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.conversations ADD CONSTRAINT conversations_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.instagram_media ADD CONSTRAINT instagram_media_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.message_products ADD CONSTRAINT message_products_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.messages ADD CONSTRAINT messages_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.notifications ADD CONSTRAINT notifications_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.oauth_tokens ADD CONSTRAINT oauth_tokens_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.platform_accounts ADD CONSTRAINT platform_accounts_pkey PRIMARY KEY (platform, platform_account_id);
ALTER TABLE public.product_links ADD CONSTRAINT product_links_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.products ADD CONSTRAINT products_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.refresh_tokens ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id, user_id);
ALTER TABLE public.short_links ADD CONSTRAINT short_links_pkey PRIMARY KEY (short_link);
ALTER TABLE public.user_emails ADD CONSTRAINT user_emails_pkey PRIMARY KEY (email_key);
ALTER TABLE public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE public.analytics_events ADD CONSTRAINT analytics_events_occurred_at_range CHECK (((occurred_at >= '2000-01-01 00:00:00+00'::timestamp with time zone) AND (occurred_at < '2200-01-01 00:00:00+00'::timestamp with time zone)));
ALTER TABLE public.analytics_events ADD CONSTRAINT chk_analytics_category CHECK ((event_category = ANY (ARRAY['engagement'::text, 'sales'::text, 'message'::text, 'content'::text])));
ALTER TABLE public.analytics_events ADD CONSTRAINT chk_analytics_entity_type CHECK ((entity_type = ANY (ARRAY['product'::text, 'message'::text, 'conversation'::text, 'post'::text])));
ALTER TABLE public.analytics_events ADD CONSTRAINT chk_analytics_event_type CHECK (((char_length(event_type) >= 1) AND (char_length(event_type) <= 100)));
ALTER TABLE public.analytics_events ADD CONSTRAINT chk_analytics_metadata CHECK ((jsonb_typeof(metadata) = 'object'::text));
ALTER TABLE public.client_accounts ADD CONSTRAINT chk_client_accounts_counts CHECK (((follower_count >= 0) AND (following_count >= 0) AND (media_count >= 0)));
ALTER TABLE public.client_accounts ADD CONSTRAINT chk_client_accounts_ids CHECK ((((char_length(platform_account_id) >= 1) AND (char_length(platform_account_id) <= 255)) AND ((char_length(username) >= 1) AND (char_length(username) <= 255))));
ALTER TABLE public.client_accounts ADD CONSTRAINT chk_client_accounts_metadata CHECK ((jsonb_typeof(metadata) = 'object'::text));
ALTER TABLE public.client_accounts ADD CONSTRAINT chk_client_accounts_not_nil CHECK ((id <> '00000000-0000-0000-0000-000000000000'::uuid));
ALTER TABLE public.client_accounts ADD CONSTRAINT chk_client_accounts_platform_sizes CHECK (((char_length(profile_picture_url) <= 8192) AND (octet_length((metadata)::text) <= 65536)));
ALTER TABLE public.client_accounts ADD CONSTRAINT chk_platform CHECK ((platform = ANY (ARRAY['instagram'::text, 'whatsapp'::text])));
ALTER TABLE public.client_accounts ADD CONSTRAINT chk_status CHECK ((status = ANY (ARRAY['active'::text, 'token_expired'::text, 'token_revoked'::text, 'disconnected'::text, 'error'::text])));
ALTER TABLE public.conversations ADD CONSTRAINT chk_conversation_status CHECK ((status = ANY (ARRAY['open'::text, 'closed'::text, 'archived'::text])));
ALTER TABLE public.conversations ADD CONSTRAINT chk_conversations_ids CHECK ((((char_length(platform_conversation_id) >= 1) AND (char_length(platform_conversation_id) <= 255)) AND ((char_length(participant_platform_id) >= 1) AND (char_length(participant_platform_id) <= 255)) AND (char_length(participant_username) <= 255)));
ALTER TABLE public.conversations ADD CONSTRAINT chk_conversations_metadata CHECK ((jsonb_typeof(metadata) = 'object'::text));
ALTER TABLE public.conversations ADD CONSTRAINT chk_conversations_platform_sizes CHECK (((char_length(participant_profile_pic) <= 8192) AND (octet_length((metadata)::text) <= 65536)));
ALTER TABLE public.conversations ADD CONSTRAINT chk_conversations_unread CHECK ((unread_count >= 0));
ALTER TABLE public.instagram_media ADD CONSTRAINT chk_instagram_media_counts CHECK (((like_count >= 0) AND (comment_count >= 0)));
ALTER TABLE public.instagram_media ADD CONSTRAINT chk_instagram_media_id CHECK (((char_length(platform_media_id) >= 1) AND (char_length(platform_media_id) <= 255)));
ALTER TABLE public.instagram_media ADD CONSTRAINT chk_instagram_media_metadata CHECK ((jsonb_typeof(metadata) = 'object'::text));
ALTER TABLE public.instagram_media ADD CONSTRAINT chk_instagram_media_platform_sizes CHECK (((char_length(caption) <= 4400) AND (char_length(media_url) <= 8192) AND (char_length(thumbnail_url) <= 8192) AND (char_length(permalink) <= 8192) AND (octet_length((metadata)::text) <= 65536)));
ALTER TABLE public.instagram_media ADD CONSTRAINT chk_media_type CHECK ((media_type = ANY (ARRAY['IMAGE'::text, 'VIDEO'::text, 'CAROUSEL_ALBUM'::text])));
ALTER TABLE public.messages ADD CONSTRAINT chk_message_type CHECK ((message_type = ANY (ARRAY['text'::text, 'image'::text, 'video'::text, 'audio'::text, 'story_mention'::text, 'story_reply'::text])));
ALTER TABLE public.messages ADD CONSTRAINT chk_messages_ids CHECK ((((char_length(platform_message_id) >= 1) AND (char_length(platform_message_id) <= 255)) AND (char_length(sender_platform_id) <= 255)));
ALTER TABLE public.messages ADD CONSTRAINT chk_messages_media_type CHECK ((char_length(media_type) <= 50));
ALTER TABLE public.messages ADD CONSTRAINT chk_messages_metadata CHECK ((jsonb_typeof(metadata) = 'object'::text));
ALTER TABLE public.messages ADD CONSTRAINT chk_messages_platform_sizes CHECK (((char_length(content) <= 8192) AND (char_length(media_url) <= 8192) AND (octet_length((metadata)::text) <= 65536)));
ALTER TABLE public.messages ADD CONSTRAINT chk_sender_type CHECK ((sender_type = ANY (ARRAY['user'::text, 'customer'::text])));
ALTER TABLE public.notifications ADD CONSTRAINT chk_notifications_metadata CHECK ((jsonb_typeof(metadata) = 'object'::text));
ALTER TABLE public.notifications ADD CONSTRAINT chk_notifications_title CHECK (((char_length(title) >= 1) AND (char_length(title) <= 255)));
ALTER TABLE public.notifications ADD CONSTRAINT chk_notifications_type CHECK (((char_length(type) >= 1) AND (char_length(type) <= 100)));
ALTER TABLE public.oauth_tokens ADD CONSTRAINT chk_oauth_access_token CHECK ((char_length(access_token) >= 1));
ALTER TABLE public.oauth_tokens ADD CONSTRAINT chk_oauth_platform CHECK ((platform = ANY (ARRAY['instagram'::text, 'whatsapp'::text])));
ALTER TABLE public.oauth_tokens ADD CONSTRAINT chk_oauth_token_type CHECK (((char_length(token_type) >= 1) AND (char_length(token_type) <= 50)));
ALTER TABLE public.oauth_tokens ADD CONSTRAINT chk_oauth_tokens_platform_sizes CHECK (((char_length(access_token) <= 16384) AND (cardinality(scopes) <= 100) AND (octet_length(array_to_string(scopes, ' '::text)) <= 8192)));
ALTER TABLE public.product_links ADD CONSTRAINT chk_product_links_counts CHECK (((clicks >= 0) AND (conversions >= 0) AND (revenue >= (0)::numeric)));
ALTER TABLE public.product_links ADD CONSTRAINT chk_product_links_media CHECK ((char_length(instagram_media_id) <= 255));
ALTER TABLE public.product_links ADD CONSTRAINT chk_product_links_short_link CHECK (((char_length(short_link) >= 1) AND (char_length(short_link) <= 255)));
ALTER TABLE public.products ADD CONSTRAINT chk_products_category CHECK ((char_length(category) <= 100));
ALTER TABLE public.products ADD CONSTRAINT chk_products_currency CHECK ((currency ~ '^[A-Z]{3}$'::text));
ALTER TABLE public.products ADD CONSTRAINT chk_products_images CHECK ((jsonb_typeof(images) = 'array'::text));
ALTER TABLE public.products ADD CONSTRAINT chk_products_metadata CHECK ((jsonb_typeof(metadata) = 'object'::text));
ALTER TABLE public.products ADD CONSTRAINT chk_products_name CHECK (((char_length(name) >= 1) AND (char_length(name) <= 255)));
ALTER TABLE public.products ADD CONSTRAINT chk_products_price CHECK ((price >= (0)::numeric));
ALTER TABLE public.products ADD CONSTRAINT chk_products_sku CHECK ((char_length(sku) <= 100));
ALTER TABLE public.products ADD CONSTRAINT chk_products_stock CHECK ((stock_quantity >= 0));
ALTER TABLE public.refresh_tokens ADD CONSTRAINT chk_refresh_tokens_token_hash CHECK (((char_length(token_hash) >= 1) AND (char_length(token_hash) <= 255)));
ALTER TABLE public.users ADD CONSTRAINT chk_subscription_tier CHECK ((subscription_tier = ANY (ARRAY['free'::text, 'basic'::text, 'pro'::text, 'enterprise'::text])));
ALTER TABLE public.users ADD CONSTRAINT chk_users_email CHECK (((char_length(email) <= 255) AND (email ~ '^[^@\s]+@[^@\s]+$'::text)));
ALTER TABLE public.users ADD CONSTRAINT chk_users_language CHECK (((char_length(language) >= 2) AND (char_length(language) <= 10)));
ALTER TABLE public.users ADD CONSTRAINT chk_users_name CHECK (((char_length(name) >= 1) AND (char_length(name) <= 255)));
ALTER TABLE public.users ADD CONSTRAINT chk_users_password_hash CHECK (((char_length(password_hash) >= 1) AND (char_length(password_hash) <= 255)));
ALTER TABLE public.users ADD CONSTRAINT chk_users_timezone CHECK (((char_length(timezone) >= 1) AND (char_length(timezone) <= 50)));
ALTER TABLE public.users ADD CONSTRAINT chk_users_tokens CHECK (((char_length(email_verification_token) <= 255) AND (char_length(password_reset_token) <= 255)));

-- Indexes

CREATE INDEX idx_analytics_daily_date ON public.analytics_daily_summary USING btree (date DESC);
CREATE INDEX idx_analytics_daily_user_date ON public.analytics_daily_summary USING btree (user_id, date);
CREATE INDEX idx_analytics_category ON ONLY public.analytics_events USING btree (event_category);
CREATE INDEX idx_analytics_client_account ON ONLY public.analytics_events USING btree (client_account_id);
CREATE INDEX idx_analytics_entity ON ONLY public.analytics_events USING btree (entity_type, entity_id);
CREATE INDEX idx_analytics_event_type ON ONLY public.analytics_events USING btree (event_type);
CREATE INDEX idx_analytics_occurred_at ON ONLY public.analytics_events USING btree (occurred_at DESC);
CREATE INDEX idx_analytics_user_date_category ON ONLY public.analytics_events USING btree (user_id, occurred_at DESC, event_category);
CREATE UNIQUE INDEX client_accounts_seller_platform_account_key ON public.client_accounts USING btree (user_id, platform, platform_account_id) WHERE (deleted_at IS NULL);
CREATE INDEX idx_client_accounts_last_sync ON public.client_accounts USING btree (last_sync_at);
CREATE INDEX idx_client_accounts_status ON public.client_accounts USING btree (status);
CREATE INDEX idx_client_accounts_user_id ON public.client_accounts USING btree (user_id);
CREATE INDEX idx_client_accounts_user_platform ON public.client_accounts USING btree (user_id, platform) WHERE (deleted_at IS NULL);
CREATE UNIQUE INDEX conversations_account_platform_key ON public.conversations USING btree (client_account_id, user_id, platform_conversation_id);
CREATE INDEX idx_conversations_inbox ON public.conversations USING btree (client_account_id, user_id, last_message_at DESC NULLS LAST, id DESC) WHERE (status = 'open'::text);
CREATE INDEX idx_instagram_media_client_account ON public.instagram_media USING btree (client_account_id);
CREATE INDEX idx_instagram_media_timestamp ON public.instagram_media USING btree ("timestamp" DESC);
CREATE UNIQUE INDEX instagram_media_seller_media_key ON public.instagram_media USING btree (user_id, client_account_id, platform_media_id);
CREATE INDEX idx_message_products_product ON public.message_products USING btree (product_id);
CREATE UNIQUE INDEX message_products_message_product_key ON public.message_products USING btree (message_id, product_id, user_id);
CREATE INDEX idx_messages_content_search ON public.messages USING gin (to_tsvector('portuguese'::regconfig, content)) WHERE (message_type = 'text'::text);
CREATE INDEX idx_messages_conversation_page ON public.messages USING btree (conversation_id, user_id, sent_at DESC, id DESC);
CREATE UNIQUE INDEX messages_seller_message_key ON public.messages USING btree (user_id, conversation_id, platform_message_id);
CREATE INDEX idx_notifications_created_at ON public.notifications USING btree (created_at DESC);
CREATE INDEX idx_notifications_is_read ON public.notifications USING btree (is_read);
CREATE INDEX idx_notifications_user_id ON public.notifications USING btree (user_id);
CREATE INDEX idx_oauth_tokens_expires_at ON public.oauth_tokens USING btree (expires_at) WHERE (revoked_at IS NULL);
CREATE INDEX idx_oauth_tokens_user_id ON public.oauth_tokens USING btree (user_id);
CREATE UNIQUE INDEX oauth_tokens_live_account_key ON public.oauth_tokens USING btree (client_account_id, user_id) WHERE (revoked_at IS NULL);
CREATE INDEX idx_product_links_client_account ON public.product_links USING btree (client_account_id);
CREATE INDEX idx_product_links_instagram_media ON public.product_links USING btree (instagram_media_id);
CREATE INDEX idx_product_links_product_clicks ON public.product_links USING btree (product_id, clicks DESC);
CREATE UNIQUE INDEX product_links_seller_short_link_key ON public.product_links USING btree (user_id, short_link);
CREATE INDEX idx_products_category ON public.products USING btree (category);
CREATE INDEX idx_products_is_available ON public.products USING btree (is_available);
CREATE INDEX idx_products_search ON public.products USING gin (user_id, product_search_document(name, description)) WHERE (deleted_at IS NULL);
CREATE INDEX idx_products_tags ON public.products USING gin (tags);
CREATE INDEX idx_products_user_available ON public.products USING btree (user_id, is_available, created_at DESC) WHERE (deleted_at IS NULL);
CREATE INDEX idx_products_user_id ON public.products USING btree (user_id);
CREATE INDEX idx_refresh_tokens_expires_at ON public.refresh_tokens USING btree (expires_at);
CREATE INDEX idx_refresh_tokens_user_id ON public.refresh_tokens USING btree (user_id);
CREATE UNIQUE INDEX refresh_tokens_seller_token_hash_key ON public.refresh_tokens USING btree (user_id, token_hash) WHERE (revoked_at IS NULL);
CREATE INDEX idx_users_created_at ON public.users USING btree (created_at);
CREATE INDEX idx_users_subscription_tier ON public.users USING btree (subscription_tier);

-- Foreign keys

ALTER TABLE public.analytics_events ADD CONSTRAINT analytics_events_account_fkey FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts(id, user_id) ON DELETE CASCADE;
ALTER TABLE public.analytics_events ADD CONSTRAINT analytics_events_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE public.client_accounts ADD CONSTRAINT client_accounts_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE public.conversations ADD CONSTRAINT conversations_account_fkey FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts(id, user_id) ON DELETE CASCADE;
ALTER TABLE public.instagram_media ADD CONSTRAINT instagram_media_account_fkey FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts(id, user_id) ON DELETE CASCADE;
ALTER TABLE public.message_products ADD CONSTRAINT message_products_message_fkey FOREIGN KEY (message_id, user_id) REFERENCES messages(id, user_id) ON DELETE CASCADE;
ALTER TABLE public.message_products ADD CONSTRAINT message_products_product_fkey FOREIGN KEY (product_id, user_id) REFERENCES products(id, user_id) ON DELETE CASCADE;
ALTER TABLE public.messages ADD CONSTRAINT messages_conversation_fkey FOREIGN KEY (conversation_id, user_id) REFERENCES conversations(id, user_id) ON DELETE CASCADE;
ALTER TABLE public.notifications ADD CONSTRAINT notifications_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE public.oauth_tokens ADD CONSTRAINT oauth_tokens_account_fkey FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts(id, user_id) ON DELETE CASCADE;
ALTER TABLE public.oauth_tokens ADD CONSTRAINT oauth_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE public.product_links ADD CONSTRAINT product_links_account_fkey FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts(id, user_id) ON DELETE CASCADE;
ALTER TABLE public.product_links ADD CONSTRAINT product_links_product_fkey FOREIGN KEY (product_id, user_id) REFERENCES products(id, user_id) ON DELETE CASCADE;
ALTER TABLE public.products ADD CONSTRAINT products_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE public.refresh_tokens ADD CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

-- Views

CREATE VIEW public.seller_daily_summary WITH (security_barrier=true) AS
 SELECT user_id,
    client_account_id,
    date,
    event_category,
    event_type,
    event_count,
    total_value,
    avg_value
   FROM analytics_daily_summary
  WHERE (user_id = app_user_id());


-- Triggers

CREATE TRIGGER analytics_events_deleted AFTER DELETE ON public.analytics_events REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_inserted AFTER INSERT ON public.analytics_events REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_not_far_ahead BEFORE INSERT OR UPDATE OF occurred_at ON public.analytics_events FOR EACH ROW WHEN (((new.occurred_at > (now() + '1 day'::interval)) AND (new.occurred_at < '2200-01-01 00:00:00+00'::timestamp with time zone))) EXECUTE FUNCTION refuse_event_far_ahead();
CREATE TRIGGER analytics_events_truncated AFTER TRUNCATE ON public.analytics_events FOR EACH STATEMENT EXECUTE FUNCTION forget_analytics_summary();
CREATE TRIGGER analytics_events_updated AFTER UPDATE ON public.analytics_events REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER client_accounts_keep_platform_accounts AFTER INSERT OR DELETE ON public.client_accounts FOR EACH ROW EXECUTE FUNCTION keep_platform_accounts();
CREATE TRIGGER client_accounts_keep_platform_accounts_on_update AFTER UPDATE OF platform, platform_account_id, deleted_at, id, user_id ON public.client_accounts FOR EACH ROW WHEN (((old.platform IS DISTINCT FROM new.platform) OR (old.platform_account_id IS DISTINCT FROM new.platform_account_id) OR ((old.deleted_at IS NULL) <> (new.deleted_at IS NULL)) OR (old.id <> new.id) OR (old.user_id <> new.user_id))) EXECUTE FUNCTION keep_platform_accounts();
CREATE TRIGGER client_accounts_truncated_lookups AFTER TRUNCATE ON public.client_accounts FOR EACH STATEMENT EXECUTE FUNCTION forget_truncated_lookups();
CREATE TRIGGER update_client_accounts_updated_at BEFORE UPDATE ON public.client_accounts FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_conversations_updated_at BEFORE UPDATE ON public.conversations FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER message_decrement_unread AFTER UPDATE ON public.messages REFERENCING OLD TABLE AS old_messages NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION decrement_unread_count();
CREATE TRIGGER message_delete_unread AFTER DELETE ON public.messages REFERENCING OLD TABLE AS old_messages FOR EACH STATEMENT EXECUTE FUNCTION forget_deleted_messages();
CREATE TRIGGER message_increment_unread AFTER INSERT ON public.messages REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT WHEN ((CURRENT_USER <> 'socialdb_ingest'::name)) EXECUTE FUNCTION increment_unread_count();
CREATE TRIGGER update_oauth_tokens_updated_at BEFORE UPDATE ON public.oauth_tokens FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER product_links_keep_short_links AFTER INSERT OR DELETE ON public.product_links FOR EACH ROW EXECUTE FUNCTION keep_short_links();
CREATE TRIGGER product_links_keep_short_links_on_update AFTER UPDATE OF short_link, id, user_id ON public.product_links FOR EACH ROW WHEN (((old.short_link IS DISTINCT FROM new.short_link) OR (old.id <> new.id) OR (old.user_id <> new.user_id))) EXECUTE FUNCTION keep_short_links();
CREATE TRIGGER product_links_truncated_lookups AFTER TRUNCATE ON public.product_links FOR EACH STATEMENT EXECUTE FUNCTION forget_truncated_lookups();
CREATE TRIGGER update_product_links_updated_at BEFORE UPDATE ON public.product_links FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_products_updated_at BEFORE UPDATE ON public.products FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER users_keep_user_emails AFTER INSERT OR DELETE ON public.users FOR EACH ROW EXECUTE FUNCTION keep_user_emails();
CREATE TRIGGER users_keep_user_emails_on_update AFTER UPDATE OF email, deleted_at, id ON public.users FOR EACH ROW WHEN (((lower(old.email) IS DISTINCT FROM lower(new.email)) OR ((old.deleted_at IS NULL) <> (new.deleted_at IS NULL)) OR (old.id <> new.id))) EXECUTE FUNCTION keep_user_emails();
CREATE TRIGGER users_truncated_lookups AFTER TRUNCATE ON public.users FOR EACH STATEMENT EXECUTE FUNCTION forget_truncated_lookups();

-- Row-level security

ALTER TABLE public.analytics_daily_rollup ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.analytics_daily_rollup FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_daily_rollup_owner ON public.analytics_daily_rollup AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY analytics_daily_rollup_seller ON public.analytics_daily_rollup AS PERMISSIVE FOR SELECT TO socialdb_app USING ((user_id = app_user_id()));
ALTER TABLE public.analytics_daily_summary ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.analytics_daily_summary FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_daily_summary_owner ON public.analytics_daily_summary AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY analytics_daily_summary_seller ON public.analytics_daily_summary AS PERMISSIVE FOR SELECT TO socialdb_app USING ((user_id = app_user_id()));
ALTER TABLE public.analytics_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.analytics_events FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_events_owner ON public.analytics_events AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY analytics_events_seller ON public.analytics_events AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.analytics_summary_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.analytics_summary_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_summary_changes_owner ON public.analytics_summary_changes AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
ALTER TABLE public.client_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.client_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY client_accounts_owner ON public.client_accounts AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY client_accounts_seller ON public.client_accounts AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.conversations FORCE ROW LEVEL SECURITY;
CREATE POLICY conversations_owner ON public.conversations AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY conversations_seller ON public.conversations AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.instagram_media ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.instagram_media FORCE ROW LEVEL SECURITY;
CREATE POLICY instagram_media_owner ON public.instagram_media AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY instagram_media_seller ON public.instagram_media AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.message_products ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.message_products FORCE ROW LEVEL SECURITY;
CREATE POLICY message_products_owner ON public.message_products AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY message_products_seller ON public.message_products AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.messages FORCE ROW LEVEL SECURITY;
CREATE POLICY messages_owner ON public.messages AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY messages_seller ON public.messages AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY notifications_owner ON public.notifications AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY notifications_seller ON public.notifications AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.oauth_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.oauth_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY oauth_tokens_owner ON public.oauth_tokens AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY oauth_tokens_seller ON public.oauth_tokens AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.product_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.product_links FORCE ROW LEVEL SECURITY;
CREATE POLICY product_links_owner ON public.product_links AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY product_links_seller ON public.product_links AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.products ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.products FORCE ROW LEVEL SECURITY;
CREATE POLICY products_owner ON public.products AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY products_seller ON public.products AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_owner ON public.refresh_tokens AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY refresh_tokens_seller ON public.refresh_tokens AS PERMISSIVE FOR ALL TO socialdb_app USING ((user_id = app_user_id())) WITH CHECK ((user_id = app_user_id()));
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_owner ON public.users AS PERMISSIVE FOR ALL TO socialdb_owner USING (true) WITH CHECK (true);
CREATE POLICY users_seller ON public.users AS PERMISSIVE FOR ALL TO socialdb_app USING ((id = app_user_id())) WITH CHECK ((id = app_user_id()));

-- Owners

ALTER SCHEMA public OWNER TO pg_database_owner;
ALTER TEXT SEARCH CONFIGURATION public.portuguese_unaccent OWNER TO socialdb_owner;
ALTER FUNCTION public.app_user_id() OWNER TO socialdb_owner;
ALTER FUNCTION public.auth_user_by_email(p_email text) OWNER TO socialdb_owner;
ALTER FUNCTION public.claim_platform_account(p_platform text, p_platform_account_id text, p_seller uuid, p_account uuid) OWNER TO socialdb_owner;
ALTER FUNCTION public.claim_short_link(p_short_link text, p_seller uuid, p_link uuid) OWNER TO socialdb_owner;
ALTER FUNCTION public.claim_user_email(p_email text, p_user uuid) OWNER TO socialdb_owner;
ALTER FUNCTION public.connect_client_account(p_platform text, p_platform_account_id text, p_username text) OWNER TO socialdb_owner;
ALTER FUNCTION public.create_product_link(p_product uuid, p_account uuid, p_short_link text, p_media text) OWNER TO socialdb_owner;
ALTER FUNCTION public.decrement_unread_count() OWNER TO socialdb_owner;
ALTER FUNCTION public.disconnect_client_account(p_account uuid) OWNER TO socialdb_owner;
ALTER FUNCTION public.forget_analytics_summary() OWNER TO socialdb_owner;
ALTER FUNCTION public.forget_deleted_messages() OWNER TO socialdb_owner;
ALTER FUNCTION public.forget_truncated_lookups() OWNER TO socialdb_owner;
ALTER FUNCTION public.increment_unread_count() OWNER TO socialdb_owner;
ALTER FUNCTION public.keep_platform_accounts() OWNER TO socialdb_owner;
ALTER FUNCTION public.keep_short_links() OWNER TO socialdb_owner;
ALTER FUNCTION public.keep_user_emails() OWNER TO socialdb_owner;
ALTER FUNCTION public.lookup_check_is_fresh(p_table text) OWNER TO socialdb_owner;
ALTER FUNCTION public.lookup_claims_needed(p_table text) OWNER TO socialdb_owner;
ALTER FUNCTION public.note_analytics_changes() OWNER TO socialdb_owner;
ALTER FUNCTION public.product_search_document(name text, description text) OWNER TO socialdb_owner;
ALTER FUNCTION public.rebuild_analytics_daily_summary() OWNER TO socialdb_owner;
ALTER FUNCTION public.recompute_seller_days(p_seller uuid, p_days date[]) OWNER TO socialdb_owner;
ALTER FUNCTION public.refresh_analytics_daily_summary() OWNER TO socialdb_owner;
ALTER FUNCTION public.refuse_event_far_ahead() OWNER TO socialdb_owner;
ALTER FUNCTION public.route_platform_account(p_platform text, p_platform_account_id text) OWNER TO socialdb_owner;
ALTER FUNCTION public.search_seller_products(p_query text, p_limit integer) OWNER TO socialdb_owner;
ALTER FUNCTION public.seller_inbox_page(p_seller uuid, p_account uuid, p_limit integer, p_after_at timestamp with time zone, p_after_id uuid) OWNER TO socialdb_owner;
ALTER FUNCTION public.seller_ingest_batch(p_seller uuid, p_accounts uuid[], p_conversations text[], p_participants text[], p_usernames text[], p_messages text[], p_senders text[], p_types text[], p_contents text[], p_sent_ats timestamp with time zone[]) OWNER TO socialdb_owner;
ALTER FUNCTION public.seller_ingest_message(p_seller uuid, p_account uuid, p_conversation text, p_participant text, p_username text, p_message text, p_sender text, p_type text, p_content text, p_sent_at timestamp with time zone) OWNER TO socialdb_ingest;
ALTER FUNCTION public.seller_limit(p_caller text, p_limit integer, p_max integer) OWNER TO socialdb_owner;
ALTER FUNCTION public.seller_mark_read(p_seller uuid, p_conversation uuid) OWNER TO socialdb_owner;
ALTER FUNCTION public.seller_message_page(p_seller uuid, p_conversation uuid, p_limit integer, p_after_at timestamp with time zone, p_after_id uuid) OWNER TO socialdb_owner;
ALTER FUNCTION public.seller_record_events(p_seller uuid, p_accounts uuid[], p_types text[], p_categories text[], p_times timestamp with time zone[], p_values numeric[], p_entity_types text[], p_entity_ids uuid[]) OWNER TO socialdb_owner;
ALTER FUNCTION public.seller_search_products(p_seller uuid, p_query text, p_limit integer) OWNER TO socialdb_owner;
ALTER FUNCTION public.sign_up_user(p_id uuid, p_email text, p_password_hash text, p_name text) OWNER TO socialdb_owner;
ALTER FUNCTION public.time_ordered_uuid() OWNER TO socialdb_owner;
ALTER FUNCTION public.update_updated_at_column() OWNER TO socialdb_owner;
ALTER TABLE public.analytics_daily_rollup OWNER TO socialdb_owner;
ALTER TABLE public.analytics_daily_summary OWNER TO socialdb_owner;
ALTER TABLE public.analytics_events OWNER TO socialdb_owner;
ALTER TABLE public.analytics_summary_changes OWNER TO socialdb_owner;
ALTER TABLE public.client_accounts OWNER TO socialdb_owner;
ALTER TABLE public.conversations OWNER TO socialdb_owner;
ALTER TABLE public.instagram_media OWNER TO socialdb_owner;
ALTER TABLE public.message_products OWNER TO socialdb_owner;
ALTER TABLE public.messages OWNER TO socialdb_owner;
ALTER TABLE public.notifications OWNER TO socialdb_owner;
ALTER TABLE public.oauth_tokens OWNER TO socialdb_owner;
ALTER TABLE public.platform_accounts OWNER TO socialdb_owner;
ALTER TABLE public.product_links OWNER TO socialdb_owner;
ALTER TABLE public.products OWNER TO socialdb_owner;
ALTER TABLE public.refresh_tokens OWNER TO socialdb_owner;
ALTER VIEW public.seller_daily_summary OWNER TO socialdb_owner;
ALTER TABLE public.short_links OWNER TO socialdb_owner;
ALTER TABLE public.user_emails OWNER TO socialdb_owner;
ALTER TABLE public.users OWNER TO socialdb_owner;

-- Grants

GRANT USAGE ON SCHEMA public TO socialdb_app;
GRANT CREATE ON SCHEMA public TO socialdb_ingest;
GRANT USAGE ON SCHEMA public TO socialdb_maintenance;
GRANT CREATE ON SCHEMA public TO socialdb_owner;
REVOKE EXECUTE ON FUNCTION public.auth_user_by_email(p_email text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.auth_user_by_email(p_email text) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.claim_platform_account(p_platform text, p_platform_account_id text, p_seller uuid, p_account uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.claim_short_link(p_short_link text, p_seller uuid, p_link uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.claim_user_email(p_email text, p_user uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.connect_client_account(p_platform text, p_platform_account_id text, p_username text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.connect_client_account(p_platform text, p_platform_account_id text, p_username text) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.create_product_link(p_product uuid, p_account uuid, p_short_link text, p_media text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.create_product_link(p_product uuid, p_account uuid, p_short_link text, p_media text) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.disconnect_client_account(p_account uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.disconnect_client_account(p_account uuid) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.forget_analytics_summary() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.forget_truncated_lookups() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.keep_platform_accounts() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.keep_short_links() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.keep_user_emails() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.lookup_check_is_fresh(p_table text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.lookup_claims_needed(p_table text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.note_analytics_changes() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.rebuild_analytics_daily_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.rebuild_analytics_daily_summary() TO socialdb_maintenance;
REVOKE EXECUTE ON FUNCTION public.recompute_seller_days(p_seller uuid, p_days date[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.refresh_analytics_daily_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.refresh_analytics_daily_summary() TO socialdb_maintenance;
REVOKE EXECUTE ON FUNCTION public.refuse_event_far_ahead() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.route_platform_account(p_platform text, p_platform_account_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.route_platform_account(p_platform text, p_platform_account_id text) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.search_seller_products(p_query text, p_limit integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.search_seller_products(p_query text, p_limit integer) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.seller_inbox_page(p_seller uuid, p_account uuid, p_limit integer, p_after_at timestamp with time zone, p_after_id uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.seller_inbox_page(p_seller uuid, p_account uuid, p_limit integer, p_after_at timestamp with time zone, p_after_id uuid) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.seller_ingest_batch(p_seller uuid, p_accounts uuid[], p_conversations text[], p_participants text[], p_usernames text[], p_messages text[], p_senders text[], p_types text[], p_contents text[], p_sent_ats timestamp with time zone[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.seller_ingest_batch(p_seller uuid, p_accounts uuid[], p_conversations text[], p_participants text[], p_usernames text[], p_messages text[], p_senders text[], p_types text[], p_contents text[], p_sent_ats timestamp with time zone[]) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.seller_ingest_message(p_seller uuid, p_account uuid, p_conversation text, p_participant text, p_username text, p_message text, p_sender text, p_type text, p_content text, p_sent_at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.seller_ingest_message(p_seller uuid, p_account uuid, p_conversation text, p_participant text, p_username text, p_message text, p_sender text, p_type text, p_content text, p_sent_at timestamp with time zone) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.seller_limit(p_caller text, p_limit integer, p_max integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.seller_limit(p_caller text, p_limit integer, p_max integer) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.seller_mark_read(p_seller uuid, p_conversation uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.seller_mark_read(p_seller uuid, p_conversation uuid) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.seller_message_page(p_seller uuid, p_conversation uuid, p_limit integer, p_after_at timestamp with time zone, p_after_id uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.seller_message_page(p_seller uuid, p_conversation uuid, p_limit integer, p_after_at timestamp with time zone, p_after_id uuid) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.seller_record_events(p_seller uuid, p_accounts uuid[], p_types text[], p_categories text[], p_times timestamp with time zone[], p_values numeric[], p_entity_types text[], p_entity_ids uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.seller_record_events(p_seller uuid, p_accounts uuid[], p_types text[], p_categories text[], p_times timestamp with time zone[], p_values numeric[], p_entity_types text[], p_entity_ids uuid[]) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.seller_search_products(p_seller uuid, p_query text, p_limit integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.seller_search_products(p_seller uuid, p_query text, p_limit integer) TO socialdb_app;
REVOKE EXECUTE ON FUNCTION public.sign_up_user(p_id uuid, p_email text, p_password_hash text, p_name text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.sign_up_user(p_id uuid, p_email text, p_password_hash text, p_name text) TO socialdb_app;
GRANT SELECT ON TABLE public.analytics_daily_rollup TO socialdb_app;
GRANT SELECT ON TABLE public.analytics_daily_summary TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.analytics_events TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.client_accounts TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.conversations TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.instagram_media TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.message_products TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.messages TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.notifications TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.oauth_tokens TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.product_links TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.products TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.refresh_tokens TO socialdb_app;
GRANT SELECT ON TABLE public.seller_daily_summary TO socialdb_app;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.users TO socialdb_app;

-- Default privileges

ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE socialdb_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Database privileges

DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$;

-- Comments

COMMENT ON SCHEMA public IS 'standard public schema';
COMMENT ON TEXT SEARCH CONFIGURATION public.portuguese_unaccent IS 'Portuguese with accents stripped before stemming: promocao finds promoção.';
COMMENT ON FUNCTION public.app_user_id() IS 'The seller of the current transaction (the setting app.user_id), or NULL: what every row-level security policy compares user_id with.';
COMMENT ON FUNCTION public.auth_user_by_email(p_email text) IS 'Sign-in: a live user''s id, password hash and verification flag by email, whatever its case, before any seller is set (SECURITY DEFINER).';
COMMENT ON FUNCTION public.claim_platform_account(p_platform text, p_platform_account_id text, p_seller uuid, p_account uuid) IS 'Citus: writes the platform_accounts row of an account for a seller''s client_accounts row before that row is written or revived, taking over a row whose account is no longer live; a live holder refused with platform_accounts_pkey''s 23505 (migration 059; called by connect_client_account).';
COMMENT ON FUNCTION public.claim_short_link(p_short_link text, p_seller uuid, p_link uuid) IS 'Citus: writes the short_links row of a short code for a seller''s product link before the link is written; a live holder refused with the 23505 one server gives (migration 059; called by create_product_link).';
COMMENT ON FUNCTION public.claim_user_email(p_email text, p_user uuid) IS 'Citus: writes the user_emails row of an email for a user before its users row, taking over a row whose user is no longer live; a live holder refused with user_emails_pkey''s 23505 (migration 059; called by sign_up_user).';
COMMENT ON FUNCTION public.connect_client_account(p_platform text, p_platform_account_id text, p_username text) IS 'connect_account for the seller of the transaction: its live connection, else its latest disconnected one revived, else a new one, and on Citus the platform_accounts row claimed first (migration 059). socialdb.app''s connect_account on Citus.';
COMMENT ON FUNCTION public.create_product_link(p_product uuid, p_account uuid, p_short_link text, p_media text) IS 'create_link for the seller of the transaction, and on Citus the short_links row claimed first; the new link''s id (migration 059). socialdb.app''s create_link on Citus.';
COMMENT ON FUNCTION public.decrement_unread_count() IS 'Trigger, per statement on updated messages: moves unread_count by the read and unread flips.';
COMMENT ON FUNCTION public.disconnect_client_account(p_account uuid) IS 'disconnect_account for the seller of the transaction: on Citus the platform_accounts row deleted first, then the account disconnected and its live token revoked; how many of each (migration 059). socialdb.app''s disconnect_account on Citus.';
COMMENT ON FUNCTION public.forget_analytics_summary() IS 'Trigger on TRUNCATE of analytics_events: empties the summary, the rollup and the change list, as the role that truncates (the events'' owner or a member of it).';
COMMENT ON FUNCTION public.forget_deleted_messages() IS 'Trigger, per statement on deleted messages: takes their unread ones off unread_count and moves last_message_at back if the newest went.';
COMMENT ON FUNCTION public.forget_truncated_lookups() IS 'Trigger on TRUNCATE of users, client_accounts and product_links: empties the lookup that table keeps (user_emails, platform_accounts, short_links), as the role that truncates (migration 061).';
COMMENT ON FUNCTION public.increment_unread_count() IS 'Trigger, per statement on inserted messages: adds the customer''s unread ones to unread_count and moves last_message_at forward.';
COMMENT ON FUNCTION public.keep_platform_accounts() IS 'Trigger of client_accounts (migration 054): keeps platform_accounts, one row per live connection (SECURITY DEFINER). On a Citus shard it checks that a live account has its row, written by connect_client_account (migration 059).';
COMMENT ON FUNCTION public.keep_short_links() IS 'Trigger of product_links (migration 054): keeps short_links, one row per short code (SECURITY DEFINER). On a Citus shard it checks that a link''s short code has its row, written by create_product_link (migration 059).';
COMMENT ON FUNCTION public.keep_user_emails() IS 'Trigger of users (migration 054): keeps user_emails, one row per live user (SECURITY DEFINER). On a Citus shard it checks that a live user has its row, written by sign_up_user (migration 059).';
COMMENT ON FUNCTION public.lookup_check_is_fresh(p_table text) IS 'Citus: refuses, on a shard, a write that makes a row live under a key outside READ COMMITTED, where the trigger''s check could read a snapshot older than another seller''s takeover (migration 059, decision 264).';
COMMENT ON FUNCTION public.lookup_claims_needed(p_table text) IS 'Whether Citus is loaded and the parent table is distributed, where the lookups of the rules across sellers are claimed by the four write functions and only checked by the shards'' triggers (migration 059).';
COMMENT ON FUNCTION public.note_analytics_changes() IS 'Trigger, per statement on analytics_events: notes each changed (seller, UTC day) in analytics_summary_changes (SECURITY DEFINER).';
COMMENT ON FUNCTION public.product_search_document(name text, description text) IS 'A product''s search document: name (weight A) and description (weight B) in portuguese_unaccent. Indexed by idx_products_search; queries must use it to match the index.';
COMMENT ON FUNCTION public.rebuild_analytics_daily_summary() IS 'Recomputes the summary and the rollup from every event, for repairs; for socialdb_maintenance (socialdb summary rebuild). Days before the oldest partition of analytics_events, whose events the retention dropped, are kept as they are.';
COMMENT ON FUNCTION public.recompute_seller_days(p_seller uuid, p_days date[]) IS 'One seller''s summary and rollup rows of the given UTC days, recomputed from its events by statements that name the seller (on Citus, its node alone); called by the refresh and the rebuild, as socialdb_owner.';
COMMENT ON FUNCTION public.refresh_analytics_daily_summary() IS 'Recomputes the summary and the rollup for the days noted in analytics_summary_changes, one refresh at a time; for socialdb_maintenance (socialdb summary refresh).';
COMMENT ON FUNCTION public.refuse_event_far_ahead() IS 'Trigger of analytics_events (migration 047): refuses an event dated more than 1 day after now (SQLSTATE 23514), unless an update leaves its time as it was.';
COMMENT ON FUNCTION public.route_platform_account(p_platform text, p_platform_account_id text) IS 'Webhooks: the seller and account ids of a live connection of (platform, platform account id), before any seller is set (SECURITY DEFINER).';
COMMENT ON FUNCTION public.search_seller_products(p_query text, p_limit integer) IS 'The current seller''s products matching a web-search style query, best first, at most 200.';
COMMENT ON FUNCTION public.seller_inbox_page(p_seller uuid, p_account uuid, p_limit integer, p_after_at timestamp with time zone, p_after_id uuid) IS 'Open conversations of an account, most recent first, for the seller given: one page (at most 200), keyset on (last_message_at, id).';
COMMENT ON FUNCTION public.seller_ingest_batch(p_seller uuid, p_accounts uuid[], p_conversations text[], p_participants text[], p_usernames text[], p_messages text[], p_senders text[], p_types text[], p_contents text[], p_sent_ats timestamp with time zone[]) IS 'Citus: a batch of webhook messages for the seller, in statements naming it; how many were new, or the accounts that are not the seller''s connected ones (then nothing is stored). The library''s ingest_batch where Citus is loaded (migration 057).';
COMMENT ON FUNCTION public.seller_ingest_message(p_seller uuid, p_account uuid, p_conversation text, p_participant text, p_username text, p_message text, p_sender text, p_type text, p_content text, p_sent_at timestamp with time zone) IS 'One webhook message for the seller given: inserts the message unless redelivered, then moves its conversation''s unread_count and last_message_at (creating the conversation when new); true when it was new. Runs as socialdb_ingest, whose statements the unread trigger skips; locks the message before an existing conversation, as every writer of messages does (a new conversation is its own, invisible to others, until the commit).';
COMMENT ON FUNCTION public.seller_limit(p_caller text, p_limit integer, p_max integer) IS 'A page''s row limit: an error when NULL or below 1, capped at the maximum.';
COMMENT ON FUNCTION public.seller_mark_read(p_seller uuid, p_conversation uuid) IS 'Marks the seller''s conversation''s unread customer messages read, naming the seller (one shard on Citus); how many changed. The library''s mark_read (migrations 057, 062).';
COMMENT ON FUNCTION public.seller_message_page(p_seller uuid, p_conversation uuid, p_limit integer, p_after_at timestamp with time zone, p_after_id uuid) IS 'Messages of a conversation, newest first, for the seller given: one page (at most 200), keyset on (sent_at, id).';
COMMENT ON FUNCTION public.seller_record_events(p_seller uuid, p_accounts uuid[], p_types text[], p_categories text[], p_times timestamp with time zone[], p_values numeric[], p_entity_types text[], p_entity_ids uuid[]) IS 'Citus: appends the seller''s analytics events in one multi-row INSERT naming it; how many. The library''s record_events where Citus is loaded (migration 057).';
COMMENT ON FUNCTION public.seller_search_products(p_seller uuid, p_query text, p_limit integer) IS 'Citus: the seller''s live products matching a web-search query, best first (SECURITY DEFINER, plpgsql). The library''s search_products where Citus is loaded (migration 057).';
COMMENT ON FUNCTION public.sign_up_user(p_id uuid, p_email text, p_password_hash text, p_name text) IS 'A sign-up: the user''s row (id, email, password_hash, name) under its own id as app.user_id, and on Citus its user_emails row first, in one SECURITY DEFINER function; the same 23505 as a plain INSERT on one server (migration 059). socialdb.app''s Session.sign_up on Citus.';
COMMENT ON FUNCTION public.time_ordered_uuid() IS 'A new UUID of version 7 (RFC 9562): the time in milliseconds, then random bits. The id default of the tables that grow with traffic, so that new rows append to their keys.';
COMMENT ON FUNCTION public.update_updated_at_column() IS 'Trigger: sets updated_at to now() on every update.';
COMMENT ON TABLE public.analytics_daily_rollup IS 'The dashboard''s grain: daily totals per seller, UTC day and category, summed over accounts and event types; kept by the same refresh as analytics_daily_summary.';
COMMENT ON COLUMN public.analytics_daily_rollup.user_id IS 'The seller.';
COMMENT ON COLUMN public.analytics_daily_rollup.date IS 'The day, in UTC.';
COMMENT ON COLUMN public.analytics_daily_rollup.event_category IS 'The events'' category.';
COMMENT ON COLUMN public.analytics_daily_rollup.event_count IS 'Number of events.';
COMMENT ON COLUMN public.analytics_daily_rollup.total_value IS 'Sum of the events'' value; NULL when none has one.';
COMMENT ON TABLE public.analytics_daily_summary IS 'Daily totals of analytics_events per seller, account, UTC day, category and event type; kept by refresh_analytics_daily_summary() (socialdb summary refresh). Sellers may read their rows, never write them.';
COMMENT ON COLUMN public.analytics_daily_summary.user_id IS 'The seller.';
COMMENT ON COLUMN public.analytics_daily_summary.client_account_id IS 'The connected account, NULL for events without one.';
COMMENT ON COLUMN public.analytics_daily_summary.client_account_key IS 'client_account_id, or the nil UUID for events without an account: the key has no NULL.';
COMMENT ON COLUMN public.analytics_daily_summary.date IS 'The day, in UTC.';
COMMENT ON COLUMN public.analytics_daily_summary.event_category IS 'The events'' category.';
COMMENT ON COLUMN public.analytics_daily_summary.event_type IS 'The events'' type.';
COMMENT ON COLUMN public.analytics_daily_summary.event_count IS 'Number of events.';
COMMENT ON COLUMN public.analytics_daily_summary.total_value IS 'Sum of the events'' value; NULL when none has one.';
COMMENT ON COLUMN public.analytics_daily_summary.avg_value IS 'Average of the events'' value; NULL when none has one.';
COMMENT ON TABLE public.analytics_events IS 'Analytics events of a seller (engagement, sales, messages, content); append-mostly. Partitioned by month of occurred_at (migration 034, socialdb maintain). Every write notes its (seller, day) in analytics_summary_changes for the daily summary.';
COMMENT ON COLUMN public.analytics_events.id IS 'Row id.';
COMMENT ON COLUMN public.analytics_events.user_id IS 'The seller the event belongs to.';
COMMENT ON COLUMN public.analytics_events.client_account_id IS 'The connected account concerned, if any.';
COMMENT ON COLUMN public.analytics_events.event_type IS 'What happened, e.g. link_click, 1 to 100 characters.';
COMMENT ON COLUMN public.analytics_events.event_category IS 'engagement, sales, message or content.';
COMMENT ON COLUMN public.analytics_events.entity_type IS 'Kind of entity concerned: product, message, conversation or post.';
COMMENT ON COLUMN public.analytics_events.entity_id IS 'Id of the entity concerned.';
COMMENT ON COLUMN public.analytics_events.value IS 'Amount carried by the event (a sale''s value), if any.';
COMMENT ON COLUMN public.analytics_events.metadata IS 'Event details as a JSON object.';
COMMENT ON COLUMN public.analytics_events.occurred_at IS 'When the event happened; from 2000-01-01 to before 2200-01-01 UTC (migrations 028, 029), and at most 1 day after now when written (047). The partition key: one partition a month (UTC).';
COMMENT ON COLUMN public.analytics_events.created_at IS 'When the row was inserted.';
COMMENT ON TABLE public.analytics_summary_changes IS 'The (seller, day) pairs whose events changed since the last refresh of the daily summary; written by triggers, emptied by the refresh. The owner''s alone.';
COMMENT ON COLUMN public.analytics_summary_changes.user_id IS 'The seller whose events changed.';
COMMENT ON COLUMN public.analytics_summary_changes.date IS 'The UTC day of the changed events.';
COMMENT ON TABLE public.client_accounts IS 'Instagram and WhatsApp accounts a seller connected to the platform. Soft-deleted by deleted_at; a platform account is connected to one live row at most.';
COMMENT ON COLUMN public.client_accounts.id IS 'Row id; never the nil UUID, which stands for no account in analytics_daily_summary.';
COMMENT ON COLUMN public.client_accounts.user_id IS 'The seller who connected the account.';
COMMENT ON COLUMN public.client_accounts.platform IS 'instagram or whatsapp.';
COMMENT ON COLUMN public.client_accounts.platform_account_id IS 'The account''s id on its platform.';
COMMENT ON COLUMN public.client_accounts.username IS 'The account''s handle on its platform.';
COMMENT ON COLUMN public.client_accounts.profile_picture_url IS 'URL of the account''s profile picture, as last synced.';
COMMENT ON COLUMN public.client_accounts.follower_count IS 'Followers, as last synced.';
COMMENT ON COLUMN public.client_accounts.following_count IS 'Accounts followed, as last synced.';
COMMENT ON COLUMN public.client_accounts.media_count IS 'Published posts, as last synced.';
COMMENT ON COLUMN public.client_accounts.status IS 'Connection state: active, token_expired, token_revoked, disconnected or error.';
COMMENT ON COLUMN public.client_accounts.metadata IS 'Platform details as a JSON object.';
COMMENT ON COLUMN public.client_accounts.last_sync_at IS 'When the account''s profile and counters were last synced from the platform.';
COMMENT ON COLUMN public.client_accounts.created_at IS 'When the account was connected.';
COMMENT ON COLUMN public.client_accounts.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN public.client_accounts.deleted_at IS 'When the account was disconnected for good (soft delete); NULL while connected.';
COMMENT ON INDEX public.client_accounts_seller_platform_account_key IS 'A live connection of an account, once per seller (the key a Citus shard can check); across sellers: platform_accounts.';
COMMENT ON TABLE public.conversations IS 'Direct-message threads between a connected account and a customer; the inbox lists the open ones, most recent first.';
COMMENT ON COLUMN public.conversations.id IS 'Row id.';
COMMENT ON COLUMN public.conversations.client_account_id IS 'The connected account the customer writes to.';
COMMENT ON COLUMN public.conversations.platform_conversation_id IS 'The thread''s id on the platform; unique per account.';
COMMENT ON COLUMN public.conversations.participant_platform_id IS 'The customer''s id on the platform.';
COMMENT ON COLUMN public.conversations.participant_username IS 'The customer''s handle, as last seen.';
COMMENT ON COLUMN public.conversations.participant_profile_pic IS 'URL of the customer''s profile picture, as last seen.';
COMMENT ON COLUMN public.conversations.last_message_at IS 'sent_at of the newest message, kept by the message triggers.';
COMMENT ON COLUMN public.conversations.unread_count IS 'The customer''s unread messages, kept exact by the message triggers.';
COMMENT ON COLUMN public.conversations.status IS 'open, closed or archived; the inbox shows open threads.';
COMMENT ON COLUMN public.conversations.metadata IS 'Platform details as a JSON object.';
COMMENT ON COLUMN public.conversations.created_at IS 'When the thread was first seen.';
COMMENT ON COLUMN public.conversations.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN public.conversations.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';
COMMENT ON INDEX public.conversations_account_platform_key IS 'A platform''s conversation, once per account and its seller: the target of ingest''s ON CONFLICT from 050.';
COMMENT ON TABLE public.instagram_media IS 'Instagram posts of connected accounts, cached from the platform.';
COMMENT ON COLUMN public.instagram_media.id IS 'Row id.';
COMMENT ON COLUMN public.instagram_media.client_account_id IS 'The connected account that published the post.';
COMMENT ON COLUMN public.instagram_media.platform_media_id IS 'The post''s id on Instagram, unique within the seller''s account.';
COMMENT ON COLUMN public.instagram_media.media_type IS 'IMAGE, VIDEO or CAROUSEL_ALBUM.';
COMMENT ON COLUMN public.instagram_media.media_url IS 'URL of the media file.';
COMMENT ON COLUMN public.instagram_media.thumbnail_url IS 'URL of a video''s thumbnail.';
COMMENT ON COLUMN public.instagram_media.permalink IS 'Public URL of the post.';
COMMENT ON COLUMN public.instagram_media.caption IS 'The post''s caption.';
COMMENT ON COLUMN public.instagram_media.like_count IS 'Likes, as last synced.';
COMMENT ON COLUMN public.instagram_media.comment_count IS 'Comments, as last synced.';
COMMENT ON COLUMN public.instagram_media."timestamp" IS 'When the post was published on Instagram.';
COMMENT ON COLUMN public.instagram_media.metadata IS 'Platform details as a JSON object.';
COMMENT ON COLUMN public.instagram_media.synced_at IS 'When the post was last synced.';
COMMENT ON COLUMN public.instagram_media.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN public.instagram_media.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';
COMMENT ON INDEX public.instagram_media_seller_media_key IS 'A post, once per seller and account.';
COMMENT ON TABLE public.message_products IS 'Products mentioned in a message: one row per message and product.';
COMMENT ON COLUMN public.message_products.id IS 'Row id.';
COMMENT ON COLUMN public.message_products.message_id IS 'The message.';
COMMENT ON COLUMN public.message_products.product_id IS 'The product it mentions.';
COMMENT ON COLUMN public.message_products.created_at IS 'When the mention was recorded.';
COMMENT ON COLUMN public.message_products.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';
COMMENT ON INDEX public.message_products_message_product_key IS 'A product attached once to a message (its seller named): the target of attach_products'' ON CONFLICT.';
COMMENT ON TABLE public.messages IS 'Messages of a conversation, from the seller or the customer; inserting, reading and deleting them keeps the conversation''s counters.';
COMMENT ON COLUMN public.messages.id IS 'Row id.';
COMMENT ON COLUMN public.messages.conversation_id IS 'The thread the message belongs to.';
COMMENT ON COLUMN public.messages.platform_message_id IS 'The message''s id on the platform, unique within the seller''s conversation: a redelivered webhook inserts nothing.';
COMMENT ON COLUMN public.messages.sender_type IS 'user (the seller) or customer.';
COMMENT ON COLUMN public.messages.sender_platform_id IS 'The sender''s id on the platform.';
COMMENT ON COLUMN public.messages.message_type IS 'text, image, video, audio, story_mention or story_reply.';
COMMENT ON COLUMN public.messages.content IS 'The text of the message; searched in Portuguese for text messages.';
COMMENT ON COLUMN public.messages.media_url IS 'URL of the attached media, if any.';
COMMENT ON COLUMN public.messages.media_type IS 'MIME or platform type of the attached media, at most 50 characters.';
COMMENT ON COLUMN public.messages.is_read IS 'True once the seller read it; only the customer''s unread messages count in unread_count.';
COMMENT ON COLUMN public.messages.sent_at IS 'When the message was sent, by the platform''s clock.';
COMMENT ON COLUMN public.messages.delivered_at IS 'When the platform reported it delivered.';
COMMENT ON COLUMN public.messages.read_at IS 'When it was read.';
COMMENT ON COLUMN public.messages.metadata IS 'Platform details as a JSON object.';
COMMENT ON COLUMN public.messages.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN public.messages.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';
COMMENT ON INDEX public.messages_seller_message_key IS 'A platform''s message id, once per seller and conversation: the target of ingest''s ON CONFLICT.';
COMMENT ON TABLE public.notifications IS 'In-app notifications for sellers.';
COMMENT ON COLUMN public.notifications.id IS 'Row id.';
COMMENT ON COLUMN public.notifications.user_id IS 'The seller notified.';
COMMENT ON COLUMN public.notifications.type IS 'Kind of notification, 1 to 100 characters.';
COMMENT ON COLUMN public.notifications.title IS 'Headline, 1 to 255 characters.';
COMMENT ON COLUMN public.notifications.message IS 'Body text.';
COMMENT ON COLUMN public.notifications.action_url IS 'Where the notification leads in the app, if anywhere.';
COMMENT ON COLUMN public.notifications.is_read IS 'True once the seller read it.';
COMMENT ON COLUMN public.notifications.metadata IS 'Further details as a JSON object.';
COMMENT ON COLUMN public.notifications.created_at IS 'When the notification was created.';
COMMENT ON COLUMN public.notifications.read_at IS 'When the seller read it.';
COMMENT ON TABLE public.oauth_tokens IS 'OAuth access tokens of connected accounts, encrypted by the application (docs/security.md); one live token per account.';
COMMENT ON COLUMN public.oauth_tokens.id IS 'Row id, chosen by the application before the insert: the ciphertext is bound to it.';
COMMENT ON COLUMN public.oauth_tokens.user_id IS 'The seller the account belongs to.';
COMMENT ON COLUMN public.oauth_tokens.client_account_id IS 'The connected account the token acts for.';
COMMENT ON COLUMN public.oauth_tokens.platform IS 'instagram or whatsapp.';
COMMENT ON COLUMN public.oauth_tokens.access_token IS 'The token encrypted with AES-256-GCM by socialdb.app.tokens: v2.<key id>.<base64url(nonce and ciphertext)>; never a plaintext.';
COMMENT ON COLUMN public.oauth_tokens.token_type IS 'OAuth token type, e.g. Bearer.';
COMMENT ON COLUMN public.oauth_tokens.expires_at IS 'When the platform stops accepting the token.';
COMMENT ON COLUMN public.oauth_tokens.scopes IS 'OAuth scopes the token was granted.';
COMMENT ON COLUMN public.oauth_tokens.created_at IS 'When the token was stored.';
COMMENT ON COLUMN public.oauth_tokens.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN public.oauth_tokens.revoked_at IS 'When the token was revoked or replaced; NULL while live.';
COMMENT ON INDEX public.oauth_tokens_live_account_key IS 'One live token per connected account (its seller named: the key a Citus shard can check).';
COMMENT ON TABLE public.platform_accounts IS 'One row per live connected account: (platform, platform_account_id) is connected by one seller at most (migration 054). Kept by client_accounts_keep_platform_accounts; read by route_platform_account; a reference table on Citus.';
COMMENT ON COLUMN public.platform_accounts.platform IS 'The platform of the connected account (client_accounts.platform).';
COMMENT ON COLUMN public.platform_accounts.platform_account_id IS 'The account''s id on its platform (client_accounts.platform_account_id).';
COMMENT ON COLUMN public.platform_accounts.user_id IS 'The seller whose live connection this is: where the platform''s webhooks route.';
COMMENT ON COLUMN public.platform_accounts.client_account_id IS 'The live client_accounts row of that seller.';
COMMENT ON TABLE public.product_links IS 'Trackable links from a post or a message to a product, with their clicks, conversions and revenue.';
COMMENT ON COLUMN public.product_links.id IS 'Row id.';
COMMENT ON COLUMN public.product_links.product_id IS 'The product the link leads to.';
COMMENT ON COLUMN public.product_links.client_account_id IS 'The connected account that published the link.';
COMMENT ON COLUMN public.product_links.instagram_media_id IS 'The Instagram post the link belongs to (platform media id), if any.';
COMMENT ON COLUMN public.product_links.short_link IS 'The short URL, unique across all sellers.';
COMMENT ON COLUMN public.product_links.clicks IS 'Times the link was followed.';
COMMENT ON COLUMN public.product_links.conversions IS 'Sales attributed to the link.';
COMMENT ON COLUMN public.product_links.revenue IS 'Revenue attributed to the link, in the product''s currency.';
COMMENT ON COLUMN public.product_links.is_active IS 'False stops the link from counting.';
COMMENT ON COLUMN public.product_links.created_at IS 'When the link was created.';
COMMENT ON COLUMN public.product_links.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN public.product_links.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';
COMMENT ON INDEX public.product_links_seller_short_link_key IS 'A short code, once per seller (the key a Citus shard can check); across sellers: short_links.';
COMMENT ON TABLE public.products IS 'A seller''s catalogue. Soft-deleted by deleted_at; searched in Portuguese, accents ignored, through search_seller_products().';
COMMENT ON COLUMN public.products.id IS 'Row id.';
COMMENT ON COLUMN public.products.user_id IS 'The seller who sells it.';
COMMENT ON COLUMN public.products.name IS 'Product name, 1 to 255 characters; weighs most in search.';
COMMENT ON COLUMN public.products.description IS 'Free-text description; searched after the name.';
COMMENT ON COLUMN public.products.price IS 'Unit price in currency, at least 0; NULL when not priced.';
COMMENT ON COLUMN public.products.currency IS 'ISO 4217 code of price, e.g. BRL.';
COMMENT ON COLUMN public.products.category IS 'Seller-defined category, at most 100 characters.';
COMMENT ON COLUMN public.products.tags IS 'Seller-defined tags (GIN index idx_products_tags).';
COMMENT ON COLUMN public.products.images IS 'Image URLs and details as a JSON array.';
COMMENT ON COLUMN public.products.stock_quantity IS 'Units in stock, at least 0; NULL when not tracked.';
COMMENT ON COLUMN public.products.sku IS 'Seller''s stock-keeping unit code, at most 100 characters.';
COMMENT ON COLUMN public.products.is_available IS 'False hides the product from sale without deleting it.';
COMMENT ON COLUMN public.products.metadata IS 'Further details as a JSON object.';
COMMENT ON COLUMN public.products.created_at IS 'When the product was created.';
COMMENT ON COLUMN public.products.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN public.products.deleted_at IS 'When the product was soft-deleted; NULL while listed.';
COMMENT ON TABLE public.refresh_tokens IS 'Sign-in sessions: hashes of the refresh tokens issued to a seller.';
COMMENT ON COLUMN public.refresh_tokens.id IS 'Row id.';
COMMENT ON COLUMN public.refresh_tokens.user_id IS 'The seller the session belongs to.';
COMMENT ON COLUMN public.refresh_tokens.token_hash IS 'Hash of the refresh token (never the token itself); unique among tokens not revoked.';
COMMENT ON COLUMN public.refresh_tokens.expires_at IS 'When the token stops being accepted.';
COMMENT ON COLUMN public.refresh_tokens.created_at IS 'When the token was issued.';
COMMENT ON COLUMN public.refresh_tokens.revoked_at IS 'When the token was revoked (sign-out, rotation); NULL while usable.';
COMMENT ON INDEX public.refresh_tokens_seller_token_hash_key IS 'A live refresh token''s hash, once per seller (decision 221: the key a Citus shard can check).';
COMMENT ON VIEW public.seller_daily_summary IS 'The current seller''s rows of analytics_daily_summary (security barrier); kept from migration 019 for existing readers.';
COMMENT ON COLUMN public.seller_daily_summary.user_id IS 'The seller.';
COMMENT ON COLUMN public.seller_daily_summary.client_account_id IS 'The connected account, NULL for events without one.';
COMMENT ON COLUMN public.seller_daily_summary.date IS 'The day, in UTC.';
COMMENT ON COLUMN public.seller_daily_summary.event_category IS 'The events'' category.';
COMMENT ON COLUMN public.seller_daily_summary.event_type IS 'The events'' type.';
COMMENT ON COLUMN public.seller_daily_summary.event_count IS 'Number of events.';
COMMENT ON COLUMN public.seller_daily_summary.total_value IS 'Sum of the events'' value.';
COMMENT ON COLUMN public.seller_daily_summary.avg_value IS 'Average of the events'' value.';
COMMENT ON TABLE public.short_links IS 'One row per product link with a short code: a short code is used once across sellers (migration 054). Kept by product_links_keep_short_links; a reference table on Citus.';
COMMENT ON COLUMN public.short_links.short_link IS 'The short code (product_links.short_link), used once across sellers.';
COMMENT ON COLUMN public.short_links.user_id IS 'The seller whose product link holds the code.';
COMMENT ON COLUMN public.short_links.product_link_id IS 'The product_links row that holds the code.';
COMMENT ON TABLE public.user_emails IS 'One row per live user: lower(email) is unique across sellers (migration 054). Kept by the trigger users_keep_user_emails; a reference table on Citus.';
COMMENT ON COLUMN public.user_emails.email_key IS 'lower(email) of a live user: the key that makes an email one user''s across sellers.';
COMMENT ON COLUMN public.user_emails.user_id IS 'The live user (users.id) that holds the email.';
COMMENT ON TABLE public.users IS 'Sellers: one row per account of the platform, the tenant every other table belongs to. Soft-deleted by deleted_at; a live email is unique whatever its case.';
COMMENT ON COLUMN public.users.id IS 'The seller''s id; every tenant table''s user_id points here (and app.user_id names it).';
COMMENT ON COLUMN public.users.email IS 'Sign-in email, at most 255 characters; unique among live users case-insensitively (user_emails, migrations 054-056).';
COMMENT ON COLUMN public.users.password_hash IS 'Password hash made by the application (argon2id in the seed); never a plain password.';
COMMENT ON COLUMN public.users.name IS 'Display name, 1 to 255 characters.';
COMMENT ON COLUMN public.users.timezone IS 'IANA time zone the seller sees dates in, e.g. America/Sao_Paulo.';
COMMENT ON COLUMN public.users.language IS 'Interface language as a BCP 47 tag, e.g. pt-BR.';
COMMENT ON COLUMN public.users.subscription_tier IS 'Plan: free, basic, pro or enterprise.';
COMMENT ON COLUMN public.users.email_verified IS 'True once the seller confirmed the email address.';
COMMENT ON COLUMN public.users.email_verification_token IS 'Token of the pending email confirmation, if any.';
COMMENT ON COLUMN public.users.password_reset_token IS 'Token of the pending password reset, if any.';
COMMENT ON COLUMN public.users.password_reset_expires IS 'When password_reset_token stops being accepted.';
COMMENT ON COLUMN public.users.last_login_at IS 'Time of the last successful sign-in.';
COMMENT ON COLUMN public.users.last_login_ip IS 'Client address of the last successful sign-in.';
COMMENT ON COLUMN public.users.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN public.users.updated_at IS 'When the row last changed (set by the update_users_updated_at trigger).';
COMMENT ON COLUMN public.users.deleted_at IS 'When the seller was soft-deleted; NULL while the account is live.';
