/**
 * awaitgroup/redis: one WaitGroup across processes and machines, its state
 * in Redis or a Redis Cluster. Node only; bring your own client
 * (node-redis ≥ 5 or ioredis ≥ 5).
 *
 * ```ts
 * import { RedisWaitGroup } from 'awaitgroup/redis';
 *
 * const wg = await RedisWaitGroup.create(client, 'batch-42');
 * await wg.add(jobs.length);
 * // workers: await RedisWaitGroup.from(client, handle).done({ id: job.id });
 * await wg.wait();
 * ```
 *
 * @module
 */

export { WaitGroupError, type WaitGroupErrorCode } from '../errors.js';
export type { RedisClient } from './client.js';
export {
  type RedisCallOptions,
  type RedisCreateOptions,
  type RedisDoneOptions,
  type RedisGoOptions,
  type RedisUnfinished,
  RedisWaitGroup,
  type RedisWaitGroupHandle,
  type RedisWaitGroupOptions,
  type RedisWaitGroupState,
  type RedisWaitOptions,
} from './redis-waitgroup.js';
