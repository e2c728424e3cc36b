-- When an account was erased (GDPR art. 17), in microseconds since the epoch: its name
-- and email are a tombstone from then on, it has no password, and it can never log in
-- again.
ALTER TABLE users ADD COLUMN erased_at BIGINT;
