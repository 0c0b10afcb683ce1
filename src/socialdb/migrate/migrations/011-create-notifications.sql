-- In-app notifications for sellers.

CREATE TABLE notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  type text NOT NULL,
  title text NOT NULL,
  message text NOT NULL,
  action_url text,
  is_read boolean NOT NULL DEFAULT false,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  read_at timestamptz,
  CONSTRAINT chk_notifications_type CHECK (char_length(type) BETWEEN 1 AND 100),
  CONSTRAINT chk_notifications_title CHECK (char_length(title) BETWEEN 1 AND 255),
  CONSTRAINT chk_notifications_metadata CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX idx_notifications_user_id ON notifications (user_id);
CREATE INDEX idx_notifications_is_read ON notifications (is_read);
CREATE INDEX idx_notifications_created_at ON notifications (created_at DESC);

-- ROLLBACK
DROP TABLE notifications;
