/**
 * unfinished: the open units of a group: each go() task with a lease, and
 * the counter, read in one step.
 *
 * KEYS[1..6] the group's keys (see prelude.ts; the bell unused here)
 * ARGV[1..3] see prelude.ts
 * ARGV[4] the most tasks to list
 *
 * Returns {'ok', version, counter, now, tasks, [task JSON, since, lease
 * expiry]...}, {'lost', why} or {'tasklost', JSON}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const UNFINISHED = `${PRELUDE}
local s, refused = open('counter')
if not s then return refused end
local tasks = redis.call('ZRANGEBYSCORE', leases, '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[4]))
local reply = {'ok', s[2], s[7], now(), redis.call('ZCARD', leases) - 1}
for i = 1, #tasks, 2 do
  if tasks[i] == '~' then break end
  local fields = redis.call('HMGET', ops, 'l:' .. tasks[i], 's:' .. tasks[i])
  reply[#reply + 1] = fields[1] or '{}'
  reply[#reply + 1] = fields[2] or ''
  reply[#reply + 1] = tasks[i + 1]
end
return reply
`;
