"""Two sellers and one of everything for each: the data the isolation and attack tests share
(a module of its own, so that no test module imports another)."""

from __future__ import annotations

SELLERS = {"a": "aaaaaaaa-0000-4000-8000-000000000001", "b": "bbbbbbbb-0000-4000-8000-000000000002"}

# One of everything for a seller; {u} is the seller's id, {s} a suffix.
DATA = """
INSERT INTO users (id, email, password_hash, name) VALUES ('{u}', 'seller-{s}@example.com', 'hash-{s}', 'Seller {s}');
INSERT INTO refresh_tokens (user_id, token_hash, expires_at) VALUES ('{u}', 'rt-{s}', now() + interval '1 day');
INSERT INTO client_accounts (id, user_id, platform, platform_account_id, username)
  VALUES (md5('acct-{s}')::uuid, '{u}', 'instagram', 'ig-{s}', 'loja_{s}');
INSERT INTO oauth_tokens (user_id, client_account_id, platform, access_token, expires_at, scopes)
  VALUES ('{u}', md5('acct-{s}')::uuid, 'instagram', 'opaque-{s}', now() + interval '60 days', ARRAY['basic']);
INSERT INTO products (id, user_id, name, description) VALUES (md5('prod-{s}')::uuid, '{u}', 'Vestido {s}', 'Promoção');
INSERT INTO product_links (product_id, client_account_id, user_id, short_link)
  VALUES (md5('prod-{s}')::uuid, md5('acct-{s}')::uuid, '{u}', 'https://s.example/{s}');
INSERT INTO conversations (id, client_account_id, user_id, platform_conversation_id, participant_platform_id)
  VALUES (md5('conv-{s}')::uuid, md5('acct-{s}')::uuid, '{u}', 'c-{s}', 'cust-{s}');
INSERT INTO messages (id, conversation_id, user_id, platform_message_id, sender_type, content, sent_at)
  VALUES (md5('msg-{s}')::uuid, md5('conv-{s}')::uuid, '{u}', 'm-{s}', 'customer', 'oi', now());
INSERT INTO message_products (message_id, product_id, user_id) VALUES (md5('msg-{s}')::uuid, md5('prod-{s}')::uuid, '{u}');
INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, value, occurred_at)
  VALUES ('{u}', md5('acct-{s}')::uuid, 'sale', 'sales', 10, now()), ('{u}', NULL, 'login', 'engagement', NULL, now());
INSERT INTO instagram_media (client_account_id, user_id, platform_media_id, media_type)
  VALUES (md5('acct-{s}')::uuid, '{u}', 'media-{s}', 'IMAGE');
INSERT INTO notifications (user_id, type, title, message) VALUES ('{u}', 'sale', 'Nova venda', 'Parabéns');
"""
