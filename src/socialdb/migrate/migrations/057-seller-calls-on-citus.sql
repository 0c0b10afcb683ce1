-- The library's hot calls on a Citus cluster (issue 26, item 3; decisions 230-233), as a
-- login role in socialdb_app with row-level security in force. Where Citus is loaded (its
-- setting citus.shard_count exists, as in 053):
-- * the unread triggers (increment_unread_count, decrement_unread_count,
--   forget_deleted_messages) and note_analytics_changes read their transition tables into
--   arrays first and then write per seller, naming it, on the co-located shard of the node
--   they run on: Citus cannot plan a statement that reads a transition table beside a
--   distributed table, nor a FOR UPDATE across shards;
-- * seller_ingest_message runs plain statements that each name the seller, on the seller's
--   node once `socialdb citus distribute` delegates it (its data-modifying CTE spans shards);
-- * four new seller-taking functions carry what the library sends as plain statements to
--   one server: seller_mark_read, seller_search_products (plpgsql: Citus refuses a sql
--   function with parameters), seller_ingest_batch and seller_record_events (multi-row
--   INSERT ... VALUES: an INSERT ... SELECT FROM unnest runs as COPY, which row-level
--   security refuses). socialdb.app calls them only where Citus is loaded.
-- A single server runs the statements of 038, 036, 027 and 050 as they were, after one read
-- of a setting; the new functions are there, unused by the library.
-- Supersedes: increment_unread_count and decrement_unread_count of 038,
-- forget_deleted_messages of 036, note_analytics_changes of 027, seller_ingest_message of 050
-- (their bodies otherwise kept).
-- Owners, grants and comments of the replaced functions stay: CREATE OR REPLACE keeps them.
-- Locks: none on any table (the functions' catalog rows).

CREATE OR REPLACE FUNCTION increment_unread_count()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_seller uuid;
  v_ids uuid[];
  v_unread bigint[];
  v_newest timestamptz[];
BEGIN
  -- On Citus (its setting citus.shard_count exists) this runs on the node of a shard of
  -- messages, where a statement reading a transition table and a distributed table fails:
  -- the changes are read into arrays first, then each seller's conversations are locked in
  -- id order and counted by statements naming the seller, which run on the co-located shard
  -- of this node (decision 230). A single server takes 038's statements below, unchanged.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    FOR v_seller, v_ids, v_unread, v_newest IN
      SELECT d.user_id, pg_catalog.array_agg(d.conversation_id ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.unread ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.newest ORDER BY d.conversation_id)
      FROM (
        SELECT n.user_id, n.conversation_id,
               pg_catalog.count(*) FILTER (WHERE n.sender_type = 'customer' AND NOT n.is_read) AS unread,
               pg_catalog.max(n.sent_at) AS newest
        FROM new_messages AS n
        GROUP BY n.user_id, n.conversation_id
      ) AS d
      GROUP BY d.user_id
      ORDER BY d.user_id
    LOOP
      PERFORM 1 FROM public.conversations AS c
      WHERE c.user_id = v_seller AND c.id = ANY (v_ids)
      ORDER BY c.id
      FOR NO KEY UPDATE OF c;
      UPDATE public.conversations AS c
      SET unread_count = c.unread_count + d.unread,
          last_message_at = greatest(c.last_message_at, d.newest)
      FROM unnest(v_ids, v_unread, v_newest) AS d (id, unread, newest)
      WHERE c.user_id = v_seller AND c.id = d.id;
    END LOOP;
    RETURN NULL;
  END IF;
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


CREATE OR REPLACE FUNCTION decrement_unread_count()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_seller uuid;
  v_ids uuid[];
  v_delta bigint[];
BEGIN
  -- On Citus: the transition tables read into arrays, then per seller, as in
  -- increment_unread_count (decision 230). A single server takes 038's statements below.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    FOR v_seller, v_ids, v_delta IN
      SELECT d.user_id, pg_catalog.array_agg(d.conversation_id ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.delta ORDER BY d.conversation_id)
      FROM (
        SELECT ch.user_id, ch.conversation_id, pg_catalog.sum(ch.moved) AS delta
        FROM (
          SELECT w.user_id, w.conversation_id, (w.sender_type = 'customer' AND NOT w.is_read)::int AS moved
          FROM new_messages AS w
          UNION ALL
          SELECT o.user_id, o.conversation_id, -(o.sender_type = 'customer' AND NOT o.is_read)::int
          FROM old_messages AS o
        ) AS ch
        GROUP BY ch.user_id, ch.conversation_id
        HAVING pg_catalog.sum(ch.moved) <> 0
      ) AS d
      GROUP BY d.user_id
      ORDER BY d.user_id
    LOOP
      PERFORM 1 FROM public.conversations AS c
      WHERE c.user_id = v_seller AND c.id = ANY (v_ids)
      ORDER BY c.id
      FOR NO KEY UPDATE OF c;
      UPDATE public.conversations AS c
      SET unread_count = greatest(c.unread_count + d.delta, 0)
      FROM unnest(v_ids, v_delta) AS d (id, delta)
      WHERE c.user_id = v_seller AND c.id = d.id;
    END LOOP;
    RETURN NULL;
  END IF;
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


CREATE OR REPLACE FUNCTION forget_deleted_messages()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_seller uuid;
  v_ids uuid[];
  v_unread bigint[];
  v_newest timestamptz[];
BEGIN
  -- On Citus: the transition table read into arrays, then per seller, as in
  -- increment_unread_count (decision 230); the newest remaining message is looked up on the
  -- seller's shard. A single server takes 036's statements below.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    FOR v_seller, v_ids, v_unread, v_newest IN
      SELECT d.user_id, pg_catalog.array_agg(d.conversation_id ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.unread ORDER BY d.conversation_id),
             pg_catalog.array_agg(d.newest ORDER BY d.conversation_id)
      FROM (
        SELECT o.user_id, o.conversation_id,
               pg_catalog.count(*) FILTER (WHERE o.sender_type = 'customer' AND NOT o.is_read) AS unread,
               pg_catalog.max(o.sent_at) AS newest
        FROM old_messages AS o
        GROUP BY o.user_id, o.conversation_id
      ) AS d
      GROUP BY d.user_id
      ORDER BY d.user_id
    LOOP
      PERFORM 1 FROM public.conversations AS c
      WHERE c.user_id = v_seller AND c.id = ANY (v_ids)
      ORDER BY c.id
      FOR NO KEY UPDATE OF c;
      UPDATE public.conversations AS c
      SET unread_count = greatest(c.unread_count - d.unread, 0),
          last_message_at = CASE
            WHEN d.newest >= c.last_message_at
              THEN (SELECT pg_catalog.max(m.sent_at) FROM public.messages AS m
                    WHERE m.user_id = v_seller AND m.conversation_id = c.id)
            ELSE c.last_message_at
          END
      FROM unnest(v_ids, v_unread, v_newest) AS d (id, unread, newest)
      WHERE c.user_id = v_seller AND c.id = d.id;
    END LOOP;
    RETURN NULL;
  END IF;
  PERFORM 1 FROM conversations AS c
  WHERE c.id IN (SELECT conversation_id FROM old_messages)
  ORDER BY c.id
  FOR NO KEY UPDATE OF c;
  UPDATE conversations AS c
  SET unread_count = greatest(c.unread_count - d.unread, 0),
      last_message_at = CASE
        WHEN d.newest >= c.last_message_at
          THEN (SELECT max(m.sent_at) FROM messages AS m WHERE m.conversation_id = c.id)
        ELSE c.last_message_at
      END
  FROM (
    SELECT conversation_id,
           count(*) FILTER (WHERE sender_type = 'customer' AND NOT is_read) AS unread,
           max(sent_at) AS newest
    FROM old_messages
    GROUP BY conversation_id
  ) AS d
  WHERE c.id = d.conversation_id;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION note_analytics_changes()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_seller uuid;
  v_day date;
BEGIN
  -- On Citus this runs on the node of a shard of analytics_events, where an INSERT ... SELECT
  -- from a transition table into a distributed table fails: each (seller, day) is read
  -- first and inserted by a statement naming its seller, on the co-located shard of this
  -- node, so the definer opens no connection (decision 233). A single server takes 027's
  -- statements below, unchanged.
  IF pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL THEN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      FOR v_seller, v_day IN
        SELECT DISTINCT e.user_id, (e.occurred_at AT TIME ZONE 'UTC')::date FROM new_events AS e ORDER BY 1, 2
      LOOP
        INSERT INTO public.analytics_summary_changes (user_id, date) VALUES (v_seller, v_day);
      END LOOP;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
      FOR v_seller, v_day IN
        SELECT DISTINCT e.user_id, (e.occurred_at AT TIME ZONE 'UTC')::date FROM old_events AS e ORDER BY 1, 2
      LOOP
        INSERT INTO public.analytics_summary_changes (user_id, date) VALUES (v_seller, v_day);
      END LOOP;
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO public.analytics_summary_changes (user_id, date)
    SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM new_events;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO public.analytics_summary_changes (user_id, date)
    SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM old_events;
  END IF;
  RETURN NULL;
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


-- New: the four calls that a Citus cluster cannot run as the library sends them to one
-- server (decisions 230-233). Each takes the seller first, so that `socialdb citus
-- distribute` delegates it to that seller's node (its DELEGATED list), names the seller in
-- every statement (one shard) and sets it with SET LOCAL, which Citus sends to the workers
-- when a call is not delegated (inside a transaction). The library calls them only where
-- Citus is loaded; a single server keeps its statements.

CREATE FUNCTION seller_mark_read(p_seller uuid, p_conversation uuid)
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

-- SECURITY DEFINER, as search_seller_products (020, 027): under row-level security `@@`
-- could not use the index. plpgsql, not sql: Citus refuses a LANGUAGE sql function whose
-- query has parameters. The seller is the argument, as the pages take it.
CREATE FUNCTION seller_search_products(p_seller uuid, p_query text, p_limit integer)
RETURNS TABLE (id uuid, name text, price numeric, rank real)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  q tsquery := pg_catalog.websearch_to_tsquery('public.portuguese_unaccent'::pg_catalog.regconfig, p_query);
BEGIN
  IF p_seller IS NULL THEN
    RAISE EXCEPTION 'seller_search_products: the seller is null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  RETURN QUERY
    SELECT p.id, p.name, p.price, pg_catalog.ts_rank(public.product_search_document(p.name, p.description), q)
    FROM public.products AS p
    WHERE p.user_id = p_seller AND p.deleted_at IS NULL
      AND public.product_search_document(p.name, p.description) OPERATOR(pg_catalog.@@) q
    ORDER BY 4 DESC, 1
    LIMIT public.seller_limit('seller_search_products', p_limit, 200);
END;
$$;

-- A batch of messages (socialdb.app.statements' ACCOUNTS_NOT_CONNECTED, INGEST_CONVERSATIONS
-- and INGEST_MESSAGES) in statements that name the seller. Citus runs an INSERT ... SELECT
-- whose source is no distributed table as COPY, which row-level security refuses, and a
-- correlated subquery over unnest needs repartitioning: here the rows are matched in arrays,
-- conversations are inserted one by one, and the messages in one multi-row INSERT ... VALUES
-- in message id order, whose statement trigger then locks and counts their conversations
-- (decision 232). Nothing is written when an account is not a connected one of the seller's:
-- the first ten such accounts come back in not_connected, stored 0.
CREATE FUNCTION seller_ingest_batch(
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

-- Events (socialdb.app.statements.EVENTS) as one multi-row INSERT ... VALUES naming the
-- seller: Citus runs an INSERT ... SELECT FROM unnest as COPY, which row-level security
-- refuses (decision 233). The count is the statement's.
CREATE FUNCTION seller_record_events(
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

ALTER FUNCTION seller_mark_read(uuid, uuid) OWNER TO socialdb_owner;
ALTER FUNCTION seller_search_products(uuid, text, integer) OWNER TO socialdb_owner;
ALTER FUNCTION seller_ingest_batch(uuid, uuid[], text[], text[], text[], text[], text[], text[], text[], timestamptz[])
  OWNER TO socialdb_owner;
ALTER FUNCTION seller_record_events(uuid, uuid[], text[], text[], timestamptz[], numeric[], text[], uuid[])
  OWNER TO socialdb_owner;
REVOKE EXECUTE ON FUNCTION seller_mark_read(uuid, uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION seller_search_products(uuid, text, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION seller_ingest_batch(uuid, uuid[], text[], text[], text[], text[], text[], text[], text[], timestamptz[])
  FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION seller_record_events(uuid, uuid[], text[], text[], timestamptz[], numeric[], text[], uuid[])
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION seller_mark_read(uuid, uuid) TO socialdb_app;
GRANT EXECUTE ON FUNCTION seller_search_products(uuid, text, integer) TO socialdb_app;
GRANT EXECUTE ON FUNCTION seller_ingest_batch(uuid, uuid[], text[], text[], text[], text[], text[], text[], text[], timestamptz[])
  TO socialdb_app;
GRANT EXECUTE ON FUNCTION seller_record_events(uuid, uuid[], text[], text[], timestamptz[], numeric[], text[], uuid[])
  TO socialdb_app;
COMMENT ON FUNCTION seller_mark_read(uuid, uuid) IS 'Citus: marks the seller''s conversation''s unread customer messages read, naming the seller (one shard); how many changed. The library''s mark_read where Citus is loaded (migration 057).';
COMMENT ON FUNCTION seller_search_products(uuid, text, integer) IS 'Citus: the seller''s live products matching a web-search query, best first (SECURITY DEFINER, plpgsql). The library''s search_products where Citus is loaded (migration 057).';
COMMENT ON FUNCTION seller_ingest_batch(uuid, uuid[], text[], text[], text[], text[], text[], text[], text[], timestamptz[]) IS 'Citus: a batch of webhook messages for the seller, in statements naming it; how many were new, or the accounts that are not the seller''s connected ones (then nothing is stored). The library''s ingest_batch where Citus is loaded (migration 057).';
COMMENT ON FUNCTION seller_record_events(uuid, uuid[], text[], text[], timestamptz[], numeric[], text[], uuid[]) IS 'Citus: appends the seller''s analytics events in one multi-row INSERT naming it; how many. The library''s record_events where Citus is loaded (migration 057).';

-- ROLLBACK
-- The four new functions dropped; 038's, 036's, 027's and 050's bodies back.
DROP FUNCTION seller_record_events(uuid, uuid[], text[], text[], timestamptz[], numeric[], text[], uuid[]);
DROP FUNCTION seller_ingest_batch(uuid, uuid[], text[], text[], text[], text[], text[], text[], text[], timestamptz[]);
DROP FUNCTION seller_search_products(uuid, text, integer);
DROP FUNCTION seller_mark_read(uuid, uuid);
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

CREATE OR REPLACE FUNCTION forget_deleted_messages()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM 1 FROM conversations AS c
  WHERE c.id IN (SELECT conversation_id FROM old_messages)
  ORDER BY c.id
  FOR NO KEY UPDATE OF c;
  UPDATE conversations AS c
  SET unread_count = greatest(c.unread_count - d.unread, 0),
      last_message_at = CASE
        WHEN d.newest >= c.last_message_at
          THEN (SELECT max(m.sent_at) FROM messages AS m WHERE m.conversation_id = c.id)
        ELSE c.last_message_at
      END
  FROM (
    SELECT conversation_id,
           count(*) FILTER (WHERE sender_type = 'customer' AND NOT is_read) AS unread,
           max(sent_at) AS newest
    FROM old_messages
    GROUP BY conversation_id
  ) AS d
  WHERE c.id = d.conversation_id;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION note_analytics_changes()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO public.analytics_summary_changes (user_id, date)
    SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM new_events;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO public.analytics_summary_changes (user_id, date)
    SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM old_events;
  END IF;
  RETURN NULL;
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
