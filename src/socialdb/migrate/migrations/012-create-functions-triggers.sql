-- updated_at maintenance, conversation counters, and the summary refresh.
--
-- The counters are kept by statement-level triggers over transition tables: one
-- UPDATE per conversation per statement, not one per message, so a batch insert
-- of 10,000 messages into 50 conversations updates 50 rows, not 10,000.
-- last_message_at follows every message, the seller's own included; unread_count
-- counts the customer's unread messages exactly, through insert, read, unread and delete.

CREATE FUNCTION update_updated_at_column()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$;

CREATE TRIGGER update_users_updated_at
  BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_client_accounts_updated_at
  BEFORE UPDATE ON client_accounts
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_oauth_tokens_updated_at
  BEFORE UPDATE ON oauth_tokens
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_products_updated_at
  BEFORE UPDATE ON products
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_product_links_updated_at
  BEFORE UPDATE ON product_links
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_conversations_updated_at
  BEFORE UPDATE ON conversations
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- New messages: count the customer's unread ones, move last_message_at forward.
CREATE FUNCTION increment_unread_count()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  UPDATE conversations AS c
  SET unread_count = c.unread_count + d.unread,
      last_message_at = greatest(c.last_message_at, d.newest)
  FROM (
    SELECT conversation_id,
           count(*) FILTER (WHERE sender_type = 'customer' AND NOT is_read) AS unread,
           max(sent_at) AS newest
    FROM new_messages
    GROUP BY conversation_id
  ) AS d
  WHERE c.id = d.conversation_id;
  RETURN NULL;
END;
$$;

CREATE TRIGGER message_increment_unread
  AFTER INSERT ON messages
  REFERENCING NEW TABLE AS new_messages
  FOR EACH STATEMENT EXECUTE FUNCTION increment_unread_count();

-- Read / unread flips, and messages moved between conversations.
CREATE FUNCTION decrement_unread_count()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  UPDATE conversations AS c
  SET unread_count = greatest(c.unread_count + d.delta, 0)
  FROM (
    SELECT conversation_id, sum(n) AS delta
    FROM (
      SELECT conversation_id, (sender_type = 'customer' AND NOT is_read)::int AS n FROM new_messages
      UNION ALL
      SELECT conversation_id, -(sender_type = 'customer' AND NOT is_read)::int FROM old_messages
    ) AS changes
    GROUP BY conversation_id
  ) AS d
  WHERE c.id = d.conversation_id AND d.delta <> 0;
  RETURN NULL;
END;
$$;

CREATE TRIGGER message_decrement_unread
  AFTER UPDATE ON messages
  REFERENCING OLD TABLE AS old_messages NEW TABLE AS new_messages
  FOR EACH STATEMENT EXECUTE FUNCTION decrement_unread_count();

-- Deleted messages: uncount unread ones; if the newest went, fall back to the next.
CREATE FUNCTION forget_deleted_messages()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  UPDATE conversations AS c
  SET unread_count = greatest(c.unread_count - d.unread, 0),
      last_message_at = CASE
        WHEN d.newest >= c.last_message_at
          THEN (SELECT max(m.sent_at) FROM messages AS m WHERE m.conversation_id = c.id)
        ELSE c.last_message_at
      END
  FROM (
    SELECT conversation_id,
           count(*) FILTER (WHERE sender_type = 'customer' AND NOT is_read) AS unread,
           max(sent_at) AS newest
    FROM old_messages
    GROUP BY conversation_id
  ) AS d
  WHERE c.id = d.conversation_id;
  RETURN NULL;
END;
$$;

CREATE TRIGGER message_delete_unread
  AFTER DELETE ON messages
  REFERENCING OLD TABLE AS old_messages
  FOR EACH STATEMENT EXECUTE FUNCTION forget_deleted_messages();

-- Refresh the daily summary without blocking its readers.
CREATE FUNCTION refresh_analytics_daily_summary()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY analytics_daily_summary;
END;
$$;

-- ROLLBACK
DROP FUNCTION refresh_analytics_daily_summary();
DROP TRIGGER message_delete_unread ON messages;
DROP FUNCTION forget_deleted_messages();
DROP TRIGGER message_decrement_unread ON messages;
DROP FUNCTION decrement_unread_count();
DROP TRIGGER message_increment_unread ON messages;
DROP FUNCTION increment_unread_count();
DROP TRIGGER update_conversations_updated_at ON conversations;
DROP TRIGGER update_product_links_updated_at ON product_links;
DROP TRIGGER update_products_updated_at ON products;
DROP TRIGGER update_oauth_tokens_updated_at ON oauth_tokens;
DROP TRIGGER update_client_accounts_updated_at ON client_accounts;
DROP TRIGGER update_users_updated_at ON users;
DROP FUNCTION update_updated_at_column();
