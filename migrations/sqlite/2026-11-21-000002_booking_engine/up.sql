-- The booking engine: holds, bookings, waitlist and idempotency keys.
-- events.sold/held and ticket_types.sold/held stay the one source of truth for seat
-- counts; every change to the rows below changes them in the same transaction.

-- Tickets given back by cancellations, ever (for analytics).
ALTER TABLE events ADD COLUMN cancelled_seats INTEGER NOT NULL DEFAULT 0 CHECK (cancelled_seats >= 0);

CREATE TABLE holds (
    id             TEXT PRIMARY KEY NOT NULL,
    event_id       TEXT NOT NULL REFERENCES events (id),
    ticket_type_id TEXT NOT NULL REFERENCES ticket_types (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    status         TEXT NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'confirmed', 'released', 'expired')),
    expires_at     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    ended_at       BIGINT,
    CONSTRAINT holds_ended_when_not_active CHECK ((status = 'active') = (ended_at IS NULL))
);
CREATE INDEX holds_active_by_expiry_idx ON holds (expires_at) WHERE status = 'active';
CREATE INDEX holds_active_by_event_user_idx ON holds (event_id, user_id) WHERE status = 'active';

CREATE TABLE bookings (
    id             TEXT PRIMARY KEY NOT NULL,
    event_id       TEXT NOT NULL REFERENCES events (id),
    ticket_type_id TEXT NOT NULL REFERENCES ticket_types (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    -- Seats still booked; a full cancellation keeps the last quantity for the record.
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    status         TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    source         TEXT NOT NULL CHECK (source IN ('direct', 'hold', 'waitlist')),
    -- A hold becomes at most one booking.
    hold_id        TEXT UNIQUE REFERENCES holds (id),
    created_at     BIGINT NOT NULL,
    cancelled_at   BIGINT,
    CONSTRAINT bookings_cancelled_at_iff_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX bookings_by_user_idx ON bookings (user_id, id DESC);
CREATE INDEX bookings_by_event_idx ON bookings (event_id, created_at);

CREATE TABLE waitlist_entries (
    id             TEXT PRIMARY KEY NOT NULL,
    -- Join order, assigned inside the write transaction: the queue order.
    seq            BIGINT NOT NULL UNIQUE,
    event_id       TEXT NOT NULL REFERENCES events (id),
    ticket_type_id TEXT NOT NULL REFERENCES ticket_types (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    status         TEXT NOT NULL DEFAULT 'waiting'
                   CHECK (status IN ('waiting', 'promoted', 'left', 'closed')),
    booking_id     TEXT UNIQUE REFERENCES bookings (id),
    created_at     BIGINT NOT NULL,
    ended_at       BIGINT,
    CONSTRAINT waitlist_promoted_iff_booking CHECK ((status = 'promoted') = (booking_id IS NOT NULL))
);
-- A user waits at most once per event and ticket type.
CREATE UNIQUE INDEX waitlist_one_waiting_per_user_key
    ON waitlist_entries (event_id, ticket_type_id, user_id) WHERE status = 'waiting';
CREATE INDEX waitlist_queue_idx ON waitlist_entries (event_id, seq) WHERE status = 'waiting';
CREATE INDEX waitlist_by_user_idx ON waitlist_entries (user_id, seq DESC);

-- What the first request with an Idempotency-Key made; kept at least 24 hours.
CREATE TABLE idempotency_keys (
    user_id           TEXT NOT NULL REFERENCES users (id),
    key               TEXT NOT NULL,
    request_hash      TEXT NOT NULL,
    booking_id        TEXT REFERENCES bookings (id),
    waitlist_entry_id TEXT REFERENCES waitlist_entries (id),
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_by_age_idx ON idempotency_keys (created_at);
