/**
 * check: read the state without changing it, for state(),
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
local s = redis.call('HMGET', state, 'epoch', 'gen', 'counter', 'waiters')
local why = lost(s[1])
if why then return {'lost', why} end
local task, info = expired()
return {'ok', s[2], s[3], s[4], task, info}
`;
