-- socialdb: transaction=off lock_timeout=30s
-- Step 1 of 4 (issue 26, item 2; decision 191): the keys that name the seller, built without
-- blocking writes. A Citus cluster enforces a primary key or unique index only if it holds
-- the distribution column, user_id (docs/scaling.md, "Keys and foreign keys"). Each new key
-- is the same rule as the one it replaces, since another key already ties the row to one
-- seller; 052 makes the (id, user_id) keys primary, 050 and 051 drop the global ones.
--   (id, user_id) on the six tables that lack one: refresh_tokens, oauth_tokens,
--     product_links, message_products, instagram_media, notifications. client_accounts,
--     products, conversations and messages have theirs since 015.
--   oauth_tokens (client_account_id, user_id) WHERE revoked_at IS NULL, for
--     idx_oauth_tokens_client_account: oauth_tokens_account_fkey gives an account one seller.
--   conversations (client_account_id, user_id, platform_conversation_id), for
--     idx_conversations_platform: the same account, so the same seller.
--   message_products (message_id, product_id, user_id), for unique_message_product:
--     message_products_message_fkey gives a message one seller.
-- Locks: SHARE UPDATE EXCLUSIVE on each table while its index builds (reads and writes go
-- on; the build waits for transactions older than it). An interrupted build leaves an
-- invalid index, which the runner reports; `resolve --retry` drops and rebuilds it.

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS refresh_tokens_id_user_id_key
  ON refresh_tokens (id, user_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS oauth_tokens_id_user_id_key
  ON oauth_tokens (id, user_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS product_links_id_user_id_key
  ON product_links (id, user_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS message_products_id_user_id_key
  ON message_products (id, user_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS instagram_media_id_user_id_key
  ON instagram_media (id, user_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS notifications_id_user_id_key
  ON notifications (id, user_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS oauth_tokens_live_account_key
  ON oauth_tokens (client_account_id, user_id) WHERE revoked_at IS NULL;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS conversations_account_platform_key
  ON conversations (client_account_id, user_id, platform_conversation_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS message_products_message_product_key
  ON message_products (message_id, product_id, user_id);

COMMENT ON INDEX oauth_tokens_live_account_key IS 'One live token per connected account (its seller named: the key a Citus shard can check).';
COMMENT ON INDEX conversations_account_platform_key IS 'A platform''s conversation, once per account and its seller: the target of ingest''s ON CONFLICT from 050.';
COMMENT ON INDEX message_products_message_product_key IS 'A product attached once to a message (its seller named): the target of attach_products'' ON CONFLICT.';

-- ROLLBACK
DROP INDEX CONCURRENTLY IF EXISTS message_products_message_product_key;
DROP INDEX CONCURRENTLY IF EXISTS conversations_account_platform_key;
DROP INDEX CONCURRENTLY IF EXISTS oauth_tokens_live_account_key;
DROP INDEX CONCURRENTLY IF EXISTS notifications_id_user_id_key;
DROP INDEX CONCURRENTLY IF EXISTS instagram_media_id_user_id_key;
DROP INDEX CONCURRENTLY IF EXISTS message_products_id_user_id_key;
DROP INDEX CONCURRENTLY IF EXISTS product_links_id_user_id_key;
DROP INDEX CONCURRENTLY IF EXISTS oauth_tokens_id_user_id_key;
DROP INDEX CONCURRENTLY IF EXISTS refresh_tokens_id_user_id_key;
