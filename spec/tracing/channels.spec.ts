/**
 * SPEC §11: what a subscriber of the awaitgroup channels sees, event by
 * event and field by field, for WaitGroup and ErrGroup (RedisWaitGroup:
 * spec/redis/tracing.redis.ts).
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { expect } from 'chai';
import { ErrGroup, WaitGroup, type WaitGroupError } from '../../lib/index.js';
import { deferred, expectRejection, flushMicrotasks } from '../helpers/async.js';
import { type Recorder, record, taskChannel } from './recorder.js';

const FULFILLED = ['start', 'end', 'asyncStart', 'asyncEnd'];
const REJECTED = ['start', 'end', 'error', 'asyncStart', 'asyncEnd'];
const THREW = ['start', 'error', 'end'];

/** taskFields is what a task's context holds at `start`. */
function taskFields(kind: string, group: object, name: string | undefined, queuedMs = 0) {
  return { kind, group, name, queuedMs };
}

describe('Tracing (SPEC §11)', () => {
  let recorder: Recorder;
  const als = new AsyncLocalStorage<string>();

  beforeEach(() => {
    recorder = record(als);
  });
  afterEach(() => {
    recorder.stop();
  });

  describe('T1 awaitgroup:task, WaitGroup', () => {
    it('a fulfilled task publishes start, end, asyncStart, asyncEnd on one context { kind, group, name, queuedMs }', async () => {
      const wg = new WaitGroup();
      const task = deferred<string>();
      const result = wg.go(() => task.promise, { name: 'fetch /a' });
      expect(recorder.names('task')).to.deep.equal(['start', 'end']);
      task.resolve('page');
      expect(await result).to.equal('page');
      await wg.wait();
      expect(recorder.names('task')).to.deep.equal(FULFILLED);
      const [start, end, asyncStart, asyncEnd] = recorder.events;
      expect(start?.fields).to.deep.equal(taskFields('WaitGroup', wg, 'fetch /a'));
      expect(end?.fields).to.deep.equal(start?.fields);
      expect(asyncStart?.fields).to.deep.equal({ ...start?.fields, result: 'page' });
      expect(asyncEnd?.context).to.equal(start?.context);
      expect(start?.context.group).to.equal(wg);
    });

    it('a task that rejects publishes error with the reason, then asyncStart and asyncEnd', async () => {
      const wg = new WaitGroup();
      const failure = new Error('task failed');
      const reason = await expectRejection(wg.go(() => Promise.reject(failure)));
      expect(reason).to.equal(failure);
      expect(recorder.names('task')).to.deep.equal(REJECTED);
      const error = recorder.events.find((e) => e.event === 'error');
      expect(error?.fields).to.deep.equal({
        ...taskFields('WaitGroup', wg, undefined),
        error: failure,
      });
      expect(wg.counter).to.equal(0);
    });

    it('a synchronous throw publishes start, error, end; go() still rejects and the unit is done', async () => {
      const wg = new WaitGroup();
      const failure = new Error('threw');
      const result = wg.go(() => {
        throw failure;
      });
      expect(recorder.names('task')).to.deep.equal(THREW);
      expect(recorder.events[1]?.fields.error).to.equal(failure);
      expect(await expectRejection(result)).to.equal(failure);
      expect(wg.counter).to.equal(0);
    });

    it('a task returning a plain value is traced as a fulfilled promise', async () => {
      const wg = new WaitGroup();
      expect(await wg.go(() => 42)).to.equal(42);
      expect(recorder.names('task')).to.deep.equal(FULFILLED);
      expect(recorder.events[2]?.fields.result).to.equal(42);
    });

    it('start fires in the async context of go(), and the task runs in it', async () => {
      const wg = new WaitGroup();
      let inTask: string | undefined;
      await als.run('request-1', () =>
        wg.go(async () => {
          inTask = als.getStore();
        }),
      );
      expect(recorder.events[0]?.store).to.equal('request-1');
      expect(inTask).to.equal('request-1');
    });

    it("a store bound to start is the task's store, and only the task's", async () => {
      const spans = new AsyncLocalStorage<string>();
      taskChannel.start.bindStore(
        spans,
        (context) => `span of ${(context as { name: string }).name}`,
      );
      try {
        const wg = new WaitGroup();
        const seen: (string | undefined)[] = [];
        spans.run('outer', () => {
          wg.go(
            async () => {
              seen.push(spans.getStore());
              await flushMicrotasks();
              seen.push(spans.getStore());
              await wg.go(() => seen.push(spans.getStore()), { name: 'inner' });
            },
            { name: 'a' },
          );
          seen.push(spans.getStore());
        });
        await wg.wait();
        expect(seen).to.deep.equal(['span of a', 'outer', 'span of a', 'span of inner']);
      } finally {
        taskChannel.start.unbindStore(spans);
      }
    });

    it('every task of a fan-out has a trace of its own', async () => {
      const wg = new WaitGroup();
      for (let i = 0; i < 10; i++) wg.go(async () => i, { name: `task ${i}` });
      await wg.wait();
      const contexts = recorder.contexts('task');
      expect(contexts.map((c) => c.name)).to.deep.equal(
        Array.from({ length: 10 }, (_, i) => `task ${i}`),
      );
      expect(recorder.names('task')).to.have.length(40);
    });

    it('a debug group traces its tasks the same way', async () => {
      const wg = new WaitGroup({ debug: true });
      await wg.go(async () => 'x', { name: 'named' });
      expect(recorder.names('task')).to.deep.equal(FULFILLED);
      expect(recorder.events[0]?.fields).to.deep.equal(taskFields('WaitGroup', wg, 'named'));
      expect(wg.unfinished()).to.deep.equal([]);
    });

    it('add() and done() publish nothing', async () => {
      const wg = new WaitGroup();
      wg.add(2);
      wg.done();
      wg.done();
      await wg.wait();
      expect(recorder.events).to.deep.equal([]);
    });
  });

  describe('T1 awaitgroup:task, ErrGroup', () => {
    it('a task that starts at once: { kind: ErrGroup, group, name: undefined, queuedMs: 0 }, handed the signal', async () => {
      const eg = new ErrGroup();
      let handed: AbortSignal | undefined;
      await eg.go((signal) => {
        handed = signal;
        return 'ok';
      });
      await eg.wait();
      expect(handed).to.equal(eg.signal);
      const tasks = recorder.events.filter((e) => e.channel === 'task');
      expect(tasks.map((e) => e.event)).to.deep.equal(FULFILLED);
      expect(tasks[0]?.fields).to.deep.equal(taskFields('ErrGroup', eg, undefined));
      expect(tasks[2]?.fields.result).to.equal('ok');
    });

    it('a queued task publishes nothing until it starts, then its queuedMs', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const first = deferred();
      eg.go(() => first.promise);
      eg.go(() => 'second');
      expect(recorder.contexts('task')).to.have.length(1);
      first.resolve();
      await eg.wait();
      const [, second] = recorder.contexts('task');
      expect(second).to.include({ kind: 'ErrGroup', group: eg, name: undefined, result: 'second' });
      expect(second?.queuedMs).to.be.a('number').and.at.least(0);
    });

    it('tryGo is traced as go; a refused tryGo publishes nothing', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const first = deferred();
      const started = eg.tryGo(() => first.promise);
      expect(started).to.not.equal(undefined);
      expect(eg.tryGo(() => 'refused')).to.equal(undefined);
      expect(recorder.names('task')).to.deep.equal(['start', 'end']);
      expect(recorder.events[0]?.fields).to.deep.equal(taskFields('ErrGroup', eg, undefined));
      first.resolve();
      await eg.wait();
      expect(recorder.contexts('task')).to.have.length(1);
    });

    it('a queued task dropped by the first error publishes no task event', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const failure = new Error('first failed');
      const first = deferred();
      eg.go(() => first.promise);
      const dropped = eg.go(() => 'never');
      first.reject(failure);
      expect(await expectRejection(dropped)).to.equal(failure);
      expect(await expectRejection(eg.wait())).to.equal(failure);
      expect(recorder.names('task')).to.deep.equal(REJECTED);
      expect(recorder.contexts('task')).to.have.length(1);
    });

    it('a failure and a success settling together: the queued task is dropped, as without a subscriber', async () => {
      const eg = new ErrGroup({ limit: 2 });
      const failure = new Error('failed');
      const [failing, succeeding] = [deferred(), deferred()];
      eg.go(() => failing.promise);
      eg.go(() => succeeding.promise);
      let started = false;
      const queued = eg.go(() => {
        started = true;
      });
      failing.reject(failure);
      succeeding.resolve();
      expect(await expectRejection(queued)).to.equal(failure);
      expect(await expectRejection(eg.wait())).to.equal(failure);
      expect(started).to.equal(false);
      expect(recorder.contexts('task')).to.have.length(2);
    });

    it('go() on an aborted group publishes no task event', async () => {
      const parent = new AbortController();
      parent.abort(new Error('stop'));
      const eg = new ErrGroup({ signal: parent.signal });
      await expectRejection(eg.go(() => 'never'));
      expect(recorder.names('task')).to.deep.equal([]);
    });

    it('a synchronous throw publishes start, error, end and is the group error', async () => {
      const eg = new ErrGroup();
      const failure = new Error('threw');
      const result = eg.go(() => {
        throw failure;
      });
      expect(recorder.names('task')).to.deep.equal(THREW);
      expect(await expectRejection(result)).to.equal(failure);
      expect(await expectRejection(eg.wait())).to.equal(failure);
    });

    it('start fires in the async context of go() for a task that starts at once', async () => {
      const eg = new ErrGroup();
      let inTask: string | undefined;
      als.run('request-2', () =>
        eg.go(() => {
          inTask = als.getStore();
        }),
      );
      await eg.wait();
      expect(recorder.events[0]?.store).to.equal('request-2');
      expect(inTask).to.equal('request-2');
    });

    it('a named task carries its name, queued or not', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const first = deferred();
      eg.go(() => first.promise, { name: 'first' });
      eg.go(() => 'second', { name: 'second' });
      first.resolve();
      await eg.wait();
      expect(recorder.contexts('task').map((c) => c.name)).to.deep.equal(['first', 'second']);
    });

    it('start fires in the async context of go() for a queued task', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const first = deferred();
      als.run('first', () => eg.go(() => first.promise));
      als.run('second', () => eg.go(() => undefined));
      first.resolve();
      await eg.wait();
      const starts = recorder.events.filter((e) => e.channel === 'task' && e.event === 'start');
      expect(starts.map((e) => e.store)).to.deep.equal(['first', 'second']);
    });
  });

  describe('T1 awaitgroup:wait', () => {
    it('a wait that resolves at once publishes nothing', async () => {
      const wg = new WaitGroup();
      await wg.wait();
      const eg = new ErrGroup();
      await eg.wait();
      expect(recorder.events).to.deep.equal([]);
    });

    it('a WaitGroup wait that registers: start, end, asyncStart, asyncEnd on { kind, group }, in the context of wait()', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const waiting = als.run('waiter', () => wg.wait());
      expect(recorder.names('wait')).to.deep.equal(['start', 'end']);
      wg.done();
      await waiting;
      expect(recorder.names('wait')).to.deep.equal(FULFILLED);
      const [start] = recorder.events;
      expect(start?.fields).to.deep.equal({ kind: 'WaitGroup', group: wg });
      expect(start?.store).to.equal('waiter');
      expect(recorder.events[2]?.fields).to.deep.equal({
        kind: 'WaitGroup',
        group: wg,
        result: undefined,
      });
    });

    it('each registered wait has a trace of its own', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const waits = [wg.wait(), wg.wait(), wg.wait()];
      wg.done();
      await Promise.all(waits);
      expect(recorder.contexts('wait')).to.have.length(3);
    });

    it('an aborted wait publishes error with the reason', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const waiting = wg.wait({ signal: controller.signal });
      const reason = new Error('gave up');
      controller.abort(reason);
      expect(await expectRejection(waiting)).to.equal(reason);
      expect(recorder.names('wait')).to.deep.equal(REJECTED);
      expect(recorder.events[2]?.fields).to.deep.equal({
        kind: 'WaitGroup',
        group: wg,
        error: reason,
      });
      wg.done();
    });

    it('a wait with a signal already aborted registers nothing and publishes nothing', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      await expectRejection(wg.wait({ signal: AbortSignal.abort() }));
      expect(recorder.events).to.deep.equal([]);
      wg.done();
    });

    it('a wait that rejects for reuse publishes error with the WaitGroupError', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const waiting = wg.wait();
      wg.done();
      wg.add(1); // before the released wait resumed
      const error = (await expectRejection(waiting)) as WaitGroupError;
      expect(error.code).to.equal('ERR_WAITGROUP_REUSED');
      expect(recorder.events.find((e) => e.event === 'error')?.fields.error).to.equal(error);
      wg.done();
    });

    it("a wait's trace ends after every task's trace it waited for", async () => {
      const wg = new WaitGroup();
      const tasks = [deferred(), deferred(), deferred()];
      for (const task of tasks) wg.go(() => task.promise);
      const waiting = wg.wait();
      for (const task of tasks.reverse()) task.resolve();
      await waiting;
      const order = recorder.events.map((e) => `${e.channel} ${e.event}`);
      const waitEnd = order.lastIndexOf('wait asyncStart');
      expect(order.lastIndexOf('task asyncEnd')).to.be.below(waitEnd);
    });

    it('an ErrGroup wait publishes one trace of kind ErrGroup, and its inner WaitGroup none', async () => {
      const eg = new ErrGroup({ limit: 2 });
      const tasks = [deferred(), deferred(), deferred()];
      for (const task of tasks) eg.go(() => task.promise);
      const waiting = als.run('eg waiter', () => eg.wait());
      for (const task of tasks) task.resolve();
      await waiting;
      const waits = recorder.contexts('wait');
      expect(waits).to.have.length(1);
      expect(recorder.names('wait')).to.deep.equal(FULFILLED);
      const start = recorder.events.find((e) => e.channel === 'wait');
      expect(start?.fields).to.deep.equal({ kind: 'ErrGroup', group: eg });
      expect(start?.store).to.equal('eg waiter');
      const order = recorder.events.map((e) => `${e.channel} ${e.event}`);
      expect(order.lastIndexOf('task asyncEnd')).to.be.below(order.lastIndexOf('wait asyncStart'));
    });

    it('each wait() call of an ErrGroup with tasks is a trace; one after it settled is none', async () => {
      const eg = new ErrGroup();
      const task = deferred();
      eg.go(() => task.promise);
      const a = eg.wait();
      const b = eg.wait();
      task.resolve();
      await Promise.all([a, b]);
      await eg.wait();
      expect(recorder.contexts('wait')).to.have.length(2);
    });

    it('an ErrGroup wait that rejects publishes error with the first error, and stays handled', async () => {
      const eg = new ErrGroup();
      const failure = new Error('failed');
      eg.go(() => Promise.reject(failure));
      eg.wait(); // ignored: must raise no unhandledRejection
      expect(await expectRejection(eg.wait())).to.equal(failure);
      const errors = recorder.events.filter((e) => e.channel === 'wait' && e.event === 'error');
      expect(errors.map((e) => e.fields.error)).to.deep.equal([failure, failure]);
    });
  });

  describe('T1 awaitgroup:errgroup:abort', () => {
    /** expectStats checks the snapshot: taken after the queue was dropped. */
    function expectStats(stats: unknown, dropped: number): void {
      expect(stats).to.include({ queued: 0, dropped });
    }

    it("the first error: { group, reason, cause: 'error', stats }, after the queue was dropped", async () => {
      const eg = new ErrGroup({ limit: 1 });
      const failure = new Error('first failed');
      const first = deferred();
      eg.go(() => first.promise);
      eg.go(() => 'dropped');
      first.reject(failure);
      await expectRejection(eg.wait());
      expect(recorder.aborts).to.have.length(1);
      const [{ message, queued } = { message: {}, queued: -1 }] = recorder.aborts;
      expect(Object.keys(message)).to.deep.equal(['group', 'reason', 'cause', 'stats']);
      expect(message).to.include({ group: eg, reason: failure, cause: 'error' });
      expect(queued).to.equal(0);
      expectStats(message.stats, 1);
    });

    it("the parent's abort: cause 'parent', the parent's reason", async () => {
      const parent = new AbortController();
      const eg = new ErrGroup({ signal: parent.signal });
      const reason = new Error('shutting down');
      parent.abort(reason);
      await expectRejection(eg.wait());
      expect(recorder.aborts.map((a) => a.message)).to.deep.equal([
        { group: eg, reason, cause: 'parent', stats: recorder.aborts[0]?.message.stats },
      ]);
      expectStats(recorder.aborts[0]?.message.stats, 0);
    });

    it("a parent already aborted: cause 'parent', published as the group is made", () => {
      const reason = new Error('too late');
      const eg = new ErrGroup({ signal: AbortSignal.abort(reason) });
      expect(recorder.aborts.map((a) => a.message)).to.deep.include.members([
        { group: eg, reason, cause: 'parent', stats: recorder.aborts[0]?.message.stats },
      ]);
    });

    it("wait() settling: cause 'settled', an AbortError", async () => {
      const eg = new ErrGroup();
      eg.go(() => 'ok');
      await eg.wait();
      expect(recorder.aborts).to.have.length(1);
      const message = recorder.aborts[0]?.message;
      expect(message).to.include({ group: eg, cause: 'settled' });
      expect(message?.reason).to.be.instanceOf(DOMException).and.include({ name: 'AbortError' });
      expect(message?.reason).to.equal(eg.signal.reason);
    });

    it("cancel(): cause 'cancel', its reason", async () => {
      const eg = new ErrGroup();
      const reason = new Error('stop now');
      eg.cancel(reason);
      await expectRejection(eg.wait());
      expect(recorder.aborts.map((a) => a.message)).to.deep.equal([
        { group: eg, reason, cause: 'cancel', stats: recorder.aborts[0]?.message.stats },
      ]);
    });

    it("run()'s body failing: cause 'body'", async () => {
      const failure = new Error('body failed');
      let group: ErrGroup | undefined;
      await expectRejection(
        ErrGroup.run((eg) => {
          group = eg;
          eg.go(() => new Promise((resolve) => setImmediate(resolve)));
          throw failure;
        }),
      );
      expect(recorder.aborts.map((a) => a.message)).to.deep.equal([
        { group, reason: failure, cause: 'body', stats: recorder.aborts[0]?.message.stats },
      ]);
    });

    it('once per group, whatever comes after the first abort', async () => {
      const parent = new AbortController();
      const eg = new ErrGroup({ signal: parent.signal });
      const failure = new Error('failed');
      eg.go(() => Promise.reject(failure));
      await flushMicrotasks();
      parent.abort(new Error('later'));
      await expectRejection(eg.wait());
      expect(recorder.aborts.map((a) => a.message.cause)).to.deep.equal(['error']);
    });
  });
});
