/**
 * R17 durability on demand: `replicas: n` makes every change wait until n
 * replicas have it (WAIT, bounded by retryFor), on a master and a replica
 * of the test's own (REPLICAOF).
 */

import { expect } from 'chai';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { expectRejection } from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';
import { type Connected, connect, type Kind } from './support/clients.js';
import { uniqueName } from './support/env.js';
import { HoldingProxy } from './support/faults.js';
import { until } from './support/members.js';
import { freePort, Server } from './support/servers.js';

describe('R17 replicas: n', function () {
  this.timeout(60_000);
  let master: Server;
  let replica: Server;
  const opened: Connected[] = [];

  beforeEach(async () => {
    [master, replica] = await Promise.all([Server.start(), Server.start()]);
    // A full sync starts at once, not after diskless sync's default delay of 5 s.
    await master.cli('CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
    await replica.cli('REPLICAOF', '127.0.0.1', String(master.port));
    await until(
      async () => (await master.cli('INFO', 'replication')).includes('state=online'),
      'the replica is in sync',
    );
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
    await Promise.all([master.stop(), replica.stop()]);
  });

  for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
    it(`resolves each change only once the replica has it, and rejects with ERR_WAITGROUP_UNAVAILABLE when it does not answer (${kind})`, async () => {
      const connected = await connect({ kind, cluster: false, ports: [master.port] });
      opened.push(connected);
      const name = uniqueName();
      const wg = await RedisWaitGroup.create(connected.client, name, {
        replicas: 1,
        retryFor: 3000,
      });
      const key = `awaitgroup:{${name}}`;
      await wg.add(3);
      // WAIT returned: the replica has the change, read right after the call resolved.
      expect(await replica.cli('HGET', key, 'counter')).to.equal('3');
      await wg.done({ id: 'a' });
      expect(await replica.cli('HGET', key, 'counter')).to.equal('2');
      await replica.kill();
      const error = expectWaitGroupErrorValue(
        await expectRejection(wg.done({ id: 'b' })),
        'ERR_WAITGROUP_UNAVAILABLE',
        'awaitgroup: Redis did not answer',
      );
      expect(error.message).to.include('replicas');
      expect(
        await expectRejection(RedisWaitGroup.create(connected.client, name, { replicas: -1 })),
      ).to.be.an.instanceOf(RangeError);
    });
  }

  /**
   * failover detaches the replica (it keeps what it had, and receives
   * nothing more), lets `lost` run on the master, then promotes the replica
   * and points the proxy at it: a failover to a replica that was behind.
   */
  const detach = async (): Promise<void> => {
    await replica.cli('REPLICAOF', '127.0.0.1', String(await freePort()));
  };
  const promote = async (proxy: HoldingProxy): Promise<void> => {
    await replica.cli('REPLICAOF', 'NO', 'ONE');
    proxy.retarget(replica.port);
  };

  for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
    it(`R16 a failover to a replica that was behind is ERR_WAITGROUP_LOST for calls and pending waits, never an early release (${kind})`, async () => {
      const proxy = await HoldingProxy.start(master.port);
      try {
        const connected = await connect({ kind, cluster: false, ports: [proxy.port] });
        opened.push(connected);
        const name = uniqueName();
        const wg = await RedisWaitGroup.create(connected.client, name);
        await wg.add(1);
        await until(
          async () => (await replica.cli('HGET', `awaitgroup:{${name}}`, 'counter')) === '1',
          'the replica has the add',
        );
        await detach();
        // Acknowledged by the master only: lost with the failover.
        await wg.add(1);
        const waiting = wg.wait();
        waiting.catch(() => {});
        await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
        await promote(proxy);
        expectWaitGroupErrorValue(await expectRejection(waiting), 'ERR_WAITGROUP_LOST');
        // On the replica the counter is 1: one done would release if the rollback were run on.
        expectWaitGroupErrorValue(await expectRejection(wg.done()), 'ERR_WAITGROUP_LOST');
      } finally {
        await proxy.stop();
      }
    });
  }

  it('R17 with replicas: 1 a change the replica did not get is never reported as applied', async () => {
    const proxy = await HoldingProxy.start(master.port);
    try {
      const connected = await connect({ kind: 'ioredis', cluster: false, ports: [proxy.port] });
      opened.push(connected);
      const name = uniqueName();
      const wg = await RedisWaitGroup.create(connected.client, name, {
        replicas: 1,
        retryFor: 3000,
      });
      await wg.add(2);
      await wg.done({ id: 'a' });
      await detach();
      expectWaitGroupErrorValue(
        await expectRejection(wg.done({ id: 'b' })),
        'ERR_WAITGROUP_UNAVAILABLE',
        'awaitgroup: Redis did not answer',
      );
      await promote(proxy);
      // Everything that resolved survived the failover, and the caller's
      // retry of the unacknowledged done({ id }) applies it once.
      expect(await replica.cli('HGET', `awaitgroup:{${name}}`, 'counter')).to.equal('1');
      const promoted = RedisWaitGroup.from(connected.client, wg.handle);
      await promoted.done({ id: 'a' });
      await promoted.done({ id: 'b' });
      await promoted.done({ id: 'b' });
      expect(await promoted.state()).to.deep.include({ counter: 0 });
    } finally {
      await proxy.stop();
    }
  });
});
