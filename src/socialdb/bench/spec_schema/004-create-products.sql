-- BASELINE FOR THE BENCHMARK ONLY: the spec's SQL exactly as written in
-- BE-002-database-schema-and-migrations.md (this block's first line names its file).
-- Not a socialdb migration; never applied by `socialdb migrate`.
-- File: /backend/migrations/004-create-products.sql

CREATE TABLE products (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name VARCHAR(255) NOT NULL,
  description TEXT,
  price DECIMAL(10, 2),
  currency VARCHAR(3) DEFAULT 'BRL',
  category VARCHAR(100),
  tags TEXT[],
  images JSONB DEFAULT '[]', -- Array of image URLs
  stock_quantity INTEGER,
  sku VARCHAR(100),
  is_available BOOLEAN DEFAULT TRUE,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMP DEFAULT NOW(),
  updated_at TIMESTAMP DEFAULT NOW(),
  deleted_at TIMESTAMP
);

CREATE INDEX idx_products_user_id ON products(user_id);
CREATE INDEX idx_products_category ON products(category);
CREATE INDEX idx_products_is_available ON products(is_available);
CREATE INDEX idx_products_tags ON products USING GIN(tags);
CREATE INDEX idx_products_name_search ON products USING GIN(to_tsvector('portuguese', name));
