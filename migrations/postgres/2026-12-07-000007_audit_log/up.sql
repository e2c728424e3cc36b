-- Security-relevant actions (logins, password changes, role and active changes, token
-- families revoked for reuse, event cancellations). No foreign keys: the log outlives
-- what it names. Ids are UUIDv7, so id order is time order.
CREATE TABLE audit_log (
    id         uuid PRIMARY KEY,
    at         timestamptz NOT NULL,
    action     text NOT NULL,
    actor_id   uuid,
    user_id    uuid,
    event_id   uuid,
    request_id text
);
CREATE INDEX audit_log_by_user_idx ON audit_log (user_id, id);
CREATE INDEX audit_log_by_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_by_action_idx ON audit_log (action, id);
