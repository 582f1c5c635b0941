/**
 * register: Go's Wait up to the point of parking. At counter zero it
 * returns at once without registering; otherwise it counts the waiter in
 * and returns the generation it waits on and the id of the last release
 * entry, from which the waiter reads the stream.
 *
 * KEYS[1..5] the group's keys (see prelude.ts)
 * ARGV[1..3] see prelude.ts
 * ARGV[4] operation id: a retried registration counts once
 *
 * Returns {'zero', version}, {'wait', version, gen, current gen, last entry id},
 * {'lost', why} or {'tasklost', JSON}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const REGISTER = `${PRELUDE}
local s, refused = open('counter')
if not s then return refused end
local t = now()
-- A task whose owner stopped means this wait could never be released.
local info = expired(t)
if info then return marklost(s, info) end
local last = redis.call('XREVRANGE', events, '+', '-', 'COUNT', 1)[1]
local lastId = last and last[1] or '0-0'
-- A registration seen before returns the generation it registered in.
local mine = applied(ARGV[4], t)
if mine then return {'wait', s[2], mine, s[5], lastId} end
if tonumber(s[6]) == 0 then return {'zero', s[2]} end
redis.call('HINCRBY', state, 'waiters', 1)
record(ARGV[4], s[5], t)
return {'wait', commit(s), s[5], s[5], lastId}
`;
