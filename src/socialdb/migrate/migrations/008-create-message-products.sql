-- Products mentioned in a message.
-- No index on message_id alone: the UNIQUE (message_id, product_id) index starts with it.

CREATE TABLE message_products (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT unique_message_product UNIQUE (message_id, product_id)
);

CREATE INDEX idx_message_products_product ON message_products (product_id);

-- ROLLBACK
DROP TABLE message_products;
