-- The two page calls on a Citus cluster (issue 26, item 3; decision 212). Where Citus is
-- loaded (its setting citus.shard_count exists) each sets app.user_id with SET LOCAL after
-- SET LOCAL citus.propagate_set_commands = 'local', which Citus sends to the workers
-- (set_config() it sends nowhere), and its queries name the seller (c.user_id = p_seller,
-- m.user_id = p_seller), so that each reads one shard. A single server runs 040's statements
-- as they were, after one read of a setting: naming the seller there beside the row-level
-- policy turned the inbox's index walk into a sort (tests/test_operations.py).
-- Supersedes: seller_inbox_page and seller_message_page of 040 (the bodies are otherwise 040's).
-- Owners, grants and comments stay: CREATE OR REPLACE keeps them.
-- Locks: none on any table (the functions' catalog rows).

CREATE OR REPLACE FUNCTION seller_inbox_page(
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
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_inbox_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- On a Citus coordinator or worker (citus loaded: its settings exist) the seller is set
  -- with SET LOCAL, which Citus propagates to the workers (set_config() it never sends), and
  -- each query names the seller, so that it reads one shard (decision 212). A single server
  -- takes the other branch: 040's statements, plans and all.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
    IF p_after_at IS NULL AND p_after_id IS NULL THEN
      RETURN QUERY
        SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
        FROM public.conversations AS c
        WHERE c.client_account_id = p_account AND c.user_id = p_seller AND c.status = 'open'
        ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
        LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
    ELSE
      -- The scalar `<=` is implied by the row comparison; it is there for the planner, which
      -- estimates a row comparison's selectivity poorly and would then sort.
      RETURN QUERY
        SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
        FROM public.conversations AS c
        WHERE c.client_account_id = p_account AND c.user_id = p_seller AND c.status = 'open'
          AND c.last_message_at <= p_after_at AND (c.last_message_at, c.id) < (p_after_at, p_after_id)
        ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
        LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
    END IF;
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
    RETURN;
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  IF p_after_at IS NULL AND p_after_id IS NULL THEN
    RETURN QUERY
      SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
      FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.status = 'open'
      ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
  ELSE
    -- The scalar `<=` is implied by the row comparison; it is there for the planner, which
    -- estimates a row comparison's selectivity poorly and would then sort.
    RETURN QUERY
      SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
      FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.status = 'open'
        AND c.last_message_at <= p_after_at AND (c.last_message_at, c.id) < (p_after_at, p_after_id)
      ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
  END IF;
  PERFORM set_config('app.user_id', previous, true);
END;
$$;

CREATE OR REPLACE FUNCTION seller_message_page(
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
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_message_page: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- On a Citus coordinator or worker (citus loaded: its settings exist) the seller is set
  -- with SET LOCAL, which Citus propagates to the workers (set_config() it never sends), and
  -- each query names the seller, so that it reads one shard (decision 212). A single server
  -- takes the other branch: 040's statements, plans and all.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
    IF p_after_at IS NULL AND p_after_id IS NULL THEN
      RETURN QUERY
        SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
        FROM public.messages AS m
        WHERE m.conversation_id = p_conversation AND m.user_id = p_seller
        ORDER BY m.sent_at DESC, m.id DESC
        LIMIT public.seller_limit('seller_message_page', p_limit, 200);
    ELSE
      RETURN QUERY
        SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
        FROM public.messages AS m
        WHERE m.conversation_id = p_conversation AND m.user_id = p_seller
          AND m.sent_at <= p_after_at AND (m.sent_at, m.id) < (p_after_at, p_after_id)
        ORDER BY m.sent_at DESC, m.id DESC
        LIMIT public.seller_limit('seller_message_page', p_limit, 200);
    END IF;
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
    RETURN;
  END IF;
  PERFORM set_config('app.user_id', p_seller::text, true);
  IF p_after_at IS NULL AND p_after_id IS NULL THEN
    RETURN QUERY
      SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
      FROM public.messages AS m
      WHERE m.conversation_id = p_conversation
      ORDER BY m.sent_at DESC, m.id DESC
      LIMIT public.seller_limit('seller_message_page', p_limit, 200);
  ELSE
    RETURN QUERY
      SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
      FROM public.messages AS m
      WHERE m.conversation_id = p_conversation
        AND m.sent_at <= p_after_at AND (m.sent_at, m.id) < (p_after_at, p_after_id)
      ORDER BY m.sent_at DESC, m.id DESC
      LIMIT public.seller_limit('seller_message_page', p_limit, 200);
  END IF;
  PERFORM set_config('app.user_id', previous, true);
END;
$$;

-- ROLLBACK
-- 040's definitions.
CREATE OR REPLACE FUNCTION seller_inbox_page(
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
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
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
      LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
  ELSE
    -- The scalar `<=` is implied by the row comparison; it is there for the planner, which
    -- estimates a row comparison's selectivity poorly and would then sort.
    RETURN QUERY
      SELECT c.id, c.platform_conversation_id, c.participant_username, c.last_message_at, c.unread_count
      FROM public.conversations AS c
      WHERE c.client_account_id = p_account AND c.status = 'open'
        AND c.last_message_at <= p_after_at AND (c.last_message_at, c.id) < (p_after_at, p_after_id)
      ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT public.seller_limit('seller_inbox_page', p_limit, 200);
  END IF;
  PERFORM set_config('app.user_id', previous, true);
END;
$$;

CREATE OR REPLACE FUNCTION seller_message_page(
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
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
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
      LIMIT public.seller_limit('seller_message_page', p_limit, 200);
  ELSE
    RETURN QUERY
      SELECT m.id, m.sender_type, m.message_type, m.content, m.sent_at, m.is_read
      FROM public.messages AS m
      WHERE m.conversation_id = p_conversation
        AND m.sent_at <= p_after_at AND (m.sent_at, m.id) < (p_after_at, p_after_id)
      ORDER BY m.sent_at DESC, m.id DESC
      LIMIT public.seller_limit('seller_message_page', p_limit, 200);
  END IF;
  PERFORM set_config('app.user_id', previous, true);
END;
$$;
