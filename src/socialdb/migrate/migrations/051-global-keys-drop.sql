-- socialdb: transaction=off
-- Step 3 of 4 (issue 26, item 2; decision 191): the last global keys that phase A of
-- docs/scaling.md changes without changing what the platform may store, and the replica
-- identity that a Citus shard move needs.
--   idx_oauth_tokens_client_account (003) goes: 049's oauth_tokens_live_account_key holds
--     the same rule (one live token per account; the account has one seller). No statement
--     names it in ON CONFLICT.
--   unique_message_product (008) goes: 049's message_products_message_product_key holds
--     the same rule (the message has one seller). socialdb.app's attach_products names the
--     new key in ON CONFLICT from this version (statements.py); an older socialdb.app names
--     the old one, so roll the application out before this runs (docs/deploying.md,
--     "Order of a deploy": removing what running code uses comes after the code).
--   analytics_summary_changes gets REPLICA IDENTITY FULL: it has no primary key, and
--     logical replication (how create_distributed_table_concurrently and the rebalancer
--     copy a table) cannot replicate its refresh's DELETE without one. Its rows are two
--     columns, written by the event triggers and deleted by the next refresh: the full old
--     row in the WAL of a logical-level server costs little. On a server below
--     wal_level = logical, nothing is written differently.
-- First it checks that 049's indexes are valid, as 044 did for 043's.
-- Statement by statement: each table's lock alone, and each statement harmless on a rerun.
-- Locks: SHARE UPDATE EXCLUSIVE on oauth_tokens while its index is dropped CONCURRENTLY
-- (waits for the transactions using it); ACCESS EXCLUSIVE on message_products, then on
-- analytics_summary_changes, for catalog changes only (a constraint and its index dropped,
-- pg_class.relreplident set: nothing scanned), each taken within the run's lock_timeout and
-- released at once.

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_index AS i
             WHERE i.indexrelid IN ('public.oauth_tokens_live_account_key'::regclass,
                                    'public.message_products_message_product_key'::regclass)
               AND NOT (i.indisvalid AND i.indisready)) THEN
    RAISE EXCEPTION '049''s per-seller keys are not valid (an interrupted build)'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'rebuild them: socialdb migrate resolve 49 --retry, then migrate up';
  END IF;
END
$$;

DROP INDEX CONCURRENTLY IF EXISTS idx_oauth_tokens_client_account;

ALTER TABLE message_products DROP CONSTRAINT IF EXISTS unique_message_product;

ALTER TABLE analytics_summary_changes REPLICA IDENTITY FULL;

-- ROLLBACK
-- The global keys come back, built CONCURRENTLY (SHARE UPDATE EXCLUSIVE: reads and writes go
-- on), 008's as a constraint again (USING INDEX: ACCESS EXCLUSIVE on message_products for a
-- catalog change). Neither can fail on data: 049's keys already hold each rule.
ALTER TABLE analytics_summary_changes REPLICA IDENTITY DEFAULT;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS unique_message_product
  ON message_products (message_id, product_id);

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_constraint AS k
                 WHERE k.conrelid = 'public.message_products'::regclass AND k.conname = 'unique_message_product') THEN
    ALTER TABLE public.message_products ADD CONSTRAINT unique_message_product UNIQUE USING INDEX unique_message_product;
  END IF;
END
$$;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_oauth_tokens_client_account
  ON oauth_tokens (client_account_id) WHERE revoked_at IS NULL;
