-- The seller calls without `SET app.user_id` in their definitions (issue 21, decision 110).
-- From PostgreSQL 15 on, a function's SET clause may name a placeholder variable such as
-- app.user_id only for a superuser or a holder of SET on that parameter, which only a
-- superuser can grant: on a managed server (RDS, Cloud SQL, Azure) nobody can create
-- these three functions as 025, 027 and 038 wrote them. Each now saves the caller's
-- app.user_id on entry and puts it back before it returns, which is what the clause did:
-- a call still never changes the seller of the transaction around it (an error aborts the
-- transaction or the caller's savepoint, which restores the variable as before).
-- Supersedes: the SET app.user_id clause of seller_inbox_page and seller_message_page
-- (027) and of seller_ingest_message (038); their bodies are otherwise unchanged.
-- The two page calls now also name pg_temp last in their search_path (every name in them
-- is qualified; the application has no temporary objects since 027: belt and braces).
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

-- ROLLBACK
-- 027's and 038's definitions, with the clause: runs only as a superuser or a holder of
-- SET on app.user_id (a managed server goes through it only on its way below 025: docs/deploying.md).
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
END;
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
