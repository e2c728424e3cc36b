ALTER TABLE events DROP COLUMN version;
