-- The seller fills itself in everywhere, and a webhook finds its seller (issue 22,
-- decision 118). docs/security.md said every user_id defaults to the current seller, but
-- 014 gave the default only to the tables it added the column to: inserting an account,
-- a product, a notification or a token under a seller scope failed on row-level security
-- (a NULL user_id) unless the caller repeated the seller. Now it defaults as elsewhere.
-- A webhook arrives with (platform, platform account id) and no seller; under row-level
-- security the application cannot look the account up itself. route_platform_account
-- returns only the seller's and the account's ids of the live connection, as
-- auth_user_by_email does for sign-in: a SECURITY DEFINER function of the owner, with a
-- pinned search_path (pg_temp last) and every name qualified.
-- Supersedes: nothing.
-- Locks: ACCESS EXCLUSIVE on client_accounts, products, notifications and oauth_tokens in
-- turn, for a catalog change only (a default scans nothing), held to the commit.

ALTER TABLE client_accounts ALTER COLUMN user_id SET DEFAULT app_user_id();
ALTER TABLE products ALTER COLUMN user_id SET DEFAULT app_user_id();
ALTER TABLE notifications ALTER COLUMN user_id SET DEFAULT app_user_id();
ALTER TABLE oauth_tokens ALTER COLUMN user_id SET DEFAULT app_user_id();

CREATE FUNCTION route_platform_account(p_platform text, p_platform_account_id text)
RETURNS TABLE (user_id uuid, client_account_id uuid)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT a.user_id, a.id
  FROM public.client_accounts AS a
  WHERE a.platform = p_platform AND a.platform_account_id = p_platform_account_id AND a.deleted_at IS NULL
$$;

ALTER FUNCTION route_platform_account(text, text) OWNER TO socialdb_owner;
REVOKE EXECUTE ON FUNCTION route_platform_account(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION route_platform_account(text, text) TO socialdb_app;
COMMENT ON FUNCTION route_platform_account(text, text) IS 'Webhooks: the seller and account ids of a live connection of (platform, platform account id), before any seller is set (SECURITY DEFINER).';

-- ROLLBACK
DROP FUNCTION route_platform_account(text, text);
ALTER TABLE oauth_tokens ALTER COLUMN user_id DROP DEFAULT;
ALTER TABLE notifications ALTER COLUMN user_id DROP DEFAULT;
ALTER TABLE products ALTER COLUMN user_id DROP DEFAULT;
ALTER TABLE client_accounts ALTER COLUMN user_id DROP DEFAULT;
