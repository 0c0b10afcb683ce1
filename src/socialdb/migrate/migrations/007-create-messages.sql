-- Messages of a conversation.
-- platform_message_id is UNIQUE: no second identical unique index. No index on
-- conversation_id alone (013's (conversation_id, sent_at DESC, id DESC) starts
-- with it) and none on is_read (a boolean that is true for almost every row;
-- unread messages are found through their conversation).

CREATE TABLE messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  platform_message_id text NOT NULL UNIQUE,
  sender_type text NOT NULL,
  sender_platform_id text,
  message_type text NOT NULL DEFAULT 'text',
  content text,
  media_url text,
  media_type text,
  is_read boolean NOT NULL DEFAULT false,
  sent_at timestamptz NOT NULL,
  delivered_at timestamptz,
  read_at timestamptz,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT chk_sender_type CHECK (sender_type IN ('user', 'customer')),
  CONSTRAINT chk_message_type CHECK (message_type IN ('text', 'image', 'video', 'audio', 'story_mention', 'story_reply')),
  CONSTRAINT chk_messages_ids CHECK (
    char_length(platform_message_id) BETWEEN 1 AND 255 AND char_length(sender_platform_id) <= 255
  ),
  CONSTRAINT chk_messages_media_type CHECK (char_length(media_type) <= 50),
  CONSTRAINT chk_messages_metadata CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX idx_messages_sent_at ON messages (sent_at DESC);

-- ROLLBACK
DROP TABLE messages;
