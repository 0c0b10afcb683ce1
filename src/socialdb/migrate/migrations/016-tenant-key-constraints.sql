-- The tenant key's constraints, added NOT VALID: each child's (parent id, user_id) must
-- match its parent's (id, user_id), so a message cannot carry another seller than its
-- conversation. NOT VALID checks new rows at once and takes its locks only briefly;
-- 017 validates the existing rows in a transaction of its own, without blocking writes.

ALTER TABLE conversations ADD CONSTRAINT conversations_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;
ALTER TABLE messages ADD CONSTRAINT messages_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;
ALTER TABLE message_products ADD CONSTRAINT message_products_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;
ALTER TABLE product_links ADD CONSTRAINT product_links_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;
ALTER TABLE instagram_media ADD CONSTRAINT instagram_media_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;

ALTER TABLE conversations ADD CONSTRAINT conversations_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE messages ADD CONSTRAINT messages_conversation_fkey
  FOREIGN KEY (conversation_id, user_id) REFERENCES conversations (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE message_products ADD CONSTRAINT message_products_message_fkey
  FOREIGN KEY (message_id, user_id) REFERENCES messages (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE message_products ADD CONSTRAINT message_products_product_fkey
  FOREIGN KEY (product_id, user_id) REFERENCES products (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE product_links ADD CONSTRAINT product_links_product_fkey
  FOREIGN KEY (product_id, user_id) REFERENCES products (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE product_links ADD CONSTRAINT product_links_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE instagram_media ADD CONSTRAINT instagram_media_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE oauth_tokens ADD CONSTRAINT oauth_tokens_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE analytics_events ADD CONSTRAINT analytics_events_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;

-- ROLLBACK
ALTER TABLE analytics_events DROP CONSTRAINT analytics_events_account_fkey;
ALTER TABLE oauth_tokens DROP CONSTRAINT oauth_tokens_account_fkey;
ALTER TABLE instagram_media DROP CONSTRAINT instagram_media_account_fkey;
ALTER TABLE product_links DROP CONSTRAINT product_links_account_fkey;
ALTER TABLE product_links DROP CONSTRAINT product_links_product_fkey;
ALTER TABLE message_products DROP CONSTRAINT message_products_product_fkey;
ALTER TABLE message_products DROP CONSTRAINT message_products_message_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_conversation_fkey;
ALTER TABLE conversations DROP CONSTRAINT conversations_account_fkey;
ALTER TABLE instagram_media DROP CONSTRAINT instagram_media_user_id_not_null;
ALTER TABLE product_links DROP CONSTRAINT product_links_user_id_not_null;
ALTER TABLE message_products DROP CONSTRAINT message_products_user_id_not_null;
ALTER TABLE messages DROP CONSTRAINT messages_user_id_not_null;
ALTER TABLE conversations DROP CONSTRAINT conversations_user_id_not_null;
