-- OAuth tokens of connected accounts. access_token is opaque here: it is to be
-- encrypted by the application (never by pgcrypto inside the server).

CREATE TABLE oauth_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  client_account_id uuid NOT NULL REFERENCES client_accounts (id) ON DELETE CASCADE,
  platform text NOT NULL,
  access_token text NOT NULL,
  token_type text NOT NULL DEFAULT 'Bearer',
  expires_at timestamptz NOT NULL,
  scopes text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CONSTRAINT chk_oauth_platform CHECK (platform IN ('instagram', 'whatsapp')),
  CONSTRAINT chk_oauth_token_type CHECK (char_length(token_type) BETWEEN 1 AND 50),
  CONSTRAINT chk_oauth_access_token CHECK (char_length(access_token) >= 1)
);

CREATE UNIQUE INDEX idx_oauth_tokens_client_account
  ON oauth_tokens (client_account_id)
  WHERE revoked_at IS NULL;
CREATE INDEX idx_oauth_tokens_user_id ON oauth_tokens (user_id);
CREATE INDEX idx_oauth_tokens_expires_at ON oauth_tokens (expires_at) WHERE revoked_at IS NULL;

-- ROLLBACK
DROP TABLE oauth_tokens;
