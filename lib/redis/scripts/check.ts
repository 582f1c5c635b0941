/**
 * check: read the state for state() and the waiters' re-checks. It writes
 * only to record that a go() task's lease expired, so that the group stays
 * lost for every later call.
 *
 * KEYS[1..6] the group's keys (see prelude.ts; the bell unused here)
 * ARGV[1..3] see prelude.ts
 *
 * Returns {'ok', version, gen, counter, waiters, ttl}, {'lost', why} or
 * {'tasklost', JSON, gen, counter, waiters, ttl}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const CHECK = `${PRELUDE}
local s, refused, lost = open('counter', 'waiters')
if not s then
  -- A group lost with a task still reports its state, and the task.
  if lost then return {'tasklost', lost[3], lost[5], lost[7], lost[8], lost[4]} end
  return refused
end
local t = now()
local info = expired(t)
if info then
  marklost(s, t, info)
  return {'tasklost', info, s[5], s[7], s[8], s[4]}
end
return {'ok', s[2], s[5], s[7], s[8], s[4]}
`;
