-- Accounts, sessions and events. Constraints here are the last line of defence:
-- the application checks the same rules first, but the schema refuses what slips through.
-- Ids are UUID text; instants are INTEGER microseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('attendee', 'organizer', 'admin')),
    active        BOOLEAN NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    BIGINT NOT NULL
);
-- Emails are unique ignoring case.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Refresh tokens are kept only as SHA-256 hashes. A family is one login session:
-- each rotation adds a token to it, and reusing a rotated token revokes all of it.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE password_reset_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

-- sold/held count seats of confirmed bookings and live holds across all ticket types.
CREATE TABLE events (
    id                   TEXT PRIMARY KEY NOT NULL,
    organizer_id         TEXT NOT NULL REFERENCES users (id),
    name                 TEXT NOT NULL,
    description          TEXT,
    venue                TEXT NOT NULL,
    starts_at            BIGINT NOT NULL,
    ends_at              BIGINT,
    latitude             DOUBLE CHECK (latitude BETWEEN -90 AND 90),
    longitude            DOUBLE CHECK (longitude BETWEEN -180 AND 180),
    currency             TEXT NOT NULL CHECK (length(currency) = 3),
    capacity             INTEGER NOT NULL CHECK (capacity > 0),
    max_tickets_per_user INTEGER CHECK (max_tickets_per_user > 0),
    sales_open_at        BIGINT,
    sales_close_at       BIGINT,
    status               TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    sold                 INTEGER NOT NULL DEFAULT 0,
    held                 INTEGER NOT NULL DEFAULT 0,
    waitlist_count       INTEGER NOT NULL DEFAULT 0 CHECK (waitlist_count >= 0),
    created_at           BIGINT NOT NULL,
    cancelled_at         BIGINT,
    CONSTRAINT events_seats_within_capacity
        CHECK (sold >= 0 AND held >= 0 AND sold + held <= capacity),
    CONSTRAINT events_ends_after_start CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX events_scheduled_by_start_idx ON events (starts_at, id) WHERE status = 'scheduled';
CREATE INDEX events_organizer_idx ON events (organizer_id);

-- A type's quantity caps that type; the event's capacity caps all types together.
CREATE TABLE ticket_types (
    id          TEXT PRIMARY KEY NOT NULL,
    event_id    TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    quantity    INTEGER CHECK (quantity > 0),
    sold        INTEGER NOT NULL DEFAULT 0,
    held        INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT ticket_types_seats_within_quantity
        CHECK (sold >= 0 AND held >= 0 AND (quantity IS NULL OR sold + held <= quantity)),
    CONSTRAINT ticket_types_event_position_key UNIQUE (event_id, position)
);
CREATE UNIQUE INDEX ticket_types_event_name_key ON ticket_types (event_id, lower(name));
