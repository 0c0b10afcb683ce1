-- The writes that the lookups of the rules across sellers follow, on Citus (issue 26;
-- decisions 260-263). 054's triggers write a lookup row in the writer's transaction; on Citus
-- they fire on a worker's shard, where Citus runs local tasks only, and a write to a
-- reference table is not one ("cannot execute a distributed query from a query on a shard").
-- So where Citus is loaded and the parent table is distributed:
-- * four SECURITY DEFINER functions of socialdb_owner each write the lookup row and then the
--   parent row, as one role, so over one connection to each node, and the shard sees the
--   lookup row: sign_up_user (users), connect_client_account, disconnect_client_account
--   (client_accounts) and create_product_link (product_links), for the seller of the
--   transaction (app.user_id), naming it in every statement. socialdb.app calls them on
--   Citus. Their claims (claim_user_email, claim_platform_account, claim_short_link) take
--   over a key whose holder is no longer live (the shard cannot delete a lookup row), and
--   refuse a live holder with the unique violation one server raises;
-- * the three triggers, on a shard, check instead of write: a live row must find its lookup
--   row in the node's copy of the reference table (a local read), else the write is refused,
--   naming the function to call. So the application role cannot write a parent row without
--   its lookup row there either, and has no privilege on the lookups nor on the claims.
-- One server (and a Citus coordinator before `socialdb citus distribute`) runs 054's trigger
-- bodies, unchanged; the four functions run there too, with no claim (the triggers write),
-- and answer as the library's statements do. On Citus an email change, and any write by
-- hand that makes a row live under a key whose lookup row it does not hold, are refused (no
-- function writes them yet); a delete or soft delete by hand leaves its lookup row to the
-- next claim (decision 263).
-- Supersedes: 054's bodies and comments of keep_user_emails, keep_platform_accounts,
-- keep_short_links (owners and grants kept by CREATE OR REPLACE).
-- Locks: none on any table (the functions' catalog rows).

-- A shard's check reads the lookup in the writer's snapshot. Under REPEATABLE READ or
-- SERIALIZABLE that snapshot can predate another seller's takeover of the key, and the check
-- would pass on the old holder's row: on a shard, a row is made live under a key only in
-- READ COMMITTED, where each statement reads what is committed (decision 264).
CREATE FUNCTION lookup_check_is_fresh(p_table text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'on Citus a row of % takes its key only in READ COMMITTED, not %', p_table,
      pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))
      USING ERRCODE = 'invalid_transaction_state',
            HINT = 'a snapshot older than another seller''s takeover of the key would pass the check: run the write in a READ COMMITTED transaction (decision 264)';
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION keep_user_emails()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
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
$$;

CREATE OR REPLACE FUNCTION keep_platform_accounts()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
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
$$;

CREATE OR REPLACE FUNCTION keep_short_links()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
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
$$;

-- Whether the writes of the lookups go through the claims below: where Citus is loaded and
-- the parent table is distributed (its triggers then fire on shards, and check). On one
-- server, or on a Citus coordinator before `socialdb citus distribute`, 054's triggers write.
CREATE FUNCTION lookup_claims_needed(p_table text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- Citus's library preloaded without CREATE EXTENSION citus in this database: one server.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NULL
     OR pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
    RETURN false;
  END IF;
  RETURN EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d
                 WHERE d.logicalrelid = pg_catalog.to_regclass('public.' || p_table));
END;
$$;

-- The claims: the lookup row of a key, for `p_user`/`p_seller` and the parent row that will
-- hold it, written before that row, in the caller's transaction and as the same role (the
-- definer), so that the parent's write on the shard sees it. ON CONFLICT: Citus takes an
-- ExclusiveLock on the reference table's shard for the rest of the transaction (a
-- non-commutative write), so the claims of one lookup run one at a time across the cluster
-- and a second claim of a key waits for the first to commit. A key held by a row that is no
-- longer live (left by a soft delete or a delete on a shard, which cannot write the lookup)
-- is taken over; the holder's row is locked first, so that its revival waits, then is refused.
-- A key held by a live row is refused with the unique violation that one server's trigger
-- raises (its constraint and detail), not Citus's, which names the shard's index.
CREATE FUNCTION claim_user_email(p_email text, p_user uuid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

CREATE FUNCTION claim_platform_account(p_platform text, p_platform_account_id text, p_seller uuid, p_account uuid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

CREATE FUNCTION claim_short_link(p_short_link text, p_seller uuid, p_link uuid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- The four writes, each in one SECURITY DEFINER function: the claim (where needed) and the
-- parent's write run as socialdb_owner, so on Citus over the same connection to each node,
-- and the shard's trigger sees the claim (decision 260). Each acts for the seller of the
-- transaction (app.user_id, as the policies), naming it in every statement.

-- A sign-up: the new user's row, under its own id as the seller (as the policy users_seller
-- admits the platform's INSERT).
CREATE FUNCTION sign_up_user(p_id uuid, p_email text, p_password_hash text, p_name text)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- connect_account's statement (socialdb.app.statements.CONNECT_ACCOUNT) step by step: the
-- seller's live connection of the account; else its latest disconnected one, revived; else a
-- new row. Its columns are the statement's.
CREATE FUNCTION connect_client_account(p_platform text, p_platform_account_id text, p_username text)
RETURNS TABLE (id uuid, platform text, platform_account_id text, username text, status text, reconnected boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- disconnect_account's statement: the account's lookup row first (the lock order of a claim:
-- the lookup, then the parent), then the account, then its live token; how many of each.
CREATE FUNCTION disconnect_client_account(p_account uuid)
RETURNS TABLE (disconnected bigint, revoked bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- create_link's statement: the seller's product link; its id.
CREATE FUNCTION create_product_link(p_product uuid, p_account uuid, p_short_link text, p_media text)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

ALTER FUNCTION lookup_claims_needed(text) OWNER TO socialdb_owner;
ALTER FUNCTION lookup_check_is_fresh(text) OWNER TO socialdb_owner;
ALTER FUNCTION claim_user_email(text, uuid) OWNER TO socialdb_owner;
ALTER FUNCTION claim_platform_account(text, text, uuid, uuid) OWNER TO socialdb_owner;
ALTER FUNCTION claim_short_link(text, uuid, uuid) OWNER TO socialdb_owner;
ALTER FUNCTION sign_up_user(uuid, text, text, text) OWNER TO socialdb_owner;
ALTER FUNCTION connect_client_account(text, text, text) OWNER TO socialdb_owner;
ALTER FUNCTION disconnect_client_account(uuid) OWNER TO socialdb_owner;
ALTER FUNCTION create_product_link(uuid, uuid, text, text) OWNER TO socialdb_owner;
-- The helpers and the claims: only their owner runs them (from the four functions below it).
REVOKE EXECUTE ON FUNCTION lookup_claims_needed(text), lookup_check_is_fresh(text), claim_user_email(text, uuid),
  claim_platform_account(text, text, uuid, uuid), claim_short_link(text, uuid, uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION sign_up_user(uuid, text, text, text), connect_client_account(text, text, text),
  disconnect_client_account(uuid), create_product_link(uuid, uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sign_up_user(uuid, text, text, text), connect_client_account(text, text, text),
  disconnect_client_account(uuid), create_product_link(uuid, uuid, text, text) TO socialdb_app;
COMMENT ON FUNCTION keep_user_emails() IS 'Trigger of users (migration 054): keeps user_emails, one row per live user (SECURITY DEFINER). On a Citus shard it checks that a live user has its row, written by sign_up_user (migration 059).';
COMMENT ON FUNCTION keep_platform_accounts() IS 'Trigger of client_accounts (migration 054): keeps platform_accounts, one row per live connection (SECURITY DEFINER). On a Citus shard it checks that a live account has its row, written by connect_client_account (migration 059).';
COMMENT ON FUNCTION keep_short_links() IS 'Trigger of product_links (migration 054): keeps short_links, one row per short code (SECURITY DEFINER). On a Citus shard it checks that a link''s short code has its row, written by create_product_link (migration 059).';
COMMENT ON FUNCTION lookup_claims_needed(text) IS 'Whether Citus is loaded and the parent table is distributed, where the lookups of the rules across sellers are claimed by the four write functions and only checked by the shards'' triggers (migration 059).';
COMMENT ON FUNCTION lookup_check_is_fresh(text) IS 'Citus: refuses, on a shard, a write that makes a row live under a key outside READ COMMITTED, where the trigger''s check could read a snapshot older than another seller''s takeover (migration 059, decision 264).';
COMMENT ON FUNCTION claim_user_email(text, uuid) IS 'Citus: writes the user_emails row of an email for a user before its users row, taking over a row whose user is no longer live; a live holder refused with user_emails_pkey''s 23505 (migration 059; called by sign_up_user).';
COMMENT ON FUNCTION claim_platform_account(text, text, uuid, uuid) IS 'Citus: writes the platform_accounts row of an account for a seller''s client_accounts row before that row is written or revived, taking over a row whose account is no longer live; a live holder refused with platform_accounts_pkey''s 23505 (migration 059; called by connect_client_account).';
COMMENT ON FUNCTION claim_short_link(text, uuid, uuid) IS 'Citus: writes the short_links row of a short code for a seller''s product link before the link is written; a live holder refused with the 23505 one server gives (migration 059; called by create_product_link).';
COMMENT ON FUNCTION sign_up_user(uuid, text, text, text) IS 'A sign-up: the user''s row (id, email, password_hash, name) under its own id as app.user_id, and on Citus its user_emails row first, in one SECURITY DEFINER function; the same 23505 as a plain INSERT on one server (migration 059). socialdb.app''s Session.sign_up on Citus.';
COMMENT ON FUNCTION connect_client_account(text, text, text) IS 'connect_account for the seller of the transaction: its live connection, else its latest disconnected one revived, else a new one, and on Citus the platform_accounts row claimed first (migration 059). socialdb.app''s connect_account on Citus.';
COMMENT ON FUNCTION disconnect_client_account(uuid) IS 'disconnect_account for the seller of the transaction: on Citus the platform_accounts row deleted first, then the account disconnected and its live token revoked; how many of each (migration 059). socialdb.app''s disconnect_account on Citus.';
COMMENT ON FUNCTION create_product_link(uuid, uuid, text, text) IS 'create_link for the seller of the transaction, and on Citus the short_links row claimed first; the new link''s id (migration 059). socialdb.app''s create_link on Citus.';

-- ROLLBACK
-- The functions dropped; 054's trigger bodies back.
COMMENT ON FUNCTION keep_user_emails() IS 'Trigger of users (migration 054): keeps user_emails, one row per live user (SECURITY DEFINER).';
COMMENT ON FUNCTION keep_platform_accounts() IS 'Trigger of client_accounts (migration 054): keeps platform_accounts, one row per live connection (SECURITY DEFINER).';
COMMENT ON FUNCTION keep_short_links() IS 'Trigger of product_links (migration 054): keeps short_links, one row per short code (SECURITY DEFINER).';
DROP FUNCTION create_product_link(uuid, uuid, text, text);
DROP FUNCTION disconnect_client_account(uuid);
DROP FUNCTION connect_client_account(text, text, text);
DROP FUNCTION sign_up_user(uuid, text, text, text);
DROP FUNCTION claim_short_link(text, uuid, uuid);
DROP FUNCTION claim_platform_account(text, text, uuid, uuid);
DROP FUNCTION claim_user_email(text, uuid);
DROP FUNCTION lookup_claims_needed(text);
DROP FUNCTION lookup_check_is_fresh(text);

CREATE OR REPLACE FUNCTION keep_user_emails()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL THEN
    DELETE FROM public.user_emails AS e WHERE e.email_key = pg_catalog.lower(OLD.email) AND e.user_id = OLD.id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
    INSERT INTO public.user_emails (email_key, user_id) VALUES (pg_catalog.lower(NEW.email), NEW.id);
  END IF;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION keep_platform_accounts()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
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
$$;

CREATE OR REPLACE FUNCTION keep_short_links()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.short_link IS NOT NULL THEN
    DELETE FROM public.short_links AS s
    WHERE s.short_link = OLD.short_link AND s.product_link_id = OLD.id AND s.user_id = OLD.user_id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.short_link IS NOT NULL THEN
    INSERT INTO public.short_links (short_link, user_id, product_link_id) VALUES (NEW.short_link, NEW.user_id, NEW.id);
  END IF;
  RETURN NULL;
END;
$$;
