-- Takes seats for a batch of requests of one event, atomically, in the batch's order;
-- each request sees what the ones before it took.
-- KEYS[1] state hash, KEYS[2] leases hash, KEYS[3] due zset
-- ARGV: event id, lease time to live (ms), then five per request: ticket type ('' =
--       the event's first), quantity, partial ('1' or '0'), lease token, now (ms)
-- Returns three per request, {taken, free, per-user limit (0 = none)}: taken -1 = no
-- state or a stale one (rebuild it), -2 = the store answers (not on sale now, unknown
-- type, more than the type has), else the seats taken (0 = refused as sold out), each
-- under a lease with a deadline of now + ttl.
local ttl = tonumber(ARGV[2])
local out = {}
local soonest = nil
for i = 3, #ARGV, 5 do
  local st = redis.call('HMGET', KEYS[1], 'free', 'opens', 'closes', 'first', 'next', 'limit')
  local now = tonumber(ARGV[i + 4])
  local taken, free = -2, 0
  if not st[1] or (st[5] and st[5] ~= '' and tonumber(st[5]) <= now) then
    taken = -1
  elseif now >= tonumber(st[2]) and now < tonumber(st[3]) then
    local ty = ARGV[i]
    if ty == '' then ty = st[4] end
    local t = redis.call('HMGET', KEYS[1], 't:' .. ty, 'q:' .. ty)
    local qty = tonumber(ARGV[i + 1])
    if t[1] and not (t[2] and t[2] ~= '' and qty > tonumber(t[2])) then
      free = math.min(tonumber(st[1]), tonumber(t[1]))
      taken = 0
      if free >= qty then
        taken = qty
      elseif ARGV[i + 2] == '1' and free > 0 then
        taken = free
      end
      if taken > 0 then
        local deadline = now + ttl
        redis.call('HINCRBY', KEYS[1], 'free', -taken)
        redis.call('HINCRBY', KEYS[1], 't:' .. ty, -taken)
        redis.call('HSET', KEYS[2], ARGV[i + 3], ty .. ' ' .. taken .. ' ' .. deadline)
        if not soonest or deadline < soonest then soonest = deadline end
      end
    end
  end
  table.insert(out, taken)
  table.insert(out, math.max(free, 0))
  table.insert(out, tonumber(st[6] or '0'))
end
if soonest then
  redis.call('PEXPIRE', KEYS[2], 2 * ttl)
  redis.call('ZADD', KEYS[3], 'LT', soonest, ARGV[1])
end
return out
