/**
 * add: Go's Add, done and the lease of a go() task in
 * one atomic step. The add that brings the counter to zero with waiters
 * resets the counter and the waiters, advances the generation and appends
 * one stream entry that every blocked reader receives: O(1) work for any
 * number of waiters.
 *
 * KEYS[1..4] the group's keys (see prelude.ts)
 * ARGV[1] epoch
 * ARGV[2] ttl in ms, or '' for the group's own
 * ARGV[3] operation id: a retried call with the same id applies once
 * ARGV[4] delta, a safe integer
 * ARGV[5] done id, or '': counted once for the group's lifetime
 * ARGV[6] lease: '' none, 'start' a go() task starts, 'end' it settled
 * ARGV[7] the task id of the lease
 * ARGV[8] lease length in ms ('start')
 * ARGV[9] the task's name and owner as JSON ('start')
 *
 * Returns {'ok', counter}, {'again'} (already applied), {'lost', why},
 * {'negative', counter}, {'overflow', counter} or {'misuse', counter}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const ADD = `${PRELUDE}
local s = redis.call('HMGET', state, 'epoch', 'counter', 'waiters', 'gen', 'ttl')
local why = lost(s[1])
if why then return {'lost', why} end
-- A1: a done id or an operation seen before is not applied again. The
-- operation id is recorded by the test itself (HSETNX) and taken back if the
-- add is refused, so that a retried refusal is refused again.
if ARGV[5] ~= '' and redis.call('HEXISTS', ops, 'd:' .. ARGV[5]) == 1 then return {'again'} end
local op = ARGV[3] ~= '' and 'o:' .. ARGV[3]
if op and redis.call('HSETNX', ops, op, 1) == 0 then return {'again'} end
local counter, waiters, gen = tonumber(s[2]), tonumber(s[3]), tonumber(s[4])
local delta = tonumber(ARGV[4])
local function refuse(outcome)
  if op then redis.call('HDEL', ops, op) end
  return {outcome, counter}
end
-- A2: refusals change nothing (S3, S4). Written as differences so that no
-- sum leaves the range where doubles are exact.
if delta < -counter then return refuse('negative') end
if delta > 2147483647 - counter then return refuse('overflow') end
if delta > 0 and counter == 0 and waiters > 0 then return refuse('misuse') end
if ARGV[5] ~= '' then redis.call('HSET', ops, 'd:' .. ARGV[5], 1) end
-- A3: a go() task's lease starts with its add and ends with its done.
local written = {}
if ARGV[6] == 'start' then
  redis.call('ZADD', leases, now() + tonumber(ARGV[8]), ARGV[7])
  redis.call('HSET', ops, 'l:' .. ARGV[7], ARGV[9])
  written[1] = leases
elseif ARGV[6] == 'end' then
  redis.call('ZREM', leases, ARGV[7])
  redis.call('HDEL', ops, 'l:' .. ARGV[7])
  written[1] = leases
end
counter = counter + delta
if counter == 0 and waiters > 0 then
  -- A4: release: reset, next generation, one entry for every waiter (R4, R5).
  gen = gen + 1
  redis.call('HSET', state, 'counter', 0, 'waiters', 0, 'gen', gen)
  redis.call('XADD', events, 'MAXLEN', '~', 64, '*', 'gen', gen)
  written[#written + 1] = events
else
  redis.call('HSET', state, 'counter', counter)
end
touch(s[5], unpack(written))
return {'ok', counter}
`;
