DROP INDEX bookings_confirmed_by_event_user_idx;
DROP INDEX waitlist_one_waiting_per_user_key;
CREATE UNIQUE INDEX waitlist_one_waiting_per_user_key
    ON waitlist_entries (event_id, ticket_type_id, user_id) WHERE status = 'waiting';
