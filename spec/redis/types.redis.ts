/**
 * R15 The client type is structural: every supported client type-checks as
 * a RedisClient, and `RedisWaitGroup.create({}, 'x')` is a compile error.
 * This file is compiled with the rest of the suite, so a regression fails
 * `npm run build`; the tests check the same clients are recognised at run
 * time. Nothing here connects.
 *
 * @module
 */

import { expect } from 'chai';
import { Redis as IORedis5, Cluster as IORedis5Cluster } from 'ioredis5';
import { Redis as IORedis6, Cluster as IORedis6Cluster } from 'ioredis6';
import { Redis as IOValkey, Cluster as IOValkeyCluster } from 'iovalkey';
import * as redis5 from 'redis5';
import * as redis6 from 'redis6';
import { connectionOf } from '../../lib/redis/client.js';
import { type RedisClient, RedisWaitGroup } from '../../lib/redis/index.js';

const socket = { host: '127.0.0.1', port: 1 };
const sentinels = [{ host: '127.0.0.1', port: 1 }];
const lazy = { lazyConnect: true, host: '127.0.0.1', port: 1 };

/** Every kind of client, each typed as its library types it, assigned to RedisClient. */
function clients(): [string, RedisClient][] {
  const node6 = redis6.createClient({ socket });
  const node6resp3 = redis6.createClient({ socket, RESP: 3 });
  const node6mapped = node6resp3.withTypeMapping({
    [redis6.RESP_TYPES.MAP]: Array,
    [redis6.RESP_TYPES.BLOB_STRING]: Buffer,
  });
  const node6cluster = redis6.createCluster({ rootNodes: [{ socket }] });
  const node6sentinel = redis6.createSentinel({ name: 'mymaster', sentinelRootNodes: sentinels });
  const node5 = redis5.createClient({ socket });
  const node5resp3 = redis5.createClient({ socket, RESP: 3 });
  const node5mapped = node5resp3.withTypeMapping({ [redis5.RESP_TYPES.MAP]: Map });
  const node5cluster = redis5.createCluster({ rootNodes: [{ socket }] });
  const node5sentinel = redis5.createSentinel({ name: 'mymaster', sentinelRootNodes: sentinels });
  const io6 = new IORedis6(lazy);
  const io6resp3 = new IORedis6({ ...lazy, protocol: 3, replyMapping: 'resp3' });
  const io6cluster = new IORedis6Cluster([socket], { lazyConnect: true });
  const io6sentinel = new IORedis6({ lazyConnect: true, name: 'mymaster', sentinels });
  const io5 = new IORedis5(lazy);
  const io5cluster = new IORedis5Cluster([socket], { lazyConnect: true });
  const io5sentinel = new IORedis5({ lazyConnect: true, name: 'mymaster', sentinels });
  const valkey = new IOValkey(lazy);
  const valkeyCluster = new IOValkeyCluster([socket], { lazyConnect: true });
  return [
    ['node-redis 6 createClient', node6],
    ['node-redis 6 createClient RESP3', node6resp3],
    ['node-redis 6 withTypeMapping', node6mapped],
    ['node-redis 6 createCluster', node6cluster],
    ['node-redis 6 createSentinel', node6sentinel],
    ['node-redis 5 createClient', node5],
    ['node-redis 5 createClient RESP3', node5resp3],
    ['node-redis 5 withTypeMapping', node5mapped],
    ['node-redis 5 createCluster', node5cluster],
    ['node-redis 5 createSentinel', node5sentinel],
    ['ioredis 6 Redis', io6],
    ['ioredis 6 Redis RESP3', io6resp3],
    ['ioredis 6 Cluster', io6cluster],
    ['ioredis 6 Redis with sentinels', io6sentinel],
    ['ioredis 5 Redis', io5],
    ['ioredis 5 Cluster', io5cluster],
    ['ioredis 5 Redis with sentinels', io5sentinel],
    ['iovalkey Redis', valkey],
    ['iovalkey Cluster', valkeyCluster],
  ];
}

describe('R15 the client type is structural', () => {
  it('accepts every supported client, each recognised by its shape', () => {
    const all = clients();
    try {
      for (const [name, client] of all) {
        const connection = connectionOf(client, 'test');
        expect(connection.kind, name).to.equal(
          name.startsWith('node-redis') ? 'node-redis' : 'ioredis',
        );
        expect(connection.cluster, name).to.equal(name.endsWith('Cluster'));
        expect(connection.sentinel, name).to.equal(/entinel/.test(name));
      }
    } finally {
      for (const [, client] of all) {
        const closable = client as { disconnect?(): unknown; destroy?(): unknown };
        if ('status' in client) closable.disconnect?.();
      }
    }
  });

  it('refuses {} at compile time, and with a TypeError naming the clients at run time', async () => {
    // @ts-expect-error {} is not a Redis client
    const refused = RedisWaitGroup.create({}, 'x');
    const error = await refused.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.match(/node-redis.*ioredis/s);
    // @ts-expect-error a plain object with other methods is not a Redis client either
    expect(() => RedisWaitGroup.from({ get() {} }, { name: 'x', epoch: 'e' })).to.throw(TypeError);
  });
});
