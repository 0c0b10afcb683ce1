-- socialdb's history table: one row per applied (or failed) migration.
-- Created by the runner under its lock before the first migration; never by a migration.
-- Its name is the configured one (default `migrations`), put in by psycopg.sql.Identifier.
CREATE TABLE IF NOT EXISTS {table} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version bigint NOT NULL UNIQUE,  -- 64-bit: timestamp-style versions (20250801120000) fit
  name text NOT NULL,
  file text NOT NULL,
  checksum text NOT NULL,  -- the whole file's, as applied
  executed_at timestamptz NOT NULL DEFAULT now(),
  execution_ms integer NOT NULL CHECK (execution_ms >= 0),
  state text NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'failed')),
  failed_statement text,
  error text,
  up_checksum text,  -- the up part's own (header and up SQL); NULL in rows from before it was kept
  CHECK ((state = 'failed') = (error IS NOT NULL))
);
COMMENT ON TABLE {table} IS 'socialdb migration history; managed by `socialdb migrate`, do not edit by hand';
