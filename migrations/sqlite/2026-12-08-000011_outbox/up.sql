-- The transactional outbox: a message per change integrators care about, written in the
-- transaction that makes the change. Each event numbers its messages 1, 2, 3... in the
-- writer's transaction (`events.outbox_seq` is the last number given), so they have no
-- gaps.
ALTER TABLE events ADD COLUMN outbox_seq BIGINT NOT NULL DEFAULT 0 CHECK (outbox_seq >= 0);

CREATE TABLE outbox (
    id       TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (id),
    seq      BIGINT NOT NULL CHECK (seq > 0),
    type     TEXT NOT NULL,
    at       BIGINT NOT NULL,
    payload  TEXT NOT NULL,
    CONSTRAINT outbox_event_seq_key UNIQUE (event_id, seq)
);
