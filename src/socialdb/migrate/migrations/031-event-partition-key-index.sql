-- socialdb: transaction=off lock_timeout=30s
-- Partitioned events, step 1 of 4 (issue 16, decisions 85-94): the unique index the
-- partitioned table's primary key needs. A key of a table partitioned by range of
-- occurred_at must include occurred_at; it includes user_id as well, the distribution
-- column Citus will need (docs/scaling.md), so the key is built once. 034 turns this index
-- into the first partition's primary key without a scan.
-- Supersedes: nothing (034 replaces analytics_events_pkey, on id alone).
-- Locks: SHARE UPDATE EXCLUSIVE on analytics_events while the index builds (a scan and a
-- sort; at scale 1, 5M events, seconds): reads and writes go on; VACUUM, ANALYZE, other
-- DDL and the summary's refresh wait for it. IF NOT EXISTS makes a rerun skip it; the
-- runner drops an INVALID index of the same name, left by a failed build, first.

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS analytics_events_id_user_id_occurred_at_key
  ON analytics_events (id, user_id, occurred_at);

-- ROLLBACK
DROP INDEX CONCURRENTLY IF EXISTS analytics_events_id_user_id_occurred_at_key;
