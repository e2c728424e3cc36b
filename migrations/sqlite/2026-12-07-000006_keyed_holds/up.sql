-- Holds, confirmations, cancellations and waitlist joins take an Idempotency-Key too;
-- a key of a hold request records the hold it made.
ALTER TABLE idempotency_keys ADD COLUMN hold_id TEXT REFERENCES holds (id);
