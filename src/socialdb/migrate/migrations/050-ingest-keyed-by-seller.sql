-- Step 2 of 4 (issue 26, item 2; decision 191): ingest names 049's conversation key,
-- (client_account_id, user_id, platform_conversation_id), in ON CONFLICT, and the global
-- idx_conversations_platform goes, in one transaction: no call ever runs a body whose
-- conflict target is missing, and no body names one key while the other, a unique index of
-- the same rule, would be checked outside its ON CONFLICT (two first contacts of one
-- conversation at once would then fail on it instead of storing the message once). The new
-- conversation row's user_id is its default, app_user_id(), which the function sets to
-- p_seller; the lookup runs under the seller's policy (user_id = app_user_id()), so it
-- uses the new key on all three columns.
-- socialdb.app's ingest_batch names the same key from this version (statements.py).
-- First it checks that 049's index is valid, as 044 did for 043's.
-- Supersedes: seller_ingest_message of 048 (its conflict target only; the body is
-- otherwise 048's), idx_conversations_platform (006).
-- Locks: ACCESS EXCLUSIVE on conversations, for a catalog change only (dropping an index
-- scans nothing), taken within the run's lock_timeout and held to the commit, an instant
-- later; the function's catalog row. Owner, grants and comment stay: CREATE OR REPLACE
-- keeps them.

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_index AS i
             WHERE i.indexrelid = 'public.conversations_account_platform_key'::regclass
               AND NOT (i.indisvalid AND i.indisready)) THEN
    RAISE EXCEPTION '049''s conversations_account_platform_key is not valid (an interrupted build)'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'rebuild it: socialdb migrate resolve 49 --retry, then migrate up';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION seller_ingest_message(
  p_seller uuid,
  p_account uuid,
  p_conversation text,
  p_participant text,
  p_username text,
  p_message text,
  p_sender text,
  p_type text,
  p_content text,
  p_sent_at timestamptz
)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  unread integer := (p_sender = 'customer')::integer;
  conversation uuid;
  stored uuid;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_ingest_message: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pg_catalog.set_config('app.user_id', p_seller::text, true);
  -- As in 044: an account that is not a connected account of the seller is refused first.
  IF NOT EXISTS (SELECT FROM public.client_accounts AS a WHERE a.id = p_account AND a.deleted_at IS NULL) THEN
    RAISE EXCEPTION 'seller_ingest_message: account % is not a connected account of the seller', p_account
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'route the webhook again (route_platform_account): the account was disconnected, or is not this seller''s';
  END IF;
  -- Again after another transaction's insert of the conversation won (then found, unless
  -- deleted meanwhile: one more try).
  FOR attempt IN 1..3 LOOP
    WITH found AS (
      SELECT c.id FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.platform_conversation_id = p_conversation
    ), inserted AS (
      INSERT INTO public.messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
      SELECT found.id, p_message, p_sender, p_type, p_content, p_sent_at
      FROM found
      ON CONFLICT (user_id, conversation_id, platform_message_id) DO NOTHING
      RETURNING conversation_id
    ), counted AS (
      -- The conversation's row lock comes after the message's, as in the triggers.
      UPDATE public.conversations AS c
      SET participant_username = coalesce(p_username, c.participant_username),
          unread_count = c.unread_count + unread,
          last_message_at = greatest(c.last_message_at, p_sent_at)
      FROM inserted
      WHERE c.id = inserted.conversation_id
      RETURNING c.id
    )
    SELECT found.id, counted.id INTO conversation, stored
    FROM found LEFT JOIN counted ON true;
    IF conversation IS NOT NULL THEN
      PERFORM pg_catalog.set_config('app.user_id', previous, true);
      RETURN stored IS NOT NULL;
    END IF;
    -- Not found: the conversation, already counting its first message, and the message.
    WITH created AS (
      INSERT INTO public.conversations AS c
        (client_account_id, platform_conversation_id, participant_platform_id, participant_username,
         unread_count, last_message_at)
      VALUES (p_account, p_conversation, p_participant, p_username, unread, p_sent_at)
      ON CONFLICT (client_account_id, user_id, platform_conversation_id) DO NOTHING
      RETURNING c.id
    ), inserted AS (
      INSERT INTO public.messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
      SELECT created.id, p_message, p_sender, p_type, p_content, p_sent_at
      FROM created
      RETURNING conversation_id
    )
    SELECT inserted.conversation_id INTO stored FROM inserted;
    IF stored IS NOT NULL THEN
      PERFORM pg_catalog.set_config('app.user_id', previous, true);
      RETURN true;
    END IF;
    -- Not found twice, and not insertable: a conversation the seller cannot see.
    EXIT WHEN attempt > 1;
  END LOOP;
  RAISE EXCEPTION 'seller_ingest_message: conversation % of account % is not the seller''s', p_conversation, p_account
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP INDEX idx_conversations_platform;

-- ROLLBACK
-- 006's global key comes back, built under the ACCESS EXCLUSIVE this part holds (reads and
-- writes of conversations wait for one index build), with 048's function in the same
-- transaction. It cannot fail on data: an account has one seller, so 049's key already
-- holds the rule.
CREATE UNIQUE INDEX idx_conversations_platform
  ON conversations (client_account_id, platform_conversation_id);

CREATE OR REPLACE FUNCTION seller_ingest_message(
  p_seller uuid,
  p_account uuid,
  p_conversation text,
  p_participant text,
  p_username text,
  p_message text,
  p_sender text,
  p_type text,
  p_content text,
  p_sent_at timestamptz
)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  unread integer := (p_sender = 'customer')::integer;
  conversation uuid;
  stored uuid;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_ingest_message: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pg_catalog.set_config('app.user_id', p_seller::text, true);
  -- As in 044: an account that is not a connected account of the seller is refused first.
  IF NOT EXISTS (SELECT FROM public.client_accounts AS a WHERE a.id = p_account AND a.deleted_at IS NULL) THEN
    RAISE EXCEPTION 'seller_ingest_message: account % is not a connected account of the seller', p_account
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'route the webhook again (route_platform_account): the account was disconnected, or is not this seller''s';
  END IF;
  -- Again after another transaction's insert of the conversation won (then found, unless
  -- deleted meanwhile: one more try).
  FOR attempt IN 1..3 LOOP
    WITH found AS (
      SELECT c.id FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.platform_conversation_id = p_conversation
    ), inserted AS (
      INSERT INTO public.messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
      SELECT found.id, p_message, p_sender, p_type, p_content, p_sent_at
      FROM found
      ON CONFLICT (user_id, conversation_id, platform_message_id) DO NOTHING
      RETURNING conversation_id
    ), counted AS (
      -- The conversation's row lock comes after the message's, as in the triggers.
      UPDATE public.conversations AS c
      SET participant_username = coalesce(p_username, c.participant_username),
          unread_count = c.unread_count + unread,
          last_message_at = greatest(c.last_message_at, p_sent_at)
      FROM inserted
      WHERE c.id = inserted.conversation_id
      RETURNING c.id
    )
    SELECT found.id, counted.id INTO conversation, stored
    FROM found LEFT JOIN counted ON true;
    IF conversation IS NOT NULL THEN
      PERFORM pg_catalog.set_config('app.user_id', previous, true);
      RETURN stored IS NOT NULL;
    END IF;
    -- Not found: the conversation, already counting its first message, and the message.
    WITH created AS (
      INSERT INTO public.conversations AS c
        (client_account_id, platform_conversation_id, participant_platform_id, participant_username,
         unread_count, last_message_at)
      VALUES (p_account, p_conversation, p_participant, p_username, unread, p_sent_at)
      ON CONFLICT (client_account_id, platform_conversation_id) DO NOTHING
      RETURNING c.id
    ), inserted AS (
      INSERT INTO public.messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
      SELECT created.id, p_message, p_sender, p_type, p_content, p_sent_at
      FROM created
      RETURNING conversation_id
    )
    SELECT inserted.conversation_id INTO stored FROM inserted;
    IF stored IS NOT NULL THEN
      PERFORM pg_catalog.set_config('app.user_id', previous, true);
      RETURN true;
    END IF;
    -- Not found twice, and not insertable: a conversation the seller cannot see.
    EXIT WHEN attempt > 1;
  END LOOP;
  RAISE EXCEPTION 'seller_ingest_message: conversation % of account % is not the seller''s', p_conversation, p_account
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
