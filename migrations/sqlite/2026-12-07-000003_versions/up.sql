-- An event's version grows with every committed change of what reading the event shows
-- (details, status, seat counters of the event and its ticket types). Stores publish
-- the new version to the version board before they commit, so that copies of the event
-- kept in memory can be checked before reuse (docs/performance.md).
ALTER TABLE events ADD COLUMN version BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0);

-- An account's version grows with every committed change of the account (profile, role,
-- active, password), published the same way: instances check it before trusting their
-- copy of the account when they authenticate a request.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0);

-- The catalog's version grows with every event created, changed or cancelled, which is
-- what decides which events `GET /events` lists and in which order. Published like the
-- versions above, it lets instances answer listings from memory.
CREATE TABLE catalog (
    id      BOOLEAN PRIMARY KEY NOT NULL DEFAULT TRUE CHECK (id),
    version BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0)
);
INSERT INTO catalog (id, version) VALUES (TRUE, 0);
