/**
 * register: Go's Wait up to the point of parking. At counter zero it
 * returns at once without registering; otherwise it counts the waiter in
 * and returns the generation it waits on and the id of the last release
 * entry, from which the waiter reads the stream.
 *
 * KEYS[1..6] the group's keys (see prelude.ts)
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
local s, refused = open('counter', 'waiters')
if not s then return refused end
local t = now()
-- A task whose owner stopped means this wait could never be released.
local info = expired(t)
if info then return marklost(s, t, info) end
-- The release entries are read from the bell on one server, from the
-- group's own stream on a Cluster.
local last = redis.call('XREVRANGE', KEYS[6] or events, '+', '-', 'COUNT', 1)[1]
local lastId = last and last[1] or '0-0'
prune(s, t)
-- A registration seen before returns the generation it registered in.
local mine = redis.call('HGET', ops, 'o:' .. ARGV[4])
if mine then return {'wait', s[2], mine, s[5], lastId} end
if tonumber(s[7]) == 0 then return {'zero', s[2]} end
redis.call('HSET', ops, 'o:' .. ARGV[4], s[5])
redis.call('ZADD', opids, t, ARGV[4])
return {'wait', commit(s, t, 'waiters', tonumber(s[8]) + 1), s[5], s[5], lastId}
`;
