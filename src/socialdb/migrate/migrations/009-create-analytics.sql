-- Analytics events and their daily summary.
-- No index on user_id alone: 013's (user_id, occurred_at DESC, event_category) starts with it.
--
-- The summary buckets days in UTC whatever the session's TimeZone, and keys
-- account-less events by client_account_key (the nil UUID) so that every key
-- column is NOT NULL: REFRESH ... CONCURRENTLY matches rows with `=`, and a NULL
-- key never matches, so such rows would be deleted and re-inserted on every refresh.

CREATE TABLE analytics_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  client_account_id uuid REFERENCES client_accounts (id) ON DELETE CASCADE,
  event_type text NOT NULL,
  event_category text NOT NULL,
  entity_type text,
  entity_id uuid,
  value numeric(12, 2),
  metadata jsonb NOT NULL DEFAULT '{}',
  occurred_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT chk_analytics_event_type CHECK (char_length(event_type) BETWEEN 1 AND 100),
  CONSTRAINT chk_analytics_category CHECK (event_category IN ('engagement', 'sales', 'message', 'content')),
  CONSTRAINT chk_analytics_entity_type CHECK (entity_type IN ('product', 'message', 'conversation', 'post')),
  CONSTRAINT chk_analytics_metadata CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX idx_analytics_client_account ON analytics_events (client_account_id);
CREATE INDEX idx_analytics_event_type ON analytics_events (event_type);
CREATE INDEX idx_analytics_category ON analytics_events (event_category);
CREATE INDEX idx_analytics_occurred_at ON analytics_events (occurred_at DESC);
CREATE INDEX idx_analytics_entity ON analytics_events (entity_type, entity_id);

CREATE MATERIALIZED VIEW analytics_daily_summary AS
SELECT
  user_id,
  client_account_id,
  coalesce(client_account_id, '00000000-0000-0000-0000-000000000000'::uuid) AS client_account_key,
  (occurred_at AT TIME ZONE 'UTC')::date AS date,
  event_category,
  event_type,
  count(*) AS event_count,
  sum(value) AS total_value,
  avg(value) AS avg_value
FROM analytics_events
GROUP BY user_id, client_account_id, (occurred_at AT TIME ZONE 'UTC')::date, event_category, event_type;

CREATE UNIQUE INDEX idx_analytics_daily_unique
  ON analytics_daily_summary (user_id, client_account_key, date, event_category, event_type);
CREATE INDEX idx_analytics_daily_date ON analytics_daily_summary (date DESC);

-- ROLLBACK
DROP MATERIALIZED VIEW analytics_daily_summary;
DROP TABLE analytics_events;
