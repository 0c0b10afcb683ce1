-- BASELINE FOR THE BENCHMARK ONLY: the spec's SQL exactly as written in
-- BE-002-database-schema-and-migrations.md (this block's first line names its file).
-- Not a socialdb migration; never applied by `socialdb migrate`.
-- File: /backend/migrations/003-create-oauth-tokens.sql

CREATE TABLE oauth_tokens (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_account_id UUID NOT NULL REFERENCES client_accounts(id) ON DELETE CASCADE,
  platform VARCHAR(50) NOT NULL,
  access_token TEXT NOT NULL, -- Encrypted with pgcrypto
  token_type VARCHAR(50) DEFAULT 'Bearer',
  expires_at TIMESTAMP NOT NULL,
  scopes TEXT[] NOT NULL,
  created_at TIMESTAMP DEFAULT NOW(),
  updated_at TIMESTAMP DEFAULT NOW(),
  revoked_at TIMESTAMP,
  CONSTRAINT chk_oauth_platform CHECK (platform IN ('instagram', 'whatsapp'))
);

CREATE UNIQUE INDEX idx_oauth_tokens_client_account
  ON oauth_tokens(client_account_id)
  WHERE revoked_at IS NULL;
CREATE INDEX idx_oauth_tokens_user_id ON oauth_tokens(user_id);
CREATE INDEX idx_oauth_tokens_expires_at ON oauth_tokens(expires_at) WHERE revoked_at IS NULL;
