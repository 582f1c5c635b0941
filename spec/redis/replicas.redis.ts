/**
 * R17 durability on demand: `replicas: n` makes every change wait until n
 * replicas have it (WAIT, bounded by retryFor), on a master and a replica
 * of the test's own (REPLICAOF).
 */

import { expect } from 'chai';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { type RedisClient, RedisWaitGroup } from '../../lib/redis/index.js';
import { expectRejection } from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';
import { type Connected, connect, type Kind } from './support/clients.js';
import { uniqueName } from './support/env.js';
import { FaultProxy } from './support/faults.js';
import { until } from './support/members.js';
import { freePort, Server } from './support/servers.js';

describe('R17 replicas: n', function () {
  this.timeout(60_000);
  let master: Server;
  let replica: Server;
  const opened: Connected[] = [];

  beforeEach(async () => {
    [master, replica] = await Server.startReplicated();
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
  const promote = async (proxy: FaultProxy): Promise<void> => {
    await replica.cli('REPLICAOF', 'NO', 'ONE');
    proxy.retarget(replica.port);
  };

  /**
   * timedClient connects to the master a client with a command timeout of
   * its own: ioredis' `commandTimeout`, node-redis' `commandOptions` (whose
   * timeout covers the wait for a reply only with `rejectInFlight`, and
   * never for a command that blocks on the server, like WAIT).
   */
  const timedClient = async (kind: Kind, timeout = 1000): Promise<RedisClient> => {
    if (kind === 'ioredis') {
      const client = new IORedis({ host: '127.0.0.1', port: master.port, commandTimeout: timeout });
      client.on('error', () => {});
      opened.push({ client, close: async () => void client.disconnect() });
      return client;
    }
    const client = createClient({
      socket: { host: '127.0.0.1', port: master.port },
      commandOptions: { timeout, rejectInFlight: true } as never,
    });
    client.on('error', () => {});
    await client.connect();
    opened.push({ client, close: async () => void client.destroy() });
    return client;
  };
  /** waitsSent reads how many WAIT commands the master has run (INFO commandstats). */
  const waitsSent = async (): Promise<number> =>
    Number(/cmdstat_wait:calls=(\d+)/.exec(await master.cli('INFO', 'commandstats'))?.[1] ?? 0);

  for (const [kind, timeout] of [
    ['ioredis', 1000],
    ['node-redis', 1000],
    ['ioredis', 300],
  ] as [Kind, number][]) {
    it(`R17 R14 under the client's own command timeout (${timeout} ms), a done() whose replica is stopped rejects with ERR_WAITGROUP_UNAVAILABLE naming the replicas, not the client's timeout, and sends no storm of WAITs (${kind})`, async () => {
      const client = await timedClient(kind, timeout);
      const name = uniqueName();
      const wg = await RedisWaitGroup.create(client, name, { replicas: 1, retryFor: 3000 });
      await wg.add(2);
      await master.cli('CONFIG', 'RESETSTAT');
      replica.pause();
      try {
        const error = expectWaitGroupErrorValue(
          await expectRejection(wg.done({ id: 'a' })),
          'ERR_WAITGROUP_UNAVAILABLE',
          'awaitgroup: Redis did not answer',
        );
        expect(error.message).to.match(/the 1 replicas asked for \(options\.replicas\)/);
        expect(error.message).to.not.match(/timed out/i);
        // Each WAIT blocks on the server for its whole slice: a bounded number fits in retryFor.
        expect(await waitsSent()).to.be.within(2, 40);
      } finally {
        replica.resume();
      }
      // The change was applied on the master: the caller's retry of done({ id }) counts it once.
      await wg.done({ id: 'a' });
      expect(await wg.state()).to.deep.include({ counter: 1 });
    });
  }

  it('R17 R14 under a command timeout shorter than any WAIT can answer in (ioredis, 50 ms), a done() whose replica is stopped rejects with ERR_WAITGROUP_UNAVAILABLE naming the replicas, the client’s error as cause when it cut the last WAIT', async () => {
    const client = await timedClient('ioredis', 50);
    const wg = await RedisWaitGroup.create(client, uniqueName(), { replicas: 1, retryFor: 3000 });
    await wg.add(1);
    await master.cli('CONFIG', 'RESETSTAT');
    replica.pause();
    try {
      const error = expectWaitGroupErrorValue(
        await expectRejection(wg.done()),
        'ERR_WAITGROUP_UNAVAILABLE',
        'awaitgroup: Redis did not answer',
      );
      // Whether the last slice was cut or answered 0 depends on Redis' event loop tick.
      expect(error.message).to.match(/replicas asked for \(options\.replicas\)/);
      if (error.cause !== undefined) {
        expect(error.message).to.include('command timeout cut the WAITs');
        expect((error.cause as Error).message).to.equal('Command timed out');
      }
      // Each cut WAIT took the client's 50 ms at least: a bounded number fits in retryFor.
      expect(await waitsSent()).to.be.within(2, 60);
    } finally {
      replica.resume();
    }
  });

  for (const kind of ['ioredis', 'node-redis'] as Kind[]) {
    it(`R17 under the client's own 1 s command timeout, a done() whose replica resumes after more than that timeout resolves once the replica has it (${kind})`, async () => {
      const client = await timedClient(kind);
      const name = uniqueName();
      const wg = await RedisWaitGroup.create(client, name, { replicas: 1, retryFor: 8000 });
      await wg.add(2);
      await master.cli('CONFIG', 'RESETSTAT');
      replica.pause();
      const done = wg.done();
      done.catch(() => {});
      try {
        // Half-way: the done() has waited for the replica longer than the client's timeout.
        const since = performance.now();
        await until(
          async () => (await waitsSent()) >= 2 && performance.now() - since > 1500,
          'the done() has waited longer than the client’s timeout',
        );
      } finally {
        replica.resume();
      }
      await done;
      expect(await replica.cli('HGET', `awaitgroup:{${name}}`, 'counter')).to.equal('1');
    });
  }

  for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
    it(`R17 R14 a connection lost while a done() waits for its stopped replica never resolves it: ERR_WAITGROUP_UNAVAILABLE (${kind})`, async () => {
      const connected = await connect({ kind, cluster: false, ports: [master.port] });
      opened.push(connected);
      const wg = await RedisWaitGroup.create(connected.client, uniqueName(), {
        replicas: 1,
        retryFor: 3000,
      });
      await wg.add(2);
      await master.cli('CONFIG', 'RESETSTAT');
      replica.pause();
      try {
        const done = wg.done({ id: 'a' });
        done.catch(() => {});
        await until(async () => (await waitsSent()) >= 1, 'the done() waits for the replica');
        await master.cli('CLIENT', 'KILL', 'TYPE', 'normal');
        // ioredis sends the WAIT again after its ready check (INFO), which makes it wait
        // for the change; node-redis rejects it, and it is not sent again.
        expectWaitGroupErrorValue(
          await expectRejection(done),
          'ERR_WAITGROUP_UNAVAILABLE',
          'awaitgroup: Redis did not answer',
        );
      } finally {
        replica.resume();
      }
    });
  }

  for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
    it(`R16 a failover to a replica that was behind is ERR_WAITGROUP_LOST for calls and pending waits, never an early release (${kind})`, async () => {
      const proxy = await FaultProxy.start(master.port);
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
    const proxy = await FaultProxy.start(master.port);
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
