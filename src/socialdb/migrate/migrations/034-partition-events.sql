-- Partitioned events, step 4 of 4 (issue 16, decisions 85-94): analytics_events becomes a
-- table partitioned by month of occurred_at, in one short transaction that changes the
-- catalog only. The existing table, renamed analytics_events_legacy, is attached as the
-- first partition for [2000-01-01, bound) (bound: 032's CHECK, validated by 033, so the
-- attach skips its scan); 031's unique index becomes its primary key without a scan; its
-- indexes become partitions of the parent's, which have the same names as before; the
-- bound's month and the next get partitions of their own (more if this runs after the
-- bound), and analytics_events_default catches any other date. `socialdb maintain` creates
-- the following months and drops expired ones.
-- The summary's triggers (023, 027) move to the parent: statement-level triggers with
-- transition tables are allowed on a partitioned table and see the rows of every
-- partition. Every partition has the parent's row-level security (ENABLE, FORCE, the same
-- two policies) and no grant to socialdb_app: the application reaches the events through
-- the parent only.
-- Supersedes: 009's table definition, 013's and 019's objects on analytics_events (moved
-- to the parent with the same names and definitions); analytics_events_pkey is now
-- (id, user_id, occurred_at).
-- Locks, all until the commit (milliseconds: no statement scans or rewrites a table):
-- SHARE ROW EXCLUSIVE on users and client_accounts (their writes wait; the foreign keys
-- are created on the new parent); ACCESS EXCLUSIVE on analytics_events, taken first
-- (every reader and writer of the events waits; a writer waiting meanwhile goes on into
-- the partitioned table when this commits). lock_timeout bounds the wait for each lock,
-- and the runner retries.
-- The rollback copies the rows of the monthly partitions back into one table and builds
-- the primary key on id and the unique index under ACCESS EXCLUSIVE: minutes on a large
-- table; roll back in a quiet window.

LOCK TABLE users, client_accounts IN SHARE ROW EXCLUSIVE MODE;
LOCK TABLE analytics_events IN ACCESS EXCLUSIVE MODE;

ALTER TABLE analytics_events RENAME TO analytics_events_legacy;
ALTER INDEX idx_analytics_client_account RENAME TO analytics_events_legacy_client_account;
ALTER INDEX idx_analytics_event_type RENAME TO analytics_events_legacy_event_type;
ALTER INDEX idx_analytics_category RENAME TO analytics_events_legacy_category;
ALTER INDEX idx_analytics_occurred_at RENAME TO analytics_events_legacy_occurred_at;
ALTER INDEX idx_analytics_entity RENAME TO analytics_events_legacy_entity;
ALTER INDEX idx_analytics_user_date_category RENAME TO analytics_events_legacy_user_date_category;
ALTER TABLE analytics_events_legacy
  DROP CONSTRAINT analytics_events_pkey,
  ADD CONSTRAINT analytics_events_legacy_pkey PRIMARY KEY USING INDEX analytics_events_id_user_id_occurred_at_key;
DROP TRIGGER analytics_events_inserted ON analytics_events_legacy;
DROP TRIGGER analytics_events_updated ON analytics_events_legacy;
DROP TRIGGER analytics_events_deleted ON analytics_events_legacy;
DROP TRIGGER analytics_events_truncated ON analytics_events_legacy;
REVOKE ALL ON analytics_events_legacy FROM socialdb_app;

CREATE TABLE analytics_events (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  client_account_id uuid,
  event_type text NOT NULL,
  event_category text NOT NULL,
  entity_type text,
  entity_id uuid,
  value numeric(12, 2),
  metadata jsonb NOT NULL DEFAULT '{}',
  occurred_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT analytics_events_pkey PRIMARY KEY (id, user_id, occurred_at),
  CONSTRAINT analytics_events_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT analytics_events_account_fkey FOREIGN KEY (client_account_id, user_id)
    REFERENCES client_accounts (id, user_id) ON DELETE CASCADE,
  CONSTRAINT chk_analytics_event_type CHECK (char_length(event_type) BETWEEN 1 AND 100),
  CONSTRAINT chk_analytics_category CHECK (event_category IN ('engagement', 'sales', 'message', 'content')),
  CONSTRAINT chk_analytics_entity_type CHECK (entity_type IN ('product', 'message', 'conversation', 'post')),
  CONSTRAINT chk_analytics_metadata CHECK (jsonb_typeof(metadata) = 'object'),
  CONSTRAINT analytics_events_occurred_at_range
    CHECK (occurred_at >= '2000-01-01 00:00:00+00' AND occurred_at < '2200-01-01 00:00:00+00')
) PARTITION BY RANGE (occurred_at);

-- No partition yet: each index is a catalog entry; the attach below adopts the legacy ones.
CREATE INDEX idx_analytics_client_account ON analytics_events (client_account_id);
CREATE INDEX idx_analytics_event_type ON analytics_events (event_type);
CREATE INDEX idx_analytics_category ON analytics_events (event_category);
CREATE INDEX idx_analytics_occurred_at ON analytics_events (occurred_at DESC);
CREATE INDEX idx_analytics_entity ON analytics_events (entity_type, entity_id);
CREATE INDEX idx_analytics_user_date_category ON analytics_events (user_id, occurred_at DESC, event_category);

ALTER TABLE analytics_events OWNER TO socialdb_owner;
ALTER TABLE analytics_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_events FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_events_seller ON analytics_events TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY analytics_events_owner ON analytics_events TO socialdb_owner USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON analytics_events TO socialdb_app;

CREATE TRIGGER analytics_events_inserted AFTER INSERT ON analytics_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_updated AFTER UPDATE ON analytics_events
  REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_deleted AFTER DELETE ON analytics_events
  REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_truncated AFTER TRUNCATE ON analytics_events
  FOR EACH STATEMENT EXECUTE FUNCTION forget_analytics_summary();

-- The bound is 032's, read back from its constraint (each literal carries its UTC offset).
DO $$
DECLARE
  bound timestamptz;
  month timestamptz;
  last_month timestamptz;
  part text;
BEGIN
  SELECT max(m[1]::timestamptz) INTO STRICT bound
  FROM pg_catalog.pg_constraint AS k,
       pg_catalog.regexp_matches(pg_catalog.pg_get_constraintdef(k.oid), '''([^'']+)''::timestamp with time zone', 'g') AS m
  WHERE k.conrelid = 'public.analytics_events_legacy'::regclass AND k.conname = 'analytics_events_partition_bound';
  EXECUTE format('ALTER TABLE public.analytics_events ATTACH PARTITION public.analytics_events_legacy FOR VALUES FROM (%L) TO (%L)',
                 '2000-01-01 00:00:00+00', to_char(bound AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00');
  -- The bound's month and the next; and, if this runs after the bound, up to next month.
  month := bound;
  last_month := greatest(bound + interval '1 month',
                         (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC');
  WHILE month <= last_month LOOP
    part := 'analytics_events_' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM');
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.analytics_events FOR VALUES FROM (%L) TO (%L)',
                   part, to_char(month AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00',
                   to_char((month AT TIME ZONE 'UTC') + interval '1 month', 'YYYY-MM-DD HH24:MI:SS') || '+00');
    EXECUTE format('ALTER TABLE public.%I OWNER TO socialdb_owner', part);
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', part);
    EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', part);
    EXECUTE format('CREATE POLICY analytics_events_seller ON public.%I TO socialdb_app'
                   ' USING (user_id = public.app_user_id()) WITH CHECK (user_id = public.app_user_id())', part);
    EXECUTE format('CREATE POLICY analytics_events_owner ON public.%I TO socialdb_owner USING (true) WITH CHECK (true)', part);
    EXECUTE format('COMMENT ON TABLE public.%I IS %L', part,
                   'Partition of analytics_events: the events of ' || to_char(month AT TIME ZONE 'UTC', 'YYYY-MM')
                   || ' (UTC). Reached through analytics_events only; created by migration 034 or socialdb maintain.');
    month := (month AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
  END LOOP;
END
$$;

CREATE TABLE analytics_events_default PARTITION OF analytics_events DEFAULT;
ALTER TABLE analytics_events_default OWNER TO socialdb_owner;
ALTER TABLE analytics_events_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_events_default FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_events_seller ON analytics_events_default TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY analytics_events_owner ON analytics_events_default TO socialdb_owner USING (true) WITH CHECK (true);

COMMENT ON TABLE analytics_events IS 'Analytics events of a seller (engagement, sales, messages, content); append-mostly. Partitioned by month of occurred_at (migration 034, socialdb maintain). Every write notes its (seller, day) in analytics_summary_changes for the daily summary.';
COMMENT ON COLUMN analytics_events.id IS 'Row id.';
COMMENT ON COLUMN analytics_events.user_id IS 'The seller the event belongs to.';
COMMENT ON COLUMN analytics_events.client_account_id IS 'The connected account concerned, if any.';
COMMENT ON COLUMN analytics_events.event_type IS 'What happened, e.g. link_click, 1 to 100 characters.';
COMMENT ON COLUMN analytics_events.event_category IS 'engagement, sales, message or content.';
COMMENT ON COLUMN analytics_events.entity_type IS 'Kind of entity concerned: product, message, conversation or post.';
COMMENT ON COLUMN analytics_events.entity_id IS 'Id of the entity concerned.';
COMMENT ON COLUMN analytics_events.value IS 'Amount carried by the event (a sale''s value), if any.';
COMMENT ON COLUMN analytics_events.metadata IS 'Event details as a JSON object.';
COMMENT ON COLUMN analytics_events.occurred_at IS 'When the event happened; from 2000-01-01 to before 2200-01-01 UTC (migrations 028, 029). The partition key: one partition a month (UTC).';
COMMENT ON COLUMN analytics_events.created_at IS 'When the row was inserted.';
COMMENT ON TABLE analytics_events_legacy IS 'Partition of analytics_events: the events stored before partitioning (migration 034), from 2000-01-01 to its bound (UTC). Reached through analytics_events only.';
COMMENT ON TABLE analytics_events_default IS 'Default partition of analytics_events: events of a month that has no partition yet (strays). socialdb maintain reports them and moves them when it creates their month.';

-- ROLLBACK
LOCK TABLE users, client_accounts IN SHARE ROW EXCLUSIVE MODE;
LOCK TABLE analytics_events IN ACCESS EXCLUSIVE MODE;
ALTER TABLE analytics_events DETACH PARTITION analytics_events_legacy;
-- The rows of every other partition go back into the one table (its triggers are gone: the
-- summary already counts them), and 032's bound moves past the newest event if it must.
DO $$
DECLARE
  bound timestamptz;
BEGIN
  SELECT max(m[1]::timestamptz) INTO STRICT bound
  FROM pg_catalog.pg_constraint AS k,
       pg_catalog.regexp_matches(pg_catalog.pg_get_constraintdef(k.oid), '''([^'']+)''::timestamp with time zone', 'g') AS m
  WHERE k.conrelid = 'public.analytics_events_legacy'::regclass AND k.conname = 'analytics_events_partition_bound';
  ALTER TABLE public.analytics_events_legacy DROP CONSTRAINT analytics_events_partition_bound;
  INSERT INTO public.analytics_events_legacy SELECT * FROM public.analytics_events;
  SELECT greatest(bound, (date_trunc('month', max(occurred_at) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC')
    INTO STRICT bound FROM public.analytics_events_legacy;
  EXECUTE format(
    'ALTER TABLE public.analytics_events_legacy ADD CONSTRAINT analytics_events_partition_bound'
    ' CHECK (occurred_at >= %L AND occurred_at < %L)',
    '2000-01-01 00:00:00+00', to_char(bound AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00');
END
$$;
DROP TABLE analytics_events;
ALTER TABLE analytics_events_legacy RENAME TO analytics_events;
ALTER INDEX analytics_events_legacy_client_account RENAME TO idx_analytics_client_account;
ALTER INDEX analytics_events_legacy_event_type RENAME TO idx_analytics_event_type;
ALTER INDEX analytics_events_legacy_category RENAME TO idx_analytics_category;
ALTER INDEX analytics_events_legacy_occurred_at RENAME TO idx_analytics_occurred_at;
ALTER INDEX analytics_events_legacy_entity RENAME TO idx_analytics_entity;
ALTER INDEX analytics_events_legacy_user_date_category RENAME TO idx_analytics_user_date_category;
ALTER TABLE analytics_events DROP CONSTRAINT analytics_events_legacy_pkey;
ALTER TABLE analytics_events ADD CONSTRAINT analytics_events_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX analytics_events_id_user_id_occurred_at_key ON analytics_events (id, user_id, occurred_at);
CREATE TRIGGER analytics_events_inserted AFTER INSERT ON analytics_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_updated AFTER UPDATE ON analytics_events
  REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_deleted AFTER DELETE ON analytics_events
  REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT EXECUTE FUNCTION note_analytics_changes();
CREATE TRIGGER analytics_events_truncated AFTER TRUNCATE ON analytics_events
  FOR EACH STATEMENT EXECUTE FUNCTION forget_analytics_summary();
GRANT SELECT, INSERT, UPDATE, DELETE ON analytics_events TO socialdb_app;
COMMENT ON TABLE analytics_events IS 'Analytics events of a seller (engagement, sales, messages, content); append-mostly. Every write notes its (seller, day) in analytics_summary_changes for the daily summary.';
