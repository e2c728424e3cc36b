-- Ends a lease once the store has answered: the store kept `keep` seats (0 when it
-- refused), the rest go back. `due` (ms, optional) is when a hold the store recorded
-- ends: the event's state is stale from then on, and the event is due for a rebuild.
-- Seats kept 'unknown' (the store failed: it may or may not have recorded them) ends
-- the lease's time in flight instead: the next rebuild, due now, asks the store.
-- KEYS[1] state hash, KEYS[2] leases hash, KEYS[3] due zset
-- ARGV: lease token, seats kept (or 'unknown'), event id, due ('' = none)
-- Returns the seats given back (negative: the store took more than the lease).
local exists = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[4] ~= '' then
  local due = tonumber(ARGV[4])
  redis.call('ZADD', KEYS[3], 'LT', due, ARGV[3])
  if exists then
    local next = redis.call('HGET', KEYS[1], 'next')
    if not next or next == '' or tonumber(next) > due then redis.call('HSET', KEYS[1], 'next', due) end
  end
end
local lease = redis.call('HGET', KEYS[2], ARGV[1])
if not lease then return 0 end
local ty, qty = string.match(lease, '^(%S+) (%-?%d+) ')
if ARGV[2] == 'unknown' then
  redis.call('HSET', KEYS[2], ARGV[1], ty .. ' ' .. qty .. ' ' .. ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
local back = tonumber(qty) - tonumber(ARGV[2])
if back ~= 0 and exists then
  redis.call('HINCRBY', KEYS[1], 'free', back)
  redis.call('HINCRBY', KEYS[1], 't:' .. ty, back)
end
return back
