/**
 * renew: extend the leases of the go() tasks a process still runs. A
 * renewal is activity, so it slides the group's TTL as well.
 *
 * KEYS[1..4] the group's keys (see prelude.ts)
 * ARGV[1] epoch
 * ARGV[2] ttl in ms, or '' for the group's own
 * ARGV[3] lease length in ms
 * ARGV[4..] the task ids
 *
 * Returns {'ok'} or {'lost', why}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const RENEW = `${PRELUDE}
local s = redis.call('HMGET', state, 'epoch', 'ttl')
local why = lost(s[1])
if why then return {'lost', why} end
local expiry = now() + tonumber(ARGV[3])
for i = 4, #ARGV do
  redis.call('ZADD', leases, 'XX', expiry, ARGV[i])
end
touch(s[2], leases)
return {'ok'}
`;
