-- A seller's catalogue.

CREATE TABLE products (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  price numeric(10, 2),
  currency text NOT NULL DEFAULT 'BRL',
  category text,
  tags text[],
  images jsonb NOT NULL DEFAULT '[]',
  stock_quantity bigint,
  sku text,
  is_available boolean NOT NULL DEFAULT true,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  CONSTRAINT chk_products_name CHECK (char_length(name) BETWEEN 1 AND 255),
  CONSTRAINT chk_products_price CHECK (price >= 0),
  CONSTRAINT chk_products_currency CHECK (currency ~ '^[A-Z]{3}$'),
  CONSTRAINT chk_products_category CHECK (char_length(category) <= 100),
  CONSTRAINT chk_products_sku CHECK (char_length(sku) <= 100),
  CONSTRAINT chk_products_stock CHECK (stock_quantity >= 0),
  CONSTRAINT chk_products_images CHECK (jsonb_typeof(images) = 'array'),
  CONSTRAINT chk_products_metadata CHECK (jsonb_typeof(metadata) = 'object')
);

-- Serves ON DELETE CASCADE from users over every row, soft-deleted ones included.
CREATE INDEX idx_products_user_id ON products (user_id);
CREATE INDEX idx_products_category ON products (category);
CREATE INDEX idx_products_is_available ON products (is_available);
CREATE INDEX idx_products_tags ON products USING gin (tags);
CREATE INDEX idx_products_name_search ON products USING gin (to_tsvector('portuguese', name));

-- ROLLBACK
DROP TABLE products;
