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
 *                                 v (version, bumped by every change; -1 once
 *                                 a rollback was seen: lost for every member),
 *                                 exp (when every key expires, Redis ms),
 *                                 lost (the JSON of a task whose lease expired)
 * KEYS[2] <prefix>{name}:ops      hash: epoch, o:<op id> the generation of a
 *                                 recent registration, d:<done id> counted
 *                                 done ids, l:<task id> a go() task's JSON,
 *                                 s:<task id> when it started (Redis ms)
 * KEYS[3] <prefix>{name}:events   stream: one entry per release, field gen;
 *                                 never empty (create writes gen 0)
 * KEYS[4] <prefix>{name}:leases   sorted set: go() task id scored by its
 *                                 lease's expiry (Redis ms); member '~' at +inf
 * KEYS[5] <prefix>{name}:opids    sorted set: the ids of the operations applied
 *                                 within the retry window, scored by when
 *                                 (Redis ms); member '~' at +inf
 * KEYS[6] <prefix>releases        stream: one entry per release of every group
 *                                 under the prefix (fields k: the state key,
 *                                 e: its epoch, gen), which one read of each
 *                                 process serves; only on one server (on a
 *                                 Cluster it would be another slot: there a
 *                                 release is also published on the shard
 *                                 channel <prefix>{name}:release, message gen)
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
-- open reads the state's fields epoch, v, lost, ttl, gen, exp and then the
-- script's own (s[7], s[8], ...), or returns the refusal that stands for a
-- state that cannot be trusted: gone, of another epoch, missing one of its
-- keys (an eviction), older than what the caller has seen (a rollback), or
-- recorded as lost with a task (then the fields come third).
local function open(...)
  local s = redis.call('HMGET', state, 'epoch', 'v', 'lost', 'ttl', 'gen', 'exp', ...)
  if not s[1] then return nil, {'lost', 'missing'} end
  if s[1] ~= ARGV[1] then return nil, {'lost', 'epoch'} end
  if redis.call('EXISTS', state, ops, events, leases, opids) ~= 5 then
    return nil, {'lost', 'evicted'}
  end
  if tonumber(s[2]) < tonumber(ARGV[2]) then
    -- A rollback (R16): the version goes below any a caller can hold, so
    -- every member's next call or re-check refuses too, not only this one.
    redis.call('HSET', state, 'v', -1)
    return nil, {'lost', 'rollback'}
  end
  if s[3] then return nil, {'tasklost', s[3]}, s end
  return s
end
-- commit writes the script's state fields (name, value, ...) with the next
-- version, and keeps every key of the group alive at least ttl ms after
-- this change: each must live as long as the state that vouches for it.
-- The expiry is moved only once it falls short, by ttl plus a slack of a
-- tenth of the ttl (at most a second), so a busy group pays for the five
-- PEXPIREATs about once a second and an idle one expires at most the
-- slack late, never early.
local function commit(s, t, ...)
  local v = tonumber(s[2]) + 1
  local ttl = tonumber(s[4])
  if tonumber(s[6] or 0) < t + ttl then
    local exp = t + ttl + math.min(math.floor(ttl / 10), 1000)
    redis.call('HSET', state, 'v', v, 'exp', exp, ...)
    for _, key in ipairs({state, ops, events, leases, opids}) do
      redis.call('PEXPIREAT', key, exp)
    end
  else
    redis.call('HSET', state, 'v', v, ...)
  end
  return v
end
-- prune forgets up to sixteen operation ids older than the retry window,
-- at every eighth version: two a change on average, more than the one each
-- change adds, so the ids kept are those of the window, at O(1) amortised
-- cost per call. A script that applies n > 1 operations under one version
-- forgets up to 2n at every version.
local function prune(s, t, n)
  n = n or 1
  if n == 1 and tonumber(s[2]) % 8 ~= 0 then return end
  local old = redis.call('ZRANGEBYSCORE', opids, '-inf', t - tonumber(ARGV[3]), 'LIMIT', 0,
    math.max(16, 2 * n))
  if #old > 0 then
    redis.call('ZREM', opids, unpack(old))
    for i = 1, #old do old[i] = 'o:' .. old[i] end
    redis.call('HDEL', ops, unpack(old))
  end
end
-- bell rings the release of generation gen for every process: on one
-- server the stream every process reads; on a Cluster a message on the
-- group's shard channel <prefix>{name}:release (its slot, so a script may
-- publish it), which the processes waiting on the group subscribe to. A
-- user not allowed to publish there (an older ACL) still releases: the
-- processes then read the stream, as their subscription is refused too.
local function bell(gen, ttl)
  local key = KEYS[6]
  if not key then
    redis.pcall('SPUBLISH', state .. ':release', gen)
    return
  end
  redis.call('XADD', key, 'MAXLEN', '~', 1000, '*', 'k', state, 'e', ARGV[1], 'gen', gen)
  if redis.call('PTTL', key) < tonumber(ttl) then redis.call('PEXPIRE', key, ttl) end
end
-- The first go() task whose lease has expired, and its JSON.
local function expired(t)
  local task = redis.call('ZRANGEBYSCORE', leases, '-inf', t, 'LIMIT', 0, 1)[1]
  if not task then return nil end
  return redis.call('HGET', ops, 'l:' .. task) or '{}'
end
-- marklost records that the group lost a task: every later call refuses.
local function marklost(s, t, info)
  commit(s, t, 'lost', info)
  return {'tasklost', info}
end
`;
