ALTER TABLE waitlist_entries DROP COLUMN closed_reason;
ALTER TABLE bookings DROP COLUMN price_cents;
ALTER TABLE holds DROP COLUMN price_cents;
ALTER TABLE ticket_types DROP COLUMN retired;
