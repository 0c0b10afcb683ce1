-- BASELINE FOR THE BENCHMARK ONLY: the spec's SQL exactly as written in
-- BE-002-database-schema-and-migrations.md (this block's first line names its file).
-- Not a socialdb migration; never applied by `socialdb migrate`.
-- File: /backend/migrations/007-create-messages.sql

CREATE TABLE messages (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  platform_message_id VARCHAR(255) NOT NULL UNIQUE,
  sender_type VARCHAR(50) NOT NULL, -- 'user' or 'customer'
  sender_platform_id VARCHAR(255),
  message_type VARCHAR(50) DEFAULT 'text',
  content TEXT,
  media_url TEXT,
  media_type VARCHAR(50),
  is_read BOOLEAN DEFAULT FALSE,
  sent_at TIMESTAMP NOT NULL,
  delivered_at TIMESTAMP,
  read_at TIMESTAMP,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMP DEFAULT NOW(),
  CONSTRAINT chk_sender_type CHECK (sender_type IN ('user', 'customer')),
  CONSTRAINT chk_message_type CHECK (message_type IN ('text', 'image', 'video', 'audio', 'story_mention', 'story_reply'))
);

CREATE INDEX idx_messages_conversation ON messages(conversation_id);
CREATE INDEX idx_messages_sent_at ON messages(sent_at DESC);
CREATE INDEX idx_messages_is_read ON messages(is_read);
CREATE UNIQUE INDEX idx_messages_platform_id ON messages(platform_message_id);
