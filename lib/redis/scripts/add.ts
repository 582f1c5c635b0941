/**
 * add: Go's Add, done and the lease of a go() task in one atomic step. The
 * add that brings the counter to zero with waiters resets the counter and
 * the waiters, advances the generation and appends one stream entry that
 * every blocked reader receives: O(1) work for any number of waiters.
 *
 * KEYS[1..6] the group's keys (see prelude.ts)
 * ARGV[1..3] see prelude.ts
 * ARGV[4] operation id: a retried call with the same id applies once
 * ARGV[5] delta, a safe integer
 * ARGV[6] done id, or '': counted once for the group's lifetime
 * ARGV[7] lease: '' none, 'start' a go() task starts, 'end' it settled
 * ARGV[8] the task id of the lease
 * ARGV[9] lease length in ms ('start')
 * ARGV[10] the task's name, host and pid as JSON ('start')
 *
 * Returns {'ok', version, counter, gen}, {'again', version} (already applied),
 * {'negative' | 'overflow' | 'misuse', version, counter}, {'lost', why} or
 * {'tasklost', JSON}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const ADD = `${PRELUDE}
local s, refused = open('counter', 'waiters')
if not s then return refused end
local t = now()
prune(s, t)
-- A done id or an operation seen before is not applied again: the
-- operation id is recorded by its own test (ZADD NX) and taken back if the
-- add is refused, so that a retried refusal is refused again.
if ARGV[6] ~= '' and redis.call('HEXISTS', ops, 'd:' .. ARGV[6]) == 1 then return {'again', s[2]} end
if redis.call('ZADD', opids, 'NX', t, ARGV[4]) == 0 then return {'again', s[2]} end
local counter, waiters, gen = tonumber(s[7]), tonumber(s[8]), tonumber(s[5])
local delta = tonumber(ARGV[5])
-- Refusals change nothing. Written as differences so that no sum leaves
-- the range where doubles are exact.
local function refuse(outcome)
  redis.call('ZREM', opids, ARGV[4])
  return {outcome, s[2], counter}
end
if delta < -counter then return refuse('negative') end
if delta > 2147483647 - counter then return refuse('overflow') end
if delta > 0 and counter == 0 and waiters > 0 then return refuse('misuse') end
if ARGV[6] ~= '' then redis.call('HSET', ops, 'd:' .. ARGV[6], 1) end
-- A go() task's lease starts with its add and ends with its done.
if ARGV[7] == 'start' then
  redis.call('ZADD', leases, t + tonumber(ARGV[9]), ARGV[8])
  redis.call('HSET', ops, 'l:' .. ARGV[8], ARGV[10], 's:' .. ARGV[8], t)
elseif ARGV[7] == 'end' then
  redis.call('ZREM', leases, ARGV[8])
  redis.call('HDEL', ops, 'l:' .. ARGV[8], 's:' .. ARGV[8])
end
counter = counter + delta
if counter == 0 and waiters > 0 then
  -- Release: reset, next generation, one entry for every waiter.
  gen = gen + 1
  redis.call('XADD', events, 'MAXLEN', '~', 64, '*', 'gen', gen)
  bell(gen, s[4])
  return {'ok', commit(s, t, 'counter', 0, 'waiters', 0, 'gen', gen), 0, gen}
end
return {'ok', commit(s, t, 'counter', counter), counter, gen}
`;
