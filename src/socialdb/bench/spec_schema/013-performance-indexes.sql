-- BASELINE FOR THE BENCHMARK ONLY: the spec's SQL exactly as written in
-- BE-002-database-schema-and-migrations.md (this block's first line names its file).
-- Not a socialdb migration; never applied by `socialdb migrate`.
-- File: /backend/migrations/013-performance-indexes.sql

-- Composite indexes for common queries

-- Users + Client Accounts join
CREATE INDEX idx_client_accounts_user_platform
  ON client_accounts(user_id, platform)
  WHERE deleted_at IS NULL;

-- Messages with conversation and timestamp (for pagination)
CREATE INDEX idx_messages_conversation_sent
  ON messages(conversation_id, sent_at DESC);

-- Products with user and availability (for listing)
CREATE INDEX idx_products_user_available
  ON products(user_id, is_available, created_at DESC)
  WHERE deleted_at IS NULL;

-- Analytics events for dashboard queries
CREATE INDEX idx_analytics_user_date_category
  ON analytics_events(user_id, occurred_at DESC, event_category);

-- Product links for tracking
CREATE INDEX idx_product_links_product_clicks
  ON product_links(product_id, clicks DESC);

-- Partial indexes for active records only
CREATE INDEX idx_conversations_active
  ON conversations(client_account_id, status, last_message_at DESC)
  WHERE status = 'open';

-- GIN indexes for full-text search
CREATE INDEX idx_products_description_search
  ON products USING GIN(to_tsvector('portuguese', description));

CREATE INDEX idx_messages_content_search
  ON messages USING GIN(to_tsvector('portuguese', content))
  WHERE message_type = 'text';
