-- Cached Instagram media of connected accounts.
-- platform_media_id is UNIQUE: no second identical unique index.

CREATE TABLE instagram_media (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_account_id uuid NOT NULL REFERENCES client_accounts (id) ON DELETE CASCADE,
  platform_media_id text NOT NULL UNIQUE,
  media_type text NOT NULL,
  media_url text,
  thumbnail_url text,
  permalink text,
  caption text,
  like_count bigint NOT NULL DEFAULT 0,
  comment_count bigint NOT NULL DEFAULT 0,
  "timestamp" timestamptz,
  metadata jsonb NOT NULL DEFAULT '{}',
  synced_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT chk_media_type CHECK (media_type IN ('IMAGE', 'VIDEO', 'CAROUSEL_ALBUM')),
  CONSTRAINT chk_instagram_media_id CHECK (char_length(platform_media_id) BETWEEN 1 AND 255),
  CONSTRAINT chk_instagram_media_counts CHECK (like_count >= 0 AND comment_count >= 0),
  CONSTRAINT chk_instagram_media_metadata CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX idx_instagram_media_client_account ON instagram_media (client_account_id);
CREATE INDEX idx_instagram_media_timestamp ON instagram_media ("timestamp" DESC);

-- ROLLBACK
DROP TABLE instagram_media;
