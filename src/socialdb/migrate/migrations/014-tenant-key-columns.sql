-- The tenant key on every table that holds a seller's data (issue 5, docs/security.md).
-- Row-level security policies become a plain indexed equality on user_id, and the
-- schema is ready to be distributed by seller later. This migration adds the columns
-- and fills them; 015 builds the unique keys the composite foreign keys need; 016 adds
-- the constraints NOT VALID and 017 validates them, each step in its own transaction.

-- The seller set in the transaction (SET LOCAL app.user_id), or NULL. `nullif` because a
-- setting once set in a session reads '' (not NULL) after its transaction ends.
CREATE FUNCTION app_user_id()
RETURNS uuid
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
  SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$;

ALTER TABLE conversations ADD COLUMN user_id uuid;
ALTER TABLE messages ADD COLUMN user_id uuid;
ALTER TABLE message_products ADD COLUMN user_id uuid;
ALTER TABLE product_links ADD COLUMN user_id uuid;
ALTER TABLE instagram_media ADD COLUMN user_id uuid;

-- New rows default to the seller set in the transaction (a metadata-only change).
ALTER TABLE conversations ALTER COLUMN user_id SET DEFAULT app_user_id();
ALTER TABLE messages ALTER COLUMN user_id SET DEFAULT app_user_id();
ALTER TABLE message_products ALTER COLUMN user_id SET DEFAULT app_user_id();
ALTER TABLE product_links ALTER COLUMN user_id SET DEFAULT app_user_id();
ALTER TABLE instagram_media ALTER COLUMN user_id SET DEFAULT app_user_id();

-- Existing rows take their seller from their parent.
UPDATE conversations AS c SET user_id = a.user_id
FROM client_accounts AS a WHERE a.id = c.client_account_id AND c.user_id IS NULL;

UPDATE messages AS m SET user_id = c.user_id
FROM conversations AS c WHERE c.id = m.conversation_id AND m.user_id IS NULL;

UPDATE message_products AS mp SET user_id = p.user_id
FROM products AS p WHERE p.id = mp.product_id AND mp.user_id IS NULL;

UPDATE product_links AS l SET user_id = p.user_id
FROM products AS p WHERE p.id = l.product_id AND l.user_id IS NULL;

UPDATE instagram_media AS im SET user_id = a.user_id
FROM client_accounts AS a WHERE a.id = im.client_account_id AND im.user_id IS NULL;

-- ROLLBACK
ALTER TABLE instagram_media DROP COLUMN user_id;
ALTER TABLE product_links DROP COLUMN user_id;
ALTER TABLE message_products DROP COLUMN user_id;
ALTER TABLE messages DROP COLUMN user_id;
ALTER TABLE conversations DROP COLUMN user_id;
DROP FUNCTION app_user_id();
