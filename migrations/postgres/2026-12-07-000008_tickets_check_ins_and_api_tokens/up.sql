-- How many tickets a booking was made with: its quantity before any cancellation,
-- so cancelled seats still list as voided tickets. NULL for bookings made before (or
-- by an older binary during a rolling deploy): their quantity stands in.
ALTER TABLE bookings ADD COLUMN tickets_issued integer CHECK (tickets_issued > 0);

-- Tickets a cancellation named: they are void whatever the booking's quantity. A
-- cancellation that names none voids the newest valid tickets, which needs no row.
CREATE TABLE ticket_voids (
    booking_id uuid NOT NULL REFERENCES bookings (id),
    number     integer NOT NULL CHECK (number BETWEEN 1 AND 100),
    voided_at  timestamptz NOT NULL,
    PRIMARY KEY (booking_id, number)
);

-- Check-ins at the door. Tickets themselves are not stored: a ticket is a booking's
-- seat number, its id derived from both. A row is one check-in; it ends when undone or
-- when an earlier offline scan of the same ticket takes its place. No foreign key to
-- events or ticket types: the booking's implies them, and a key check on the event row
-- would wait on the seat batches that lock it.
CREATE TABLE check_ins (
    id             uuid PRIMARY KEY,
    ticket_id      uuid NOT NULL,
    event_id       uuid NOT NULL,
    booking_id     uuid NOT NULL REFERENCES bookings (id),
    ticket_type_id uuid NOT NULL,
    number         integer NOT NULL CHECK (number BETWEEN 1 AND 100),
    scanner_kind   text NOT NULL CHECK (scanner_kind IN ('user', 'token')),
    scanner_id     uuid NOT NULL,
    scanned_at     timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    ended_at       timestamptz,
    ended_reason   text CHECK (ended_reason IN ('undone', 'replaced')),
    CONSTRAINT check_ins_ended_with_reason CHECK ((ended_at IS NULL) = (ended_reason IS NULL))
);
-- A ticket is checked in at most once at a time, whatever the race.
CREATE UNIQUE INDEX check_ins_one_in_force_idx ON check_ins (ticket_id) WHERE ended_at IS NULL;
CREATE INDEX check_ins_by_booking_idx ON check_ins (booking_id) WHERE ended_at IS NULL;
CREATE INDEX check_ins_by_event_idx ON check_ins (event_id, id) WHERE ended_at IS NULL;

-- Scoped API tokens (a door scanner's), kept as SHA-256 hashes. Scopes and events are
-- space-separated lists.
CREATE TABLE api_tokens (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES users (id),
    name       text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    scopes     text NOT NULL,
    event_ids  text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_by_owner_idx ON api_tokens (owner_id, id);
