/**
 * SPEC §11 for RedisWaitGroup: its go() tasks and the waits that register
 * publish on the awaitgroup channels, in the caller's async context.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { expect } from 'chai';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { deferred, expectRejection } from '../helpers/async.js';
import { type Recorder, record } from '../tracing/recorder.js';
import { type Connected, connect, type Target } from './support/clients.js';
import { label, targetOf, uniqueName } from './support/env.js';
import { Member, until } from './support/members.js';

const FULFILLED = ['start', 'end', 'asyncStart', 'asyncEnd'];
const REJECTED = ['start', 'end', 'error', 'asyncStart', 'asyncEnd'];

for (const kind of ['node-redis', 'ioredis'] as const) {
  describe(`T1 tracing a RedisWaitGroup (${label(kind, false)})`, function () {
    this.timeout(30_000);
    let target: Target;
    let connected: Connected;
    let recorder: Recorder;
    const als = new AsyncLocalStorage<string>();

    before(async function () {
      this.timeout(60_000);
      target = await targetOf(kind, false);
    });
    beforeEach(async () => {
      connected = await connect(target);
      recorder = record(als);
    });
    afterEach(async () => {
      recorder.stop();
      await connected.close();
    });

    it('a go() task: start, end, asyncStart, asyncEnd on { kind: RedisWaitGroup, group, name, queuedMs: 0 }, in the context of go()', async () => {
      const wg = await RedisWaitGroup.create(connected.client as never, uniqueName());
      let inTask: string | undefined;
      const result = await als.run('job', () =>
        wg.go(
          async () => {
            inTask = als.getStore();
            return 'value';
          },
          { name: 'resize 17' },
        ),
      );
      expect(result).to.equal('value');
      expect(inTask).to.equal('job');
      expect(recorder.names('task')).to.deep.equal(FULFILLED);
      const [start, , asyncStart] = recorder.events;
      expect(start?.fields).to.deep.equal({
        kind: 'RedisWaitGroup',
        group: wg,
        name: 'resize 17',
        queuedMs: 0,
      });
      expect(start?.store).to.equal('job');
      expect(asyncStart?.fields.result).to.equal('value');
    });

    it('a failed task publishes error with its reason; an unnamed one has name undefined', async () => {
      const wg = await RedisWaitGroup.create(connected.client as never, uniqueName());
      const failure = new Error('task failed');
      expect(await expectRejection(wg.go(() => Promise.reject(failure)))).to.equal(failure);
      expect(recorder.names('task')).to.deep.equal(REJECTED);
      expect(recorder.events[2]?.fields).to.deep.equal({
        kind: 'RedisWaitGroup',
        group: wg,
        name: undefined,
        queuedMs: 0,
        error: failure,
      });
      expect((await wg.state()).counter).to.equal(0);
    });

    it('a wait at zero publishes nothing; a wait that registers is traced, in the context of wait()', async () => {
      const wg = await RedisWaitGroup.create(connected.client as never, uniqueName());
      await wg.wait();
      expect(recorder.events).to.deep.equal([]);
      await wg.add(1);
      const waiting = als.run('waiter', () => wg.wait());
      await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
      await wg.done();
      await waiting;
      expect(recorder.names('wait')).to.deep.equal(FULFILLED);
      expect(recorder.events[0]?.fields).to.deep.equal({ kind: 'RedisWaitGroup', group: wg });
      expect(recorder.events[0]?.store).to.equal('waiter');
    });

    it('an aborted wait publishes error with the reason', async () => {
      const wg = await RedisWaitGroup.create(connected.client as never, uniqueName());
      await wg.add(1);
      const controller = new AbortController();
      const waiting = wg.wait({ signal: controller.signal });
      await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
      const reason = new Error('gave up');
      controller.abort(reason);
      expect(await expectRejection(waiting)).to.equal(reason);
      expect(recorder.names('wait')).to.deep.equal(REJECTED);
      expect(recorder.events.find((e) => e.event === 'error')?.fields.error).to.equal(reason);
      await wg.done();
    });

    it('a wait that rejects because a task was lost publishes error with ERR_WAITGROUP_TASK_LOST', async () => {
      const wg = await RedisWaitGroup.create(connected.client as never, uniqueName());
      const member = await Member.start(target);
      try {
        await member.ok('attach', { handle: wg.handle, options: { lease: 200 } });
        await member.ok('go', { name: 'resize 17' });
        const waiting = wg.wait();
        await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
        await member.kill();
        const error = (await expectRejection(waiting)) as { code?: string };
        expect(error.code).to.equal('ERR_WAITGROUP_TASK_LOST');
        expect(recorder.names('wait')).to.deep.equal(REJECTED);
        expect(recorder.events.find((e) => e.event === 'error')?.fields).to.deep.equal({
          kind: 'RedisWaitGroup',
          group: wg,
          error,
        });
      } finally {
        await member.kill();
      }
    });

    it("the wait's trace ends after the trace of the task it waited for", async () => {
      const wg = await RedisWaitGroup.create(connected.client as never, uniqueName());
      const task = deferred();
      const started = deferred();
      const running = wg.go(() => {
        started.resolve();
        return task.promise;
      });
      await started.promise;
      const waiting = wg.wait();
      await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
      task.resolve();
      await Promise.all([running, waiting]);
      const order = recorder.events.map((e) => `${e.channel} ${e.event}`);
      expect(order.indexOf('task asyncEnd')).to.be.below(order.indexOf('wait asyncStart'));
    });
  });
}
