/**
 * The lines every script of a group starts with: its keys, the epoch check
 * (R8) and the sliding TTL (R9). Each script is this prelude followed by its
 * own body, sent as one EVALSHA.
 *
 * State layout (why two fields): Lua numbers are doubles, exact only below
 * 2^53. Go's packed 64-bit word (counter << 32 | waiters) would exceed that
 * as soon as the counter is 2^21, so the counter and the waiters are two
 * fields of one hash, each kept in [0, 2^31 − 1], and every sum a script
 * computes stays far below 2^53 (R2).
 *
 * KEYS[1] awaitgroup:{name}         hash: epoch, counter, waiters, gen, ttl
 * KEYS[2] awaitgroup:{name}:ops     hash: o:<op id> applied operations (R7),
 *                                   d:<done id> counted done ids (R13),
 *                                   l:<task id> a go() task's name and owner (R11)
 * KEYS[3] awaitgroup:{name}:events  stream: one entry per release, field gen (R4)
 * KEYS[4] awaitgroup:{name}:leases  sorted set: go() task id scored by its lease's
 *                                   expiry in Redis' milliseconds (R11)
 * ARGV[1] the epoch the caller attached to
 *
 * @module
 */

export const PRELUDE = `
local state, ops, events, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- L1: the state is gone (expired, deleted, a restart without persistence) or
-- belongs to another epoch (the name was created again): never recreate it.
local function lost()
  local epoch = redis.call('HGET', state, 'epoch')
  if not epoch then return 'missing' end
  if epoch ~= ARGV[1] then return 'epoch' end
  return nil
end
-- T1: every key of the group expires ttl ms after its last change, on Redis'
-- clock. ttl '' keeps the group's own; a number replaces it.
local function touch(ttl)
  if ttl == '' then ttl = redis.call('HGET', state, 'ttl') else redis.call('HSET', state, 'ttl', ttl) end
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
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
