-- Every field that arrives from a platform has a bound (issue 22, decision 113). Found by
-- an adversarial review: one seller_ingest_message call stored 150 MB of content (28 s,
-- 164 MB of WAL), and the message page then returned it. The bound is each platform's
-- documented limit with a stated margin, at the one boundary no role bypasses: a CHECK.
--   text: WhatsApp's Cloud API takes at most 4,096 characters of message text
--     (https://developers.facebook.com/docs/whatsapp/cloud-api/messages/text-messages);
--     Instagram's are shorter. Bound: 8,192 characters (twice the larger limit).
--   captions: Instagram allows 2,200 characters in a caption
--     (https://developers.facebook.com/docs/instagram-platform/content-publishing). Bound: 4,400.
--   URLs (media, thumbnails, permalinks, profile pictures): no platform documents a limit;
--     RFC 9110 section 4.1 recommends that senders and recipients support URIs of at least
--     8,000 octets. Bound: 8,192 characters.
--   metadata: a webhook's JSON, as text, at most 64 KiB.
--   tokens: the platform's access token as stored (ciphertext, decision 42): Meta's tokens
--     are a few hundred characters. Bound: 16,384 characters; at most 100 scopes, 8 KiB of them.
-- Locks: ACCESS EXCLUSIVE on each table for a catalog change only (NOT VALID: no scan),
-- held together until the commit, each taken within the run's lock_timeout (retried as a
-- whole). 042 validates the existing rows without blocking writers.

ALTER TABLE messages ADD CONSTRAINT chk_messages_platform_sizes CHECK (
  char_length(content) <= 8192 AND char_length(media_url) <= 8192 AND octet_length(metadata::text) <= 65536
) NOT VALID;
ALTER TABLE conversations ADD CONSTRAINT chk_conversations_platform_sizes CHECK (
  char_length(participant_profile_pic) <= 8192 AND octet_length(metadata::text) <= 65536
) NOT VALID;
ALTER TABLE client_accounts ADD CONSTRAINT chk_client_accounts_platform_sizes CHECK (
  char_length(profile_picture_url) <= 8192 AND octet_length(metadata::text) <= 65536
) NOT VALID;
ALTER TABLE instagram_media ADD CONSTRAINT chk_instagram_media_platform_sizes CHECK (
  char_length(caption) <= 4400 AND char_length(media_url) <= 8192 AND char_length(thumbnail_url) <= 8192
  AND char_length(permalink) <= 8192 AND octet_length(metadata::text) <= 65536
) NOT VALID;
ALTER TABLE oauth_tokens ADD CONSTRAINT chk_oauth_tokens_platform_sizes CHECK (
  char_length(access_token) <= 16384 AND cardinality(scopes) <= 100
  AND octet_length(array_to_string(scopes, ' ')) <= 8192
) NOT VALID;

-- ROLLBACK
ALTER TABLE oauth_tokens DROP CONSTRAINT chk_oauth_tokens_platform_sizes;
ALTER TABLE instagram_media DROP CONSTRAINT chk_instagram_media_platform_sizes;
ALTER TABLE client_accounts DROP CONSTRAINT chk_client_accounts_platform_sizes;
ALTER TABLE conversations DROP CONSTRAINT chk_conversations_platform_sizes;
ALTER TABLE messages DROP CONSTRAINT chk_messages_platform_sizes;
