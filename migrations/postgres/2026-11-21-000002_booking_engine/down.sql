DROP TABLE idempotency_keys;
DROP TABLE waitlist_entries;
DROP TABLE bookings;
DROP TABLE holds;
ALTER TABLE events DROP COLUMN cancelled_seats;
