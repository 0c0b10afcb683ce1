-- A comment on every table, view, column and function of the schema, and on the text
-- search configuration, so that the generated docs (docs/schema, `socialdb schema docs`)
-- explain the schema from the catalog. Decision 60. No object had a comment before this
-- migration (the runner's history table keeps its own, untouched); the rollback sets
-- each one back to none.
-- Supersedes: nothing.
-- Locks: COMMENT ON takes SHARE UPDATE EXCLUSIVE on each table and view until the commit
-- (milliseconds): reads and writes go on; VACUUM, ANALYZE, other DDL and the summary's
-- refresh wait for it, and it waits for them (lock_timeout, then retried).

COMMENT ON TABLE users IS 'Sellers: one row per account of the platform, the tenant every other table belongs to. Soft-deleted by deleted_at; a live email is unique whatever its case.';
COMMENT ON COLUMN users.id IS 'The seller''s id; every tenant table''s user_id points here (and app.user_id names it).';
COMMENT ON COLUMN users.email IS 'Sign-in email, at most 255 characters; unique among live users case-insensitively (idx_users_email).';
COMMENT ON COLUMN users.password_hash IS 'Password hash made by the application (argon2id in the seed); never a plain password.';
COMMENT ON COLUMN users.name IS 'Display name, 1 to 255 characters.';
COMMENT ON COLUMN users.timezone IS 'IANA time zone the seller sees dates in, e.g. America/Sao_Paulo.';
COMMENT ON COLUMN users.language IS 'Interface language as a BCP 47 tag, e.g. pt-BR.';
COMMENT ON COLUMN users.subscription_tier IS 'Plan: free, basic, pro or enterprise.';
COMMENT ON COLUMN users.email_verified IS 'True once the seller confirmed the email address.';
COMMENT ON COLUMN users.email_verification_token IS 'Token of the pending email confirmation, if any.';
COMMENT ON COLUMN users.password_reset_token IS 'Token of the pending password reset, if any.';
COMMENT ON COLUMN users.password_reset_expires IS 'When password_reset_token stops being accepted.';
COMMENT ON COLUMN users.last_login_at IS 'Time of the last successful sign-in.';
COMMENT ON COLUMN users.last_login_ip IS 'Client address of the last successful sign-in.';
COMMENT ON COLUMN users.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN users.updated_at IS 'When the row last changed (set by the update_users_updated_at trigger).';
COMMENT ON COLUMN users.deleted_at IS 'When the seller was soft-deleted; NULL while the account is live.';

COMMENT ON TABLE refresh_tokens IS 'Sign-in sessions: hashes of the refresh tokens issued to a seller.';
COMMENT ON COLUMN refresh_tokens.id IS 'Row id.';
COMMENT ON COLUMN refresh_tokens.user_id IS 'The seller the session belongs to.';
COMMENT ON COLUMN refresh_tokens.token_hash IS 'Hash of the refresh token (never the token itself); unique among tokens not revoked.';
COMMENT ON COLUMN refresh_tokens.expires_at IS 'When the token stops being accepted.';
COMMENT ON COLUMN refresh_tokens.created_at IS 'When the token was issued.';
COMMENT ON COLUMN refresh_tokens.revoked_at IS 'When the token was revoked (sign-out, rotation); NULL while usable.';

COMMENT ON TABLE client_accounts IS 'Instagram and WhatsApp accounts a seller connected to the platform. Soft-deleted by deleted_at; a platform account is connected to one live row at most.';
COMMENT ON COLUMN client_accounts.id IS 'Row id; never the nil UUID, which stands for no account in analytics_daily_summary.';
COMMENT ON COLUMN client_accounts.user_id IS 'The seller who connected the account.';
COMMENT ON COLUMN client_accounts.platform IS 'instagram or whatsapp.';
COMMENT ON COLUMN client_accounts.platform_account_id IS 'The account''s id on its platform.';
COMMENT ON COLUMN client_accounts.username IS 'The account''s handle on its platform.';
COMMENT ON COLUMN client_accounts.profile_picture_url IS 'URL of the account''s profile picture, as last synced.';
COMMENT ON COLUMN client_accounts.follower_count IS 'Followers, as last synced.';
COMMENT ON COLUMN client_accounts.following_count IS 'Accounts followed, as last synced.';
COMMENT ON COLUMN client_accounts.media_count IS 'Published posts, as last synced.';
COMMENT ON COLUMN client_accounts.status IS 'Connection state: active, token_expired, token_revoked, disconnected or error.';
COMMENT ON COLUMN client_accounts.metadata IS 'Platform details as a JSON object.';
COMMENT ON COLUMN client_accounts.last_sync_at IS 'When the account''s profile and counters were last synced from the platform.';
COMMENT ON COLUMN client_accounts.created_at IS 'When the account was connected.';
COMMENT ON COLUMN client_accounts.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN client_accounts.deleted_at IS 'When the account was disconnected for good (soft delete); NULL while connected.';

COMMENT ON TABLE oauth_tokens IS 'OAuth access tokens of connected accounts, encrypted by the application (docs/security.md); one live token per account.';
COMMENT ON COLUMN oauth_tokens.id IS 'Row id, chosen by the application before the insert: the ciphertext is bound to it.';
COMMENT ON COLUMN oauth_tokens.user_id IS 'The seller the account belongs to.';
COMMENT ON COLUMN oauth_tokens.client_account_id IS 'The connected account the token acts for.';
COMMENT ON COLUMN oauth_tokens.platform IS 'instagram or whatsapp.';
COMMENT ON COLUMN oauth_tokens.access_token IS 'The token encrypted with AES-256-GCM by socialdb.app.tokens: v2.<key id>.<base64url(nonce and ciphertext)>; never a plaintext.';
COMMENT ON COLUMN oauth_tokens.token_type IS 'OAuth token type, e.g. Bearer.';
COMMENT ON COLUMN oauth_tokens.expires_at IS 'When the platform stops accepting the token.';
COMMENT ON COLUMN oauth_tokens.scopes IS 'OAuth scopes the token was granted.';
COMMENT ON COLUMN oauth_tokens.created_at IS 'When the token was stored.';
COMMENT ON COLUMN oauth_tokens.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN oauth_tokens.revoked_at IS 'When the token was revoked or replaced; NULL while live.';

COMMENT ON TABLE products IS 'A seller''s catalogue. Soft-deleted by deleted_at; searched in Portuguese, accents ignored, through search_seller_products().';
COMMENT ON COLUMN products.id IS 'Row id.';
COMMENT ON COLUMN products.user_id IS 'The seller who sells it.';
COMMENT ON COLUMN products.name IS 'Product name, 1 to 255 characters; weighs most in search.';
COMMENT ON COLUMN products.description IS 'Free-text description; searched after the name.';
COMMENT ON COLUMN products.price IS 'Unit price in currency, at least 0; NULL when not priced.';
COMMENT ON COLUMN products.currency IS 'ISO 4217 code of price, e.g. BRL.';
COMMENT ON COLUMN products.category IS 'Seller-defined category, at most 100 characters.';
COMMENT ON COLUMN products.tags IS 'Seller-defined tags (GIN index idx_products_tags).';
COMMENT ON COLUMN products.images IS 'Image URLs and details as a JSON array.';
COMMENT ON COLUMN products.stock_quantity IS 'Units in stock, at least 0; NULL when not tracked.';
COMMENT ON COLUMN products.sku IS 'Seller''s stock-keeping unit code, at most 100 characters.';
COMMENT ON COLUMN products.is_available IS 'False hides the product from sale without deleting it.';
COMMENT ON COLUMN products.metadata IS 'Further details as a JSON object.';
COMMENT ON COLUMN products.created_at IS 'When the product was created.';
COMMENT ON COLUMN products.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN products.deleted_at IS 'When the product was soft-deleted; NULL while listed.';

COMMENT ON TABLE product_links IS 'Trackable links from a post or a message to a product, with their clicks, conversions and revenue.';
COMMENT ON COLUMN product_links.id IS 'Row id.';
COMMENT ON COLUMN product_links.product_id IS 'The product the link leads to.';
COMMENT ON COLUMN product_links.client_account_id IS 'The connected account that published the link.';
COMMENT ON COLUMN product_links.instagram_media_id IS 'The Instagram post the link belongs to (platform media id), if any.';
COMMENT ON COLUMN product_links.short_link IS 'The short URL, unique across all sellers.';
COMMENT ON COLUMN product_links.clicks IS 'Times the link was followed.';
COMMENT ON COLUMN product_links.conversions IS 'Sales attributed to the link.';
COMMENT ON COLUMN product_links.revenue IS 'Revenue attributed to the link, in the product''s currency.';
COMMENT ON COLUMN product_links.is_active IS 'False stops the link from counting.';
COMMENT ON COLUMN product_links.created_at IS 'When the link was created.';
COMMENT ON COLUMN product_links.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN product_links.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';

COMMENT ON TABLE conversations IS 'Direct-message threads between a connected account and a customer; the inbox lists the open ones, most recent first.';
COMMENT ON COLUMN conversations.id IS 'Row id.';
COMMENT ON COLUMN conversations.client_account_id IS 'The connected account the customer writes to.';
COMMENT ON COLUMN conversations.platform_conversation_id IS 'The thread''s id on the platform; unique per account.';
COMMENT ON COLUMN conversations.participant_platform_id IS 'The customer''s id on the platform.';
COMMENT ON COLUMN conversations.participant_username IS 'The customer''s handle, as last seen.';
COMMENT ON COLUMN conversations.participant_profile_pic IS 'URL of the customer''s profile picture, as last seen.';
COMMENT ON COLUMN conversations.last_message_at IS 'sent_at of the newest message, kept by the message triggers.';
COMMENT ON COLUMN conversations.unread_count IS 'The customer''s unread messages, kept exact by the message triggers.';
COMMENT ON COLUMN conversations.status IS 'open, closed or archived; the inbox shows open threads.';
COMMENT ON COLUMN conversations.metadata IS 'Platform details as a JSON object.';
COMMENT ON COLUMN conversations.created_at IS 'When the thread was first seen.';
COMMENT ON COLUMN conversations.updated_at IS 'When the row last changed (set by a trigger).';
COMMENT ON COLUMN conversations.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';

COMMENT ON TABLE messages IS 'Messages of a conversation, from the seller or the customer; inserting, reading and deleting them keeps the conversation''s counters.';
COMMENT ON COLUMN messages.id IS 'Row id.';
COMMENT ON COLUMN messages.conversation_id IS 'The thread the message belongs to.';
COMMENT ON COLUMN messages.platform_message_id IS 'The message''s id on the platform, unique: a redelivered webhook inserts nothing.';
COMMENT ON COLUMN messages.sender_type IS 'user (the seller) or customer.';
COMMENT ON COLUMN messages.sender_platform_id IS 'The sender''s id on the platform.';
COMMENT ON COLUMN messages.message_type IS 'text, image, video, audio, story_mention or story_reply.';
COMMENT ON COLUMN messages.content IS 'The text of the message; searched in Portuguese for text messages.';
COMMENT ON COLUMN messages.media_url IS 'URL of the attached media, if any.';
COMMENT ON COLUMN messages.media_type IS 'MIME or platform type of the attached media, at most 50 characters.';
COMMENT ON COLUMN messages.is_read IS 'True once the seller read it; only the customer''s unread messages count in unread_count.';
COMMENT ON COLUMN messages.sent_at IS 'When the message was sent, by the platform''s clock.';
COMMENT ON COLUMN messages.delivered_at IS 'When the platform reported it delivered.';
COMMENT ON COLUMN messages.read_at IS 'When it was read.';
COMMENT ON COLUMN messages.metadata IS 'Platform details as a JSON object.';
COMMENT ON COLUMN messages.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN messages.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';

COMMENT ON TABLE message_products IS 'Products mentioned in a message: one row per message and product.';
COMMENT ON COLUMN message_products.id IS 'Row id.';
COMMENT ON COLUMN message_products.message_id IS 'The message.';
COMMENT ON COLUMN message_products.product_id IS 'The product it mentions.';
COMMENT ON COLUMN message_products.created_at IS 'When the mention was recorded.';
COMMENT ON COLUMN message_products.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';

COMMENT ON TABLE analytics_events IS 'Analytics events of a seller (engagement, sales, messages, content); append-mostly. Every write notes its (seller, day) in analytics_summary_changes for the daily summary.';
COMMENT ON COLUMN analytics_events.id IS 'Row id.';
COMMENT ON COLUMN analytics_events.user_id IS 'The seller the event belongs to.';
COMMENT ON COLUMN analytics_events.client_account_id IS 'The connected account concerned, if any.';
COMMENT ON COLUMN analytics_events.event_type IS 'What happened, e.g. link_click, 1 to 100 characters.';
COMMENT ON COLUMN analytics_events.event_category IS 'engagement, sales, message or content.';
COMMENT ON COLUMN analytics_events.entity_type IS 'Kind of entity concerned: product, message, conversation or post.';
COMMENT ON COLUMN analytics_events.entity_id IS 'Id of the entity concerned.';
COMMENT ON COLUMN analytics_events.value IS 'Amount carried by the event (a sale''s value), if any.';
COMMENT ON COLUMN analytics_events.metadata IS 'Event details as a JSON object.';
COMMENT ON COLUMN analytics_events.occurred_at IS 'When the event happened; from 2000-01-01 to before 2200-01-01 UTC (migrations 028, 029).';
COMMENT ON COLUMN analytics_events.created_at IS 'When the row was inserted.';

COMMENT ON TABLE analytics_daily_summary IS 'Daily totals of analytics_events per seller, account, UTC day, category and event type; kept by refresh_analytics_daily_summary() (socialdb summary refresh). Sellers may read their rows, never write them.';
COMMENT ON COLUMN analytics_daily_summary.user_id IS 'The seller.';
COMMENT ON COLUMN analytics_daily_summary.client_account_id IS 'The connected account, NULL for events without one.';
COMMENT ON COLUMN analytics_daily_summary.client_account_key IS 'client_account_id, or the nil UUID for events without an account: the key has no NULL.';
COMMENT ON COLUMN analytics_daily_summary.date IS 'The day, in UTC.';
COMMENT ON COLUMN analytics_daily_summary.event_category IS 'The events'' category.';
COMMENT ON COLUMN analytics_daily_summary.event_type IS 'The events'' type.';
COMMENT ON COLUMN analytics_daily_summary.event_count IS 'Number of events.';
COMMENT ON COLUMN analytics_daily_summary.total_value IS 'Sum of the events'' value; NULL when none has one.';
COMMENT ON COLUMN analytics_daily_summary.avg_value IS 'Average of the events'' value; NULL when none has one.';

COMMENT ON TABLE analytics_daily_rollup IS 'The dashboard''s grain: daily totals per seller, UTC day and category, summed over accounts and event types; kept by the same refresh as analytics_daily_summary.';
COMMENT ON COLUMN analytics_daily_rollup.user_id IS 'The seller.';
COMMENT ON COLUMN analytics_daily_rollup.date IS 'The day, in UTC.';
COMMENT ON COLUMN analytics_daily_rollup.event_category IS 'The events'' category.';
COMMENT ON COLUMN analytics_daily_rollup.event_count IS 'Number of events.';
COMMENT ON COLUMN analytics_daily_rollup.total_value IS 'Sum of the events'' value; NULL when none has one.';

COMMENT ON TABLE analytics_summary_changes IS 'The (seller, day) pairs whose events changed since the last refresh of the daily summary; written by triggers, emptied by the refresh. The owner''s alone.';
COMMENT ON COLUMN analytics_summary_changes.user_id IS 'The seller whose events changed.';
COMMENT ON COLUMN analytics_summary_changes.date IS 'The UTC day of the changed events.';

COMMENT ON TABLE instagram_media IS 'Instagram posts of connected accounts, cached from the platform.';
COMMENT ON COLUMN instagram_media.id IS 'Row id.';
COMMENT ON COLUMN instagram_media.client_account_id IS 'The connected account that published the post.';
COMMENT ON COLUMN instagram_media.platform_media_id IS 'The post''s id on Instagram, unique.';
COMMENT ON COLUMN instagram_media.media_type IS 'IMAGE, VIDEO or CAROUSEL_ALBUM.';
COMMENT ON COLUMN instagram_media.media_url IS 'URL of the media file.';
COMMENT ON COLUMN instagram_media.thumbnail_url IS 'URL of a video''s thumbnail.';
COMMENT ON COLUMN instagram_media.permalink IS 'Public URL of the post.';
COMMENT ON COLUMN instagram_media.caption IS 'The post''s caption.';
COMMENT ON COLUMN instagram_media.like_count IS 'Likes, as last synced.';
COMMENT ON COLUMN instagram_media.comment_count IS 'Comments, as last synced.';
COMMENT ON COLUMN instagram_media."timestamp" IS 'When the post was published on Instagram.';
COMMENT ON COLUMN instagram_media.metadata IS 'Platform details as a JSON object.';
COMMENT ON COLUMN instagram_media.synced_at IS 'When the post was last synced.';
COMMENT ON COLUMN instagram_media.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN instagram_media.user_id IS 'The seller (tenant key, migration 014); defaults to the seller of the transaction.';

COMMENT ON TABLE notifications IS 'In-app notifications for sellers.';
COMMENT ON COLUMN notifications.id IS 'Row id.';
COMMENT ON COLUMN notifications.user_id IS 'The seller notified.';
COMMENT ON COLUMN notifications.type IS 'Kind of notification, 1 to 100 characters.';
COMMENT ON COLUMN notifications.title IS 'Headline, 1 to 255 characters.';
COMMENT ON COLUMN notifications.message IS 'Body text.';
COMMENT ON COLUMN notifications.action_url IS 'Where the notification leads in the app, if anywhere.';
COMMENT ON COLUMN notifications.is_read IS 'True once the seller read it.';
COMMENT ON COLUMN notifications.metadata IS 'Further details as a JSON object.';
COMMENT ON COLUMN notifications.created_at IS 'When the notification was created.';
COMMENT ON COLUMN notifications.read_at IS 'When the seller read it.';

COMMENT ON VIEW seller_daily_summary IS 'The current seller''s rows of analytics_daily_summary (security barrier); kept from migration 019 for existing readers.';
COMMENT ON COLUMN seller_daily_summary.user_id IS 'The seller.';
COMMENT ON COLUMN seller_daily_summary.client_account_id IS 'The connected account, NULL for events without one.';
COMMENT ON COLUMN seller_daily_summary.date IS 'The day, in UTC.';
COMMENT ON COLUMN seller_daily_summary.event_category IS 'The events'' category.';
COMMENT ON COLUMN seller_daily_summary.event_type IS 'The events'' type.';
COMMENT ON COLUMN seller_daily_summary.event_count IS 'Number of events.';
COMMENT ON COLUMN seller_daily_summary.total_value IS 'Sum of the events'' value.';
COMMENT ON COLUMN seller_daily_summary.avg_value IS 'Average of the events'' value.';

COMMENT ON FUNCTION app_user_id() IS 'The seller of the current transaction (the setting app.user_id), or NULL: what every row-level security policy compares user_id with.';
COMMENT ON FUNCTION auth_user_by_email(text) IS 'Sign-in: a live user''s id, password hash and verification flag by email, whatever its case, before any seller is set (SECURITY DEFINER).';
COMMENT ON FUNCTION update_updated_at_column() IS 'Trigger: sets updated_at to now() on every update.';
COMMENT ON FUNCTION increment_unread_count() IS 'Trigger, per statement on inserted messages: adds the customer''s unread ones to unread_count and moves last_message_at forward.';
COMMENT ON FUNCTION decrement_unread_count() IS 'Trigger, per statement on updated messages: moves unread_count by the read and unread flips.';
COMMENT ON FUNCTION forget_deleted_messages() IS 'Trigger, per statement on deleted messages: takes their unread ones off unread_count and moves last_message_at back if the newest went.';
COMMENT ON FUNCTION note_analytics_changes() IS 'Trigger, per statement on analytics_events: notes each changed (seller, UTC day) in analytics_summary_changes (SECURITY DEFINER).';
COMMENT ON FUNCTION forget_analytics_summary() IS 'Trigger on TRUNCATE of analytics_events: empties the summary, the rollup and the change list (SECURITY DEFINER).';
COMMENT ON FUNCTION refresh_analytics_daily_summary() IS 'Recomputes the summary and the rollup for the days noted in analytics_summary_changes, one refresh at a time; for socialdb_maintenance (socialdb summary refresh).';
COMMENT ON FUNCTION rebuild_analytics_daily_summary() IS 'Recomputes the summary and the rollup from every event, for repairs; for socialdb_maintenance (socialdb summary rebuild).';
COMMENT ON FUNCTION product_search_document(text, text) IS 'A product''s search document: name (weight A) and description (weight B) in portuguese_unaccent. Indexed by idx_products_search; queries must use it to match the index.';
COMMENT ON FUNCTION search_seller_products(text, integer) IS 'The current seller''s products matching a web-search style query, best first, at most 200.';
COMMENT ON FUNCTION seller_inbox_page(uuid, uuid, integer, timestamp with time zone, uuid) IS 'Open conversations of an account, most recent first, for the seller given: one page (at most 200), keyset on (last_message_at, id).';
COMMENT ON FUNCTION seller_message_page(uuid, uuid, integer, timestamp with time zone, uuid) IS 'Messages of a conversation, newest first, for the seller given: one page (at most 200), keyset on (sent_at, id).';
COMMENT ON FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamp with time zone) IS 'One webhook message for the seller given: upserts the conversation, inserts the message unless redelivered; true when it was new.';
COMMENT ON FUNCTION seller_limit(text, integer, integer) IS 'A page''s row limit: an error when NULL or below 1, capped at the maximum.';

COMMENT ON TEXT SEARCH CONFIGURATION portuguese_unaccent IS 'Portuguese with accents stripped before stemming: promocao finds promoção.';

-- ROLLBACK

COMMENT ON TABLE users IS NULL;
COMMENT ON COLUMN users.id IS NULL;
COMMENT ON COLUMN users.email IS NULL;
COMMENT ON COLUMN users.password_hash IS NULL;
COMMENT ON COLUMN users.name IS NULL;
COMMENT ON COLUMN users.timezone IS NULL;
COMMENT ON COLUMN users.language IS NULL;
COMMENT ON COLUMN users.subscription_tier IS NULL;
COMMENT ON COLUMN users.email_verified IS NULL;
COMMENT ON COLUMN users.email_verification_token IS NULL;
COMMENT ON COLUMN users.password_reset_token IS NULL;
COMMENT ON COLUMN users.password_reset_expires IS NULL;
COMMENT ON COLUMN users.last_login_at IS NULL;
COMMENT ON COLUMN users.last_login_ip IS NULL;
COMMENT ON COLUMN users.created_at IS NULL;
COMMENT ON COLUMN users.updated_at IS NULL;
COMMENT ON COLUMN users.deleted_at IS NULL;

COMMENT ON TABLE refresh_tokens IS NULL;
COMMENT ON COLUMN refresh_tokens.id IS NULL;
COMMENT ON COLUMN refresh_tokens.user_id IS NULL;
COMMENT ON COLUMN refresh_tokens.token_hash IS NULL;
COMMENT ON COLUMN refresh_tokens.expires_at IS NULL;
COMMENT ON COLUMN refresh_tokens.created_at IS NULL;
COMMENT ON COLUMN refresh_tokens.revoked_at IS NULL;

COMMENT ON TABLE client_accounts IS NULL;
COMMENT ON COLUMN client_accounts.id IS NULL;
COMMENT ON COLUMN client_accounts.user_id IS NULL;
COMMENT ON COLUMN client_accounts.platform IS NULL;
COMMENT ON COLUMN client_accounts.platform_account_id IS NULL;
COMMENT ON COLUMN client_accounts.username IS NULL;
COMMENT ON COLUMN client_accounts.profile_picture_url IS NULL;
COMMENT ON COLUMN client_accounts.follower_count IS NULL;
COMMENT ON COLUMN client_accounts.following_count IS NULL;
COMMENT ON COLUMN client_accounts.media_count IS NULL;
COMMENT ON COLUMN client_accounts.status IS NULL;
COMMENT ON COLUMN client_accounts.metadata IS NULL;
COMMENT ON COLUMN client_accounts.last_sync_at IS NULL;
COMMENT ON COLUMN client_accounts.created_at IS NULL;
COMMENT ON COLUMN client_accounts.updated_at IS NULL;
COMMENT ON COLUMN client_accounts.deleted_at IS NULL;

COMMENT ON TABLE oauth_tokens IS NULL;
COMMENT ON COLUMN oauth_tokens.id IS NULL;
COMMENT ON COLUMN oauth_tokens.user_id IS NULL;
COMMENT ON COLUMN oauth_tokens.client_account_id IS NULL;
COMMENT ON COLUMN oauth_tokens.platform IS NULL;
COMMENT ON COLUMN oauth_tokens.access_token IS NULL;
COMMENT ON COLUMN oauth_tokens.token_type IS NULL;
COMMENT ON COLUMN oauth_tokens.expires_at IS NULL;
COMMENT ON COLUMN oauth_tokens.scopes IS NULL;
COMMENT ON COLUMN oauth_tokens.created_at IS NULL;
COMMENT ON COLUMN oauth_tokens.updated_at IS NULL;
COMMENT ON COLUMN oauth_tokens.revoked_at IS NULL;

COMMENT ON TABLE products IS NULL;
COMMENT ON COLUMN products.id IS NULL;
COMMENT ON COLUMN products.user_id IS NULL;
COMMENT ON COLUMN products.name IS NULL;
COMMENT ON COLUMN products.description IS NULL;
COMMENT ON COLUMN products.price IS NULL;
COMMENT ON COLUMN products.currency IS NULL;
COMMENT ON COLUMN products.category IS NULL;
COMMENT ON COLUMN products.tags IS NULL;
COMMENT ON COLUMN products.images IS NULL;
COMMENT ON COLUMN products.stock_quantity IS NULL;
COMMENT ON COLUMN products.sku IS NULL;
COMMENT ON COLUMN products.is_available IS NULL;
COMMENT ON COLUMN products.metadata IS NULL;
COMMENT ON COLUMN products.created_at IS NULL;
COMMENT ON COLUMN products.updated_at IS NULL;
COMMENT ON COLUMN products.deleted_at IS NULL;

COMMENT ON TABLE product_links IS NULL;
COMMENT ON COLUMN product_links.id IS NULL;
COMMENT ON COLUMN product_links.product_id IS NULL;
COMMENT ON COLUMN product_links.client_account_id IS NULL;
COMMENT ON COLUMN product_links.instagram_media_id IS NULL;
COMMENT ON COLUMN product_links.short_link IS NULL;
COMMENT ON COLUMN product_links.clicks IS NULL;
COMMENT ON COLUMN product_links.conversions IS NULL;
COMMENT ON COLUMN product_links.revenue IS NULL;
COMMENT ON COLUMN product_links.is_active IS NULL;
COMMENT ON COLUMN product_links.created_at IS NULL;
COMMENT ON COLUMN product_links.updated_at IS NULL;
COMMENT ON COLUMN product_links.user_id IS NULL;

COMMENT ON TABLE conversations IS NULL;
COMMENT ON COLUMN conversations.id IS NULL;
COMMENT ON COLUMN conversations.client_account_id IS NULL;
COMMENT ON COLUMN conversations.platform_conversation_id IS NULL;
COMMENT ON COLUMN conversations.participant_platform_id IS NULL;
COMMENT ON COLUMN conversations.participant_username IS NULL;
COMMENT ON COLUMN conversations.participant_profile_pic IS NULL;
COMMENT ON COLUMN conversations.last_message_at IS NULL;
COMMENT ON COLUMN conversations.unread_count IS NULL;
COMMENT ON COLUMN conversations.status IS NULL;
COMMENT ON COLUMN conversations.metadata IS NULL;
COMMENT ON COLUMN conversations.created_at IS NULL;
COMMENT ON COLUMN conversations.updated_at IS NULL;
COMMENT ON COLUMN conversations.user_id IS NULL;

COMMENT ON TABLE messages IS NULL;
COMMENT ON COLUMN messages.id IS NULL;
COMMENT ON COLUMN messages.conversation_id IS NULL;
COMMENT ON COLUMN messages.platform_message_id IS NULL;
COMMENT ON COLUMN messages.sender_type IS NULL;
COMMENT ON COLUMN messages.sender_platform_id IS NULL;
COMMENT ON COLUMN messages.message_type IS NULL;
COMMENT ON COLUMN messages.content IS NULL;
COMMENT ON COLUMN messages.media_url IS NULL;
COMMENT ON COLUMN messages.media_type IS NULL;
COMMENT ON COLUMN messages.is_read IS NULL;
COMMENT ON COLUMN messages.sent_at IS NULL;
COMMENT ON COLUMN messages.delivered_at IS NULL;
COMMENT ON COLUMN messages.read_at IS NULL;
COMMENT ON COLUMN messages.metadata IS NULL;
COMMENT ON COLUMN messages.created_at IS NULL;
COMMENT ON COLUMN messages.user_id IS NULL;

COMMENT ON TABLE message_products IS NULL;
COMMENT ON COLUMN message_products.id IS NULL;
COMMENT ON COLUMN message_products.message_id IS NULL;
COMMENT ON COLUMN message_products.product_id IS NULL;
COMMENT ON COLUMN message_products.created_at IS NULL;
COMMENT ON COLUMN message_products.user_id IS NULL;

COMMENT ON TABLE analytics_events IS NULL;
COMMENT ON COLUMN analytics_events.id IS NULL;
COMMENT ON COLUMN analytics_events.user_id IS NULL;
COMMENT ON COLUMN analytics_events.client_account_id IS NULL;
COMMENT ON COLUMN analytics_events.event_type IS NULL;
COMMENT ON COLUMN analytics_events.event_category IS NULL;
COMMENT ON COLUMN analytics_events.entity_type IS NULL;
COMMENT ON COLUMN analytics_events.entity_id IS NULL;
COMMENT ON COLUMN analytics_events.value IS NULL;
COMMENT ON COLUMN analytics_events.metadata IS NULL;
COMMENT ON COLUMN analytics_events.occurred_at IS NULL;
COMMENT ON COLUMN analytics_events.created_at IS NULL;

COMMENT ON TABLE analytics_daily_summary IS NULL;
COMMENT ON COLUMN analytics_daily_summary.user_id IS NULL;
COMMENT ON COLUMN analytics_daily_summary.client_account_id IS NULL;
COMMENT ON COLUMN analytics_daily_summary.client_account_key IS NULL;
COMMENT ON COLUMN analytics_daily_summary.date IS NULL;
COMMENT ON COLUMN analytics_daily_summary.event_category IS NULL;
COMMENT ON COLUMN analytics_daily_summary.event_type IS NULL;
COMMENT ON COLUMN analytics_daily_summary.event_count IS NULL;
COMMENT ON COLUMN analytics_daily_summary.total_value IS NULL;
COMMENT ON COLUMN analytics_daily_summary.avg_value IS NULL;

COMMENT ON TABLE analytics_daily_rollup IS NULL;
COMMENT ON COLUMN analytics_daily_rollup.user_id IS NULL;
COMMENT ON COLUMN analytics_daily_rollup.date IS NULL;
COMMENT ON COLUMN analytics_daily_rollup.event_category IS NULL;
COMMENT ON COLUMN analytics_daily_rollup.event_count IS NULL;
COMMENT ON COLUMN analytics_daily_rollup.total_value IS NULL;

COMMENT ON TABLE analytics_summary_changes IS NULL;
COMMENT ON COLUMN analytics_summary_changes.user_id IS NULL;
COMMENT ON COLUMN analytics_summary_changes.date IS NULL;

COMMENT ON TABLE instagram_media IS NULL;
COMMENT ON COLUMN instagram_media.id IS NULL;
COMMENT ON COLUMN instagram_media.client_account_id IS NULL;
COMMENT ON COLUMN instagram_media.platform_media_id IS NULL;
COMMENT ON COLUMN instagram_media.media_type IS NULL;
COMMENT ON COLUMN instagram_media.media_url IS NULL;
COMMENT ON COLUMN instagram_media.thumbnail_url IS NULL;
COMMENT ON COLUMN instagram_media.permalink IS NULL;
COMMENT ON COLUMN instagram_media.caption IS NULL;
COMMENT ON COLUMN instagram_media.like_count IS NULL;
COMMENT ON COLUMN instagram_media.comment_count IS NULL;
COMMENT ON COLUMN instagram_media."timestamp" IS NULL;
COMMENT ON COLUMN instagram_media.metadata IS NULL;
COMMENT ON COLUMN instagram_media.synced_at IS NULL;
COMMENT ON COLUMN instagram_media.created_at IS NULL;
COMMENT ON COLUMN instagram_media.user_id IS NULL;

COMMENT ON TABLE notifications IS NULL;
COMMENT ON COLUMN notifications.id IS NULL;
COMMENT ON COLUMN notifications.user_id IS NULL;
COMMENT ON COLUMN notifications.type IS NULL;
COMMENT ON COLUMN notifications.title IS NULL;
COMMENT ON COLUMN notifications.message IS NULL;
COMMENT ON COLUMN notifications.action_url IS NULL;
COMMENT ON COLUMN notifications.is_read IS NULL;
COMMENT ON COLUMN notifications.metadata IS NULL;
COMMENT ON COLUMN notifications.created_at IS NULL;
COMMENT ON COLUMN notifications.read_at IS NULL;

COMMENT ON VIEW seller_daily_summary IS NULL;
COMMENT ON COLUMN seller_daily_summary.user_id IS NULL;
COMMENT ON COLUMN seller_daily_summary.client_account_id IS NULL;
COMMENT ON COLUMN seller_daily_summary.date IS NULL;
COMMENT ON COLUMN seller_daily_summary.event_category IS NULL;
COMMENT ON COLUMN seller_daily_summary.event_type IS NULL;
COMMENT ON COLUMN seller_daily_summary.event_count IS NULL;
COMMENT ON COLUMN seller_daily_summary.total_value IS NULL;
COMMENT ON COLUMN seller_daily_summary.avg_value IS NULL;

COMMENT ON FUNCTION app_user_id() IS NULL;
COMMENT ON FUNCTION auth_user_by_email(text) IS NULL;
COMMENT ON FUNCTION update_updated_at_column() IS NULL;
COMMENT ON FUNCTION increment_unread_count() IS NULL;
COMMENT ON FUNCTION decrement_unread_count() IS NULL;
COMMENT ON FUNCTION forget_deleted_messages() IS NULL;
COMMENT ON FUNCTION note_analytics_changes() IS NULL;
COMMENT ON FUNCTION forget_analytics_summary() IS NULL;
COMMENT ON FUNCTION refresh_analytics_daily_summary() IS NULL;
COMMENT ON FUNCTION rebuild_analytics_daily_summary() IS NULL;
COMMENT ON FUNCTION product_search_document(text, text) IS NULL;
COMMENT ON FUNCTION search_seller_products(text, integer) IS NULL;
COMMENT ON FUNCTION seller_inbox_page(uuid, uuid, integer, timestamp with time zone, uuid) IS NULL;
COMMENT ON FUNCTION seller_message_page(uuid, uuid, integer, timestamp with time zone, uuid) IS NULL;
COMMENT ON FUNCTION seller_ingest_message(uuid, uuid, text, text, text, text, text, text, text, timestamp with time zone) IS NULL;
COMMENT ON FUNCTION seller_limit(text, integer, integer) IS NULL;

COMMENT ON TEXT SEARCH CONFIGURATION portuguese_unaccent IS NULL;
