-- A customer's first message writes its conversation once (issue 22, decision 170).
-- 044's seller_ingest_message, on a conversation it did not find, inserted it with zero
-- counts, then ran its lookup again, inserted the message and updated the conversation it
-- had just inserted: three statements, and two versions of the new row, the second a
-- non-HOT update (last_message_at is a key of the inbox index), so four more index entries
-- on conversations, the updated_at trigger, and its WAL. Now, not found, the function
-- inserts the conversation with the message's counts (unread_count, last_message_at) and
-- the message in one statement: one row version, one statement fewer.
-- Kept: the lookup of a known conversation, its message insert and its counted UPDATE are
-- 044's statement, unchanged (the message's row before the conversation's, decision 105).
-- A new conversation's row is this transaction's, seen by no other until the commit, and
-- no other transaction can hold a message of it, so its message insert waits for nothing;
-- the conversation's insert waits, as before, only for another transaction inserting the
-- same conversation, before any message is written. Its counts are exact: the message is
-- new (no message of a new conversation exists), so it is stored and counted once, and a
-- customer's message counts as unread as the UPDATE would have counted it
-- (greatest(NULL, sent_at) is sent_at). An insert that met another transaction's
-- conversation stores nothing and the lookup runs again (at most three passes, as in 044);
-- not found twice and not insertable is a conversation the seller cannot see, refused with
-- 42501 as before; an account that is not a connected account of the seller is refused
-- first, as in 044. The seller's setting is set and put back as in 040; row-level security,
-- the field bounds (041, 042) and the deduplication key (043) apply to both statements.
-- Supersedes: seller_ingest_message of 044 (the part for a conversation not found).
-- Locks: none on any table (the function's catalog row). Owner, grants and comment stay:
-- CREATE OR REPLACE keeps them.

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

-- ROLLBACK
-- 044's definition.
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
  created integer;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_ingest_message: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  -- Under the seller's policies: a disconnected account and another seller's look the same,
  -- so a caller learns nothing of another seller's conversations from the error (045).
  IF NOT EXISTS (SELECT FROM public.client_accounts AS a WHERE a.id = p_account AND a.deleted_at IS NULL) THEN
    RAISE EXCEPTION 'seller_ingest_message: account % is not a connected account of the seller', p_account
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'route the webhook again (route_platform_account): the account was disconnected, or is not this seller''s';
  END IF;
  -- Again after inserting a conversation seen for the first time (then found: the row is
  -- this transaction's), or after another transaction's insert of it won (then found,
  -- unless deleted meanwhile: one more try).
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
      PERFORM set_config('app.user_id', previous, true);
      RETURN stored IS NOT NULL;
    END IF;
    -- Counted by the statement above on the next pass, like any conversation.
    INSERT INTO public.conversations AS c
      (client_account_id, platform_conversation_id, participant_platform_id, participant_username)
    VALUES (p_account, p_conversation, p_participant, p_username)
    ON CONFLICT (client_account_id, platform_conversation_id) DO NOTHING;
    GET DIAGNOSTICS created = ROW_COUNT;
    -- Not found twice, and not insertable: a conversation the seller cannot see.
    EXIT WHEN created = 0 AND attempt > 1;
  END LOOP;
  RAISE EXCEPTION 'seller_ingest_message: conversation % of account % is not the seller''s', p_conversation, p_account
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
