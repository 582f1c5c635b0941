/**
 * abort: deregister a waiter whose signal fired, unless its generation has
 * already been released, in one atomic step.
 *
 * KEYS[1..6] the group's keys (see prelude.ts; the bell unused here)
 * ARGV[1..3] see prelude.ts
 * ARGV[4] operation id: a retried abort counts once
 * ARGV[5] the registration's operation id
 * ARGV[6] the generation the waiter registered in, or '' if its
 *         registration's reply never came (then it is looked up)
 *
 * Returns {'aborted', version}, {'released', version}, {'lost', why} or
 * {'tasklost', JSON}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const ABORT = `${PRELUDE}
local s, refused = open('waiters')
if not s then return refused end
local t = now()
prune(s, t)
if redis.call('ZADD', opids, 'NX', t, ARGV[4]) == 0 then return {'aborted', s[2]} end
local gen = ARGV[6]
if gen == '' then
  gen = redis.call('HGET', ops, 'o:' .. ARGV[5])
  -- Never registered (or long ago): nothing to take back.
  if not gen then return {'aborted', s[2]} end
end
-- The release won the race: the wait resolves, the abort is ignored.
if s[5] ~= gen then return {'released', s[2]} end
return {'aborted', commit(s, t, 'waiters', math.max(tonumber(s[7]) - 1, 0))}
`;
