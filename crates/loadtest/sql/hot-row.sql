-- The ceiling of one hot row: one durable decrement of one row per transaction, the
-- shape of "take a seat of one event" with nothing around it. pgbench runs it from
-- many clients at once (see docs/performance.md).
UPDATE hot_row SET available = available - 1 WHERE id = 1 AND available > 0;
