-- BASELINE FOR THE BENCHMARK ONLY: the spec's SQL exactly as written in
-- BE-002-database-schema-and-migrations.md (this block's first line names its file).
-- Not a socialdb migration; never applied by `socialdb migrate`.
-- File: /backend/migrations/002-create-client-accounts.sql

CREATE TABLE client_accounts (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  platform VARCHAR(50) NOT NULL,
  platform_account_id VARCHAR(255) NOT NULL,
  username VARCHAR(255) NOT NULL,
  profile_picture_url TEXT,
  follower_count INTEGER DEFAULT 0,
  following_count INTEGER DEFAULT 0,
  media_count INTEGER DEFAULT 0,
  status VARCHAR(50) DEFAULT 'active',
  metadata JSONB DEFAULT '{}',
  last_sync_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT NOW(),
  updated_at TIMESTAMP DEFAULT NOW(),
  deleted_at TIMESTAMP,
  CONSTRAINT chk_platform CHECK (platform IN ('instagram', 'whatsapp')),
  CONSTRAINT chk_status CHECK (status IN ('active', 'token_expired', 'token_revoked', 'disconnected', 'error'))
);

CREATE UNIQUE INDEX idx_client_accounts_platform_account
  ON client_accounts(platform, platform_account_id)
  WHERE deleted_at IS NULL;
CREATE INDEX idx_client_accounts_user_id ON client_accounts(user_id);
CREATE INDEX idx_client_accounts_status ON client_accounts(status);
CREATE INDEX idx_client_accounts_last_sync ON client_accounts(last_sync_at);
