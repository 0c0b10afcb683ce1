-- BASELINE FOR THE BENCHMARK ONLY: the spec's SQL exactly as written in
-- BE-002-database-schema-and-migrations.md (this block's first line names its file).
-- Not a socialdb migration; never applied by `socialdb migrate`.
-- File: /backend/migrations/006-create-conversations.sql

CREATE TABLE conversations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  client_account_id UUID NOT NULL REFERENCES client_accounts(id) ON DELETE CASCADE,
  platform_conversation_id VARCHAR(255) NOT NULL,
  participant_platform_id VARCHAR(255) NOT NULL, -- Instagram user ID
  participant_username VARCHAR(255),
  participant_profile_pic TEXT,
  last_message_at TIMESTAMP,
  unread_count INTEGER DEFAULT 0,
  status VARCHAR(50) DEFAULT 'open',
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMP DEFAULT NOW(),
  updated_at TIMESTAMP DEFAULT NOW(),
  CONSTRAINT chk_conversation_status CHECK (status IN ('open', 'closed', 'archived'))
);

CREATE UNIQUE INDEX idx_conversations_platform
  ON conversations(client_account_id, platform_conversation_id);
CREATE INDEX idx_conversations_client_account ON conversations(client_account_id);
CREATE INDEX idx_conversations_status ON conversations(status);
CREATE INDEX idx_conversations_last_message ON conversations(last_message_at DESC);
