-- socialdb: transaction=off lock_timeout=30s
-- Step 2 of 3 (issue 26, item 2; decisions 220 and 221): the lookups of 054 get the rows
-- written before it, and the keys that name the seller are built beside the global ones.
-- The fill: each lookup from its parent, in batches of 1,000 rows in key order, each batch
-- committed on its own (a DO block run alone may commit). A batch locks its parent rows FOR
-- SHARE while it copies them: a writer that changes one of them at that moment waits for
-- the batch's commit, and its trigger (054) then sees the row the batch inserted and keeps
-- it right; a row changed before the batch is read as it is now (READ COMMITTED re-reads a
-- locked row). ON CONFLICT DO NOTHING skips what the triggers wrote since 054. So no live
-- row is missed and no stale row is left, without a table lock. The old unique indexes still
-- hold, so the fill meets no duplicate.
-- The keys (each the old rule within one seller, the key a Citus shard can check):
--   client_accounts_seller_platform_account_key (user_id, platform, platform_account_id)
--     WHERE deleted_at IS NULL, for idx_client_accounts_platform_account;
--   product_links_seller_short_link_key (user_id, short_link), for product_links_short_link_key;
--   refresh_tokens_seller_token_hash_key (user_id, token_hash) WHERE revoked_at IS NULL,
--     for idx_refresh_tokens_token_hash (decision 221: that one needs no lookup).
-- users needs none: it is distributed by id, and its email rule lives in user_emails alone.
-- Locks: ROW SHARE on users, client_accounts and product_links and FOR SHARE on the rows
-- of one batch at a time (writers of those rows wait for one batch, about milliseconds);
-- ROW EXCLUSIVE on the lookups. Then SHARE UPDATE EXCLUSIVE on client_accounts,
-- product_links and refresh_tokens while each index builds (reads and writes go on; the build
-- waits for transactions older than it). An interrupted build leaves an invalid index, which
-- the runner reports; `resolve --retry` drops and rebuilds it. A rerun fills nothing twice.

DO $$
DECLARE
  v_last uuid := '00000000-0000-0000-0000-000000000000';
  v_next uuid;
BEGIN
  LOOP
    WITH batch AS (
      SELECT u.id, u.email FROM public.users AS u
      WHERE u.id > v_last AND u.deleted_at IS NULL
      ORDER BY u.id LIMIT 1000
      FOR SHARE
    ), filled AS (
      INSERT INTO public.user_emails (email_key, user_id)
      SELECT pg_catalog.lower(b.email), b.id FROM batch AS b
      ON CONFLICT DO NOTHING
    )
    SELECT b.id INTO v_next FROM batch AS b ORDER BY b.id DESC LIMIT 1;
    EXIT WHEN v_next IS NULL;
    v_last := v_next;
    v_next := NULL;
    COMMIT;
  END LOOP;
END
$$;

DO $$
DECLARE
  -- Paged on the primary key (id, user_id): since 052 an id is unique per seller only, so
  -- paging on id alone could skip a row that shares its id with the last of a batch.
  v_last uuid := '00000000-0000-0000-0000-000000000000';
  v_last_user uuid := '00000000-0000-0000-0000-000000000000';
  v_next uuid;
  v_next_user uuid;
BEGIN
  LOOP
    WITH batch AS (
      SELECT a.id, a.user_id, a.platform, a.platform_account_id FROM public.client_accounts AS a
      WHERE (a.id, a.user_id) > (v_last, v_last_user) AND a.deleted_at IS NULL
      ORDER BY a.id, a.user_id LIMIT 1000
      FOR SHARE
    ), filled AS (
      INSERT INTO public.platform_accounts (platform, platform_account_id, user_id, client_account_id)
      SELECT b.platform, b.platform_account_id, b.user_id, b.id FROM batch AS b
      ON CONFLICT DO NOTHING
    )
    SELECT b.id, b.user_id INTO v_next, v_next_user FROM batch AS b ORDER BY b.id DESC, b.user_id DESC LIMIT 1;
    EXIT WHEN v_next IS NULL;
    v_last := v_next;
    v_last_user := v_next_user;
    v_next := NULL;
    COMMIT;
  END LOOP;
END
$$;

DO $$
DECLARE
  -- Paged on the primary key (id, user_id): since 052 an id is unique per seller only, so
  -- paging on id alone could skip a row that shares its id with the last of a batch.
  v_last uuid := '00000000-0000-0000-0000-000000000000';
  v_last_user uuid := '00000000-0000-0000-0000-000000000000';
  v_next uuid;
  v_next_user uuid;
BEGIN
  LOOP
    WITH batch AS (
      SELECT l.id, l.user_id, l.short_link FROM public.product_links AS l
      WHERE (l.id, l.user_id) > (v_last, v_last_user) AND l.short_link IS NOT NULL
      ORDER BY l.id, l.user_id LIMIT 1000
      FOR SHARE
    ), filled AS (
      INSERT INTO public.short_links (short_link, user_id, product_link_id)
      SELECT b.short_link, b.user_id, b.id FROM batch AS b
      ON CONFLICT DO NOTHING
    )
    SELECT b.id, b.user_id INTO v_next, v_next_user FROM batch AS b ORDER BY b.id DESC, b.user_id DESC LIMIT 1;
    EXIT WHEN v_next IS NULL;
    v_last := v_next;
    v_last_user := v_next_user;
    v_next := NULL;
    COMMIT;
  END LOOP;
END
$$;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS client_accounts_seller_platform_account_key
  ON client_accounts (user_id, platform, platform_account_id) WHERE deleted_at IS NULL;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS product_links_seller_short_link_key
  ON product_links (user_id, short_link);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS refresh_tokens_seller_token_hash_key
  ON refresh_tokens (user_id, token_hash) WHERE revoked_at IS NULL;

COMMENT ON INDEX client_accounts_seller_platform_account_key IS 'A live connection of an account, once per seller (the key a Citus shard can check); across sellers: platform_accounts.';
COMMENT ON INDEX product_links_seller_short_link_key IS 'A short code, once per seller (the key a Citus shard can check); across sellers: short_links.';
COMMENT ON INDEX refresh_tokens_seller_token_hash_key IS 'A live refresh token''s hash, once per seller (decision 221: the key a Citus shard can check).';

-- ROLLBACK
-- The lookups' rows stay: 054's rollback drops the tables, and until then its triggers keep them.
DROP INDEX CONCURRENTLY IF EXISTS refresh_tokens_seller_token_hash_key;
DROP INDEX CONCURRENTLY IF EXISTS product_links_seller_short_link_key;
DROP INDEX CONCURRENTLY IF EXISTS client_accounts_seller_platform_account_key;
