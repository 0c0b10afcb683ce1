-- socialdb: transaction=off
-- Step 3 of 3 (issue 26, item 2; decisions 220 and 221): the lookups take over, and the four
-- unique keys that span sellers go. After this `socialdb citus distribute` finds no key
-- without the seller (docs/scaling.md, the exceptions table is empty).
-- First it checks, and refuses in one line (nothing changed): 055's keys valid (an
-- interrupted build), and every lookup complete (a live row without its lookup row: a fill
-- interrupted and marked applied by hand).
-- Then the two lookups before any seller is known read the lookup tables: route_platform_account
-- reads platform_accounts alone (one row by its primary key; on Citus a reference table, local
-- on every node); auth_user_by_email reads user_emails, then the user by id (on Citus a
-- one-shard query). Both plpgsql, so the second step names the user's id as a constant.
-- Then the old keys are dropped: idx_users_email, idx_client_accounts_platform_account and
-- idx_refresh_tokens_token_hash CONCURRENTLY; product_links_short_link_key is a constraint
-- (005's `short_link text UNIQUE`), dropped with ALTER TABLE.
-- Roll the application out before this runs if it names idx_users_email in ON CONFLICT (the
-- seed did until this version: socialdb/app/seed.py).
-- Locks: ACCESS SHARE on users, client_accounts, product_links and the lookups for the check
-- (a scan of each, no write waits); catalog rows for the functions; SHARE UPDATE EXCLUSIVE on
-- users, client_accounts and refresh_tokens while each index is dropped CONCURRENTLY (waits for
-- the transactions using it; reads and writes go on); ACCESS EXCLUSIVE on product_links for a
-- catalog change (the constraint and its index dropped, nothing scanned), within the run's
-- lock_timeout, released at once.

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_index AS i
             WHERE i.indexrelid IN ('public.client_accounts_seller_platform_account_key'::regclass,
                                    'public.product_links_seller_short_link_key'::regclass,
                                    'public.refresh_tokens_seller_token_hash_key'::regclass)
               AND NOT (i.indisvalid AND i.indisready)) THEN
    RAISE EXCEPTION '055''s per-seller keys are not valid (an interrupted build)'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'rebuild them: socialdb migrate resolve 55 --retry, then migrate up';
  END IF;
  IF EXISTS (SELECT FROM public.users AS u WHERE u.deleted_at IS NULL
               AND NOT EXISTS (SELECT FROM public.user_emails AS e WHERE e.email_key = pg_catalog.lower(u.email) AND e.user_id = u.id))
     OR EXISTS (SELECT FROM public.client_accounts AS a WHERE a.deleted_at IS NULL
               AND NOT EXISTS (SELECT FROM public.platform_accounts AS p
                               WHERE p.platform = a.platform AND p.platform_account_id = a.platform_account_id
                                 AND p.client_account_id = a.id))
     OR EXISTS (SELECT FROM public.product_links AS l WHERE l.short_link IS NOT NULL
               AND NOT EXISTS (SELECT FROM public.short_links AS s WHERE s.short_link = l.short_link AND s.product_link_id = l.id)) THEN
    RAISE EXCEPTION 'a live user, account or short link has no row in its lookup table (055''s fill did not finish)'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'fill them again: socialdb migrate resolve 55 --retry, then migrate up';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION route_platform_account(p_platform text, p_platform_account_id text)
RETURNS TABLE (user_id uuid, client_account_id uuid)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  RETURN QUERY
    SELECT p.user_id, p.client_account_id
    FROM public.platform_accounts AS p
    WHERE p.platform = p_platform AND p.platform_account_id = p_platform_account_id;
END;
$$;

CREATE OR REPLACE FUNCTION auth_user_by_email(p_email text)
RETURNS TABLE (id uuid, password_hash text, email_verified boolean)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
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
$$;

DROP INDEX CONCURRENTLY IF EXISTS idx_users_email;

DROP INDEX CONCURRENTLY IF EXISTS idx_client_accounts_platform_account;

DROP INDEX CONCURRENTLY IF EXISTS idx_refresh_tokens_token_hash;

ALTER TABLE product_links DROP CONSTRAINT IF EXISTS product_links_short_link_key;

COMMENT ON COLUMN users.email IS 'Sign-in email, at most 255 characters; unique among live users case-insensitively (user_emails, migrations 054-056).';

-- ROLLBACK
-- First, before anything changes: a duplicate that the old keys would refuse cannot go back
-- under them. The lookups refuse every one while their triggers run, so only a row written
-- with the triggers off (a bulk load with session_replication_role = replica) can be one;
-- name up to ten of each rule and stop.
DO $$
DECLARE
  v_found text;
BEGIN
  SELECT pg_catalog.string_agg(d.what, ', ') INTO v_found FROM (
    (SELECT 'email ' || pg_catalog.quote_literal(pg_catalog.lower(u.email)) AS what FROM public.users AS u
     WHERE u.deleted_at IS NULL GROUP BY pg_catalog.lower(u.email) HAVING pg_catalog.count(*) > 1 ORDER BY 1 LIMIT 10)
    UNION ALL
    (SELECT 'account ' || a.platform || '/' || pg_catalog.quote_literal(a.platform_account_id) FROM public.client_accounts AS a
     WHERE a.deleted_at IS NULL GROUP BY a.platform, a.platform_account_id HAVING pg_catalog.count(*) > 1 ORDER BY 1 LIMIT 10)
    UNION ALL
    (SELECT 'short link ' || pg_catalog.quote_literal(l.short_link) FROM public.product_links AS l
     WHERE l.short_link IS NOT NULL GROUP BY l.short_link HAVING pg_catalog.count(*) > 1 ORDER BY 1 LIMIT 10)
    UNION ALL
    (SELECT 'refresh token hash ' || pg_catalog.quote_literal(r.token_hash) FROM public.refresh_tokens AS r
     WHERE r.revoked_at IS NULL GROUP BY r.token_hash HAVING pg_catalog.count(*) > 1 ORDER BY 1 LIMIT 10)
  ) AS d;
  IF v_found IS NOT NULL THEN
    RAISE EXCEPTION 'cannot roll back 056: the global keys would refuse rows held twice across sellers: %', v_found
      USING ERRCODE = 'unique_violation',
            HINT = 'change or delete all but one of each, then roll back again';
  END IF;
END
$$;

COMMENT ON COLUMN users.email IS 'Sign-in email, at most 255 characters; unique among live users case-insensitively (idx_users_email).';

-- A rerun after an interruption: an invalid leftover of an earlier try goes first.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
             WHERE c.relnamespace = 'public'::regnamespace
               AND c.relname IN ('idx_users_email', 'idx_client_accounts_platform_account',
                                 'idx_refresh_tokens_token_hash', 'product_links_short_link_key')
               AND NOT (i.indisvalid AND i.indisready)) THEN
    RAISE EXCEPTION 'an old global key left invalid by an interrupted rollback'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'DROP INDEX CONCURRENTLY it, then roll back again';
  END IF;
END
$$;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS product_links_short_link_key ON product_links (short_link);

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_constraint AS k
                 WHERE k.conrelid = 'public.product_links'::regclass AND k.conname = 'product_links_short_link_key') THEN
    ALTER TABLE public.product_links ADD CONSTRAINT product_links_short_link_key UNIQUE USING INDEX product_links_short_link_key;
  END IF;
END
$$;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_refresh_tokens_token_hash ON refresh_tokens (token_hash) WHERE revoked_at IS NULL;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_client_accounts_platform_account
  ON client_accounts (platform, platform_account_id)
  WHERE deleted_at IS NULL;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_users_email ON users (lower(email)) WHERE deleted_at IS NULL;

-- As 019 and 027 left it.
CREATE OR REPLACE FUNCTION auth_user_by_email(p_email text)
RETURNS TABLE (id uuid, password_hash text, email_verified boolean)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT u.id, u.password_hash, u.email_verified
  FROM public.users AS u
  WHERE lower(u.email) = lower(p_email) AND u.deleted_at IS NULL
$$;

-- As 046 left it.
CREATE OR REPLACE FUNCTION route_platform_account(p_platform text, p_platform_account_id text)
RETURNS TABLE (user_id uuid, client_account_id uuid)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT a.user_id, a.id
  FROM public.client_accounts AS a
  WHERE a.platform = p_platform AND a.platform_account_id = p_platform_account_id AND a.deleted_at IS NULL
$$;
