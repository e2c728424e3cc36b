-- Ticket types change after creation: a retired type sells nothing more; a booking and
-- a hold keep the price of one ticket they were made at; a closed waitlist entry says
-- why it was closed.
ALTER TABLE ticket_types ADD COLUMN retired BOOLEAN NOT NULL DEFAULT false;

ALTER TABLE holds ADD COLUMN price_cents BIGINT;
UPDATE holds SET price_cents = t.price_cents FROM ticket_types t WHERE t.id = holds.ticket_type_id;
ALTER TABLE holds ALTER COLUMN price_cents SET NOT NULL,
    ADD CONSTRAINT holds_price_not_negative CHECK (price_cents >= 0);

ALTER TABLE bookings ADD COLUMN price_cents BIGINT;
UPDATE bookings SET price_cents = t.price_cents FROM ticket_types t WHERE t.id = bookings.ticket_type_id;
ALTER TABLE bookings ALTER COLUMN price_cents SET NOT NULL,
    ADD CONSTRAINT bookings_price_not_negative CHECK (price_cents >= 0);

-- Until now only an event's cancellation closed entries.
ALTER TABLE waitlist_entries ADD COLUMN closed_reason TEXT;
UPDATE waitlist_entries SET closed_reason = 'event_cancelled' WHERE status = 'closed';
ALTER TABLE waitlist_entries ADD CONSTRAINT waitlist_closed_has_reason
    CHECK ((status = 'closed') = (closed_reason IS NOT NULL));
