ALTER TABLE idempotency_keys DROP COLUMN hold_id;
