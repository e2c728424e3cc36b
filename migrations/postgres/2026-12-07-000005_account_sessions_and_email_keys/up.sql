-- A password change refuses the access tokens issued before it: the instant it sets
-- here is compared with each token's issue time.
ALTER TABLE users ADD COLUMN tokens_valid_from timestamptz;

-- Accounts are found by a key the application folds (Unicode case folding), so every
-- store agrees on what "the same email" is. Existing rows get lower(email) here; the
-- store re-keys the few non-ASCII ones with the application's folding when it opens.
ALTER TABLE users ADD COLUMN email_key text;
UPDATE users SET email_key = lower(email);
ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;
DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_key ON users (email_key);
