-- Step 1 of 3 (issue 26, item 2; decision 220): the three rules that span sellers get a
-- table of their own, kept by the database. A Citus shard can only enforce a unique key that
-- holds the distribution column (user_id), so a rule across sellers cannot stay a unique
-- index of a distributed table (docs/scaling.md, the exceptions table). Each rule moves to a
-- lookup table whose primary key is the rule itself, and which becomes a reference table on
-- Citus (a copy on every node, `socialdb citus distribute`):
--   user_emails (email_key = lower(email)) - one live user per email, whatever its case;
--   platform_accounts (platform, platform_account_id) - one live connection of an account;
--   short_links (short_link) - one link per short code.
-- Who writes them: an AFTER ROW trigger on the parent table (users, client_accounts,
-- product_links), SECURITY DEFINER of socialdb_owner, in the transaction of the write. So
-- every writer keeps the rule, whatever statement it sends (the library's, a hand-written
-- one, a seed): the application role has no privilege on the lookup tables and cannot
-- disable a trigger (it owns no table, and session_replication_role is a superuser's). Two
-- sign-ups, connections or links of the same key at once: the second insert into the
-- lookup's primary key waits for the first transaction, and fails with 23505 if it commits
-- (the library's AccountTakenError for a connection), as the old unique index did.
-- The old unique indexes stay until 056: this migration only adds. 055 fills the lookups
-- with the rows written before it, in batches.
-- Locks: SHARE ROW EXCLUSIVE on users, client_accounts and product_links in turn (what
-- CREATE TRIGGER takes), held to the commit: their writers wait for a catalog change, their
-- readers do not. The new tables are empty.

CREATE TABLE user_emails (
  email_key text PRIMARY KEY,
  user_id uuid NOT NULL
);
CREATE TABLE platform_accounts (
  platform text NOT NULL,
  platform_account_id text NOT NULL,
  user_id uuid NOT NULL,
  client_account_id uuid NOT NULL,
  PRIMARY KEY (platform, platform_account_id)
);
CREATE TABLE short_links (
  short_link text PRIMARY KEY,
  user_id uuid NOT NULL,
  product_link_id uuid NOT NULL
);
ALTER TABLE user_emails OWNER TO socialdb_owner;
ALTER TABLE platform_accounts OWNER TO socialdb_owner;
ALTER TABLE short_links OWNER TO socialdb_owner;
-- Nobody but the owner (its trigger functions and SECURITY DEFINER lookups) reads or writes them.
REVOKE ALL ON user_emails, platform_accounts, short_links FROM PUBLIC;
COMMENT ON TABLE user_emails IS 'One row per live user: lower(email) is unique across sellers (migration 054). Kept by the trigger users_keep_user_emails; a reference table on Citus.';
COMMENT ON TABLE platform_accounts IS 'One row per live connected account: (platform, platform_account_id) is connected by one seller at most (migration 054). Kept by client_accounts_keep_platform_accounts; read by route_platform_account; a reference table on Citus.';
COMMENT ON TABLE short_links IS 'One row per product link with a short code: a short code is used once across sellers (migration 054). Kept by product_links_keep_short_links; a reference table on Citus.';
COMMENT ON COLUMN user_emails.email_key IS 'lower(email) of a live user: the key that makes an email one user''s across sellers.';
COMMENT ON COLUMN user_emails.user_id IS 'The live user (users.id) that holds the email.';
COMMENT ON COLUMN platform_accounts.platform IS 'The platform of the connected account (client_accounts.platform).';
COMMENT ON COLUMN platform_accounts.platform_account_id IS 'The account''s id on its platform (client_accounts.platform_account_id).';
COMMENT ON COLUMN platform_accounts.user_id IS 'The seller whose live connection this is: where the platform''s webhooks route.';
COMMENT ON COLUMN platform_accounts.client_account_id IS 'The live client_accounts row of that seller.';
COMMENT ON COLUMN short_links.short_link IS 'The short code (product_links.short_link), used once across sellers.';
COMMENT ON COLUMN short_links.user_id IS 'The seller whose product link holds the code.';
COMMENT ON COLUMN short_links.product_link_id IS 'The product_links row that holds the code.';

CREATE FUNCTION keep_user_emails()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL THEN
    DELETE FROM public.user_emails AS e WHERE e.email_key = pg_catalog.lower(OLD.email) AND e.user_id = OLD.id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
    INSERT INTO public.user_emails (email_key, user_id) VALUES (pg_catalog.lower(NEW.email), NEW.id);
  END IF;
  RETURN NULL;
END;
$$;

CREATE FUNCTION keep_platform_accounts()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL THEN
    DELETE FROM public.platform_accounts AS p
    WHERE p.platform = OLD.platform AND p.platform_account_id = OLD.platform_account_id
      AND p.client_account_id = OLD.id AND p.user_id = OLD.user_id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
    INSERT INTO public.platform_accounts (platform, platform_account_id, user_id, client_account_id)
    VALUES (NEW.platform, NEW.platform_account_id, NEW.user_id, NEW.id);
  END IF;
  RETURN NULL;
END;
$$;

CREATE FUNCTION keep_short_links()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.short_link IS NOT NULL THEN
    DELETE FROM public.short_links AS s
    WHERE s.short_link = OLD.short_link AND s.product_link_id = OLD.id AND s.user_id = OLD.user_id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.short_link IS NOT NULL THEN
    INSERT INTO public.short_links (short_link, user_id, product_link_id) VALUES (NEW.short_link, NEW.user_id, NEW.id);
  END IF;
  RETURN NULL;
END;
$$;

ALTER FUNCTION keep_user_emails() OWNER TO socialdb_owner;
ALTER FUNCTION keep_platform_accounts() OWNER TO socialdb_owner;
ALTER FUNCTION keep_short_links() OWNER TO socialdb_owner;
-- A trigger needs no EXECUTE to fire; nobody may call them.
REVOKE EXECUTE ON FUNCTION keep_user_emails(), keep_platform_accounts(), keep_short_links() FROM PUBLIC;
COMMENT ON FUNCTION keep_user_emails() IS 'Trigger of users (migration 054): keeps user_emails, one row per live user (SECURITY DEFINER).';
COMMENT ON FUNCTION keep_platform_accounts() IS 'Trigger of client_accounts (migration 054): keeps platform_accounts, one row per live connection (SECURITY DEFINER).';
COMMENT ON FUNCTION keep_short_links() IS 'Trigger of product_links (migration 054): keeps short_links, one row per short code (SECURITY DEFINER).';

-- An update fires the function only when what the lookup holds changes: the other updates of
-- these tables (a link's clicks, an account's sync time, a user's profile) fire nothing.
CREATE TRIGGER users_keep_user_emails
  AFTER INSERT OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION keep_user_emails();
CREATE TRIGGER users_keep_user_emails_on_update
  AFTER UPDATE OF email, deleted_at, id ON users
  FOR EACH ROW
  WHEN (pg_catalog.lower(OLD.email) IS DISTINCT FROM pg_catalog.lower(NEW.email)
        OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) OR OLD.id <> NEW.id)
  EXECUTE FUNCTION keep_user_emails();

CREATE TRIGGER client_accounts_keep_platform_accounts
  AFTER INSERT OR DELETE ON client_accounts
  FOR EACH ROW EXECUTE FUNCTION keep_platform_accounts();
CREATE TRIGGER client_accounts_keep_platform_accounts_on_update
  AFTER UPDATE OF platform, platform_account_id, deleted_at, id, user_id ON client_accounts
  FOR EACH ROW
  WHEN (OLD.platform IS DISTINCT FROM NEW.platform OR OLD.platform_account_id IS DISTINCT FROM NEW.platform_account_id
        OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) OR OLD.id <> NEW.id OR OLD.user_id <> NEW.user_id)
  EXECUTE FUNCTION keep_platform_accounts();

CREATE TRIGGER product_links_keep_short_links
  AFTER INSERT OR DELETE ON product_links
  FOR EACH ROW EXECUTE FUNCTION keep_short_links();
CREATE TRIGGER product_links_keep_short_links_on_update
  AFTER UPDATE OF short_link, id, user_id ON product_links
  FOR EACH ROW
  WHEN (OLD.short_link IS DISTINCT FROM NEW.short_link OR OLD.id <> NEW.id OR OLD.user_id <> NEW.user_id)
  EXECUTE FUNCTION keep_short_links();

-- ROLLBACK
DROP TRIGGER product_links_keep_short_links_on_update ON product_links;
DROP TRIGGER product_links_keep_short_links ON product_links;
DROP TRIGGER client_accounts_keep_platform_accounts_on_update ON client_accounts;
DROP TRIGGER client_accounts_keep_platform_accounts ON client_accounts;
DROP TRIGGER users_keep_user_emails_on_update ON users;
DROP TRIGGER users_keep_user_emails ON users;
DROP FUNCTION keep_short_links();
DROP FUNCTION keep_platform_accounts();
DROP FUNCTION keep_user_emails();
DROP TABLE short_links;
DROP TABLE platform_accounts;
DROP TABLE user_emails;
