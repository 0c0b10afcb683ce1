-- A webhook message counts itself: one conversation row version per message (issue 15,
-- decisions 100 and 101). Supersedes: the body of 025's seller_ingest_message and 012's
-- message_increment_unread trigger (now with a WHEN), and 012's forget_deleted_messages
-- (which could leave last_message_at on a message a concurrent delete removed).
--
-- Before, seller_ingest_message upserted the conversation (a row version), inserted the
-- message, and the statement-level trigger message_increment_unread then grouped the
-- statement's transition table and updated the same conversation again (a second row
-- version, a grouping and a join for one row): ingest ran at 0.79x-0.81x the spec's.
-- Now the upsert itself moves unread_count and last_message_at, and the trigger skips
-- statements run by the function, which carries a role of its own for that:
--   * socialdb_ingest: NOLOGIN, a member of socialdb_app (its rights and row-level
--     policies, nothing more), owner of seller_ingest_message, now SECURITY DEFINER;
--   * message_increment_unread fires WHEN current_user is not socialdb_ingest. No role of
--     the application's can be socialdb_ingest (its only member runs this migration), so
--     every other insert, the application's batches included, is counted by the trigger:
--     exactly one of the two counts each message.
-- A redelivery (the message already stored) takes its count back in the same
-- transaction, under the conversation's row lock the upsert took.
--
-- Locks: CREATE OR REPLACE TRIGGER takes SHARE ROW EXCLUSIVE on messages for a catalog
-- change (writers wait for it, readers do not); the rest is catalog only.

-- Roles are cluster-wide: created where missing, never dropped (as in 018 and 027).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'socialdb_ingest') THEN
    BEGIN
      CREATE ROLE socialdb_ingest NOLOGIN;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'cannot create role socialdb_ingest: % may not create roles. Ask an administrator to run: CREATE ROLE socialdb_ingest NOLOGIN; GRANT socialdb_app TO socialdb_ingest; GRANT socialdb_ingest TO %; then migrate again', current_user, current_user;
    END;
  END IF;
  -- Made by someone else beforehand: it must be no more than this migration makes it.
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
             WHERE rolname = 'socialdb_ingest' AND (rolcanlogin OR rolsuper OR rolbypassrls))
     OR pg_catalog.pg_has_role('socialdb_ingest', 'socialdb_owner', 'MEMBER') THEN
    RAISE EXCEPTION 'role socialdb_ingest exists with more than it needs (LOGIN, SUPERUSER, BYPASSRLS or membership in socialdb_owner): it would run the webhook function with those rights; ask an administrator to make it NOLOGIN NOSUPERUSER NOBYPASSRLS and outside socialdb_owner, then migrate again';
  END IF;
  IF NOT pg_catalog.pg_has_role('socialdb_ingest', 'socialdb_app', 'MEMBER') THEN
    GRANT socialdb_app TO socialdb_ingest;
  END IF;
  -- Handing the function to socialdb_ingest needs membership in it.
  IF NOT pg_catalog.pg_has_role(current_user, 'socialdb_ingest', 'MEMBER') THEN
    EXECUTE format('GRANT socialdb_ingest TO %I', current_user);
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
ALTER FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz)
  OWNER TO socialdb_ingest;
COMMENT ON FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz) IS 'One webhook message for the seller given: upserts the conversation, moving its unread_count and last_message_at, and inserts the message unless redelivered (then takes the count back); true when it was new. Runs as socialdb_ingest, whose statements the unread trigger skips.';

CREATE OR REPLACE TRIGGER message_increment_unread
  AFTER INSERT ON messages
  REFERENCING NEW TABLE AS new_messages
  FOR EACH STATEMENT
  WHEN (current_user <> 'socialdb_ingest')
  EXECUTE FUNCTION increment_unread_count();

-- Deleted messages, as in 012, but the conversations are locked by a statement of their
-- own first: the UPDATE then takes its snapshot after any concurrent delete that held them
-- has committed. Before, a delete that waited for another's lock re-read the conversation
-- but recomputed last_message_at from its older snapshot, in which the other's deleted
-- message still existed (tests/test_counters.py reproduces it). FOR NO KEY UPDATE, the
-- UPDATE's own row lock: it waits for another delete's, not for the KEY SHARE locks that
-- inserted messages' foreign-key checks hold on their conversation (FOR UPDATE would, and
-- deadlock with a transaction that inserts into one conversation while deleting in another).
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

-- ROLLBACK
-- The role and its membership stay (roles are cluster-wide; other databases may use them).
CREATE OR REPLACE TRIGGER message_increment_unread
  AFTER INSERT ON messages
  REFERENCING NEW TABLE AS new_messages
  FOR EACH STATEMENT EXECUTE FUNCTION increment_unread_count();

ALTER FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz)
  OWNER TO socialdb_owner;
COMMENT ON FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamptz) IS 'One webhook message for the seller given: upserts the conversation, inserts the message unless redelivered; true when it was new.';
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
SECURITY INVOKER
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

CREATE OR REPLACE FUNCTION forget_deleted_messages()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
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
