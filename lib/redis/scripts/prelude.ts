/**
 * The lines every script of a group starts with: its keys, the epoch check
 * and the sliding TTL. Each script is this prelude followed by its
 * own body, sent as one EVALSHA.
 *
 * State layout (why two fields): Lua numbers are doubles, exact only below
 * 2^53. Go's packed 64-bit word (counter << 32 | waiters) would exceed that
 * as soon as the counter is 2^21, so the counter and the waiters are two
 * fields of one hash, each kept in [0, 2^31 − 1], and every sum a script
 * computes stays far below 2^53.
 *
 * KEYS[1] awaitgroup:{name}         hash: epoch, counter, waiters, gen, ttl
 * KEYS[2] awaitgroup:{name}:ops     hash: o:<op id> applied operations,
 *                                   d:<done id> counted done ids,
 *                                   l:<task id> a go() task's name and owner
 * KEYS[3] awaitgroup:{name}:events  stream: one entry per release, field gen
 * KEYS[4] awaitgroup:{name}:leases  sorted set: go() task id scored by its lease's
 *                                   expiry in Redis' milliseconds
 * ARGV[1] the epoch the caller attached to
 * ARGV[2] ttl in ms, or '' for the group's own
 *
 * @module
 */

export const PRELUDE = `
local state, ops, events, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- L1: the state is gone (expired, deleted, a restart without persistence) or
-- belongs to another epoch (the name was created again): never recreate it.
-- epoch is the state's epoch field, read by the script's one HMGET.
local function lost(epoch)
  if not epoch then return 'missing' end
  if epoch ~= ARGV[1] then return 'epoch' end
  return nil
end
-- T1: every key of the group expires ttl ms after its last change, on Redis'
-- clock. The state and ops keys are touched by every change; the stream and
-- the leases only by a change that writes them (the varargs), which always
-- comes with a touch of the state, so neither outlives it. A new ttl (ARGV[2]
-- other than '' and the stored one) reaches all four keys at once, so that a
-- shorter ttl cannot leave a key behind the state. Each redis.call costs about
-- a microsecond in Redis: this is half of what touching all four costs.
local function touch(stored, ...)
  local ttl, written = ARGV[2], {...}
  if ttl == '' or ttl == stored then
    ttl = stored
  else
    redis.call('HSET', state, 'ttl', ttl)
    written = {events, leases}
  end
  redis.call('PEXPIRE', state, ttl)
  redis.call('PEXPIRE', ops, ttl)
  for _, key in ipairs(written) do redis.call('PEXPIRE', key, ttl) end
end
-- Redis' own clock in milliseconds (R9: never a client's).
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- X1: the first go() task whose lease has expired, and who owned it.
local function expired()
  local task = redis.call('ZRANGEBYSCORE', leases, '-inf', now(), 'LIMIT', 0, 1)[1]
  if not task then return '', '' end
  return task, (redis.call('HGET', ops, 'l:' .. task) or '')
end
`;
