-- The seat planner reads, per batch, what the batch's users have of one event: their
-- waiting entries (and, under a purchase limit, their confirmed bookings) by event and
-- user. The one-waiting-entry-per-user index leads with (event_id, user_id) for that.
DROP INDEX waitlist_one_waiting_per_user_key;
CREATE UNIQUE INDEX waitlist_one_waiting_per_user_key
    ON waitlist_entries (event_id, user_id, ticket_type_id) WHERE status = 'waiting';
CREATE INDEX bookings_confirmed_by_event_user_idx
    ON bookings (event_id, user_id) WHERE status = 'confirmed';
