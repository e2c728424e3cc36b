DROP TABLE outbox;
ALTER TABLE events DROP COLUMN outbox_seq;
