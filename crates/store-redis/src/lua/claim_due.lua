-- Claims up to `limit` events whose rebuild is due, pushing them to `retry` so that
-- other processes skip them (and retry if this one dies before rebuilding them).
-- KEYS[1] due zset; ARGV: now (ms), limit, retry (ms)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, event in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[3], event) end
return due
