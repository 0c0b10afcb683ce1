-- BASELINE FOR THE BENCHMARK ONLY: the spec's SQL exactly as written in
-- BE-002-database-schema-and-migrations.md (this block's first line names its file).
-- Not a socialdb migration; never applied by `socialdb migrate`.
-- File: /backend/migrations/009-create-analytics.sql

CREATE TABLE analytics_events (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_account_id UUID REFERENCES client_accounts(id) ON DELETE CASCADE,
  event_type VARCHAR(100) NOT NULL,
  event_category VARCHAR(50) NOT NULL, -- 'engagement', 'sales', 'message', 'content'
  entity_type VARCHAR(50), -- 'product', 'message', 'conversation', 'post'
  entity_id UUID,
  value DECIMAL(10, 2),
  metadata JSONB DEFAULT '{}',
  occurred_at TIMESTAMP NOT NULL,
  created_at TIMESTAMP DEFAULT NOW()
);

CREATE INDEX idx_analytics_user_id ON analytics_events(user_id);
CREATE INDEX idx_analytics_client_account ON analytics_events(client_account_id);
CREATE INDEX idx_analytics_event_type ON analytics_events(event_type);
CREATE INDEX idx_analytics_category ON analytics_events(event_category);
CREATE INDEX idx_analytics_occurred_at ON analytics_events(occurred_at DESC);
CREATE INDEX idx_analytics_entity ON analytics_events(entity_type, entity_id);

-- Materialized view for daily aggregations
CREATE MATERIALIZED VIEW analytics_daily_summary AS
SELECT
  user_id,
  client_account_id,
  DATE(occurred_at) as date,
  event_category,
  event_type,
  COUNT(*) as event_count,
  SUM(value) as total_value,
  AVG(value) as avg_value
FROM analytics_events
GROUP BY user_id, client_account_id, DATE(occurred_at), event_category, event_type;

CREATE UNIQUE INDEX idx_analytics_daily_unique
  ON analytics_daily_summary(user_id, client_account_id, date, event_category, event_type);
CREATE INDEX idx_analytics_daily_date ON analytics_daily_summary(date DESC);
