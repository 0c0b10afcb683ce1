-- Validate 016's constraints (a scan under SHARE UPDATE EXCLUSIVE: reads and writes go
-- on), then make user_id NOT NULL, which a validated CHECK spares a second scan. The
-- composite keys replace the single-column foreign keys they imply.

ALTER TABLE conversations VALIDATE CONSTRAINT conversations_user_id_not_null;
ALTER TABLE messages VALIDATE CONSTRAINT messages_user_id_not_null;
ALTER TABLE message_products VALIDATE CONSTRAINT message_products_user_id_not_null;
ALTER TABLE product_links VALIDATE CONSTRAINT product_links_user_id_not_null;
ALTER TABLE instagram_media VALIDATE CONSTRAINT instagram_media_user_id_not_null;
ALTER TABLE conversations VALIDATE CONSTRAINT conversations_account_fkey;
ALTER TABLE messages VALIDATE CONSTRAINT messages_conversation_fkey;
ALTER TABLE message_products VALIDATE CONSTRAINT message_products_message_fkey;
ALTER TABLE message_products VALIDATE CONSTRAINT message_products_product_fkey;
ALTER TABLE product_links VALIDATE CONSTRAINT product_links_product_fkey;
ALTER TABLE product_links VALIDATE CONSTRAINT product_links_account_fkey;
ALTER TABLE instagram_media VALIDATE CONSTRAINT instagram_media_account_fkey;
ALTER TABLE oauth_tokens VALIDATE CONSTRAINT oauth_tokens_account_fkey;
ALTER TABLE analytics_events VALIDATE CONSTRAINT analytics_events_account_fkey;

ALTER TABLE conversations ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE messages ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE message_products ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE product_links ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE instagram_media ALTER COLUMN user_id SET NOT NULL;

ALTER TABLE conversations DROP CONSTRAINT conversations_user_id_not_null;
ALTER TABLE messages DROP CONSTRAINT messages_user_id_not_null;
ALTER TABLE message_products DROP CONSTRAINT message_products_user_id_not_null;
ALTER TABLE product_links DROP CONSTRAINT product_links_user_id_not_null;
ALTER TABLE instagram_media DROP CONSTRAINT instagram_media_user_id_not_null;

-- The composite keys imply these.
ALTER TABLE conversations DROP CONSTRAINT conversations_client_account_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_fkey;
ALTER TABLE message_products DROP CONSTRAINT message_products_message_id_fkey;
ALTER TABLE message_products DROP CONSTRAINT message_products_product_id_fkey;
ALTER TABLE product_links DROP CONSTRAINT product_links_product_id_fkey;
ALTER TABLE product_links DROP CONSTRAINT product_links_client_account_id_fkey;
ALTER TABLE instagram_media DROP CONSTRAINT instagram_media_client_account_id_fkey;
ALTER TABLE oauth_tokens DROP CONSTRAINT oauth_tokens_client_account_id_fkey;
ALTER TABLE analytics_events DROP CONSTRAINT analytics_events_client_account_id_fkey;

-- ROLLBACK
-- Corrected after it landed (decision 123): version 16 exactly. The single-column keys come
-- back validated, as 005-011 made them (each added NOT VALID, then validated: its addition
-- holds SHARE ROW EXCLUSIVE on both tables to the commit, so writes wait for the scans and
-- reads go on); 016's composite keys go back to NOT VALID, as 016 left them (dropped and
-- added again, which scans nothing).
ALTER TABLE analytics_events ADD CONSTRAINT analytics_events_client_account_id_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE oauth_tokens ADD CONSTRAINT oauth_tokens_client_account_id_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE instagram_media ADD CONSTRAINT instagram_media_client_account_id_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE product_links ADD CONSTRAINT product_links_client_account_id_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE product_links ADD CONSTRAINT product_links_product_id_fkey
  FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE message_products ADD CONSTRAINT message_products_product_id_fkey
  FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE message_products ADD CONSTRAINT message_products_message_id_fkey
  FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE messages ADD CONSTRAINT messages_conversation_id_fkey
  FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE conversations ADD CONSTRAINT conversations_client_account_id_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE analytics_events VALIDATE CONSTRAINT analytics_events_client_account_id_fkey;
ALTER TABLE oauth_tokens VALIDATE CONSTRAINT oauth_tokens_client_account_id_fkey;
ALTER TABLE instagram_media VALIDATE CONSTRAINT instagram_media_client_account_id_fkey;
ALTER TABLE product_links VALIDATE CONSTRAINT product_links_client_account_id_fkey;
ALTER TABLE product_links VALIDATE CONSTRAINT product_links_product_id_fkey;
ALTER TABLE message_products VALIDATE CONSTRAINT message_products_product_id_fkey;
ALTER TABLE message_products VALIDATE CONSTRAINT message_products_message_id_fkey;
ALTER TABLE messages VALIDATE CONSTRAINT messages_conversation_id_fkey;
ALTER TABLE conversations VALIDATE CONSTRAINT conversations_client_account_id_fkey;
ALTER TABLE conversations DROP CONSTRAINT conversations_account_fkey;
ALTER TABLE conversations ADD CONSTRAINT conversations_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE messages DROP CONSTRAINT messages_conversation_fkey;
ALTER TABLE messages ADD CONSTRAINT messages_conversation_fkey
  FOREIGN KEY (conversation_id, user_id) REFERENCES conversations (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE message_products DROP CONSTRAINT message_products_message_fkey;
ALTER TABLE message_products ADD CONSTRAINT message_products_message_fkey
  FOREIGN KEY (message_id, user_id) REFERENCES messages (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE message_products DROP CONSTRAINT message_products_product_fkey;
ALTER TABLE message_products ADD CONSTRAINT message_products_product_fkey
  FOREIGN KEY (product_id, user_id) REFERENCES products (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE product_links DROP CONSTRAINT product_links_product_fkey;
ALTER TABLE product_links ADD CONSTRAINT product_links_product_fkey
  FOREIGN KEY (product_id, user_id) REFERENCES products (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE product_links DROP CONSTRAINT product_links_account_fkey;
ALTER TABLE product_links ADD CONSTRAINT product_links_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE instagram_media DROP CONSTRAINT instagram_media_account_fkey;
ALTER TABLE instagram_media ADD CONSTRAINT instagram_media_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE oauth_tokens DROP CONSTRAINT oauth_tokens_account_fkey;
ALTER TABLE oauth_tokens ADD CONSTRAINT oauth_tokens_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE analytics_events DROP CONSTRAINT analytics_events_account_fkey;
ALTER TABLE analytics_events ADD CONSTRAINT analytics_events_account_fkey
  FOREIGN KEY (client_account_id, user_id) REFERENCES client_accounts (id, user_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE instagram_media ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE product_links ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE message_products ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE messages ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE conversations ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE conversations ADD CONSTRAINT conversations_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;
ALTER TABLE messages ADD CONSTRAINT messages_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;
ALTER TABLE message_products ADD CONSTRAINT message_products_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;
ALTER TABLE product_links ADD CONSTRAINT product_links_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;
ALTER TABLE instagram_media ADD CONSTRAINT instagram_media_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;
