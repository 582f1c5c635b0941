/**
 * add: Go's Add, done and the lease of a go() task in one atomic step, for
 * a batch of one or more operations of one instance, applied in order as
 * if each were its own call. The add that brings the counter to zero with
 * waiters resets the counter and the waiters, advances the generation and
 * appends one stream entry that every blocked reader receives: O(1) work
 * for any number of waiters. The state is read once and written once (one
 * version) for the whole batch.
 *
 * KEYS[1..6] the group's keys (see prelude.ts)
 * ARGV[1..3] see prelude.ts
 * Then 7 arguments per operation, for the first at ARGV[4..10]:
 * ARGV[4] operation id: a retried call with the same id applies once
 * ARGV[5] delta, a safe integer
 * ARGV[6] done id, or '': counted once for the group's lifetime
 * ARGV[7] lease: '' none, 'start' a go() task starts, 'end' it settled
 * ARGV[8] the task id of the lease
 * ARGV[9] lease length in ms ('start')
 * ARGV[10] the task's name, host and pid as JSON ('start')
 *
 * Returns four items per operation, in order: {'ok', version, counter, gen}
 * (the counter and generation right after it), {'again', version, counter,
 * gen} (already applied), {'negative' | 'overflow' | 'misuse', version,
 * counter, gen} (refused, changing nothing; the counter it found); or, for
 * the whole batch, {'lost', why} or {'tasklost', JSON}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

/** How many arguments each operation of a batch takes. */
export const ADD_ARGS = 7;

export const ADD = `${PRELUDE}
local s, refused = open('counter', 'waiters')
if not s then return refused end
local t = now()
local n = math.floor((#ARGV - 3) / ${ADD_ARGS})
prune(s, t, n)
local counter, waiters, gen = tonumber(s[7]), tonumber(s[8]), tonumber(s[5])
local released = false
local reply, applied = {}, {}
for i = 0, n - 1 do
  local a = 3 + i * ${ADD_ARGS}
  local op, delta, id = ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3]
  local lease, task = ARGV[a + 4], ARGV[a + 5]
  local status = 'ok'
  -- A done id or an operation seen before is not applied again: the
  -- operation id is recorded by its own test (ZADD NX) and taken back if the
  -- operation is refused, so that a retried refusal is refused again.
  if id ~= '' and redis.call('HEXISTS', ops, 'd:' .. id) == 1 then
    status = 'again'
  elseif redis.call('ZADD', opids, 'NX', t, op) == 0 then
    status = 'again'
  -- Refusals change nothing. Written as differences so that no sum leaves
  -- the range where doubles are exact.
  elseif delta < -counter then
    status = 'negative'
  elseif delta > 2147483647 - counter then
    status = 'overflow'
  elseif delta > 0 and counter == 0 and waiters > 0 then
    status = 'misuse'
  end
  local found = counter
  if status == 'ok' then
    if id ~= '' then redis.call('HSET', ops, 'd:' .. id, 1) end
    -- A go() task's lease starts with its add and ends with its done.
    if lease == 'start' then
      redis.call('ZADD', leases, t + tonumber(ARGV[a + 6]), task)
      redis.call('HSET', ops, 'l:' .. task, ARGV[a + 7], 's:' .. task, t)
    elseif lease == 'end' then
      redis.call('ZREM', leases, task)
      redis.call('HDEL', ops, 'l:' .. task, 's:' .. task)
    end
    counter = counter + delta
    if counter == 0 and waiters > 0 then
      -- Release: reset, next generation, one entry for every waiter.
      gen = gen + 1
      waiters = 0
      released = true
      redis.call('XADD', events, 'MAXLEN', '~', 64, '*', 'gen', gen)
      bell(gen, s[4])
    end
    applied[#applied + 1] = #reply + 2
    found = counter
  elseif status ~= 'again' then
    redis.call('ZREM', opids, op)
  end
  reply[#reply + 1] = status
  reply[#reply + 1] = s[2]
  reply[#reply + 1] = found
  reply[#reply + 1] = gen
end
if #applied > 0 then
  local v
  if released then
    v = commit(s, t, 'counter', counter, 'waiters', 0, 'gen', gen)
  else
    v = commit(s, t, 'counter', counter)
  end
  for _, at in ipairs(applied) do reply[at] = v end
end
return reply
`;
