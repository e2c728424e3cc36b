-- The booking engine: holds, bookings, waitlist and idempotency keys.
-- events.sold/held and ticket_types.sold/held stay the one source of truth for seat
-- counts; every change to the rows below changes them in the same transaction.

-- Tickets given back by cancellations, ever (for analytics).
ALTER TABLE events ADD COLUMN cancelled_seats integer NOT NULL DEFAULT 0 CHECK (cancelled_seats >= 0);

CREATE TABLE holds (
    id             uuid PRIMARY KEY,
    event_id       uuid NOT NULL REFERENCES events (id),
    ticket_type_id uuid NOT NULL REFERENCES ticket_types (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    quantity       integer NOT NULL CHECK (quantity > 0),
    status         text NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'confirmed', 'released', 'expired')),
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    ended_at       timestamptz,
    CONSTRAINT holds_ended_when_not_active CHECK ((status = 'active') = (ended_at IS NULL))
);
CREATE INDEX holds_active_by_expiry_idx ON holds (expires_at) WHERE status = 'active';
CREATE INDEX holds_active_by_event_user_idx ON holds (event_id, user_id) WHERE status = 'active';

CREATE TABLE bookings (
    id             uuid PRIMARY KEY,
    event_id       uuid NOT NULL REFERENCES events (id),
    ticket_type_id uuid NOT NULL REFERENCES ticket_types (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    -- Seats still booked; a full cancellation keeps the last quantity for the record.
    quantity       integer NOT NULL CHECK (quantity > 0),
    status         text NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    source         text NOT NULL CHECK (source IN ('direct', 'hold', 'waitlist')),
    -- A hold becomes at most one booking.
    hold_id        uuid UNIQUE REFERENCES holds (id),
    created_at     timestamptz NOT NULL,
    cancelled_at   timestamptz,
    CONSTRAINT bookings_cancelled_at_iff_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX bookings_by_user_idx ON bookings (user_id, id DESC);
CREATE INDEX bookings_by_event_idx ON bookings (event_id, created_at);

CREATE TABLE waitlist_entries (
    id             uuid PRIMARY KEY,
    -- Join order, assigned under the event's lock: the queue order.
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    event_id       uuid NOT NULL REFERENCES events (id),
    ticket_type_id uuid NOT NULL REFERENCES ticket_types (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    quantity       integer NOT NULL CHECK (quantity > 0),
    status         text NOT NULL DEFAULT 'waiting'
                   CHECK (status IN ('waiting', 'promoted', 'left', 'closed')),
    booking_id     uuid UNIQUE REFERENCES bookings (id),
    created_at     timestamptz NOT NULL,
    ended_at       timestamptz,
    CONSTRAINT waitlist_promoted_iff_booking CHECK ((status = 'promoted') = (booking_id IS NOT NULL))
);
-- A user waits at most once per event and ticket type.
CREATE UNIQUE INDEX waitlist_one_waiting_per_user_key
    ON waitlist_entries (event_id, ticket_type_id, user_id) WHERE status = 'waiting';
CREATE INDEX waitlist_queue_idx ON waitlist_entries (event_id, seq) WHERE status = 'waiting';
CREATE INDEX waitlist_by_user_idx ON waitlist_entries (user_id, seq DESC);

-- What the first request with an Idempotency-Key made; kept at least 24 hours.
CREATE TABLE idempotency_keys (
    user_id           uuid NOT NULL REFERENCES users (id),
    key               text NOT NULL,
    request_hash      text NOT NULL,
    booking_id        uuid REFERENCES bookings (id),
    waitlist_entry_id uuid REFERENCES waitlist_entries (id),
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_by_age_idx ON idempotency_keys (created_at);
