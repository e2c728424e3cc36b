-- Ends the leases of a batch of requests the store has answered: the seats each lease
-- holds that the store did not keep go back (negative: the store took more than the
-- lease). 'unknown' kept (the store failed: it may or may not have recorded them) ends
-- the lease's time in flight instead, and the event is due at once so that the next
-- rebuild asks the store. A due time (when a hold the store recorded ends) makes the
-- event's state stale from then on, and the event due for a rebuild.
-- KEYS[1] state hash, KEYS[2] leases hash, KEYS[3] due zset
-- ARGV: event id, then three per lease: token, seats kept (or 'unknown'), due (ms,
--       '' = none)
-- Returns the seats given back in all.
local exists = redis.call('EXISTS', KEYS[1]) == 1
local given = 0
for i = 2, #ARGV, 3 do
  local token, keep, due = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if due ~= '' then
    redis.call('ZADD', KEYS[3], 'LT', tonumber(due), ARGV[1])
    if exists then
      local next = redis.call('HGET', KEYS[1], 'next')
      if not next or next == '' or tonumber(next) > tonumber(due) then
        redis.call('HSET', KEYS[1], 'next', due)
      end
    end
  end
  local lease = redis.call('HGET', KEYS[2], token)
  if lease then
    local ty, qty = string.match(lease, '^(%S+) (%-?%d+) ')
    if keep == 'unknown' then
      redis.call('HSET', KEYS[2], token, ty .. ' ' .. qty .. ' ' .. due)
      redis.call('ZADD', KEYS[3], due, ARGV[1])
    else
      redis.call('HDEL', KEYS[2], token)
      local back = tonumber(qty) - tonumber(keep)
      if back ~= 0 and exists then
        redis.call('HINCRBY', KEYS[1], 'free', back)
        redis.call('HINCRBY', KEYS[1], 't:' .. ty, back)
      end
      given = given + back
    end
  end
end
return given
