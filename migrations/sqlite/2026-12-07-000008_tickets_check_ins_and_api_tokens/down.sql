DROP TABLE ticket_voids;
DROP TABLE api_tokens;
DROP TABLE check_ins;
ALTER TABLE bookings DROP COLUMN tickets_issued;
