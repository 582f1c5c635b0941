/**
 * create: make an empty group with a fresh epoch, unless a live group of
 * that name exists. A retried create (same epoch) succeeds again.
 *
 * KEYS[1..6] the group's keys (see prelude.ts; the bell unused here)
 * ARGV[1] the new epoch
 * ARGV[4] ttl in ms, stored in the group
 *
 * Returns {'ok', version} or {'exists'}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const CREATE = `${PRELUDE}
local epoch = redis.call('HGET', state, 'epoch')
if epoch == ARGV[1] then return {'ok', tonumber(redis.call('HGET', state, 'v'))} end
if epoch then return {'exists'} end
-- Leftovers of an older epoch whose state key was deleted go with it.
redis.call('DEL', ops, events, leases, opids)
redis.call('HSET', state, 'epoch', ARGV[1], 'counter', 0, 'waiters', 0, 'gen', 0, 'ttl', ARGV[4])
redis.call('HSET', ops, 'epoch', ARGV[1])
redis.call('XADD', events, '*', 'gen', 0)
redis.call('ZADD', leases, '+inf', '~')
redis.call('ZADD', opids, '+inf', '~')
return {'ok', commit({ARGV[1], '0', false, ARGV[4], '0', '0'}, now())}
`;
