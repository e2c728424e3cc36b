-- A password change refuses the access tokens issued before it: the instant
-- (microseconds) it sets here is compared with each token's issue time.
ALTER TABLE users ADD COLUMN tokens_valid_from BIGINT;

-- Accounts are found by a key the application folds (Unicode case folding), so every
-- store agrees on what "the same email" is. SQLite's lower() folds ASCII only: the
-- store re-keys the few non-ASCII rows with the application's folding when it opens.
ALTER TABLE users ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
UPDATE users SET email_key = lower(email);
DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_key ON users (email_key);
