-- The incremental refresh after a change spread over the year (docs/performance.md).
-- Run after `socialdb bench run`, on the benchmark database (it adds 50,000 events):
--   uv run socialdb psql -c '\c socialdb_bench_ours' -f bench/probe_refresh.sql
\timing on
BEGIN;
-- 5 random days of each seller, 10 events each.
CREATE TEMP TABLE pairs ON COMMIT DROP AS
SELECT u.id AS user_id, timestamptz '2025-11-01 12:00+00' + floor(random() * 365) * interval '1 day' AS at
FROM users AS u, generate_series(1, 5);
INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, occurred_at, value)
SELECT p.user_id, NULL, 'sale', 'sales', p.at, 10 FROM pairs AS p, generate_series(1, 10);
COMMIT;
SELECT count(*) AS days_to_recompute FROM (SELECT DISTINCT user_id, date FROM analytics_summary_changes) AS c;
SELECT refresh_analytics_daily_summary();  -- the changed days
SELECT refresh_analytics_daily_summary();  -- nothing changed since
