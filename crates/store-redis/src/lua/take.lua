-- Takes seats for one request, atomically, from an event's admission state.
-- KEYS[1] state hash, KEYS[2] leases hash, KEYS[3] due zset
-- ARGV: ticket type ('' = the event's first), quantity, partial ('1' or '0'),
--       lease token, lease deadline (ms), now (ms), event id
-- Returns {taken, free, per-user limit (0 = none)}: taken -1 = no state or a stale one
-- (rebuild it), -2 = the store answers (not on sale now, unknown type, more than the
-- type has), else the seats taken (0 = refused as sold out).
local st = redis.call('HMGET', KEYS[1], 'free', 'opens', 'closes', 'first', 'next', 'limit')
if not st[1] then return {-1, 0, 0} end
local now = tonumber(ARGV[6])
if st[5] and st[5] ~= '' and tonumber(st[5]) <= now then return {-1, 0, 0} end
if now < tonumber(st[2]) or now >= tonumber(st[3]) then return {-2, 0, 0} end
local ty = ARGV[1]
if ty == '' then ty = st[4] end
local t = redis.call('HMGET', KEYS[1], 't:' .. ty, 'q:' .. ty)
if not t[1] then return {-2, 0, 0} end
local qty = tonumber(ARGV[2])
if t[2] and t[2] ~= '' and qty > tonumber(t[2]) then return {-2, 0, 0} end
local free = math.min(tonumber(st[1]), tonumber(t[1]))
local take = 0
if free >= qty then
  take = qty
elseif ARGV[3] == '1' and free > 0 then
  take = free
end
if take > 0 then
  local deadline = tonumber(ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'free', -take)
  redis.call('HINCRBY', KEYS[1], 't:' .. ty, -take)
  redis.call('HSET', KEYS[2], ARGV[4], ty .. ' ' .. take .. ' ' .. ARGV[5])
  redis.call('PEXPIRE', KEYS[2], 2 * (deadline - now))
  redis.call('ZADD', KEYS[3], 'LT', deadline, ARGV[7])
end
return {take, math.max(free, 0), tonumber(st[6] or '0')}
