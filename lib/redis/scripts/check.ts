/**
 * check (R5, R8, R11): read the state without changing it, for state(),
 * the waiters' re-check after a reconnect and at least every second, and
 * the lease watch.
 *
 * KEYS[1..4] the group's keys (see prelude.ts)
 * ARGV[1] epoch
 *
 * Returns {'ok', gen, counter, waiters, expired task id or '', its JSON or ''}
 * or {'lost', why}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const CHECK = `${PRELUDE}
local why = lost()
if why then return {'lost', why} end
local s = redis.call('HMGET', state, 'gen', 'counter', 'waiters')
local task, info = expired()
return {'ok', s[1], s[2], s[3], task, info}
`;
