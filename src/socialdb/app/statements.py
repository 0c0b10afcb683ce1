"""The platform's statements: static SQL with bound parameters, one per call.

Shared by the synchronous and the asynchronous session (socialdb.app.session), the
deprecated functions of socialdb.app.operations and the benchmark, which sends the very
statements the platform does. Each is one statement; what writes several rows writes the
parent row before its children, as decision 105 orders messages before conversations.
"""

from __future__ import annotations

# -- the seller as an argument (migrations 025, 040, 044): one round trip, no transaction --

INGEST = """
SELECT seller_ingest_message(%(seller)s, %(account)s, %(conversation)s, %(participant)s, %(username)s,
                             %(message)s, %(sender)s, %(type)s, %(content)s, %(sent_at)s)
"""
INBOX = "SELECT * FROM seller_inbox_page(%(seller)s, %(account)s, %(limit)s, %(after_at)s, %(after_id)s)"
MESSAGES = "SELECT * FROM seller_message_page(%(seller)s, %(conversation)s, %(limit)s, %(after_at)s, %(after_id)s)"

# -- no seller: the two lookups that find one (SECURITY DEFINER, migrations 019 and 045) --

ROUTE = "SELECT user_id, client_account_id FROM route_platform_account(%(platform)s, %(platform_account_id)s)"
SIGN_IN = "SELECT id, password_hash, email_verified FROM auth_user_by_email(%(email)s)"

# -- under the seller of a scope: row-level security confines them, user_id fills itself in --

# Under the seller's policies: another seller's account and a disconnected one look the same.
ACCOUNTS_NOT_CONNECTED = """
SELECT DISTINCT i.account FROM unnest(%(accounts)s::uuid[]) AS i (account)
WHERE NOT EXISTS (SELECT FROM client_accounts AS a WHERE a.id = i.account AND a.deleted_at IS NULL)
ORDER BY i.account
LIMIT 10
"""
INGEST_CONVERSATIONS = """
INSERT INTO conversations (client_account_id, platform_conversation_id, participant_platform_id, participant_username)
SELECT DISTINCT ON (account, conversation) account, conversation, participant, username
FROM unnest(%(accounts)s::uuid[], %(conversations)s::text[], %(participants)s::text[], %(usernames)s::text[])
  AS i (account, conversation, participant, username)
ORDER BY account, conversation
ON CONFLICT (client_account_id, user_id, platform_conversation_id) DO NOTHING
"""
# INGEST_CONVERSATIONS' conflict target is the conversation's key with its seller (049; the
# global key went in 050, decision 191): the key a Citus shard can check. A new row's user_id
# is its default.
# In message id order: two batches sharing ids wait for each other's in one order, not both.
# No conflict target: the key is the seller's conversation's since 043-045 (decision 117), and the
# statement runs unchanged on a database before it.
INGEST_MESSAGES = """
INSERT INTO messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
SELECT c.id, i.message, i.sender, i.type, i.content, i.sent_at
FROM unnest(%(accounts)s::uuid[], %(conversations)s::text[], %(messages)s::text[], %(senders)s::text[],
            %(types)s::text[], %(contents)s::text[], %(sent_ats)s::timestamptz[])
  AS i (account, conversation, message, sender, type, content, sent_at)
JOIN conversations AS c ON c.client_account_id = i.account AND c.platform_conversation_id = i.conversation
ORDER BY i.message
ON CONFLICT DO NOTHING
"""

# Only the customer's unread messages count; the trigger brings unread_count back to 0. The
# library sends it through seller_mark_read (MARK_READ_CALL); the benchmark sends it to the
# spec's schema as it is, and the deprecated socialdb.app.operations.mark_read too.
MARK_READ = """
UPDATE messages SET is_read = true, read_at = now()
WHERE conversation_id = %(conversation)s AND sender_type = 'customer' AND NOT is_read
"""

# A SECURITY DEFINER function (migration 020): under RLS, `@@` could not use the index.
SEARCH = "SELECT id, name, price, rank FROM search_seller_products(%(query)s, %(limit)s)"

# The rollup holds the summary's rows summed per seller, day and category (migration 023).
# The seller is named as a parameter too (row-level security confines the rows either way):
# with `app_user_id()` in its place the page ran at 0.45x (tools/probes/probe_surface.py).
DASHBOARD = """
SELECT date, event_category, event_count, total_value
FROM analytics_daily_rollup
WHERE user_id = %(seller)s AND date BETWEEN %(first)s AND %(last)s
ORDER BY date, event_category
"""

# COPY FROM is refused on a table with row-level security, and the application may not
# create a temporary table to copy into (migration 027): a batch travels as one array per
# column and lands with one INSERT, which the policies check.
EVENTS = """
INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, occurred_at, value,
                              entity_type, entity_id)
SELECT * FROM unnest(%(users)b::uuid[], %(accounts)b::uuid[], %(types)b::text[], %(categories)b::text[],
                     %(times)b::timestamptz[], %(values)b::numeric[], %(entity_types)b::text[], %(entity_ids)b::uuid[])
"""

# A sign-up: the new user's row, under its own id as the seller (the policy users_seller); its
# email's lookup row is written by the row's trigger (054). On Citus, sign_up_user() writes
# both (059): a plain INSERT there is refused by the shard's trigger, naming the function.
SIGN_UP = """
INSERT INTO users (id, email, password_hash, name) VALUES (%(id)s, %(email)s, %(password_hash)s, %(name)s)
RETURNING id
"""
CITUS_SIGN_UP = "SELECT sign_up_user(%(id)s, %(email)s, %(password_hash)s, %(name)s)"

# Connecting: the seller's live connection of that account if there is one; else its latest
# disconnected one, revived (its conversations and messages come back, so a redelivery is
# still recognised); else a new row. Another seller's live connection makes the insert fail
# on platform_accounts_pkey (23505), written by the row's trigger since 054 (decision 220):
# an account has one live seller.
CONNECT_ACCOUNT = """
WITH live AS (
  SELECT id, username, status, false AS reconnected FROM client_accounts
  WHERE platform = %(platform)s AND platform_account_id = %(platform_account_id)s AND deleted_at IS NULL
), revived AS (
  UPDATE client_accounts SET deleted_at = NULL, status = 'active', username = %(username)s
  WHERE deleted_at IS NOT NULL
    AND id = (SELECT id FROM client_accounts
              WHERE platform = %(platform)s AND platform_account_id = %(platform_account_id)s
                AND deleted_at IS NOT NULL AND NOT EXISTS (SELECT FROM live)
              ORDER BY deleted_at DESC, id LIMIT 1)
  RETURNING id, username, status, true AS reconnected
), inserted AS (
  INSERT INTO client_accounts (platform, platform_account_id, username)
  SELECT %(platform)s, %(platform_account_id)s, %(username)s
  WHERE NOT EXISTS (SELECT FROM live) AND NOT EXISTS (SELECT FROM revived)
  RETURNING id, username, status, false AS reconnected
)
SELECT id, %(platform)s, %(platform_account_id)s, username, status, reconnected
FROM (SELECT * FROM live UNION ALL SELECT * FROM revived UNION ALL SELECT * FROM inserted) AS chosen
"""
# On Citus the same call in one SECURITY DEFINER function (migration 059, decision 261): the
# account's lookup row is claimed first, by the role that then writes the account, since the
# shard's trigger only checks it there. The same columns, the same 23505 for a taken account.
CITUS_CONNECT_ACCOUNT = "SELECT * FROM connect_client_account(%(platform)s, %(platform_account_id)s, %(username)s)"
# The account first, then its live token: no webhook routes to it, no call reads its token.
DISCONNECT_ACCOUNT = """
WITH gone AS (
  UPDATE client_accounts SET deleted_at = now(), status = 'disconnected'
  WHERE id = %(account)s AND deleted_at IS NULL
  RETURNING id
), revoked AS (
  UPDATE oauth_tokens SET revoked_at = now()
  WHERE client_account_id IN (SELECT id FROM gone) AND revoked_at IS NULL
  RETURNING id
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM revoked)
"""
# On Citus: the lookup row deleted first, then the account and its token (059); the same two counts.
CITUS_DISCONNECT_ACCOUNT = "SELECT * FROM disconnect_client_account(%(account)s)"

# A token replaces the account's live one: revoke, then insert, in one transaction (the
# partial unique index allows one live token per account). The id is chosen by the caller,
# since the ciphertext is bound to it (socialdb.app.tokens).
REVOKE_TOKEN = """
UPDATE oauth_tokens SET revoked_at = now() WHERE client_account_id = %(account)s AND revoked_at IS NULL
"""
STORE_TOKEN = """
INSERT INTO oauth_tokens (id, client_account_id, platform, access_token, token_type, expires_at, scopes)
SELECT %(id)s, a.id, a.platform, %(access_token)s, %(token_type)s, %(expires_at)s, %(scopes)s
FROM client_accounts AS a
WHERE a.id = %(account)s AND a.deleted_at IS NULL
"""
LIVE_TOKEN = """
SELECT id, access_token, expires_at FROM oauth_tokens WHERE client_account_id = %(account)s AND revoked_at IS NULL
"""

_PRODUCT_COLUMNS = (
    "id, name, description, price, currency, stock_quantity, is_available, deleted_at IS NOT NULL AS archived"
)
CREATE_PRODUCT = f"""
INSERT INTO products (name, description, price, currency, stock_quantity, sku, category)
VALUES (%(name)s, %(description)s, %(price)s, %(currency)s, %(stock_quantity)s, %(sku)s, %(category)s)
RETURNING {_PRODUCT_COLUMNS}
"""
# Each field changes only when named (`set_<field>`): one static statement for any subset.
UPDATE_PRODUCT = f"""
UPDATE products SET
  name = CASE WHEN %(set_name)s THEN %(name)s ELSE name END,
  description = CASE WHEN %(set_description)s THEN %(description)s ELSE description END,
  price = CASE WHEN %(set_price)s THEN %(price)s ELSE price END,
  stock_quantity = CASE WHEN %(set_stock_quantity)s THEN %(stock_quantity)s ELSE stock_quantity END,
  is_available = CASE WHEN %(set_is_available)s THEN %(is_available)s ELSE is_available END
WHERE id = %(product)s AND deleted_at IS NULL
RETURNING {_PRODUCT_COLUMNS}
"""
# Archived, not deleted: messages that showed it keep their link to it. Its links stop.
ARCHIVE_PRODUCT = """
WITH archived AS (
  UPDATE products SET deleted_at = now(), is_available = false
  WHERE id = %(product)s AND deleted_at IS NULL
  RETURNING id
), stopped AS (
  UPDATE product_links SET is_active = false
  WHERE product_id IN (SELECT id FROM archived) AND is_active
  RETURNING id
)
SELECT (SELECT count(*) FROM archived), (SELECT count(*) FROM stopped)
"""
CREATE_LINK = """
INSERT INTO product_links (product_id, client_account_id, short_link, instagram_media_id)
VALUES (%(product)s, %(account)s, %(short_link)s, %(media)s)
RETURNING id
"""
# On Citus: the short link's lookup row claimed first, then the link, in one function (059).
CITUS_CREATE_LINK = "SELECT create_product_link(%(product)s, %(account)s, %(short_link)s, %(media)s)"
ARCHIVE_LINK = "UPDATE product_links SET is_active = false WHERE id = %(link)s AND is_active"

# A post of the seller's account, cached: the latest sync wins (unique per seller and account: 043).
CACHE_MEDIA = """
INSERT INTO instagram_media (client_account_id, platform_media_id, media_type, media_url, permalink, caption,
                             like_count, comment_count, "timestamp")
VALUES (%(account)s, %(media)s, %(type)s, %(url)s, %(permalink)s, %(caption)s, %(likes)s, %(comments)s, %(posted_at)s)
ON CONFLICT (user_id, client_account_id, platform_media_id) DO UPDATE
SET media_type = EXCLUDED.media_type, media_url = EXCLUDED.media_url, permalink = EXCLUDED.permalink,
    caption = EXCLUDED.caption, like_count = EXCLUDED.like_count, comment_count = EXCLUDED.comment_count,
    "timestamp" = EXCLUDED."timestamp", synced_at = now()
RETURNING id
"""

# Products shown in a message; a product already attached is not attached twice (the key
# names the seller since 049 and 051, decision 191).
ATTACH_PRODUCTS = """
INSERT INTO message_products (message_id, product_id)
SELECT %(message)s, p FROM unnest(%(products)s::uuid[]) AS p ORDER BY p
ON CONFLICT (message_id, product_id, user_id) DO NOTHING
"""

NOTIFY = """
INSERT INTO notifications (type, title, message, action_url) VALUES (%(type)s, %(title)s, %(message)s, %(url)s)
RETURNING id
"""
NOTIFICATIONS = """
SELECT id, type, title, message, action_url, is_read, created_at FROM notifications
WHERE NOT (%(unread_only)s AND is_read)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""
# The library's search on one server and on Citus alike (057; one server since decision 277):
# one statement in autocommit, where a seller transaction of SEARCH was four round trips.
SEARCH_CALL = "SELECT id, name, price, rank FROM seller_search_products(%(seller)s, %(query)s, %(limit)s)"
# The library's mark_read on one server and on Citus alike (062): one statement in autocommit,
# where a seller transaction of MARK_READ was four round trips.
MARK_READ_CALL = "SELECT seller_mark_read(%(seller)s, %(conversation)s)"

READ_NOTIFICATIONS = """
UPDATE notifications SET is_read = true, read_at = now()
WHERE id = ANY (%(ids)s::uuid[]) AND NOT is_read
"""

# -- on a Citus cluster (migration 057, decisions 230-234): what a cluster cannot run as the
# statements above, through functions that take the seller, so that each call is delegated
# to the seller's node (`socialdb citus distribute`) and names the seller in every statement.
# The library sends these only where Citus is loaded (socialdb.app.cluster).

CITUS_INGEST_BATCH = """
SELECT stored, not_connected
FROM seller_ingest_batch(%(seller)s, %(accounts)s::uuid[], %(conversations)s::text[], %(participants)s::text[],
                         %(usernames)s::text[], %(messages)s::text[], %(senders)s::text[], %(types)s::text[],
                         %(contents)s::text[], %(sent_ats)s::timestamptz[])
"""
CITUS_EVENTS = """
SELECT seller_record_events(%(seller)s, %(accounts)b::uuid[], %(types)b::text[], %(categories)b::text[],
                            %(times)b::timestamptz[], %(values)b::numeric[], %(entity_types)b::text[],
                            %(entity_ids)b::uuid[])
"""
