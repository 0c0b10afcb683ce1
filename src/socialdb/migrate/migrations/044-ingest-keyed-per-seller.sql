-- Step 2 of 3 (issue 22, gap 1; decisions 117, 124): ingest names 043's per-seller key in
-- ON CONFLICT, while the global key still exists (045 drops it): a call already running the
-- old body when this commits still finds its conflict target. ingest_batch (socialdb.app)
-- names no target, so it runs before and after.
-- Ingest also refuses an account that is not a connected account of the seller (SQLSTATE
-- 55000): a webhook routed before its account was disconnected (and perhaps connected by
-- another seller) was stored in the disconnected account and reported as stored. Under the
-- seller's policies another seller's account looks the same, so the error tells nothing of
-- another seller's conversations (it told 42501 from 23503 before).
-- First it checks that 043's indexes are valid: after an interrupted 043 marked applied by
-- hand, ON CONFLICT would find no usable key.
-- Supersedes: seller_ingest_message's body of 040 (otherwise unchanged).
-- Locks: none on any table (the function's catalog row; the check reads pg_index).

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_index AS i
             WHERE i.indexrelid IN ('public.messages_seller_message_key'::regclass,
                                    'public.instagram_media_seller_media_key'::regclass)
               AND NOT (i.indisvalid AND i.indisready)) THEN
    RAISE EXCEPTION '043''s per-seller keys are not valid (an interrupted build)'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'rebuild them: socialdb migrate resolve 43 --retry, then migrate up';
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

-- ROLLBACK
-- 040's definition.
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
      ON CONFLICT (platform_message_id) DO NOTHING
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
