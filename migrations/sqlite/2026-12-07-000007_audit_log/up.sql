-- Security-relevant actions (logins, password changes, role and active changes, token
-- families revoked for reuse, event cancellations). No foreign keys: the log outlives
-- what it names. Ids are UUIDv7, so id order is time order.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    action     TEXT NOT NULL,
    actor_id   TEXT,
    user_id    TEXT,
    event_id   TEXT,
    request_id TEXT
);
CREATE INDEX audit_log_by_user_idx ON audit_log (user_id, id);
CREATE INDEX audit_log_by_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_by_action_idx ON audit_log (action, id);
