-- Ticket types change after creation: a retired type sells nothing more; a booking and
-- a hold keep the price of one ticket they were made at; a closed waitlist entry says
-- why it was closed.
ALTER TABLE ticket_types ADD COLUMN retired BOOLEAN NOT NULL DEFAULT 0;

ALTER TABLE holds ADD COLUMN price_cents BIGINT NOT NULL DEFAULT 0 CHECK (price_cents >= 0);
UPDATE holds SET price_cents =
    (SELECT t.price_cents FROM ticket_types t WHERE t.id = holds.ticket_type_id);

ALTER TABLE bookings ADD COLUMN price_cents BIGINT NOT NULL DEFAULT 0 CHECK (price_cents >= 0);
UPDATE bookings SET price_cents =
    (SELECT t.price_cents FROM ticket_types t WHERE t.id = bookings.ticket_type_id);

-- Until now only an event's cancellation closed entries.
ALTER TABLE waitlist_entries ADD COLUMN closed_reason TEXT;
UPDATE waitlist_entries SET closed_reason = 'event_cancelled' WHERE status = 'closed';
