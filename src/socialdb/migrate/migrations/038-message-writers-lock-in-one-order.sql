-- Every writer of messages takes its locks in one order: the messages first, then their
-- conversations, in the order of their ids (decision 105). Supersedes 036's body of
-- seller_ingest_message and 012's of increment_unread_count and decrement_unread_count.
--
-- 036's function upserted the conversation (taking its row lock) and then inserted the
-- message. Batches, mark-read and deletes go the other way: they write messages, and their
-- statement-level triggers then lock the conversations. A webhook whose message id another
-- transaction was inserting, marking read or deleting waited for that transaction while
-- holding the conversation, which that transaction's trigger then waited for: a deadlock,
-- about one in 1,600 operations in tests/test_counters.py's mix and more under load (CI).
-- Now the function finds the conversation without locking it, inserts the message, and
-- moves the counters with one UPDATE of the conversation when the message was new, in one
-- statement. A redelivery writes nothing and locks no conversation; it no longer refreshes
-- participant_username (a new message does, as before). A conversation seen for the first
-- time is inserted with zero counts, then the same statement runs again; a conversation
-- the seller cannot see (another seller's account: not found, yet not insertable, twice)
-- is refused with 42501.
-- A conversation deleted between the lookup and the insert fails the message's foreign
-- key (23503): the platform's redelivery then opens it afresh.
-- The order holds per statement: a transaction that has already locked a conversation (an
-- earlier message or mark-read in it) and then stores a message that another connection is
-- storing at the same moment can still deadlock with it. A webhook call runs in autocommit
-- or as its transaction's only write of messages; several messages go in one batch.
-- The insert and update triggers (batches, mark-read) locked their conversations in
-- whatever order the join produced, where deletes lock them in id order (036): two batches,
-- or a batch and a delete, sharing two conversations could each hold one the other wanted.
-- They now lock them in id order first, as the delete trigger does.
--
-- Locks: none on any table (a function's catalog row).

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
SET app.user_id = ''
AS $$
DECLARE
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
COMMENT ON FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz) IS 'One webhook message for the seller given: inserts the message unless redelivered, then moves its conversation''s unread_count and last_message_at (creating the conversation when new); true when it was new. Runs as socialdb_ingest, whose statements the unread trigger skips; locks the message before an existing conversation, as every writer of messages does (a new conversation is its own, invisible to others, until the commit).';

-- New messages (batches; the webhook function counts its own): lock the conversations in
-- id order, then count, as in 012.
CREATE OR REPLACE FUNCTION increment_unread_count()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM 1 FROM conversations AS c
  WHERE c.id IN (SELECT conversation_id FROM new_messages)
  ORDER BY c.id
  FOR NO KEY UPDATE OF c;
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

-- Read and unread flips: lock the conversations whose count moves, in id order, then move
-- it, as in 012. The changes are grouped twice: the lock must be a statement of its own, so
-- that the UPDATE's snapshot comes after it (036's lesson), and the transition tables are
-- small.
CREATE OR REPLACE FUNCTION decrement_unread_count()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM 1 FROM conversations AS c
  WHERE c.id IN (
    SELECT conversation_id
    FROM (
      SELECT conversation_id, (sender_type = 'customer' AND NOT is_read)::int AS n FROM new_messages
      UNION ALL
      SELECT conversation_id, -(sender_type = 'customer' AND NOT is_read)::int FROM old_messages
    ) AS changes
    GROUP BY conversation_id
    HAVING sum(n) <> 0
  )
  ORDER BY c.id
  FOR NO KEY UPDATE OF c;
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

-- ROLLBACK
-- 036's body and comment.
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
SET app.user_id = ''
AS $$
DECLARE
  unread integer := (p_sender = 'customer')::integer;
  conversation uuid;
  stored uuid;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_ingest_message: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  -- The conversation's counters move with the upsert: one row version per message.
  WITH upserted AS (
    INSERT INTO public.conversations AS c
      (client_account_id, platform_conversation_id, participant_platform_id, participant_username,
       unread_count, last_message_at)
    VALUES (p_account, p_conversation, p_participant, p_username, unread, p_sent_at)
    ON CONFLICT (client_account_id, platform_conversation_id)
    DO UPDATE SET participant_username = coalesce(EXCLUDED.participant_username, c.participant_username),
                  unread_count = c.unread_count + unread,
                  last_message_at = greatest(c.last_message_at, p_sent_at)
    RETURNING c.id
  ), inserted AS (
    INSERT INTO public.messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
    SELECT upserted.id, p_message, p_sender, p_type, p_content, p_sent_at
    FROM upserted
    ON CONFLICT (platform_message_id) DO NOTHING
    RETURNING id
  )
  SELECT upserted.id, inserted.id INTO conversation, stored
  FROM upserted LEFT JOIN inserted ON true;
  IF stored IS NULL THEN
    -- A redelivery: the message was counted when first stored; take this count back.
    UPDATE public.conversations AS c
    SET unread_count = c.unread_count - unread,
        -- Moved only if this upsert may have moved it; then back to the newest message's
        -- time, the rule the delete trigger follows.
        last_message_at = CASE WHEN c.last_message_at = p_sent_at
          THEN (SELECT max(m.sent_at) FROM public.messages AS m WHERE m.conversation_id = c.id)
          ELSE c.last_message_at END
    WHERE c.id = conversation;
  END IF;
  RETURN stored IS NOT NULL;
END;
$$;
COMMENT ON FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz) IS 'One webhook message for the seller given: upserts the conversation, moving its unread_count and last_message_at, and inserts the message unless redelivered (then takes the count back); true when it was new. Runs as socialdb_ingest, whose statements the unread trigger skips.';

-- 012's bodies.
CREATE OR REPLACE FUNCTION increment_unread_count()
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

CREATE OR REPLACE FUNCTION decrement_unread_count()
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
