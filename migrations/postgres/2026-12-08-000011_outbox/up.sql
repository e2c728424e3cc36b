-- The transactional outbox: a message per change integrators care about, written in the
-- transaction that makes the change. Each event numbers its messages 1, 2, 3... under
-- its row lock (`events.outbox_seq` is the last number given), so they have no gaps.
ALTER TABLE events ADD COLUMN outbox_seq BIGINT NOT NULL DEFAULT 0
    CONSTRAINT events_outbox_seq_not_negative CHECK (outbox_seq >= 0);

CREATE TABLE outbox (
    id       uuid PRIMARY KEY,
    event_id uuid NOT NULL REFERENCES events (id),
    seq      BIGINT NOT NULL CHECK (seq > 0),
    type     TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    payload  JSONB NOT NULL,
    CONSTRAINT outbox_event_seq_key UNIQUE (event_id, seq)
);
