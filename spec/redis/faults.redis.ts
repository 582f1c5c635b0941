/**
 * Faults of the server itself, on a server of each test's own (R7, R8,
 * R12): restarts with and without persistence, FLUSHALL, and a reply lost
 * after the server applied the call.
 */

import { expect } from 'chai';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { expectPending, expectRejection } from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';
import { type Connected, connect, type Kind } from './support/clients.js';
import { uniqueName } from './support/env.js';
import { FaultProxy } from './support/faults.js';
import { Member, until } from './support/members.js';
import { Server } from './support/servers.js';

for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
  describe(`RedisWaitGroup and server faults (${kind}, single server)`, function () {
    this.timeout(60_000);
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    const serve = async (persistent: boolean): Promise<Server> => {
      const server = await Server.start({ persistent });
      cleanup.push(() => server.stop());
      return server;
    };
    const open = async (port: number): Promise<Connected> => {
      const connected = await connect({ kind, cluster: false, ports: [port] });
      cleanup.push(() => connected.close());
      return connected;
    };
    const member = async (port: number): Promise<Member> => {
      const started = await Member.start({ kind, cluster: false, ports: [port] });
      cleanup.push(() => started.kill());
      return started;
    };

    it('R8 resumes after a restart with appendonly yes and appendfsync always', async () => {
      const server = await serve(true);
      const { client } = await open(server.port);
      const wg = await RedisWaitGroup.create(client, uniqueName());
      await wg.add(2);
      await wg.done({ id: 'job-1' });
      const waiter = await member(server.port);
      await waiter.ok('attach', { handle: wg.handle });
      const waiting = waiter.request('wait');
      await until(async () => (await wg.state()).waiters === 1, 'the waiter is registered');
      await server.restart();
      await until(
        () =>
          wg.state().then(
            (state) => state.counter === 1 && state.waiters === 1,
            () => false,
          ),
        'the state is back',
      );
      await wg.done({ id: 'job-1' });
      expect(await wg.state()).to.deep.include({ counter: 1, waiters: 1 });
      await wg.done({ id: 'job-2' });
      expect((await waiting).ok).to.equal(true);
    });

    it('R8 rejects pending waits and every call with ERR_WAITGROUP_LOST after a restart without persistence', async () => {
      const server = await serve(false);
      const { client } = await open(server.port);
      const wg = await RedisWaitGroup.create(client, uniqueName());
      await wg.add(1);
      const waiter = await member(server.port);
      await waiter.ok('attach', { handle: wg.handle });
      const waiting = waiter.request('wait');
      await until(async () => (await wg.state()).waiters === 1, 'the waiter is registered');
      await server.restart();
      const answer = await waiting;
      expect(answer.ok).to.equal(false);
      expect(answer.ok === false && answer.code).to.equal('ERR_WAITGROUP_LOST');
      expectWaitGroupErrorValue(await expectRejection(wg.done()), 'ERR_WAITGROUP_LOST');
      expectWaitGroupErrorValue(await expectRejection(wg.add(1)), 'ERR_WAITGROUP_LOST');
      expect(await server.cli('DBSIZE')).to.equal('0');
    });

    it('R8 rejects pending waits with ERR_WAITGROUP_LOST after FLUSHALL, recreating nothing', async () => {
      const server = await serve(false);
      const { client } = await open(server.port);
      const wg = await RedisWaitGroup.create(client, uniqueName());
      await wg.add(1);
      const waiting = wg.wait();
      waiting.catch(() => {}); // asserted below; it may reject while FLUSHALL is answered
      await until(async () => (await wg.state()).waiters === 1, 'the waiter is registered');
      await server.cli('FLUSHALL');
      expectWaitGroupErrorValue(await expectRejection(waiting), 'ERR_WAITGROUP_LOST');
      expectWaitGroupErrorValue(await expectRejection(wg.done()), 'ERR_WAITGROUP_LOST');
      expect(await server.cli('DBSIZE')).to.equal('0');
    });

    it('R7 applies a done once when its reply is lost and the call is sent again', async () => {
      const server = await serve(false);
      const proxy = await FaultProxy.start(server.port);
      cleanup.push(() => proxy.stop());
      const { client } = await open(proxy.port);
      const wg = await RedisWaitGroup.create(client, uniqueName());
      await wg.add(3);
      const waiting = wg.wait();
      await until(async () => (await wg.state()).waiters === 1, 'the waiter is registered');
      for (let i = 0; i < 2; i++) {
        // The script's reply is lost after the server applied it.
        proxy.cutAt((direction, chunk) => direction === 'reply' && chunk.includes('ok'));
        await wg.done();
      }
      expect(proxy.cuts).to.equal(2);
      expect(await wg.state()).to.deep.include({ counter: 1, waiters: 1 });
      await expectPending(waiting);
      await wg.done();
      await waiting;
      expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
    });
  });
}
