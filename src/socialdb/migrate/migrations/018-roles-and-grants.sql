-- Least-privilege roles (docs/security.md). Roles are cluster-wide: created only where
-- missing, never dropped by a rollback (other databases may use them), and no password
-- is set here. socialdb_owner owns the schema and runs migrations; socialdb_app is the
-- platform's application role: the DML it needs, no DDL, no TRUNCATE, no history table.

DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['socialdb_owner', 'socialdb_app'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'cannot create role %: % may not create roles. Ask an administrator to run: CREATE ROLE socialdb_owner NOLOGIN; CREATE ROLE socialdb_app NOLOGIN; GRANT socialdb_owner TO %; then migrate again', role_name, current_user, current_user;
      END;
    END IF;
  END LOOP;
  -- Handing objects to the owner needs membership in it.
  IF NOT pg_has_role(current_user, 'socialdb_owner', 'MEMBER') THEN
    EXECUTE format('GRANT socialdb_owner TO %I', current_user);
  END IF;
END
$$;

-- Every table, view and function of the schema, the history table included, to the owner.
DO $$
DECLARE
  item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass::text AS name,
           CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END AS kind
    FROM pg_class AS c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'm', 'v')
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO socialdb_owner', item.kind, item.name);
  END LOOP;
  FOR item IN SELECT p.oid::regprocedure::text AS name FROM pg_proc AS p WHERE p.pronamespace = 'public'::regnamespace LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO socialdb_owner', item.name);
  END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO socialdb_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
  users, refresh_tokens, client_accounts, oauth_tokens, products, product_links, conversations,
  messages, message_products, analytics_events, instagram_media, notifications
TO socialdb_app;
REVOKE ALL ON migrations FROM PUBLIC;

-- ROLLBACK
REVOKE SELECT, INSERT, UPDATE, DELETE ON
  users, refresh_tokens, client_accounts, oauth_tokens, products, product_links, conversations,
  messages, message_products, analytics_events, instagram_media, notifications
FROM socialdb_app;
REVOKE USAGE ON SCHEMA public FROM socialdb_app;
DO $$
DECLARE
  item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass::text AS name,
           CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END AS kind
    FROM pg_class AS c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'm', 'v')
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', item.kind, item.name, current_user);
  END LOOP;
  -- An extension's functions (020's btree_gin, which its rollback leaves) are not the schema's.
  FOR item IN
    SELECT p.oid::regprocedure::text AS name FROM pg_proc AS p
    WHERE p.pronamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO %I', item.name, current_user);
  END LOOP;
END
$$;
