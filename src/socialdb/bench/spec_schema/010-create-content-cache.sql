-- BASELINE FOR THE BENCHMARK ONLY: the spec's SQL exactly as written in
-- BE-002-database-schema-and-migrations.md (this block's first line names its file).
-- Not a socialdb migration; never applied by `socialdb migrate`.
-- File: /backend/migrations/010-create-content-cache.sql

CREATE TABLE instagram_media (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  client_account_id UUID NOT NULL REFERENCES client_accounts(id) ON DELETE CASCADE,
  platform_media_id VARCHAR(255) NOT NULL UNIQUE,
  media_type VARCHAR(50) NOT NULL,
  media_url TEXT,
  thumbnail_url TEXT,
  permalink TEXT,
  caption TEXT,
  like_count INTEGER DEFAULT 0,
  comment_count INTEGER DEFAULT 0,
  timestamp TIMESTAMP,
  metadata JSONB DEFAULT '{}',
  synced_at TIMESTAMP DEFAULT NOW(),
  created_at TIMESTAMP DEFAULT NOW(),
  CONSTRAINT chk_media_type CHECK (media_type IN ('IMAGE', 'VIDEO', 'CAROUSEL_ALBUM'))
);

CREATE INDEX idx_instagram_media_client_account ON instagram_media(client_account_id);
CREATE UNIQUE INDEX idx_instagram_media_platform_id ON instagram_media(platform_media_id);
CREATE INDEX idx_instagram_media_timestamp ON instagram_media(timestamp DESC);
