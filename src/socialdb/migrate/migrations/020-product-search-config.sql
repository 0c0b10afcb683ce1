-- Accent-insensitive Portuguese product search: "promocao" finds "promoção".
-- unaccent and btree_gin are trusted extensions (PostgreSQL 13+): the database owner
-- may create them, no superuser needed. 021 builds the index.

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- portuguese, with accents stripped before stemming.
CREATE TEXT SEARCH CONFIGURATION portuguese_unaccent (COPY = pg_catalog.portuguese);
ALTER TEXT SEARCH CONFIGURATION portuguese_unaccent
  ALTER MAPPING FOR hword, hword_part, word WITH unaccent, portuguese_stem;

-- A product's search document: the name weighs more than the description. Immutable, so
-- it can be indexed; queries must use this same function for the index to match.
CREATE FUNCTION product_search_document(name text, description text)
RETURNS tsvector
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
  SELECT setweight(to_tsvector('public.portuguese_unaccent'::regconfig, coalesce(name, '')), 'A')
      || setweight(to_tsvector('public.portuguese_unaccent'::regconfig, coalesce(description, '')), 'B')
$$;

-- The current seller's products matching a web-search style query, best first. A
-- function, not a query of the application's: under row-level security a condition whose
-- operator is not leakproof (@@ is not) is evaluated after the policy and never becomes
-- an index condition. Run as the owner, whose policy is `true`, with the seller taken
-- from app_user_id() (not a parameter), the search uses idx_products_search.
CREATE FUNCTION search_seller_products(p_query text, p_limit integer)
RETURNS TABLE (id uuid, name text, price numeric, rank real)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT p.id, p.name, p.price, ts_rank(public.product_search_document(p.name, p.description), q) AS rank
  FROM public.products AS p, websearch_to_tsquery('public.portuguese_unaccent', p_query) AS q
  WHERE p.user_id = public.app_user_id() AND p.deleted_at IS NULL
    AND public.product_search_document(p.name, p.description) @@ q
  ORDER BY rank DESC, p.id
  LIMIT p_limit
$$;

ALTER FUNCTION product_search_document(text, text) OWNER TO socialdb_owner;
ALTER FUNCTION search_seller_products(text, integer) OWNER TO socialdb_owner;
REVOKE EXECUTE ON FUNCTION search_seller_products(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION search_seller_products(text, integer) TO socialdb_app;
ALTER TEXT SEARCH CONFIGURATION portuguese_unaccent OWNER TO socialdb_owner;

-- ROLLBACK
DROP FUNCTION search_seller_products(text, integer);
DROP FUNCTION product_search_document(text, text);
DROP TEXT SEARCH CONFIGURATION portuguese_unaccent;
-- The extensions this file made (corrected after it landed, decision 111): those created in
-- this migration's own transaction, the one that inserted its history row. An extension that
-- was there before (a provider's, an administrator's) stays, and so do its dependents.
DO $$
DECLARE
  made text;
BEGIN
  FOR made IN
    SELECT e.extname FROM pg_catalog.pg_extension AS e
    WHERE e.extname IN ('btree_gin', 'unaccent')
      AND e.xmin = (SELECT m.xmin FROM public.migrations AS m WHERE m.version = 20)
    ORDER BY e.extname
  LOOP
    EXECUTE pg_catalog.format('DROP EXTENSION %I', made);
  END LOOP;
END
$$;
