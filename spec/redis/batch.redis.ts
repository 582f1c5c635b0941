/**
 * R7 concurrent changes of one instance: the changes requested while one
 * is in flight go together as one add script, in call order, each with its
 * own operation id, refusal, abort and release, on a server of the suite's
 * own (its command counts are read).
 */

import { expect } from 'chai';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { expectRejection } from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';
import { type Connected, connect, type Kind } from './support/clients.js';
import { uniqueName } from './support/env.js';
import { type Direction, FaultProxy } from './support/faults.js';
import { until } from './support/members.js';
import { Server } from './support/servers.js';

/** How many times `command` ran on `server` since the last CONFIG RESETSTAT. */
async function calls(server: Server, command: string): Promise<number> {
  const stats = await server.cli('INFO', 'commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

/**
 * cutsBatch tells the chunk at which a proxy cuts a batch of many changes:
 * either before the server gets it ('request': one EVALSHA of thousands of
 * bytes) or after the server applied it, its reply lost ('reply').
 */
function cutsBatch(at: Direction): (direction: Direction, chunk: Buffer) => boolean {
  return (direction, chunk) =>
    direction === at &&
    (at === 'request'
      ? chunk.length > 2000 && /EVALSHA/i.test(String(chunk))
      : (String(chunk).match(/ok/g)?.length ?? 0) >= 10);
}

describe('R7 concurrent changes of one instance', function () {
  this.timeout(60_000);
  let server: Server;
  const opened: Connected[] = [];

  before(async () => {
    server = await Server.start();
  });
  after(async () => {
    await server.stop();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
  });

  for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
    describe(kind, () => {
      const open = async (port = server.port): Promise<RedisWaitGroup> => {
        const connected = await connect({ kind, cluster: false, ports: [port] });
        opened.push(connected);
        return RedisWaitGroup.create(connected.client, uniqueName());
      };

      it('64 concurrent done()s bring the counter down by exactly 64 with one release, in a few scripts', async () => {
        const wg = await open();
        await wg.add(64);
        const waiting = wg.wait();
        await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
        const { gen } = await wg.state();
        await server.cli('CONFIG', 'RESETSTAT');
        await Promise.all(Array.from({ length: 64 }, () => wg.done()));
        // The first done() goes alone; the 63 requested while it is in flight go as one.
        // (A re-check of the pending wait may add a script or two.)
        expect(await calls(server, 'evalsha')).to.be.below(8);
        await waiting;
        expect(await wg.state()).to.include({ counter: 0, waiters: 0, gen: gen + 1 });
        const key = `awaitgroup:{${wg.name}}:events`;
        // create's entry and the one release.
        expect(await server.cli('XLEN', key)).to.equal('2');
      });

      it('a refusal in the middle of a batch rejects only that change, with its own values; the others apply in order', async () => {
        const wg = await open();
        await wg.add(2);
        const results = await Promise.allSettled([
          wg.add(1), // in flight alone: 3
          wg.done(), // 2
          wg.add(-3), // 2 - 3 < 0: refused, nothing changed
          wg.done(), // 1
          wg.add(2), // 3
          wg.done(), // 2
        ]);
        expect(results.map((result) => result.status)).to.deep.equal([
          'fulfilled',
          'fulfilled',
          'rejected',
          'fulfilled',
          'fulfilled',
          'fulfilled',
        ]);
        const error = expectWaitGroupErrorValue(
          (results[2] as PromiseRejectedResult).reason,
          'ERR_WAITGROUP_NEGATIVE_COUNTER',
        );
        // Today's values: the counter it found (2) and its delta (-3).
        expect(error.message).to.include('2').and.to.include('-3');
        expect((await wg.state()).counter).to.equal(2);
      });

      it('a change aborted while queued rejects at once with signal.reason and is never applied', async () => {
        const wg = await open();
        await wg.add(5);
        const controller = new AbortController();
        const reason = new Error('stop');
        const first = wg.done();
        const aborted = wg.done({ id: 'job-1', signal: controller.signal }); // queued
        const after = wg.done(); // queued
        controller.abort(reason);
        expect(await expectRejection(aborted)).to.equal(reason);
        await Promise.all([first, after]);
        expect((await wg.state()).counter).to.equal(3);
        // Its done id was never recorded: it counts when called again.
        await wg.done({ id: 'job-1' });
        expect((await wg.state()).counter).to.equal(2);
      });

      it('changes apply in call order: each done() after the add() before it', async () => {
        const wg = await open();
        const calls = [];
        for (let i = 0; i < 20; i++) calls.push(wg.add(1), wg.done());
        await Promise.all(calls);
        expect((await wg.state()).counter).to.equal(0);
      });

      it('R14 a change aborted after its batch was sent rejects at once; the batch goes on and applies it', async () => {
        const proxy = await FaultProxy.start(server.port);
        try {
          const wg = await open(proxy.port);
          await wg.add(3);
          // A round trip of another kind: the add's batch is over, nothing is in flight.
          await wg.state();
          proxy.hold();
          const first = new AbortController();
          const second = new AbortController();
          const p0 = wg.done({ signal: first.signal }); // sent alone, held
          const p1 = wg.done({ signal: second.signal }); // queued
          const p2 = wg.done(); // queued
          first.abort(new Error('first'));
          // Every caller of the batch in flight aborted: it stops waiting, and the queue is sent.
          expect(((await expectRejection(p0)) as Error).message).to.equal('first');
          await new Promise((resolve) => setImmediate(resolve));
          second.abort(new Error('second'));
          expect(((await expectRejection(p1)) as Error).message).to.equal('second');
          proxy.release();
          await p2;
          // Both aborted changes were sent before their abort: all three applied.
          expect((await wg.state()).counter).to.equal(0);
        } finally {
          await proxy.stop();
        }
      });

      it('R13 done({ id }) twice in the same batch counts once', async () => {
        const wg = await open();
        await wg.add(3);
        await Promise.all([wg.done(), wg.done({ id: 'j' }), wg.done({ id: 'j' })]);
        expect((await wg.state()).counter).to.equal(1);
      });

      it('a release in the middle of a batch, then an add in the same batch: the wait resolves, the add counts', async () => {
        const wg = await open();
        await wg.add(2);
        const waiting = wg.wait();
        await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
        const { gen } = await wg.state();
        await Promise.all([wg.done(), wg.done(), wg.add(1)]);
        await waiting;
        expect(await wg.state()).to.include({ counter: 1, waiters: 0, gen: gen + 1 });
        // The add after the release is no misuse: a new wait waits for it.
        const next = wg.wait();
        await until(async () => (await wg.state()).waiters === 1, 'the next wait is registered');
        await wg.done();
        await next;
      });

      for (const at of ['request', 'reply'] as const) {
        it(`a connection cut at a batch in flight (${at === 'request' ? 'before Redis got it' : 'its reply lost'}) applies every change exactly once`, async () => {
          const proxy = await FaultProxy.start(server.port);
          try {
            const wg = await open(proxy.port);
            await wg.add(200);
            proxy.cutAt(cutsBatch(at));
            const ids = Array.from({ length: 32 }, (_, i) => wg.done({ id: `job-${i}` }));
            const plain = Array.from({ length: 32 }, () => wg.done());
            await Promise.all([...ids, ...plain]);
            expect(proxy.cuts).to.equal(1);
            // The ledger: 64 changes, each applied once.
            expect((await wg.state()).counter).to.equal(200 - 64);
            await Promise.all(Array.from({ length: 32 }, (_, i) => wg.done({ id: `job-${i}` })));
            expect((await wg.state()).counter).to.equal(200 - 64);
          } finally {
            await proxy.stop();
          }
        });
      }
    });
  }
});

describe('R17 replicas: 1 with concurrent changes of one instance', function () {
  this.timeout(60_000);
  let master: Server;
  let replica: Server;
  const opened: Connected[] = [];

  before(async () => {
    [master, replica] = await Server.startReplicated();
  });
  after(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
    await Promise.all([master.stop(), replica.stop()]);
  });

  for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
    it(`64 concurrent done()s resolve once the replica has them, one WAIT a batch (${kind})`, async () => {
      const connected = await connect({ kind, cluster: false, ports: [master.port] });
      opened.push(connected);
      const name = uniqueName();
      const wg = await RedisWaitGroup.create(connected.client, name, {
        replicas: 1,
        retryFor: 10_000,
      });
      await wg.add(65);
      await master.cli('CONFIG', 'RESETSTAT');
      await Promise.all(Array.from({ length: 64 }, () => wg.done()));
      // Read right after the calls resolved: the replica has every change.
      expect(await replica.cli('HGET', `awaitgroup:{${name}}`, 'counter')).to.equal('1');
      expect(await calls(master, 'wait')).to.be.below(8);
    });
  }
});
