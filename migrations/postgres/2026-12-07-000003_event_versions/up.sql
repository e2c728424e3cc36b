-- An event's version grows with every committed change of what reading the event shows
-- (details, status, seat counters of the event and its ticket types). Stores publish
-- the new version to the version board before they commit, so that copies of the event
-- kept in memory can be checked before reuse (docs/performance.md).
ALTER TABLE events ADD COLUMN version BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0);
