/**
 * What Redis can lose, and the group's settings: rollbacks (R16), eviction
 * and the operation ids' retry window (R18), a client's own key prefix,
 * settings that belong to the group and well-formed names (R18b), on
 * servers of the tests' own. The key prefix and an ACL user limited to it:
 * acl.redis.ts.
 */

import { expect } from 'chai';
import { Redis as IORedis } from 'ioredis';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { expectPending, expectRejection } from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';
import { type Connected, connect, type Kind } from './support/clients.js';
import { uniqueName } from './support/env.js';
import { until } from './support/members.js';
import { Server } from './support/servers.js';

const quiet = (): void => {};

describe('R16 R18 R18b what Redis can lose, and the group’s settings', function () {
  this.timeout(60_000);
  const opened: Connected[] = [];
  const servers: Server[] = [];
  const start = async (): Promise<Server> => {
    const server = await Server.start();
    servers.push(server);
    return server;
  };
  const open = async (kind: Kind, server: Server): Promise<Connected> => {
    const connected = await connect({ kind, cluster: false, ports: [server.port] });
    opened.push(connected);
    return connected;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
    it(`R16 a restart from an older RDB snapshot is detected: calls and pending waits reject with ERR_WAITGROUP_LOST, never an early release (${kind})`, async () => {
      const server = await start();
      const { client } = await open(kind, server);
      const wg = await RedisWaitGroup.create(client, uniqueName());
      await wg.add(1);
      await server.cli('SAVE');
      // Acknowledged after the snapshot: lost with the restart.
      await wg.add(1);
      const waiting = wg.wait();
      waiting.catch(() => {});
      await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
      await server.restart();
      const lost = expectWaitGroupErrorValue(await expectRejection(waiting), 'ERR_WAITGROUP_LOST');
      expect(lost.message).to.include('older');
      // The snapshot's counter is 1: a done would release if the rollback were run on.
      expectWaitGroupErrorValue(await expectRejection(wg.done()), 'ERR_WAITGROUP_LOST');
      expectWaitGroupErrorValue(await expectRejection(wg.wait()), 'ERR_WAITGROUP_LOST');
      expectWaitGroupErrorValue(await expectRejection(wg.state()), 'ERR_WAITGROUP_LOST');
    });
  }

  it('R16 a wait whose generation finds the counter at zero (its registration lost) resolves on its next re-check', async () => {
    const server = await start();
    const { client } = await open('ioredis', server);
    const name = uniqueName();
    const wg = await RedisWaitGroup.create(client, name);
    await wg.add(1);
    const waiting = wg.wait();
    await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
    // What a rollback that no caller of this process saw leaves: counter 0, no waiter.
    await server.cli('HSET', `awaitgroup:{${name}}`, 'counter', '0', 'waiters', '0');
    await waiting;
  });

  for (const policy of ['allkeys-lru', 'volatile-lru', 'allkeys-random']) {
    it(`R18 an eviction of any key of the group (maxmemory, ${policy}) is ERR_WAITGROUP_LOST, never a double done`, async () => {
      const server = await start();
      const { client } = await open('ioredis', server);
      const name = uniqueName();
      const wg = await RedisWaitGroup.create(client, name);
      await wg.add(2);
      await wg.done({ id: 'job-1' });
      const keys = ['', ':ops', ':events', ':leases', ':opids'].map(
        (suffix) => `awaitgroup:{${name}}${suffix}`,
      );
      const used = Number(/used_memory:(\d+)/.exec(await server.cli('INFO', 'memory'))?.[1]);
      await server.cli('CONFIG', 'SET', 'maxmemory-policy', policy);
      await server.cli('CONFIG', 'SET', 'maxmemory', String(used + 256 * 1024));
      const filler = new IORedis({ host: '127.0.0.1', port: server.port });
      filler.on('error', quiet);
      try {
        const value = 'x'.repeat(4096);
        for (let i = 0; i < 20_000; i++) {
          const pipeline = filler.pipeline();
          for (let j = 0; j < 16; j++) pipeline.set(`junk:${i}:${j}`, value, 'PX', 600_000);
          await pipeline.exec();
          // The waits' re-checks keep the state hot; this read does the same.
          await wg.state().catch(() => {});
          if (Number(await filler.exists(...keys)) < keys.length) break;
        }
      } finally {
        filler.disconnect();
      }
      expect(Number(await server.cli('EXISTS', ...keys))).to.be.below(keys.length);
      await server.cli('CONFIG', 'SET', 'maxmemory', '0');
      // The re-run job's done({ id }) must not count a second time.
      expectWaitGroupErrorValue(
        await expectRejection(wg.done({ id: 'job-1' })),
        'ERR_WAITGROUP_LOST',
      );
      expectWaitGroupErrorValue(await expectRejection(wg.wait()), 'ERR_WAITGROUP_LOST');
    });
  }

  it('R18 keeps operation ids only for the retry window, pruned as the group is used', async () => {
    const server = await start();
    const { client } = await open('node-redis', server);
    const name = uniqueName();
    const wg = await RedisWaitGroup.create(client, name, { retryWindow: 50 });
    await wg.add(1000);
    for (let i = 0; i < 100; i++) await wg.done();
    const time = async (): Promise<number> => {
      const [s, us] = (await server.cli('TIME')).split('\n').map(Number);
      return (s as number) * 1000 + (us as number) / 1000;
    };
    const t0 = await time();
    await until(async () => (await time()) > t0 + 60, 'the window has passed on Redis’ clock');
    for (let i = 0; i < 64; i++) await wg.done();
    // The 101 old ids are gone (16 every 8 calls); at most the 64 new ones are kept.
    expect(Number(await server.cli('ZCARD', `awaitgroup:{${name}}:opids`)) - 1).to.be.at.most(64);
    expect((await wg.state()).counter).to.equal(836);
  });

  it('R18 an ioredis client with its own keyPrefix works, its release streams read under that prefix', async () => {
    const server = await start();
    const prefixed = new IORedis({ host: '127.0.0.1', port: server.port, keyPrefix: 'tenant:' });
    prefixed.on('error', quiet);
    try {
      const name = uniqueName();
      const wg = await RedisWaitGroup.create(prefixed, name);
      await wg.add(1);
      const waiting = wg.wait();
      await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
      await expectPending(waiting);
      expect(await server.cli('EXISTS', `tenant:awaitgroup:{${name}}:events`)).to.equal('1');
      await wg.done();
      await waiting;
    } finally {
      prefixed.disconnect();
    }
  });

  it('R18b names must be well-formed Unicode: a lone surrogate is a RangeError', async () => {
    const server = await start();
    const { client } = await open('node-redis', server);
    for (const name of ['x\uD800', 'x\uDBFF', '\uDC00x']) {
      expect(await expectRejection(RedisWaitGroup.create(client, name))).to.be.an.instanceOf(
        RangeError,
      );
      expect(() => RedisWaitGroup.from(client, { name, epoch: 'e' })).to.throw(
        RangeError,
        /well-formed/,
      );
    }
    await RedisWaitGroup.create(client, `${uniqueName()}-\uD83D\uDE00`);
  });
});
