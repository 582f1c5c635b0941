/**
 * The lines every script of a group starts with: its keys, the checks that
 * the state is the one the caller attached to and that Redis still holds
 * all of it, the version every change bumps, the recent operation ids and
 * the sliding TTL. Each script is this prelude followed by its own body,
 * sent as one EVALSHA.
 *
 * State layout (why two fields): Lua numbers are doubles, exact only below
 * 2^53. Go's packed 64-bit word (counter << 32 | waiters) would exceed that
 * as soon as the counter is 2^21, so the counter and the waiters are two
 * fields of one hash, each kept in [0, 2^31 − 1], and every sum a script
 * computes stays far below 2^53.
 *
 * KEYS[1] <prefix>{name}          hash: epoch, counter, waiters, gen, ttl,
 *                                 v (version, bumped by every change),
 *                                 lost (the JSON of a task whose lease expired)
 * KEYS[2] <prefix>{name}:ops      hash: epoch (its vouch), o:<op id> recent
 *                                 operations, d:<done id> counted done ids,
 *                                 l:<task id> a go() task's JSON,
 *                                 s:<task id> when it started (Redis ms)
 * KEYS[3] <prefix>{name}:events   stream: one entry per release, field gen;
 *                                 never empty (create writes gen 0)
 * KEYS[4] <prefix>{name}:leases   sorted set: go() task id scored by its
 *                                 lease's expiry (Redis ms); member '~' at +inf
 * KEYS[5] <prefix>{name}:opids    sorted set: recent op ids scored by when they
 *                                 were applied (Redis ms); member '~' at +inf
 * ARGV[1] the epoch the caller attached to
 * ARGV[2] the highest version the caller has seen ('0' if none)
 * ARGV[3] how long operation ids are kept for a retry, in ms
 *
 * @module
 */

export const PRELUDE = `
local state, ops, events, leases, opids = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
-- Redis' own clock in milliseconds (never a client's).
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- open reads the state's fields epoch, v, lost, ttl, gen and then the
-- script's own (s[6], s[7], ...), or returns the refusal that stands for a
-- state that cannot be trusted: gone, of another epoch, missing one of its
-- keys (an eviction), older than what the caller has seen (a rollback), or
-- recorded as lost with a task.
local function open(...)
  local s = redis.call('HMGET', state, 'epoch', 'v', 'lost', 'ttl', 'gen', ...)
  if not s[1] then return nil, {'lost', 'missing'} end
  if s[1] ~= ARGV[1] then return nil, {'lost', 'epoch'} end
  if redis.call('EXISTS', state, ops, events, leases, opids) ~= 5
    or redis.call('HGET', ops, 'epoch') ~= ARGV[1] then
    return nil, {'lost', 'evicted'}
  end
  if tonumber(s[2]) < tonumber(ARGV[2]) then return nil, {'lost', 'rollback'} end
  if s[3] then return nil, {'tasklost', s[3]}, s end
  return s
end
-- commit bumps the version and slides the TTL of every key of the group:
-- each of them must live as long as the state that vouches for it.
local function commit(s)
  local v = tonumber(s[2]) + 1
  redis.call('HSET', state, 'v', v)
  for _, key in ipairs({state, ops, events, leases, opids}) do
    redis.call('PEXPIRE', key, s[4])
  end
  return v
end
-- applied is the value recorded for operation id op, or nil; it first forgets
-- up to four ids older than the retry window, so that the ids kept are those
-- of the window, at O(1) amortised cost per call.
local function applied(op, t)
  local old = redis.call('ZRANGEBYSCORE', opids, '-inf', t - tonumber(ARGV[3]), 'LIMIT', 0, 4)
  if #old > 0 then
    for i = 1, #old do redis.call('HDEL', ops, 'o:' .. old[i]) end
    redis.call('ZREM', opids, unpack(old))
  end
  return redis.call('HGET', ops, 'o:' .. op)
end
local function record(op, value, t)
  redis.call('HSET', ops, 'o:' .. op, value)
  redis.call('ZADD', opids, t, op)
end
-- The first go() task whose lease has expired, and its JSON.
local function expired(t)
  local task = redis.call('ZRANGEBYSCORE', leases, '-inf', t, 'LIMIT', 0, 1)[1]
  if not task then return nil end
  return redis.call('HGET', ops, 'l:' .. task) or '{}'
end
-- marklost records that the group lost a task: every later call refuses.
local function marklost(s, info)
  redis.call('HSET', state, 'lost', info)
  commit(s)
  return {'tasklost', info}
end
`;
