-- Rebuilds an event's admission state from the store's snapshot: free seats as the
-- store counts them, minus leases still in flight. Leases the store has recorded, or
-- past their deadline, are dropped. The state goes stale when the next hold ends; the
-- event is due for a rebuild then, at the earliest lease deadline, or in a second when
-- a lease appeared after the snapshot was asked for (the store may have counted it).
-- Marks ('mark <deadline>' entries beside the leases) stand for operations giving
-- seats back: while one stays, the event is rebuilt again within a second, until the
-- operation's own rebuild (after its commit) clears it as recorded, or it ends.
-- KEYS[1] state hash, KEYS[2] leases hash, KEYS[3] due zset
-- ARGV: now (ms), event id, sells (1/0), opens (ms), closes (ms), free, next hold
--       expiry (ms, '' = none), per-user limit (0 = none), type count n, then n
--       triples (type, free, own cap or ''), then the count a of tokens asked about,
--       those a tokens, then the tokens the store has recorded
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[9])
local a = tonumber(ARGV[10 + 3 * n])
local asked, recorded = {}, {}
for i = 11 + 3 * n, 10 + 3 * n + a do asked[ARGV[i]] = true end
for i = 11 + 3 * n + a, #ARGV do recorded[ARGV[i]] = true end
local next = nil
if ARGV[7] ~= '' then next = tonumber(ARGV[7]) end
-- A hold recorded after the snapshot may have scheduled an earlier expiry: keep it.
local old = redis.call('HGET', KEYS[1], 'next')
if old and old ~= '' and tonumber(old) > now and (not next or tonumber(old) < next) then
  next = tonumber(old)
end
local due = next
local used, used_by = 0, {}
local leases = redis.call('HGETALL', KEYS[2])
for i = 1, #leases, 2 do
  local token = leases[i]
  local mark = string.match(leases[i + 1], '^mark (%d+)$')
  local ty, qty, deadline = string.match(leases[i + 1], '^(%S+) (%-?%d+) (%d+)$')
  qty, deadline = tonumber(qty), tonumber(deadline)
  if mark then
    if recorded[token] or tonumber(mark) <= now then
      redis.call('HDEL', KEYS[2], token)
    elseif not due or now + 1000 < due then
      due = now + 1000
    end
  elseif recorded[token] or deadline <= now then
    redis.call('HDEL', KEYS[2], token)
  else
    used = used + qty
    used_by[ty] = (used_by[ty] or 0) + qty
    if not asked[token] then deadline = math.min(deadline, now + 1000) end
    if not due or deadline < due then due = deadline end
  end
end
redis.call('DEL', KEYS[1])
local fields = {'free', 0, 'opens', 0, 'closes', 0, 'first', '', 'next', next or '',
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
