-- BASELINE FOR THE BENCHMARK ONLY: the spec's SQL exactly as written in
-- BE-002-database-schema-and-migrations.md (this block's first line names its file).
-- Not a socialdb migration; never applied by `socialdb migrate`.
-- File: /backend/migrations/005-create-product-links.sql

CREATE TABLE product_links (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  product_id UUID NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  client_account_id UUID NOT NULL REFERENCES client_accounts(id) ON DELETE CASCADE,
  instagram_media_id VARCHAR(255), -- Associated Instagram post ID
  short_link VARCHAR(255) UNIQUE, -- Generated short link
  clicks INTEGER DEFAULT 0,
  conversions INTEGER DEFAULT 0,
  revenue DECIMAL(10, 2) DEFAULT 0,
  is_active BOOLEAN DEFAULT TRUE,
  created_at TIMESTAMP DEFAULT NOW(),
  updated_at TIMESTAMP DEFAULT NOW()
);

CREATE INDEX idx_product_links_product_id ON product_links(product_id);
CREATE INDEX idx_product_links_client_account ON product_links(client_account_id);
CREATE INDEX idx_product_links_instagram_media ON product_links(instagram_media_id);
CREATE UNIQUE INDEX idx_product_links_short_link ON product_links(short_link);
