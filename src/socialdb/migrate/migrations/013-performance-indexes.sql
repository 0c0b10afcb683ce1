-- socialdb: transaction=off lock_timeout=30s
-- Composite, partial and full-text indexes for the platform's hot queries.
-- Built CONCURRENTLY: on a live database these are the indexes that would
-- otherwise block writes to big tables while they build. CREATE INDEX
-- CONCURRENTLY takes a SHARE UPDATE EXCLUSIVE lock, which no read or write waits
-- behind, so a long lock_timeout here queues nobody. IF NOT EXISTS makes a rerun
-- skip the indexes already built; an INVALID index left by a failed build would
-- satisfy it too, so the runner drops an invalid index of the same name first.

-- A seller's live accounts by platform.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_client_accounts_user_platform
  ON client_accounts (user_id, platform)
  WHERE deleted_at IS NULL;

-- Message page of a conversation: keyset on (sent_at, id), newest first.
-- Also serves ON DELETE CASCADE from conversations.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_messages_conversation_sent
  ON messages (conversation_id, sent_at DESC, id DESC);

-- A seller's product listing.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_products_user_available
  ON products (user_id, is_available, created_at DESC)
  WHERE deleted_at IS NULL;

-- Dashboard queries over a seller's events; also serves ON DELETE CASCADE from users.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_analytics_user_date_category
  ON analytics_events (user_id, occurred_at DESC, event_category);

-- Links of a product by clicks; also serves ON DELETE CASCADE from products.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_product_links_product_clicks
  ON product_links (product_id, clicks DESC);

-- Inbox of an account: open conversations by last_message_at, keyset on (last_message_at, id).
-- status is the predicate, so it is not repeated as a key column. NULLS LAST as the inbox
-- orders (a conversation without messages last): DESC alone means NULLS FIRST, and an
-- index in another order than the query's makes the planner sort every open conversation.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_conversations_active
  ON conversations (client_account_id, last_message_at DESC NULLS LAST, id DESC)
  WHERE status = 'open';

-- Full-text search.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_products_description_search
  ON products USING gin (to_tsvector('portuguese', description));

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_messages_content_search
  ON messages USING gin (to_tsvector('portuguese', content))
  WHERE message_type = 'text';

-- ROLLBACK
DROP INDEX CONCURRENTLY IF EXISTS idx_messages_content_search;
DROP INDEX CONCURRENTLY IF EXISTS idx_products_description_search;
DROP INDEX CONCURRENTLY IF EXISTS idx_conversations_active;
DROP INDEX CONCURRENTLY IF EXISTS idx_product_links_product_clicks;
DROP INDEX CONCURRENTLY IF EXISTS idx_analytics_user_date_category;
DROP INDEX CONCURRENTLY IF EXISTS idx_products_user_available;
DROP INDEX CONCURRENTLY IF EXISTS idx_messages_conversation_sent;
DROP INDEX CONCURRENTLY IF EXISTS idx_client_accounts_user_platform;
