-- The daily summary's refresh sorted 5M events with the default 4MB work_mem, spilling
-- to disk; 256MB for that one function cut a scale-1 refresh from 66.5 s to 50.7 s
-- (docs/performance.md). It applies only while the function runs.

ALTER FUNCTION refresh_analytics_daily_summary() SET work_mem = '256MB';

-- ROLLBACK
ALTER FUNCTION refresh_analytics_daily_summary() RESET work_mem;
