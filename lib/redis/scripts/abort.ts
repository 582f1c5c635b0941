/**
 * abort: deregister a waiter whose signal fired, unless its generation
 * has already been released, in one atomic step.
 *
 * KEYS[1..4] the group's keys (see prelude.ts)
 * ARGV[1] epoch
 * ARGV[2] ttl in ms, or '' for the group's own
 * ARGV[3] operation id: a retried abort counts once
 * ARGV[4] the generation the waiter registered in
 *
 * Returns {'aborted'}, {'released'} or {'lost', why}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const ABORT = `${PRELUDE}
local s = redis.call('HMGET', state, 'epoch', 'waiters', 'gen', 'ttl')
local why = lost(s[1])
if why then return {'lost', why} end
if redis.call('HEXISTS', ops, 'o:' .. ARGV[3]) == 1 then return {'aborted'} end
-- B1: the release won the race: the wait resolves, the abort is ignored.
if s[3] ~= ARGV[4] then return {'released'} end
-- B2: waiters − 1 in the same generation.
if tonumber(s[2]) > 0 then redis.call('HINCRBY', state, 'waiters', -1) end
redis.call('HSET', ops, 'o:' .. ARGV[3], 1)
touch(s[4])
return {'aborted'}
`;
