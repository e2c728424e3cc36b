-- The table hot-row.sql decrements: one row with more seats than any run sells.
CREATE TABLE hot_row (id integer PRIMARY KEY, available bigint NOT NULL);
INSERT INTO hot_row VALUES (1, 1000000000000);
