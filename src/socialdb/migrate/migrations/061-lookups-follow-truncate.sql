-- A TRUNCATE of users, client_accounts or product_links empties its lookup too (decision 274).
-- 054's row triggers keep user_emails, platform_accounts and short_links, but a TRUNCATE fires
-- no row trigger: the lookups kept every key, so on one server a later sign-up, connection or
-- link with a key that had been truncated away was refused as taken (23505) for ever.
-- Only the tables' owner and its members may TRUNCATE them (the application may not), and
-- they own the lookups: the function runs as the invoker, as 058's forget_analytics_summary,
-- so that on Citus the lookups are written over the truncating role's own connections.
-- On Citus the coordinator's table fires it, where a reference table may be written. A table
-- distributed after 061 has copies on its shards, which fire for the shard (TG_RELID is the
-- shard's, not public.users) and do nothing; created on a table already distributed it stays
-- on the coordinator's alone. Creating a trigger on a distributed table takes
-- citus.enable_unsafe_triggers (a placeholder, unused, on one server).
-- Locks: SHARE ROW EXCLUSIVE on users, client_accounts and product_links in turn (CREATE
-- TRIGGER), held to the commit: their writers wait for a catalog change, their readers do not.

SET LOCAL citus.enable_unsafe_triggers = on;

CREATE FUNCTION forget_truncated_lookups()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_RELID = pg_catalog.to_regclass('public.users') THEN
    DELETE FROM public.user_emails;
  ELSIF TG_RELID = pg_catalog.to_regclass('public.client_accounts') THEN
    DELETE FROM public.platform_accounts;
  ELSIF TG_RELID = pg_catalog.to_regclass('public.product_links') THEN
    DELETE FROM public.short_links;
  END IF;
  RETURN NULL;
END;
$$;
ALTER FUNCTION forget_truncated_lookups() OWNER TO socialdb_owner;
REVOKE EXECUTE ON FUNCTION forget_truncated_lookups() FROM PUBLIC;
COMMENT ON FUNCTION forget_truncated_lookups() IS 'Trigger on TRUNCATE of users, client_accounts and product_links: empties the lookup that table keeps (user_emails, platform_accounts, short_links), as the role that truncates (migration 061).';

CREATE TRIGGER users_truncated_lookups AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION forget_truncated_lookups();
CREATE TRIGGER client_accounts_truncated_lookups AFTER TRUNCATE ON client_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION forget_truncated_lookups();
CREATE TRIGGER product_links_truncated_lookups AFTER TRUNCATE ON product_links
  FOR EACH STATEMENT EXECUTE FUNCTION forget_truncated_lookups();

-- ROLLBACK
-- The function with its three triggers (CASCADE: on Citus, a table distributed after 061 also has
-- copies of them on its shards, which a DROP TRIGGER on the coordinator does not reach; nothing
-- else depends on the function). ACCESS EXCLUSIVE on the three tables, as DROP TRIGGER.
SET LOCAL citus.enable_unsafe_triggers = on;
DROP FUNCTION forget_truncated_lookups() CASCADE;
