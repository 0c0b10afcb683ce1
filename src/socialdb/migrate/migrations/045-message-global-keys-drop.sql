-- Step 3 of 3 (issue 22, gap 1; decision 117): the global keys of platform ids go; ingest
-- has named 043's per-seller key since 044.
-- A disconnected account connected again by the same seller is the same row again
-- (socialdb.app connect_account revives it), so its conversations and messages come back and
-- a redelivery of a message stored before the disconnection is still a redelivery.
-- Not reversible once two sellers, or two conversations of one seller, hold the same id:
-- the rollback then refuses and names them (the round-trip test exempts nothing: with no
-- such rows it is exact).
-- Supersedes: messages_platform_message_id_key (007), instagram_media_platform_media_id_key (010).
-- Locks: ACCESS EXCLUSIVE on messages, then on instagram_media, for catalog changes only
-- (dropping a constraint and its index scans nothing), each taken within the run's
-- lock_timeout and held to the commit; ingest waits that long at most. 043's indexes are
-- checked first, as in 044.

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

ALTER TABLE messages DROP CONSTRAINT messages_platform_message_id_key;
ALTER TABLE instagram_media DROP CONSTRAINT instagram_media_platform_media_id_key;
COMMENT ON COLUMN messages.platform_message_id IS 'The message''s id on the platform, unique within the seller''s conversation: a redelivered webhook inserts nothing.';
COMMENT ON COLUMN instagram_media.platform_media_id IS 'The post''s id on Instagram, unique within the seller''s account.';
COMMENT ON INDEX messages_seller_message_key IS 'A platform''s message id, once per seller and conversation: the target of ingest''s ON CONFLICT.';
COMMENT ON INDEX instagram_media_seller_media_key IS 'A post, once per seller and account.';

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
    RAISE EXCEPTION 'cannot roll back 045: messages.platform_message_id held more than once (first 10: %)', twice
      USING ERRCODE = 'unique_violation',
            HINT = 'the global key cannot come back once two sellers or conversations hold an id';
  END IF;
  SELECT string_agg(quote_literal(id), ', ') INTO twice
  FROM (SELECT platform_media_id AS id FROM public.instagram_media
        GROUP BY platform_media_id HAVING count(*) > 1 ORDER BY 1 LIMIT 10) AS d;
  IF twice IS NOT NULL THEN
    RAISE EXCEPTION 'cannot roll back 045: instagram_media.platform_media_id held more than once (first 10: %)', twice
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
