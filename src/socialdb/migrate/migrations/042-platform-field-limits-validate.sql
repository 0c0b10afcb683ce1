-- Validate 041's bounds on the rows already stored (decision 113). A row over a bound
-- makes this migration fail naming the constraint: shorten or delete that row (the query
-- is in docs/migrations.md, 042), then migrate again.
-- Locks: SHARE UPDATE EXCLUSIVE on each table, held until the commit (reads and writes go
-- on; at scale 1, 2M messages, a few seconds of scans).

ALTER TABLE messages VALIDATE CONSTRAINT chk_messages_platform_sizes;
ALTER TABLE conversations VALIDATE CONSTRAINT chk_conversations_platform_sizes;
ALTER TABLE client_accounts VALIDATE CONSTRAINT chk_client_accounts_platform_sizes;
ALTER TABLE instagram_media VALIDATE CONSTRAINT chk_instagram_media_platform_sizes;
ALTER TABLE oauth_tokens VALIDATE CONSTRAINT chk_oauth_tokens_platform_sizes;

-- ROLLBACK
-- A constraint cannot be un-validated: put each back as 041 left it (NOT VALID).
ALTER TABLE oauth_tokens DROP CONSTRAINT chk_oauth_tokens_platform_sizes;
ALTER TABLE oauth_tokens ADD CONSTRAINT chk_oauth_tokens_platform_sizes CHECK (
  char_length(access_token) <= 16384 AND cardinality(scopes) <= 100
  AND octet_length(array_to_string(scopes, ' ')) <= 8192
) NOT VALID;
ALTER TABLE instagram_media DROP CONSTRAINT chk_instagram_media_platform_sizes;
ALTER TABLE instagram_media ADD CONSTRAINT chk_instagram_media_platform_sizes CHECK (
  char_length(caption) <= 4400 AND char_length(media_url) <= 8192 AND char_length(thumbnail_url) <= 8192
  AND char_length(permalink) <= 8192 AND octet_length(metadata::text) <= 65536
) NOT VALID;
ALTER TABLE client_accounts DROP CONSTRAINT chk_client_accounts_platform_sizes;
ALTER TABLE client_accounts ADD CONSTRAINT chk_client_accounts_platform_sizes CHECK (
  char_length(profile_picture_url) <= 8192 AND octet_length(metadata::text) <= 65536
) NOT VALID;
ALTER TABLE conversations DROP CONSTRAINT chk_conversations_platform_sizes;
ALTER TABLE conversations ADD CONSTRAINT chk_conversations_platform_sizes CHECK (
  char_length(participant_profile_pic) <= 8192 AND octet_length(metadata::text) <= 65536
) NOT VALID;
ALTER TABLE messages DROP CONSTRAINT chk_messages_platform_sizes;
ALTER TABLE messages ADD CONSTRAINT chk_messages_platform_sizes CHECK (
  char_length(content) <= 8192 AND char_length(media_url) <= 8192 AND octet_length(metadata::text) <= 65536
) NOT VALID;
