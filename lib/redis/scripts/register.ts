/**
 * register: Go's Wait up to the point of parking. At
 * counter zero it returns at once without registering; otherwise it counts
 * the waiter in and returns the generation it waits on and the id of the
 * last release entry, from which the waiter reads the stream.
 *
 * KEYS[1..4] the group's keys (see prelude.ts)
 * ARGV[1] epoch
 * ARGV[2] ttl in ms, or '' for the group's own
 * ARGV[3] operation id: a retried registration counts once
 *
 * Returns {'zero'}, {'wait', gen, current gen, last entry id},
 * {'lost', why} or {'tasklost', task id, task JSON}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const REGISTER = `${PRELUDE}
local s = redis.call('HMGET', state, 'epoch', 'counter', 'gen', 'ttl')
local why = lost(s[1])
if why then return {'lost', why} end
-- W1: a task whose owner stopped means this wait could never be released.
local task, info = expired()
if task ~= '' then return {'tasklost', task, info} end
local last = redis.call('XREVRANGE', events, '+', '-', 'COUNT', 1)[1]
local lastId = last and last[1] or '0-0'
-- W2: a registration seen before returns the generation it registered in.
local mine = redis.call('HGET', ops, 'o:' .. ARGV[3])
if mine then return {'wait', mine, s[3], lastId} end
if tonumber(s[2]) == 0 then return {'zero'} end
-- W3: waiters + 1 in the current generation.
redis.call('HINCRBY', state, 'waiters', 1)
redis.call('HSET', ops, 'o:' .. ARGV[3], s[3])
touch(s[4])
return {'wait', s[3], s[3], lastId}
`;
