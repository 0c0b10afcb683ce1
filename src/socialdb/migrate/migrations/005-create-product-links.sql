-- Trackable links from a post or a message to a product.
-- short_link is UNIQUE: that constraint's index is the only one (the spec added
-- a second, identical unique index). The index on product_id alone is gone too:
-- 013's (product_id, clicks DESC) starts with it and serves the same lookups.

CREATE TABLE product_links (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  client_account_id uuid NOT NULL REFERENCES client_accounts (id) ON DELETE CASCADE,
  instagram_media_id text,
  short_link text UNIQUE,
  clicks bigint NOT NULL DEFAULT 0,
  conversions bigint NOT NULL DEFAULT 0,
  revenue numeric(14, 2) NOT NULL DEFAULT 0,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT chk_product_links_media CHECK (char_length(instagram_media_id) <= 255),
  CONSTRAINT chk_product_links_short_link CHECK (char_length(short_link) BETWEEN 1 AND 255),
  CONSTRAINT chk_product_links_counts CHECK (clicks >= 0 AND conversions >= 0 AND revenue >= 0)
);

CREATE INDEX idx_product_links_client_account ON product_links (client_account_id);
CREATE INDEX idx_product_links_instagram_media ON product_links (instagram_media_id);

-- ROLLBACK
DROP TABLE product_links;
