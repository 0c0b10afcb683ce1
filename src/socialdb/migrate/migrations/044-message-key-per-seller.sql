-- Step 2 of 2 (issue 22, gap 1; decision 117): the global keys of platform ids go, and
-- ingest deduplicates within the seller's conversation. seller_ingest_message names 043's
-- key in ON CONFLICT (its body is otherwise 040's); ingest_batch (socialdb.app) names no
-- target, so it works before and after this file.
-- A disconnected account connected again by the same seller is the same row again
-- (socialdb.app connect_account revives it), so its conversations and messages come back and
-- a redelivery of a message stored before the disconnection is still a redelivery.
-- Not reversible once two sellers, or two conversations of one seller, hold the same id:
-- the rollback then refuses and names them (the round-trip test exempts nothing: with no
-- such rows it is exact).
-- Supersedes: messages_platform_message_id_key (007), instagram_media_platform_media_id_key
-- (010), and seller_ingest_message's ON CONFLICT target (040).
-- Locks: ACCESS EXCLUSIVE on messages, then on instagram_media, for catalog changes only
-- (dropping a constraint and its index scans nothing), each taken within the run's
-- lock_timeout and held to the commit; ingest waits that long at most. The function's
-- replacement locks no table.

ALTER TABLE messages DROP CONSTRAINT messages_platform_message_id_key;
ALTER TABLE instagram_media DROP CONSTRAINT instagram_media_platform_media_id_key;
COMMENT ON COLUMN messages.platform_message_id IS 'The message''s id on the platform, unique within the seller''s conversation: a redelivered webhook inserts nothing.';
COMMENT ON COLUMN instagram_media.platform_media_id IS 'The post''s id on Instagram, unique within the seller''s account.';
COMMENT ON INDEX messages_seller_message_key IS 'A platform''s message id, once per seller and conversation: the target of ingest''s ON CONFLICT.';
COMMENT ON INDEX instagram_media_seller_media_key IS 'A post, once per seller and account.';

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
-- The global keys come back only if no id is held twice; otherwise nothing changes. Each
-- is rebuilt under the ACCESS EXCLUSIVE this part holds: reads and writes of the table wait
-- for one index build of the table.
DO $$
DECLARE
  twice text;
BEGIN
  SELECT string_agg(quote_literal(id), ', ') INTO twice
  FROM (SELECT platform_message_id AS id FROM public.messages
        GROUP BY platform_message_id HAVING count(*) > 1 ORDER BY 1 LIMIT 10) AS d;
  IF twice IS NOT NULL THEN
    RAISE EXCEPTION 'cannot roll back 044: messages.platform_message_id held more than once (first 10: %)', twice
      USING ERRCODE = 'unique_violation',
            HINT = 'the global key cannot come back once two sellers or conversations hold an id';
  END IF;
  SELECT string_agg(quote_literal(id), ', ') INTO twice
  FROM (SELECT platform_media_id AS id FROM public.instagram_media
        GROUP BY platform_media_id HAVING count(*) > 1 ORDER BY 1 LIMIT 10) AS d;
  IF twice IS NOT NULL THEN
    RAISE EXCEPTION 'cannot roll back 044: instagram_media.platform_media_id held more than once (first 10: %)', twice
      USING ERRCODE = 'unique_violation',
            HINT = 'the global key cannot come back once two sellers or accounts hold an id';
  END IF;
END
$$;

ALTER TABLE instagram_media ADD CONSTRAINT instagram_media_platform_media_id_key UNIQUE (platform_media_id);
ALTER TABLE messages ADD CONSTRAINT messages_platform_message_id_key UNIQUE (platform_message_id);
COMMENT ON INDEX instagram_media_seller_media_key IS NULL;
COMMENT ON INDEX messages_seller_message_key IS NULL;
COMMENT ON COLUMN instagram_media.platform_media_id IS 'The post''s id on Instagram, unique.';
COMMENT ON COLUMN messages.platform_message_id IS 'The message''s id on the platform, unique: a redelivered webhook inserts nothing.';

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
