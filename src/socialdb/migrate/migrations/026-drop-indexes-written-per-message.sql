-- socialdb: transaction=off lock_timeout=30s
-- Three of the spec's indexes that every webhook message writes and no query reads
-- (docs/performance.md, decision 41). Each message moves its conversation's
-- last_message_at, an indexed column, so the conversation's new row version goes into
-- every index of conversations, and the message itself into every index of messages.
-- - idx_conversations_last_message (last_message_at DESC): one order across all sellers;
--   every read of conversations is one seller's (RLS), and the inbox has its own index.
-- - idx_conversations_status (status): three values; the inbox's partial index covers
--   the open conversations.
-- - idx_messages_sent_at (sent_at DESC): one order across all sellers; message pages use
--   idx_messages_conversation_page.
-- None was scanned once in a scale-1 benchmark run (pg_stat_user_indexes); together they
-- were 70 MB at scale 1 and 3 of about 20 WAL records per ingested message.

DROP INDEX CONCURRENTLY IF EXISTS idx_conversations_last_message;
DROP INDEX CONCURRENTLY IF EXISTS idx_conversations_status;
DROP INDEX CONCURRENTLY IF EXISTS idx_messages_sent_at;

-- ROLLBACK
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_messages_sent_at ON messages (sent_at DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_conversations_status ON conversations (status);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_conversations_last_message ON conversations (last_message_at DESC);
