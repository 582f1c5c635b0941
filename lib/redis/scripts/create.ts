/**
 * create: make an empty group with a fresh epoch, unless a live group
 * of that name exists.
 *
 * KEYS[1..4] the group's keys (see prelude.ts)
 * ARGV[1] the new epoch
 * ARGV[2] ttl in ms, stored in the group
 *
 * Returns {'ok'} or {'exists'}.
 *
 * @module
 */

import { PRELUDE } from './prelude.js';

export const CREATE = `${PRELUDE}
-- C1: a live group of that name wins; an expired one left no keys.
if redis.call('EXISTS', state) == 1 then return {'exists'} end
-- C2: leftovers of an older epoch whose state key was deleted go with it.
redis.call('DEL', ops, events, leases)
redis.call('HSET', state, 'epoch', ARGV[1], 'counter', 0, 'waiters', 0, 'gen', 0, 'ttl', ARGV[2])
touch(ARGV[2])
return {'ok'}
`;
