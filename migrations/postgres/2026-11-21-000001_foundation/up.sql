-- Accounts, sessions and events. Constraints here are the last line of defence:
-- the application checks the same rules first, but the schema refuses what slips through.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('attendee', 'organizer', 'admin')),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL
);
-- Emails are unique ignoring case.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Refresh tokens are kept only as SHA-256 hashes. A family is one login session:
-- each rotation adds a token to it, and reusing a rotated token revokes all of it.
CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    family_id  uuid NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE password_reset_tokens (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

-- sold/held count seats of confirmed bookings and live holds across all ticket types.
CREATE TABLE events (
    id                   uuid PRIMARY KEY,
    organizer_id         uuid NOT NULL REFERENCES users (id),
    name                 text NOT NULL,
    description          text,
    venue                text NOT NULL,
    starts_at            timestamptz NOT NULL,
    ends_at              timestamptz,
    latitude             double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude            double precision CHECK (longitude BETWEEN -180 AND 180),
    currency             text NOT NULL CHECK (length(currency) = 3),
    capacity             integer NOT NULL CHECK (capacity > 0),
    max_tickets_per_user integer CHECK (max_tickets_per_user > 0),
    sales_open_at        timestamptz,
    sales_close_at       timestamptz,
    status               text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    sold                 integer NOT NULL DEFAULT 0,
    held                 integer NOT NULL DEFAULT 0,
    waitlist_count       integer NOT NULL DEFAULT 0 CHECK (waitlist_count >= 0),
    created_at           timestamptz NOT NULL,
    cancelled_at         timestamptz,
    CONSTRAINT events_seats_within_capacity
        CHECK (sold >= 0 AND held >= 0 AND sold + held <= capacity),
    CONSTRAINT events_ends_after_start CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX events_scheduled_by_start_idx ON events (starts_at, id) WHERE status = 'scheduled';
CREATE INDEX events_organizer_idx ON events (organizer_id);

-- A type's quantity caps that type; the event's capacity caps all types together.
CREATE TABLE ticket_types (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    name        text NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    quantity    integer CHECK (quantity > 0),
    sold        integer NOT NULL DEFAULT 0,
    held        integer NOT NULL DEFAULT 0,
    CONSTRAINT ticket_types_seats_within_quantity
        CHECK (sold >= 0 AND held >= 0 AND (quantity IS NULL OR sold + held <= quantity)),
    CONSTRAINT ticket_types_event_position_key UNIQUE (event_id, position)
);
CREATE UNIQUE INDEX ticket_types_event_name_key ON ticket_types (event_id, lower(name));
