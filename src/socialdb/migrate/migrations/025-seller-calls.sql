-- The hottest calls in one round trip each (docs/performance.md, decision 40).
--
-- In a seller transaction a page read is four round trips: BEGIN, set_config of the
-- seller, the query, COMMIT; the spec's schema needs no seller. Each function here takes
-- the seller as an argument and sets it for its own statements, so one statement, in
-- autocommit or inside a transaction, does the whole call.
--
-- They run as their caller (SECURITY INVOKER, the default): row-level security confines
-- them exactly as it confines the same queries in a seller transaction, and a caller may
-- name any seller, as it may with set_config today. The SET clause puts app.user_id back
-- to the caller's value on return (PostgreSQL restores a variable named in a function's
-- SET clause even after a SET LOCAL inside it), so a call never changes the seller of the
-- transaction around it.

-- Open conversations of an account, most recent first; keyset on (last_message_at, id).
CREATE FUNCTION seller_inbox_page(
  p_seller uuid,
  p_account uuid,
  p_limit integer,
  p_after_at timestamptz DEFAULT NULL,
  p_after_id uuid DEFAULT NULL
)
RETURNS TABLE (
  id uuid,
  platform_conversation_id text,
  participant_username text,
  last_message_at timestamptz,
  unread_count bigint
)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
SET app.user_id = ''
AS $$
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_inbox_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  IF p_after_at IS NULL AND p_after_id IS NULL THEN
    RETURN QUERY
      SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
      FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.status = 'open'
      ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT p_limit;
  ELSE
    -- The scalar `<=` is implied by the row comparison; it is there for the planner, which
    -- estimates a row comparison's selectivity poorly and would then sort.
    RETURN QUERY
      SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
      FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.status = 'open'
        AND c.last_message_at <= p_after_at AND (c.last_message_at, c.id) < (p_after_at, p_after_id)
      ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT p_limit;
  END IF;
END;
$$;

-- Messages of a conversation, newest first; keyset on (sent_at, id).
CREATE FUNCTION seller_message_page(
  p_seller uuid,
  p_conversation uuid,
  p_limit integer,
  p_after_at timestamptz DEFAULT NULL,
  p_after_id uuid DEFAULT NULL
)
RETURNS TABLE (
  id uuid,
  sender_type text,
  message_type text,
  content text,
  sent_at timestamptz,
  is_read boolean
)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
SET app.user_id = ''
AS $$
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_message_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  IF p_after_at IS NULL AND p_after_id IS NULL THEN
    RETURN QUERY
      SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
      FROM public.messages AS m
      WHERE m.conversation_id = p_conversation
      ORDER BY m.sent_at DESC, m.id DESC
      LIMIT p_limit;
  ELSE
    RETURN QUERY
      SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
      FROM public.messages AS m
      WHERE m.conversation_id = p_conversation
        AND m.sent_at <= p_after_at AND (m.sent_at, m.id) < (p_after_at, p_after_id)
      ORDER BY m.sent_at DESC, m.id DESC
      LIMIT p_limit;
  END IF;
END;
$$;

-- One webhook message: the conversation upserted (a new username is kept), the message
-- inserted unless it is a redelivery; true when it was new. DO UPDATE, not DO NOTHING:
-- it returns the id of a conversation that another webhook created after this
-- statement's snapshot, where a SELECT would see nothing (decision 29).
CREATE FUNCTION seller_ingest_message(
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
SET search_path = pg_catalog, public
SET app.user_id = ''
AS $$
DECLARE
  stored bigint;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_ingest_message: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  WITH conversation AS (
    INSERT INTO public.conversations AS c
      (client_account_id, platform_conversation_id, participant_platform_id, participant_username)
    VALUES (p_account, p_conversation, p_participant, p_username)
    ON CONFLICT (client_account_id, platform_conversation_id)
    DO UPDATE SET participant_username = coalesce(EXCLUDED.participant_username, c.participant_username)
    RETURNING c.id
  )
  INSERT INTO public.messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
  SELECT conversation.id, p_message, p_sender, p_type, p_content, p_sent_at
  FROM conversation
  ON CONFLICT (platform_message_id) DO NOTHING;
  GET DIAGNOSTICS stored = ROW_COUNT;
  RETURN stored > 0;
END;
$$;

ALTER FUNCTION seller_inbox_page(uuid, uuid, integer, timestamptz, uuid) OWNER TO socialdb_owner;
ALTER FUNCTION seller_message_page(uuid, uuid, integer, timestamptz, uuid) OWNER TO socialdb_owner;
ALTER FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz)
  OWNER TO socialdb_owner;
REVOKE EXECUTE ON FUNCTION seller_inbox_page(uuid, uuid, integer, timestamptz, uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION seller_message_page(uuid, uuid, integer, timestamptz, uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION seller_inbox_page(uuid, uuid, integer, timestamptz, uuid) TO socialdb_app;
GRANT EXECUTE ON FUNCTION seller_message_page(uuid, uuid, integer, timestamptz, uuid) TO socialdb_app;
GRANT EXECUTE ON FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz)
  TO socialdb_app;

-- ROLLBACK
DROP FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz);
DROP FUNCTION seller_message_page(uuid, uuid, integer, timestamptz, uuid);
DROP FUNCTION seller_inbox_page(uuid, uuid, integer, timestamptz, uuid);
