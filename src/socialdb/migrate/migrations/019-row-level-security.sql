-- Row-level security per seller (docs/security.md). socialdb_app sees and writes only the
-- rows of the seller set in its transaction (SET LOCAL app.user_id, see socialdb.tenant);
-- with none set it sees nothing. FORCE applies the policies to the owner as well, who gets
-- an explicit all-rows policy for maintenance (and for refreshing the daily summary).
-- Superusers bypass RLS, as always: the application must never connect as one.

-- A seller's own user row.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_seller ON users TO socialdb_app
  USING (id = app_user_id()) WITH CHECK (id = app_user_id());
CREATE POLICY users_owner ON users TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_seller ON refresh_tokens TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY refresh_tokens_owner ON refresh_tokens TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE client_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE client_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY client_accounts_seller ON client_accounts TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY client_accounts_owner ON client_accounts TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE oauth_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE oauth_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY oauth_tokens_seller ON oauth_tokens TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY oauth_tokens_owner ON oauth_tokens TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE products ENABLE ROW LEVEL SECURITY;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
CREATE POLICY products_seller ON products TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY products_owner ON products TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE product_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE product_links FORCE ROW LEVEL SECURITY;
CREATE POLICY product_links_seller ON product_links TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY product_links_owner ON product_links TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversations FORCE ROW LEVEL SECURITY;
CREATE POLICY conversations_seller ON conversations TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY conversations_owner ON conversations TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
CREATE POLICY messages_seller ON messages TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY messages_owner ON messages TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE message_products ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_products FORCE ROW LEVEL SECURITY;
CREATE POLICY message_products_seller ON message_products TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY message_products_owner ON message_products TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE analytics_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_events FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_events_seller ON analytics_events TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY analytics_events_owner ON analytics_events TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE instagram_media ENABLE ROW LEVEL SECURITY;
ALTER TABLE instagram_media FORCE ROW LEVEL SECURITY;
CREATE POLICY instagram_media_seller ON instagram_media TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY instagram_media_owner ON instagram_media TO socialdb_owner USING (true) WITH CHECK (true);

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY notifications_seller ON notifications TO socialdb_app
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY notifications_owner ON notifications TO socialdb_owner USING (true) WITH CHECK (true);

-- RLS does not apply to materialized views: the application reads the summary through
-- this view, which runs as its owner and keeps only the current seller's rows.
CREATE VIEW seller_daily_summary WITH (security_barrier) AS
SELECT user_id, client_account_id, date, event_category, event_type, event_count, total_value, avg_value
FROM analytics_daily_summary
WHERE user_id = app_user_id();

ALTER VIEW seller_daily_summary OWNER TO socialdb_owner;
GRANT SELECT ON seller_daily_summary TO socialdb_app;

-- Sign-in looks a user up by email before any seller is set: this narrow path returns one
-- live user's credentials and nothing else, instead of opening the users table.
CREATE FUNCTION auth_user_by_email(p_email text)
RETURNS TABLE (id uuid, password_hash text, email_verified boolean)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT u.id, u.password_hash, u.email_verified
  FROM public.users AS u
  WHERE lower(u.email) = lower(p_email) AND u.deleted_at IS NULL
$$;

ALTER FUNCTION auth_user_by_email(text) OWNER TO socialdb_owner;
REVOKE EXECUTE ON FUNCTION auth_user_by_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text) TO socialdb_app;

-- The refresh runs as the view's owner, whose policy sees every seller's events.
ALTER FUNCTION refresh_analytics_daily_summary() SECURITY DEFINER;
ALTER FUNCTION refresh_analytics_daily_summary() SET search_path = pg_catalog, public;
REVOKE EXECUTE ON FUNCTION refresh_analytics_daily_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refresh_analytics_daily_summary() TO socialdb_app;

-- ROLLBACK
-- Corrected after it landed (decision 123): socialdb_app's EXECUTE goes too, as before 019.
REVOKE EXECUTE ON FUNCTION refresh_analytics_daily_summary() FROM socialdb_app;
GRANT EXECUTE ON FUNCTION refresh_analytics_daily_summary() TO PUBLIC;
ALTER FUNCTION refresh_analytics_daily_summary() RESET search_path;
ALTER FUNCTION refresh_analytics_daily_summary() SECURITY INVOKER;
DROP FUNCTION auth_user_by_email(text);
DROP VIEW seller_daily_summary;
DROP POLICY notifications_owner ON notifications;
DROP POLICY notifications_seller ON notifications;
ALTER TABLE notifications NO FORCE ROW LEVEL SECURITY;
ALTER TABLE notifications DISABLE ROW LEVEL SECURITY;
DROP POLICY instagram_media_owner ON instagram_media;
DROP POLICY instagram_media_seller ON instagram_media;
ALTER TABLE instagram_media NO FORCE ROW LEVEL SECURITY;
ALTER TABLE instagram_media DISABLE ROW LEVEL SECURITY;
DROP POLICY analytics_events_owner ON analytics_events;
DROP POLICY analytics_events_seller ON analytics_events;
ALTER TABLE analytics_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE analytics_events DISABLE ROW LEVEL SECURITY;
DROP POLICY message_products_owner ON message_products;
DROP POLICY message_products_seller ON message_products;
ALTER TABLE message_products NO FORCE ROW LEVEL SECURITY;
ALTER TABLE message_products DISABLE ROW LEVEL SECURITY;
DROP POLICY messages_owner ON messages;
DROP POLICY messages_seller ON messages;
ALTER TABLE messages NO FORCE ROW LEVEL SECURITY;
ALTER TABLE messages DISABLE ROW LEVEL SECURITY;
DROP POLICY conversations_owner ON conversations;
DROP POLICY conversations_seller ON conversations;
ALTER TABLE conversations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE conversations DISABLE ROW LEVEL SECURITY;
DROP POLICY product_links_owner ON product_links;
DROP POLICY product_links_seller ON product_links;
ALTER TABLE product_links NO FORCE ROW LEVEL SECURITY;
ALTER TABLE product_links DISABLE ROW LEVEL SECURITY;
DROP POLICY products_owner ON products;
DROP POLICY products_seller ON products;
ALTER TABLE products NO FORCE ROW LEVEL SECURITY;
ALTER TABLE products DISABLE ROW LEVEL SECURITY;
DROP POLICY oauth_tokens_owner ON oauth_tokens;
DROP POLICY oauth_tokens_seller ON oauth_tokens;
ALTER TABLE oauth_tokens NO FORCE ROW LEVEL SECURITY;
ALTER TABLE oauth_tokens DISABLE ROW LEVEL SECURITY;
DROP POLICY client_accounts_owner ON client_accounts;
DROP POLICY client_accounts_seller ON client_accounts;
ALTER TABLE client_accounts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE client_accounts DISABLE ROW LEVEL SECURITY;
DROP POLICY refresh_tokens_owner ON refresh_tokens;
DROP POLICY refresh_tokens_seller ON refresh_tokens;
ALTER TABLE refresh_tokens NO FORCE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens DISABLE ROW LEVEL SECURITY;
DROP POLICY users_owner ON users;
DROP POLICY users_seller ON users;
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;
