-- The batch calls on Citus, linear in the batch (issue 26; decision 273).
-- 057's seller_ingest_batch and seller_record_events built their multi-row INSERT ... VALUES
-- with `$2[k]` subscripts of the whole arrays; Citus puts each parameter's value into the
-- statement it sends to the shard, so every row carried every array: the time grew with the
-- square of the batch (1.0 s at 500 messages, 9.4 s at 2,000) and 5,000 ran out of memory
-- ("Cannot enlarge string buffer"). Each row now carries its own values as literals.
-- The functions run only on Citus (the library calls them where it is loaded); one server's
-- statements are unchanged.
-- Supersedes: 057's bodies of seller_ingest_batch and seller_record_events (owners, grants
-- and comments kept by CREATE OR REPLACE).
-- Locks: none on any table (the functions' catalog rows).

CREATE OR REPLACE FUNCTION seller_ingest_batch(
  p_seller uuid,
  p_accounts uuid[],
  p_conversations text[],
  p_participants text[],
  p_usernames text[],
  p_messages text[],
  p_senders text[],
  p_types text[],
  p_contents text[],
  p_sent_ats timestamptz[]
)
RETURNS TABLE (stored bigint, not_connected uuid[])
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
-- The literals' text is read back as it was written: ISO, with its numeric UTC offset, whatever
-- the caller's DateStyle (under Postgres or SQL a zone abbreviation could be read as another zone).
SET datestyle = 'ISO, MDY'
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  connected uuid[];
  missing uuid[];
  pair record;
  found_ids uuid[];
  found_accounts uuid[];
  found_names text[];
  aligned uuid[];
  rows_sql text;
  counted bigint := 0;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_ingest_batch: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SET LOCAL citus.propagate_set_commands = 'local';
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
  SELECT coalesce(pg_catalog.array_agg(a.id), '{}') INTO connected
  FROM public.client_accounts AS a
  WHERE a.user_id = p_seller AND a.id = ANY (p_accounts) AND a.deleted_at IS NULL;
  SELECT pg_catalog.array_agg(s.account) INTO missing
  FROM (SELECT DISTINCT i.account FROM unnest(p_accounts) AS i (account)
        WHERE i.account IS NULL OR NOT (i.account = ANY (connected))
        ORDER BY i.account LIMIT 10) AS s;
  IF missing IS NOT NULL THEN
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
    RETURN QUERY SELECT 0::bigint, missing;
    RETURN;
  END IF;
  FOR pair IN
    SELECT DISTINCT ON (i.account, i.conversation) i.account, i.conversation, i.participant, i.username
    FROM unnest(p_accounts, p_conversations, p_participants, p_usernames)
      AS i (account, conversation, participant, username)
    ORDER BY i.account, i.conversation
  LOOP
    INSERT INTO public.conversations
      (user_id, client_account_id, platform_conversation_id, participant_platform_id, participant_username)
    VALUES (p_seller, pair.account, pair.conversation, pair.participant, pair.username)
    ON CONFLICT (client_account_id, user_id, platform_conversation_id) DO NOTHING;
  END LOOP;
  SELECT pg_catalog.array_agg(c.id), pg_catalog.array_agg(c.client_account_id), pg_catalog.array_agg(c.platform_conversation_id)
  INTO found_ids, found_accounts, found_names
  FROM public.conversations AS c
  WHERE c.user_id = p_seller AND c.client_account_id = ANY (p_accounts) AND c.platform_conversation_id = ANY (p_conversations);
  -- The conversation of each message, by its position in the arrays (NULL: none found).
  SELECT pg_catalog.array_agg(f.id ORDER BY i.k) INTO aligned
  FROM unnest(p_accounts, p_conversations) WITH ORDINALITY AS i (account, conversation, k)
  LEFT JOIN unnest(found_ids, found_accounts, found_names) AS f (id, account, conversation)
    ON f.account = i.account AND f.conversation = i.conversation;
  -- Each row's values as literals (format's %L quotes them): with `$2[k]` subscripts Citus
  -- put every whole array into the statement once per row, quadratic in the batch (out of
  -- memory at 5,000 rows; decision 273), read back under the function's own DateStyle.
  SELECT pg_catalog.string_agg(
           pg_catalog.format('(%L::uuid, %L::uuid, %L, %L, %L, %L, %L::timestamptz)', p_seller, i.conversation,
                             i.message, p_senders[i.k], p_types[i.k], p_contents[i.k], p_sent_ats[i.k]), ', '
           ORDER BY i.message, i.k)
  INTO rows_sql
  FROM unnest(p_messages, aligned) WITH ORDINALITY AS i (message, conversation, k)
  WHERE i.conversation IS NOT NULL;
  IF rows_sql IS NOT NULL THEN
    EXECUTE 'INSERT INTO public.messages (user_id, conversation_id, platform_message_id, sender_type, message_type,'
            ' content, sent_at) VALUES ' || rows_sql || ' ON CONFLICT DO NOTHING';
    GET DIAGNOSTICS counted = ROW_COUNT;
  END IF;
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
  RETURN QUERY SELECT counted, NULL::uuid[];
END;
$$;

CREATE OR REPLACE FUNCTION seller_record_events(
  p_seller uuid,
  p_accounts uuid[],
  p_types text[],
  p_categories text[],
  p_times timestamptz[],
  p_values numeric[],
  p_entity_types text[],
  p_entity_ids uuid[]
)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
-- The literals' text is read back as it was written: ISO, with its numeric UTC offset, whatever
-- the caller's DateStyle (under Postgres or SQL a zone abbreviation could be read as another zone).
SET datestyle = 'ISO, MDY'
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  rows_sql text;
  counted bigint := 0;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_record_events: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SET LOCAL citus.propagate_set_commands = 'local';
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
  -- Each row's values as literals, as in seller_ingest_batch (decision 273).
  SELECT pg_catalog.string_agg(
           pg_catalog.format('(%L::uuid, %L::uuid, %L, %L, %L::timestamptz, %L::numeric, %L, %L::uuid)', p_seller,
                             p_accounts[k], p_types[k], p_categories[k], p_times[k], p_values[k], p_entity_types[k],
                             p_entity_ids[k]), ', '
           ORDER BY k)
  INTO rows_sql
  FROM pg_catalog.generate_subscripts(p_types, 1) AS k;
  IF rows_sql IS NOT NULL THEN
    EXECUTE 'INSERT INTO public.analytics_events (user_id, client_account_id, event_type, event_category,'
            ' occurred_at, value, entity_type, entity_id) VALUES ' || rows_sql;
    GET DIAGNOSTICS counted = ROW_COUNT;
  END IF;
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
  RETURN counted;
END;
$$;

-- ROLLBACK
-- 057's bodies back.
CREATE OR REPLACE FUNCTION seller_ingest_batch(
  p_seller uuid,
  p_accounts uuid[],
  p_conversations text[],
  p_participants text[],
  p_usernames text[],
  p_messages text[],
  p_senders text[],
  p_types text[],
  p_contents text[],
  p_sent_ats timestamptz[]
)
RETURNS TABLE (stored bigint, not_connected uuid[])
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  connected uuid[];
  missing uuid[];
  pair record;
  found_ids uuid[];
  found_accounts uuid[];
  found_names text[];
  aligned uuid[];
  rows_sql text;
  counted bigint := 0;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_ingest_batch: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SET LOCAL citus.propagate_set_commands = 'local';
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
  SELECT coalesce(pg_catalog.array_agg(a.id), '{}') INTO connected
  FROM public.client_accounts AS a
  WHERE a.user_id = p_seller AND a.id = ANY (p_accounts) AND a.deleted_at IS NULL;
  SELECT pg_catalog.array_agg(s.account) INTO missing
  FROM (SELECT DISTINCT i.account FROM unnest(p_accounts) AS i (account)
        WHERE i.account IS NULL OR NOT (i.account = ANY (connected))
        ORDER BY i.account LIMIT 10) AS s;
  IF missing IS NOT NULL THEN
    EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
    RETURN QUERY SELECT 0::bigint, missing;
    RETURN;
  END IF;
  FOR pair IN
    SELECT DISTINCT ON (i.account, i.conversation) i.account, i.conversation, i.participant, i.username
    FROM unnest(p_accounts, p_conversations, p_participants, p_usernames)
      AS i (account, conversation, participant, username)
    ORDER BY i.account, i.conversation
  LOOP
    INSERT INTO public.conversations
      (user_id, client_account_id, platform_conversation_id, participant_platform_id, participant_username)
    VALUES (p_seller, pair.account, pair.conversation, pair.participant, pair.username)
    ON CONFLICT (client_account_id, user_id, platform_conversation_id) DO NOTHING;
  END LOOP;
  SELECT pg_catalog.array_agg(c.id), pg_catalog.array_agg(c.client_account_id), pg_catalog.array_agg(c.platform_conversation_id)
  INTO found_ids, found_accounts, found_names
  FROM public.conversations AS c
  WHERE c.user_id = p_seller AND c.client_account_id = ANY (p_accounts) AND c.platform_conversation_id = ANY (p_conversations);
  -- The conversation of each message, by its position in the arrays (NULL: none found).
  SELECT pg_catalog.array_agg(f.id ORDER BY i.k) INTO aligned
  FROM unnest(p_accounts, p_conversations) WITH ORDINALITY AS i (account, conversation, k)
  LEFT JOIN unnest(found_ids, found_accounts, found_names) AS f (id, account, conversation)
    ON f.account = i.account AND f.conversation = i.conversation;
  SELECT pg_catalog.string_agg(
           pg_catalog.format('($1, $2[%1$s], $3[%1$s], $4[%1$s], $5[%1$s], $6[%1$s], $7[%1$s])', i.k), ', '
           ORDER BY i.message, i.k)
  INTO rows_sql
  FROM unnest(p_messages, aligned) WITH ORDINALITY AS i (message, conversation, k)
  WHERE i.conversation IS NOT NULL;
  IF rows_sql IS NOT NULL THEN
    EXECUTE 'INSERT INTO public.messages (user_id, conversation_id, platform_message_id, sender_type, message_type,'
            ' content, sent_at) VALUES ' || rows_sql || ' ON CONFLICT DO NOTHING'
      USING p_seller, aligned, p_messages, p_senders, p_types, p_contents, p_sent_ats;
    GET DIAGNOSTICS counted = ROW_COUNT;
  END IF;
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
  RETURN QUERY SELECT counted, NULL::uuid[];
END;
$$;

CREATE OR REPLACE FUNCTION seller_record_events(
  p_seller uuid,
  p_accounts uuid[],
  p_types text[],
  p_categories text[],
  p_times timestamptz[],
  p_values numeric[],
  p_entity_types text[],
  p_entity_ids uuid[]
)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  previous text := coalesce(pg_catalog.current_setting('app.user_id', true), '');
  rows_sql text;
  counted bigint := 0;
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_record_events: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SET LOCAL citus.propagate_set_commands = 'local';
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', p_seller);
  SELECT pg_catalog.string_agg(
           pg_catalog.format('($1, $2[%1$s], $3[%1$s], $4[%1$s], $5[%1$s], $6[%1$s], $7[%1$s], $8[%1$s])', k), ', '
           ORDER BY k)
  INTO rows_sql
  FROM pg_catalog.generate_subscripts(p_types, 1) AS k;
  IF rows_sql IS NOT NULL THEN
    EXECUTE 'INSERT INTO public.analytics_events (user_id, client_account_id, event_type, event_category,'
            ' occurred_at, value, entity_type, entity_id) VALUES ' || rows_sql
      USING p_seller, p_accounts, p_types, p_categories, p_times, p_values, p_entity_types, p_entity_ids;
    GET DIAGNOSTICS counted = ROW_COUNT;
  END IF;
  EXECUTE pg_catalog.format('SET LOCAL app.user_id = %L', previous);
  RETURN counted;
END;
$$;
