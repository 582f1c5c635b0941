/**
 * renew: extend the leases of the go() tasks a process still runs. A
 * renewal is a change: it bumps the version and slides the group's TTL.
 *
 * KEYS[1..6] the group's keys (see prelude.ts; the bell unused here)
 * ARGV[1..3] see prelude.ts
 * ARGV[4] lease length in ms
 * ARGV[5..] the task ids
 *
 * Returns {'ok', version}, {'lost', why} or {'tasklost', JSON}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const RENEW = `${PRELUDE}
local s, refused = open()
if not s then return refused end
local t = now()
local expiry = t + tonumber(ARGV[4])
for i = 5, #ARGV do
  redis.call('ZADD', leases, 'XX', expiry, ARGV[i])
end
return {'ok', commit(s, t)}
`;
