-- Mark read in one statement on one server too, and ingest's account check inside its statement
-- (issues 22 and 26: the hot paths within 5% of the last run; decision 275).
-- * seller_mark_read, 057's Citus call, becomes the library's mark_read everywhere: one
--   statement in autocommit, where one server ran four (BEGIN, the seller's SET LOCAL, the
--   UPDATE, COMMIT). One server sets the seller with set_config(); on Citus, SET LOCAL as in
--   057. The UPDATE is 057's; the seller the call found is put back as the pages do (053).
-- * seller_ingest_message, on one server: the check that the account is a connected account of
--   the seller (044) is part of the statement that finds the conversation, and a statement of
--   its own only when nothing was found, before anything is inserted. Same refusal (55000),
--   same order of locks. The Citus branch is 057's.
-- Supersedes: 057's bodies of seller_mark_read and seller_ingest_message (owners, grants and
-- comments kept by CREATE OR REPLACE).
-- Locks: none on any table (the functions' catalog rows).

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
  -- On Citus (decision 231): the same steps as plain statements that each name the seller,
  -- so that, delegated to the seller's node, every one runs on its co-located shards there
  -- and the definer opens no connection; 050's statements span shards (a data-modifying
  -- CTE without the seller). The seller is set with SET LOCAL (053). The order of the locks
  -- is the same: the message first, then its conversation. A single server takes 050's
  -- statements below, with the account's check inside the first (062).
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
    IF NOT EXISTS (SELECT FROM public.client_accounts AS a
                   WHERE a.user_id = p_seller AND a.id = p_account AND a.deleted_at IS NULL) THEN
      RAISE EXCEPTION 'seller_ingest_message: account % is not a connected account of the seller', p_account
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'route the webhook again (route_platform_account): the account was disconnected, or is not this seller''s';
    END IF;
    FOR attempt IN 1..3 LOOP
      SELECT c.id INTO conversation FROM public.conversations AS c
      WHERE c.user_id = p_seller AND c.client_account_id = p_account AND c.platform_conversation_id = p_conversation;
      IF conversation IS NOT NULL THEN
        INSERT INTO public.messages
          (user_id, conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
        VALUES (p_seller, conversation, p_message, p_sender, p_type, p_content, p_sent_at)
        ON CONFLICT (user_id, conversation_id, platform_message_id) DO NOTHING
        RETURNING conversation_id INTO stored;
        IF stored IS NOT NULL THEN
          UPDATE public.conversations AS c
          SET participant_username = coalesce(p_username, c.participant_username),
              unread_count = c.unread_count + unread,
              last_message_at = greatest(c.last_message_at, p_sent_at)
          WHERE c.user_id = p_seller AND c.id = conversation;
        END IF;
        EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
        RETURN stored IS NOT NULL;
      END IF;
      INSERT INTO public.conversations AS c
        (user_id, client_account_id, platform_conversation_id, participant_platform_id, participant_username,
         unread_count, last_message_at)
      VALUES (p_seller, p_account, p_conversation, p_participant, p_username, unread, p_sent_at)
      ON CONFLICT (client_account_id, user_id, platform_conversation_id) DO NOTHING
      RETURNING c.id INTO conversation;
      IF conversation IS NOT NULL THEN
        INSERT INTO public.messages
          (user_id, conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
        VALUES (p_seller, conversation, p_message, p_sender, p_type, p_content, p_sent_at);
        EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
        RETURN true;
      END IF;
      EXIT WHEN attempt > 1;
    END LOOP;
    RAISE EXCEPTION 'seller_ingest_message: conversation % of account % is not the seller''s', p_conversation, p_account
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM pg_catalog.set_config('app.user_id', p_seller::text, true);
  -- Again after another transaction's insert of the conversation won (then found, unless
  -- deleted meanwhile: one more try).
  FOR attempt IN 1..3 LOOP
    -- As in 044, an account that is not a connected account of the seller is refused before
    -- anything is written: here its conversation is not found (the account's check is this
    -- statement's own InitPlan, one index probe, where 057 ran a statement of its own for it),
    -- and the refusal below comes before any insert.
    WITH found AS (
      SELECT c.id FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.platform_conversation_id = p_conversation
        AND EXISTS (SELECT FROM public.client_accounts AS a WHERE a.id = p_account AND a.deleted_at IS NULL)
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
    IF NOT EXISTS (SELECT FROM public.client_accounts AS a WHERE a.id = p_account AND a.deleted_at IS NULL) THEN
      RAISE EXCEPTION 'seller_ingest_message: account % is not a connected account of the seller', p_account
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'route the webhook again (route_platform_account): the account was disconnected, or is not this seller''s';
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

CREATE OR REPLACE FUNCTION seller_mark_read(p_seller uuid, p_conversation uuid)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  changed bigint;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_mark_read: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- On Citus the seller goes with SET LOCAL, which Citus sends to the workers (053); one server
  -- takes set_config(), which needs no statement built and parsed per call.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
  ELSE
    PERFORM pg_catalog.set_config('app.user_id', p_seller::text, true);
  END IF;
  -- The statement of 057 (socialdb.app.statements.MARK_READ naming the seller: one shard on
  -- Citus). Its trigger (decrement_unread_count) moves the counter, on that shard's node there.
  UPDATE public.messages AS m SET is_read = true, read_at = pg_catalog.now()
  WHERE m.conversation_id = p_conversation AND m.user_id = p_seller AND m.sender_type = 'customer' AND NOT m.is_read;
  GET DIAGNOSTICS changed = ROW_COUNT;
  -- The caller's seller back the way this one was set: on Citus only SET LOCAL reaches the
  -- workers, where a set_config() would leave them acting for p_seller for the rest of the
  -- transaction (found by review; tests/test_citus_calls.py).
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
  ELSE
    PERFORM pg_catalog.set_config('app.user_id', previous, true);
  END IF;
  RETURN changed;
END;
$$;

COMMENT ON FUNCTION seller_mark_read(uuid, uuid) IS 'Marks the seller''s conversation''s unread customer messages read, naming the seller (one shard on Citus); how many changed. The library''s mark_read (migrations 057, 062).';

-- ROLLBACK
-- 057's bodies and comment back. Locks: none on any table.
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
  -- On Citus (decision 231): the same steps as plain statements that each name the seller,
  -- so that, delegated to the seller's node, every one runs on its co-located shards there
  -- and the definer opens no connection; 050's statements span shards (a data-modifying
  -- CTE without the seller). The seller is set with SET LOCAL (053). The order of the locks
  -- is the same: the message first, then its conversation. A single server takes 050's
  -- statements below, unchanged.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
    IF NOT EXISTS (SELECT FROM public.client_accounts AS a
                   WHERE a.user_id = p_seller AND a.id = p_account AND a.deleted_at IS NULL) THEN
      RAISE EXCEPTION 'seller_ingest_message: account % is not a connected account of the seller', p_account
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'route the webhook again (route_platform_account): the account was disconnected, or is not this seller''s';
    END IF;
    FOR attempt IN 1..3 LOOP
      SELECT c.id INTO conversation FROM public.conversations AS c
      WHERE c.user_id = p_seller AND c.client_account_id = p_account AND c.platform_conversation_id = p_conversation;
      IF conversation IS NOT NULL THEN
        INSERT INTO public.messages
          (user_id, conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
        VALUES (p_seller, conversation, p_message, p_sender, p_type, p_content, p_sent_at)
        ON CONFLICT (user_id, conversation_id, platform_message_id) DO NOTHING
        RETURNING conversation_id INTO stored;
        IF stored IS NOT NULL THEN
          UPDATE public.conversations AS c
          SET participant_username = coalesce(p_username, c.participant_username),
              unread_count = c.unread_count + unread,
              last_message_at = greatest(c.last_message_at, p_sent_at)
          WHERE c.user_id = p_seller AND c.id = conversation;
        END IF;
        EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
        RETURN stored IS NOT NULL;
      END IF;
      INSERT INTO public.conversations AS c
        (user_id, client_account_id, platform_conversation_id, participant_platform_id, participant_username,
         unread_count, last_message_at)
      VALUES (p_seller, p_account, p_conversation, p_participant, p_username, unread, p_sent_at)
      ON CONFLICT (client_account_id, user_id, platform_conversation_id) DO NOTHING
      RETURNING c.id INTO conversation;
      IF conversation IS NOT NULL THEN
        INSERT INTO public.messages
          (user_id, conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
        VALUES (p_seller, conversation, p_message, p_sender, p_type, p_content, p_sent_at);
        EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
        RETURN true;
      END IF;
      EXIT WHEN attempt > 1;
    END LOOP;
    RAISE EXCEPTION 'seller_ingest_message: conversation % of account % is not the seller''s', p_conversation, p_account
      USING ERRCODE = 'insufficient_privilege';
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

CREATE OR REPLACE FUNCTION seller_mark_read(p_seller uuid, p_conversation uuid)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  changed bigint;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_mark_read: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SET LOCAL citus.propagate_set_commands = 'local';
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
  -- The statement of socialdb.app.statements.MARK_READ, naming the seller: one shard. Its
  -- trigger (decrement_unread_count) moves the counter on that shard's node.
  UPDATE public.messages AS m SET is_read = true, read_at = pg_catalog.now()
  WHERE m.conversation_id = p_conversation AND m.user_id = p_seller AND m.sender_type = 'customer' AND NOT m.is_read;
  GET DIAGNOSTICS changed = ROW_COUNT;
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
  RETURN changed;
END;
$$;

COMMENT ON FUNCTION seller_mark_read(uuid, uuid) IS 'Citus: marks the seller''s conversation''s unread customer messages read, naming the seller (one shard); how many changed. The library''s mark_read where Citus is loaded (migration 057).';
