-- Direct-message threads between a connected account and a customer.
-- No index on client_account_id alone: the unique (client_account_id,
-- platform_conversation_id) index starts with it.

CREATE TABLE conversations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_account_id uuid NOT NULL REFERENCES client_accounts (id) ON DELETE CASCADE,
  platform_conversation_id text NOT NULL,
  participant_platform_id text NOT NULL,
  participant_username text,
  participant_profile_pic text,
  last_message_at timestamptz,
  unread_count bigint NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'open',
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT chk_conversation_status CHECK (status IN ('open', 'closed', 'archived')),
  CONSTRAINT chk_conversations_ids CHECK (
    char_length(platform_conversation_id) BETWEEN 1 AND 255
    AND char_length(participant_platform_id) BETWEEN 1 AND 255
    AND char_length(participant_username) <= 255
  ),
  CONSTRAINT chk_conversations_unread CHECK (unread_count >= 0),
  CONSTRAINT chk_conversations_metadata CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE UNIQUE INDEX idx_conversations_platform
  ON conversations (client_account_id, platform_conversation_id);
CREATE INDEX idx_conversations_status ON conversations (status);
CREATE INDEX idx_conversations_last_message ON conversations (last_message_at DESC);

-- ROLLBACK
DROP TABLE conversations;
