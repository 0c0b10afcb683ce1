-- socialdb: transaction=off lock_timeout=30s
-- Unique (id, user_id) keys: the targets of 016's composite foreign keys, which keep a
-- child's seller equal to its parent's. Built CONCURRENTLY: messages is the biggest table.

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS client_accounts_id_user_id_key
  ON client_accounts (id, user_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS products_id_user_id_key
  ON products (id, user_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS conversations_id_user_id_key
  ON conversations (id, user_id);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS messages_id_user_id_key
  ON messages (id, user_id);

-- ROLLBACK
DROP INDEX CONCURRENTLY IF EXISTS messages_id_user_id_key;
DROP INDEX CONCURRENTLY IF EXISTS conversations_id_user_id_key;
DROP INDEX CONCURRENTLY IF EXISTS products_id_user_id_key;
DROP INDEX CONCURRENTLY IF EXISTS client_accounts_id_user_id_key;
