DROP TABLE catalog;
ALTER TABLE events DROP COLUMN version;
ALTER TABLE users DROP COLUMN version;
