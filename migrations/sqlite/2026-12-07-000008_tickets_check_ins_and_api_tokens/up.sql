-- How many tickets a booking was made with: its quantity before any cancellation,
-- so cancelled seats still list as voided tickets. NULL for bookings made before (or
-- by an older binary during a rolling deploy): their quantity stands in.
ALTER TABLE bookings ADD COLUMN tickets_issued INTEGER CHECK (tickets_issued > 0);

-- Tickets a cancellation named: they are void whatever the booking's quantity. A
-- cancellation that names none voids the newest valid tickets, which needs no row.
CREATE TABLE ticket_voids (
    booking_id TEXT NOT NULL REFERENCES bookings (id),
    number     INTEGER NOT NULL CHECK (number BETWEEN 1 AND 100),
    voided_at  BIGINT NOT NULL,
    PRIMARY KEY (booking_id, number)
);

-- Check-ins at the door. Tickets themselves are not stored: a ticket is a booking's
-- seat number, its id derived from both. A row is one check-in; it ends when undone or
-- when an earlier offline scan of the same ticket takes its place. No foreign key to
-- events or ticket types: the booking's implies them, and a key check on the event row
-- would wait on the seat batches that lock it (on Postgres).
CREATE TABLE check_ins (
    id             TEXT PRIMARY KEY NOT NULL,
    ticket_id      TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    booking_id     TEXT NOT NULL REFERENCES bookings (id),
    ticket_type_id TEXT NOT NULL,
    number         INTEGER NOT NULL CHECK (number BETWEEN 1 AND 100),
    scanner_kind   TEXT NOT NULL CHECK (scanner_kind IN ('user', 'token')),
    scanner_id     TEXT NOT NULL,
    scanned_at     BIGINT NOT NULL,
    recorded_at    BIGINT NOT NULL,
    ended_at       BIGINT,
    ended_reason   TEXT CHECK (ended_reason IN ('undone', 'replaced')),
    CONSTRAINT check_ins_ended_with_reason CHECK ((ended_at IS NULL) = (ended_reason IS NULL))
);
-- A ticket is checked in at most once at a time, whatever the race.
CREATE UNIQUE INDEX check_ins_one_in_force_idx ON check_ins (ticket_id) WHERE ended_at IS NULL;
CREATE INDEX check_ins_by_booking_idx ON check_ins (booking_id) WHERE ended_at IS NULL;
CREATE INDEX check_ins_by_event_idx ON check_ins (event_id, id) WHERE ended_at IS NULL;

-- Scoped API tokens (a door scanner's), kept as SHA-256 hashes. Scopes and events are
-- space-separated lists.
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    owner_id   TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,
    event_ids  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_by_owner_idx ON api_tokens (owner_id, id);
