-- Users (sellers) and their refresh tokens.
-- Deviations from BE-002 (docs/decisions.md): timestamptz, text with CHECK limits,
-- no uuid-ossp / pgcrypto (gen_random_uuid() is core), email unique among live
-- users case-insensitively, last_login_ip as inet, NOT NULL where a default exists.

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  password_hash text NOT NULL,
  name text NOT NULL,
  timezone text NOT NULL DEFAULT 'America/Sao_Paulo',
  language text NOT NULL DEFAULT 'pt-BR',
  subscription_tier text NOT NULL DEFAULT 'free',
  email_verified boolean NOT NULL DEFAULT false,
  email_verification_token text,
  password_reset_token text,
  password_reset_expires timestamptz,
  last_login_at timestamptz,
  last_login_ip inet,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  CONSTRAINT chk_users_email CHECK (char_length(email) <= 255 AND email ~ '^[^@\s]+@[^@\s]+$'),
  CONSTRAINT chk_users_password_hash CHECK (char_length(password_hash) BETWEEN 1 AND 255),
  CONSTRAINT chk_users_name CHECK (char_length(name) BETWEEN 1 AND 255),
  CONSTRAINT chk_users_timezone CHECK (char_length(timezone) BETWEEN 1 AND 50),
  CONSTRAINT chk_users_language CHECK (char_length(language) BETWEEN 2 AND 10),
  CONSTRAINT chk_users_tokens CHECK (
    char_length(email_verification_token) <= 255 AND char_length(password_reset_token) <= 255
  ),
  CONSTRAINT chk_subscription_tier CHECK (
    subscription_tier IN ('free', 'basic', 'pro', 'enterprise')
  )
);

-- One live account per email, whatever its case; a soft-deleted user frees the email.
-- Sign-in and the seed look users up by lower(email) among live rows.
CREATE UNIQUE INDEX idx_users_email ON users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX idx_users_created_at ON users (created_at);
CREATE INDEX idx_users_subscription_tier ON users (subscription_tier);

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash text NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CONSTRAINT chk_refresh_tokens_token_hash CHECK (char_length(token_hash) BETWEEN 1 AND 255)
);

CREATE INDEX idx_refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX idx_refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE UNIQUE INDEX idx_refresh_tokens_token_hash ON refresh_tokens (token_hash) WHERE revoked_at IS NULL;

-- ROLLBACK
DROP TABLE refresh_tokens;
DROP TABLE users;
