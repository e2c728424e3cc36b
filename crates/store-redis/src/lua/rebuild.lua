-- Rebuilds an event's admission state from the store's snapshot: free seats as the
-- store counts them, minus leases still in flight. Leases the store has recorded, or
-- past their deadline, are dropped. The state goes stale when the next hold ends; the
-- event is due for a rebuild then, or at the earliest lease deadline.
-- KEYS[1] state hash, KEYS[2] leases hash, KEYS[3] due zset
-- ARGV: now (ms), event id, sells (1/0), opens (ms), closes (ms), free, next hold
--       expiry (ms, '' = none), per-user limit (0 = none), type count n, then n
--       triples (type, free, own cap or ''), then the recorded tokens
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[9])
local recorded = {}
for i = 10 + 3 * n, #ARGV do recorded[ARGV[i]] = true end
local used, used_by = 0, {}
local due = nil
if ARGV[7] ~= '' then due = tonumber(ARGV[7]) end
local leases = redis.call('HGETALL', KEYS[2])
for i = 1, #leases, 2 do
  local token = leases[i]
  local ty, qty, deadline = string.match(leases[i + 1], '^(%S+) (%-?%d+) (%d+)$')
  qty, deadline = tonumber(qty), tonumber(deadline)
  if recorded[token] or deadline <= now then
    redis.call('HDEL', KEYS[2], token)
  else
    used = used + qty
    used_by[ty] = (used_by[ty] or 0) + qty
    if not due or deadline < due then due = deadline end
  end
end
redis.call('DEL', KEYS[1])
local fields = {'free', 0, 'opens', 0, 'closes', 0, 'first', '', 'next', ARGV[7],
                'limit', ARGV[8]}
if ARGV[3] == '1' then
  fields[2] = tonumber(ARGV[6]) - used
  fields[4] = ARGV[4]
  fields[6] = ARGV[5]
  fields[8] = ARGV[10]
  for i = 10, 9 + 3 * n, 3 do
    table.insert(fields, 't:' .. ARGV[i])
    table.insert(fields, tonumber(ARGV[i + 1]) - (used_by[ARGV[i]] or 0))
    table.insert(fields, 'q:' .. ARGV[i])
    table.insert(fields, ARGV[i + 2])
  end
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], 86400000)
if due then
  redis.call('ZADD', KEYS[3], due, ARGV[2])
else
  redis.call('ZREM', KEYS[3], ARGV[2])
end
return used
