-- Instagram / WhatsApp accounts a seller connects.

CREATE TABLE client_accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  platform text NOT NULL,
  platform_account_id text NOT NULL,
  username text NOT NULL,
  profile_picture_url text,
  follower_count bigint NOT NULL DEFAULT 0,
  following_count bigint NOT NULL DEFAULT 0,
  media_count bigint NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'active',
  metadata jsonb NOT NULL DEFAULT '{}',
  last_sync_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  CONSTRAINT chk_platform CHECK (platform IN ('instagram', 'whatsapp')),
  CONSTRAINT chk_status CHECK (status IN ('active', 'token_expired', 'token_revoked', 'disconnected', 'error')),
  CONSTRAINT chk_client_accounts_ids CHECK (
    char_length(platform_account_id) BETWEEN 1 AND 255 AND char_length(username) BETWEEN 1 AND 255
  ),
  CONSTRAINT chk_client_accounts_counts CHECK (follower_count >= 0 AND following_count >= 0 AND media_count >= 0),
  CONSTRAINT chk_client_accounts_metadata CHECK (jsonb_typeof(metadata) = 'object'),
  -- The nil UUID stands for "no account" in analytics_daily_summary's key.
  CONSTRAINT chk_client_accounts_not_nil CHECK (id <> '00000000-0000-0000-0000-000000000000')
);

CREATE UNIQUE INDEX idx_client_accounts_platform_account
  ON client_accounts (platform, platform_account_id)
  WHERE deleted_at IS NULL;
-- Serves ON DELETE CASCADE from users over every row, soft-deleted ones included.
CREATE INDEX idx_client_accounts_user_id ON client_accounts (user_id);
CREATE INDEX idx_client_accounts_status ON client_accounts (status);
CREATE INDEX idx_client_accounts_last_sync ON client_accounts (last_sync_at);

-- ROLLBACK
DROP TABLE client_accounts;
