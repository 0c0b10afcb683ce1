-- socialdb: transaction=off lock_timeout=30s
-- The inbox and message-page indexes, with the seller as their second key (docs/performance.md).
-- Under row-level security every query also carries `user_id = app_user_id()`. Where user_id
-- is not in the index that condition is a filter, estimated at 1/n_distinct(user_id) on top
-- of the account's own selectivity: the planner expects one row and picks a bitmap scan and
-- a sort of every open conversation of the account (19 ms for an account with 340, EXPLAIN
-- ANALYZE at scale 1) instead of walking the index in page order and stopping after 20.
-- With user_id in the key the condition is an index condition and the walk stays ordered
-- (0.26 ms). Each replaces the index of 013 it extends, so ingest maintains no more indexes.
-- The message index also leads with the composite key (conversation_id, user_id) of
-- messages' foreign key to conversations.

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_conversations_inbox
  ON conversations (client_account_id, user_id, last_message_at DESC NULLS LAST, id DESC)
  WHERE status = 'open';

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_messages_conversation_page
  ON messages (conversation_id, user_id, sent_at DESC, id DESC);

DROP INDEX CONCURRENTLY IF EXISTS idx_conversations_active;
DROP INDEX CONCURRENTLY IF EXISTS idx_messages_conversation_sent;

-- ROLLBACK
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_messages_conversation_sent
  ON messages (conversation_id, sent_at DESC, id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_conversations_active
  ON conversations (client_account_id, last_message_at DESC NULLS LAST, id DESC)
  WHERE status = 'open';
DROP INDEX CONCURRENTLY IF EXISTS idx_messages_conversation_page;
DROP INDEX CONCURRENTLY IF EXISTS idx_conversations_inbox;
