-- socialdb: transaction=off lock_timeout=30s
-- Indexes for the queries of socialdb.operations (docs/performance.md):
-- product search is a seller's products matching a query, so user_id leads the GIN
-- index (btree_gin) and the spec's two single-column full-text indexes, which no query
-- of the platform uses, go; a seller's dashboard reads the summary by (user_id, date).

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_products_search
  ON products USING gin (user_id, product_search_document(name, description))
  WHERE deleted_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_analytics_daily_user_date
  ON analytics_daily_summary (user_id, date);

DROP INDEX CONCURRENTLY IF EXISTS idx_products_name_search;
DROP INDEX CONCURRENTLY IF EXISTS idx_products_description_search;

-- ROLLBACK
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_products_description_search
  ON products USING gin (to_tsvector('portuguese', description));
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_products_name_search
  ON products USING gin (to_tsvector('portuguese', name));
DROP INDEX CONCURRENTLY IF EXISTS idx_analytics_daily_user_date;
DROP INDEX CONCURRENTLY IF EXISTS idx_products_search;
