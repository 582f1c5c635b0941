import { AsyncLocalStorage } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { ErrGroup, type ErrGroupStats } from '../../lib/index.js';
import {
  deferred,
  expectPending,
  expectRejection,
  flushMicrotasks,
  track,
} from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';

/** expectInvariants checks the two equations of stats at this moment (E18). */
function expectInvariants(stats: ErrGroupStats): void {
  expect(stats.admitted, 'admitted = started + dropped + queued').to.equal(
    stats.started + stats.dropped + stats.queued,
  );
  expect(stats.started, 'started = fulfilled + rejected + active').to.equal(
    stats.fulfilled + stats.rejected + stats.active,
  );
}

describe('ErrGroup, the whole fan-out (SPEC §8.1)', () => {
  describe('E12 context', () => {
    const als = new AsyncLocalStorage<{ id: number }>();

    it('20 tasks with limit 2: each runs in the context of its own go()', async () => {
      const eg = new ErrGroup({ limit: 2 });
      const seen: [number, number | undefined][] = [];
      for (let id = 0; id < 20; id++) {
        als.run({ id }, () => {
          eg.go(async () => {
            seen.push([id, als.getStore()?.id]);
            await new Promise((resolve) => setImmediate(resolve));
            seen.push([id, als.getStore()?.id]);
          });
        });
      }
      await eg.wait();
      expect(seen).to.have.length(40);
      for (const [id, store] of seen) expect(store, `task ${id}`).to.equal(id);
    });

    it('a task started by raising the limit runs in its own context, not the setter’s', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const gate = deferred();
      const seen: (number | undefined)[] = [];
      als.run({ id: 0 }, () => eg.go(() => gate.promise));
      for (let id = 1; id <= 3; id++) {
        als.run({ id }, () => eg.go(() => void seen.push(als.getStore()?.id)));
      }
      als.run({ id: 99 }, () => {
        eg.limit = 4;
      });
      await flushMicrotasks();
      expect(seen).to.deep.equal([1, 2, 3]);
      gate.resolve();
      await eg.wait();
    });

    it('a queued task started after a failure elsewhere never runs (the abort lands first)', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const gate = deferred();
      const boom = new Error('boom');
      let ran = false;
      eg.go(() => gate.promise);
      const queued = eg.go(() => {
        ran = true;
      });
      // The slot is handed over in the settle handler, and the queued task
      // starts in a reaction it schedules: abort in between.
      gate.promise.then(() => eg.cancel(boom));
      gate.resolve();
      expect(await expectRejection(queued)).to.equal(boom);
      expect(ran).to.equal(false);
      expect(await expectRejection(eg.wait())).to.equal(boom);
      const stats = eg.stats;
      expectInvariants(stats);
      expect([stats.started, stats.dropped]).to.deep.equal([1, 1]);
    });
  });

  describe('E13 error policy', () => {
    it("errors: 'all' rejects with an AggregateError of every task error, in the order they failed", async () => {
      const eg = new ErrGroup({ errors: 'all', cancelOnError: false });
      const a = deferred();
      const b = deferred();
      const first = new Error('second task');
      const second = new Error('first task');
      eg.go(() => a.promise);
      eg.go(() => b.promise);
      eg.go(() => 'ok');
      b.reject(first);
      await flushMicrotasks();
      a.reject(second);
      const error = (await expectRejection(eg.wait())) as AggregateError;
      expect(error).to.be.an.instanceOf(AggregateError);
      expect(error.errors).to.deep.equal([first, second]);
      expect(error.message).to.equal(
        '2 tasks of the ErrGroup failed; the first: Error: second task',
      );
    });

    it("errors: 'all' leaves out rejections with the group's own abort reason", async () => {
      const eg = new ErrGroup({ errors: 'all' });
      const boom = new Error('boom');
      const other = new Error('other');
      const listening = eg.go(
        (signal) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => reject(signal.reason));
          }),
      );
      const late = deferred();
      eg.go(() => late.promise);
      eg.go(() => Promise.reject(boom));
      expect(await expectRejection(listening)).to.equal(boom);
      late.reject(other);
      const error = (await expectRejection(eg.wait())) as AggregateError;
      expect(error.errors).to.deep.equal([boom, other]);
      expect(eg.errors).to.deep.equal([boom, other]);
    });

    it('eg.errors is a frozen copy, in the order the tasks failed, under the first-error policy too', async () => {
      const eg = new ErrGroup({ cancelOnError: false });
      const a = new Error('a');
      const b = new Error('b');
      eg.go(() => Promise.reject(a));
      const before = eg.errors;
      eg.go(() => Promise.reject(b));
      await flushMicrotasks();
      expect(before).to.deep.equal([]);
      expect(Object.isFrozen(eg.errors)).to.equal(true);
      expect(eg.errors).to.deep.equal([a, b]);
      expect(await expectRejection(eg.wait())).to.equal(a);
    });

    it('cancelOnError: false aborts nothing at a task error and queued tasks still start', async () => {
      const eg = new ErrGroup({ limit: 1, cancelOnError: false });
      const boom = new Error('boom');
      const ran: number[] = [];
      eg.go(() => Promise.reject(boom));
      eg.go(() => void ran.push(1));
      eg.go(() => void ran.push(2));
      await flushMicrotasks();
      expect(eg.signal.aborted).to.equal(false);
      expect(ran).to.deep.equal([1, 2]);
      expect(await expectRejection(eg.wait())).to.equal(boom);
      // The signal aborts when wait() settles, with wait()'s reason.
      expect(eg.signal.reason).to.equal(boom);
    });

    it('cancelOnError: false with no error: the signal aborts with an AbortError at the end', async () => {
      const eg = new ErrGroup({ cancelOnError: false });
      eg.go(() => 1);
      await eg.wait();
      expect((eg.signal.reason as DOMException).name).to.equal('AbortError');
    });

    it('cancelOnError: false, errors: all: the signal aborts with the AggregateError', async () => {
      const eg = new ErrGroup({ cancelOnError: false, errors: 'all' });
      eg.go(() => Promise.reject(new Error('x')));
      const error = await expectRejection(eg.wait());
      expect(error).to.be.an.instanceOf(AggregateError);
      expect(eg.signal.reason).to.equal(error);
    });

    it('a parent abort with no task error: wait() rejects with its reason under either policy', async () => {
      for (const errors of ['first', 'all'] as const) {
        const parent = new AbortController();
        const eg = new ErrGroup({ signal: parent.signal, errors });
        const reason = new Error('parent');
        eg.go(
          (signal) =>
            new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason)),
            ),
        );
        parent.abort(reason);
        expect(await expectRejection(eg.wait())).to.equal(reason);
        expect(eg.errors).to.deep.equal([]);
      }
    });

    it('a task that rejects with undefined fails with ERR_ERRGROUP_TASK_FAILED, on the signal and on wait()', async () => {
      const eg = new ErrGroup();
      const task = eg.go(() => Promise.reject(undefined));
      expect(await expectRejection(task)).to.equal(undefined);
      const error = await expectRejection(eg.wait());
      expectWaitGroupErrorValue(error, 'ERR_ERRGROUP_TASK_FAILED');
      expect(eg.signal.reason).to.equal(error);
      expect(eg.errors).to.deep.equal([error]);
    });

    it("errors other than 'first' or 'all' and a non-boolean cancelOnError are TypeErrors", () => {
      expect(() => new ErrGroup({ errors: 'some' as never })).to.throw(
        TypeError,
        `options.errors must be 'first' or 'all', got "some" (string)`,
      );
      expect(() => new ErrGroup({ cancelOnError: 1 as never })).to.throw(
        TypeError,
        'options.cancelOnError must be a boolean',
      );
    });
  });

  describe('E15 cancel and drain', () => {
    it('cancel(reason) aborts as a parent does: the queue drops, wait() rejects with the reason', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const reason = new Error('stop');
      const running = eg.go(
        (signal) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      );
      const queued = eg.go(() => 'never');
      eg.cancel(reason);
      expect(eg.signal.reason).to.equal(reason);
      expect(await expectRejection(queued)).to.equal(reason);
      expect(await expectRejection(running)).to.equal(reason);
      expect(await expectRejection(eg.wait())).to.equal(reason);
      expect(eg.errors).to.deep.equal([]);
    });

    it('cancel() without a reason aborts with an AbortError; a second cancel does nothing', async () => {
      const eg = new ErrGroup();
      eg.cancel();
      const reason = eg.signal.reason as DOMException;
      expect(reason.name).to.equal('AbortError');
      eg.cancel(new Error('later'));
      expect(eg.signal.reason).to.equal(reason);
      expect(await expectRejection(eg.wait())).to.equal(reason);
    });

    it('a task error after cancel() still wins (the first task error)', async () => {
      const eg = new ErrGroup();
      const gate = deferred();
      const boom = new Error('boom');
      eg.go(() => gate.promise);
      eg.cancel();
      gate.reject(boom);
      expect(await expectRejection(eg.wait())).to.equal(boom);
    });

    it('clearQueue drops the tasks not started, returns how many, and the group goes on', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const gate = deferred();
      eg.go(() => gate.promise);
      const queued = [eg.go(() => 1), eg.go(() => 2)];
      expect(eg.clearQueue()).to.equal(2);
      for (const task of queued) {
        expect(((await expectRejection(task)) as DOMException).name).to.equal('AbortError');
      }
      expect(eg.signal.aborted).to.equal(false);
      const later = eg.go(() => 3);
      gate.resolve();
      expect(await later).to.equal(3);
      await eg.wait();
      const stats = eg.stats;
      expectInvariants(stats);
      expect(stats.dropped).to.equal(2);
    });

    it('clearQueue(reason) rejects the dropped promises with that reason', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const gate = deferred();
      eg.go(() => gate.promise);
      const queued = eg.go(() => 1);
      const reason = new Error('drain');
      expect(eg.clearQueue(reason)).to.equal(1);
      expect(await expectRejection(queued)).to.equal(reason);
      gate.resolve();
      await eg.wait();
    });

    it('drain: clearQueue() then wait() waits for the running task and resolves', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const gate = deferred();
      eg.go(() => gate.promise);
      eg.go(() => 1);
      eg.clearQueue();
      const waiting = eg.wait();
      await expectPending(waiting);
      gate.resolve();
      await waiting;
    });

    it('cancel() and clearQueue() on a settled group do nothing', async () => {
      const eg = new ErrGroup();
      await eg.wait();
      const reason = eg.signal.reason;
      eg.cancel(new Error('late'));
      expect(eg.clearQueue()).to.equal(0);
      expect(eg.signal.reason).to.equal(reason);
    });
  });

  describe('E18 stats', () => {
    it('counts admitted, started, fulfilled, rejected, dropped, active and queued', async () => {
      const eg = new ErrGroup({ limit: 2 });
      const gates = [deferred(), deferred()];
      eg.go(() => gates[0]?.promise);
      eg.go(() => gates[1]?.promise);
      eg.go(() => 'queued');
      eg.go(() => 'queued');
      expect(eg.stats).to.deep.equal({
        admitted: 4,
        started: 2,
        fulfilled: 0,
        rejected: 0,
        dropped: 0,
        active: 2,
        queued: 2,
      });
      expect(Object.isFrozen(eg.stats)).to.equal(true);
      gates[0]?.resolve();
      await flushMicrotasks();
      expectInvariants(eg.stats);
      // The first task and both queued ones have fulfilled.
      expect(eg.stats.fulfilled).to.equal(3);
      eg.go(() => gates[0]?.promise);
      eg.go(() => deferred().promise);
      eg.go(() => 'dropped');
      gates[1]?.reject(new Error('boom'));
      await expectRejection(eg.wait());
      expect(eg.stats).to.deep.equal({
        admitted: 7,
        started: 5,
        fulfilled: 4,
        rejected: 1,
        dropped: 2,
        active: 0,
        queued: 0,
      });
    });

    it('go() on an aborted group counts as admitted and dropped', async () => {
      const eg = new ErrGroup();
      eg.cancel();
      await expectRejection(eg.go(() => 1));
      expect(eg.stats).to.include({ admitted: 1, dropped: 1, started: 0 });
      await expectRejection(eg.wait());
    });

    it('tryGo that admits nothing counts nothing', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const gate = deferred();
      eg.go(() => gate.promise);
      expect(eg.tryGo(() => 1)).to.equal(undefined);
      expect(eg.stats.admitted).to.equal(1);
      gate.resolve();
      await eg.wait();
    });

    it('util.inspect adds settled: n/admitted', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const gate = deferred();
      eg.go(() => 1);
      eg.go(() => gate.promise);
      await flushMicrotasks();
      expect(inspect(eg)).to.equal(
        'ErrGroup { active: 1, queued: 0, limit: 1, aborted: false, settled: 1/2 }',
      );
      gate.resolve();
      await eg.wait();
      expect(track(eg.wait()).promise).to.equal(eg.wait());
    });
  });
});

/** untilAborted returns a promise that rejects with the signal's reason when it aborts. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

describe('ErrGroup timeouts (SPEC §8.1)', () => {
  describe('E14 timeouts', () => {
    it('a task without a timeout is handed the group signal itself', async () => {
      const eg = new ErrGroup();
      let seen: AbortSignal | undefined;
      eg.go((signal) => {
        seen = signal;
      });
      expect(seen).to.equal(eg.signal);
      await eg.wait();
    });

    it('a task with a timeout gets its own signal, which aborts with a TimeoutError; that is its error', async () => {
      const eg = new ErrGroup({ timeout: 5 });
      let seen: AbortSignal | undefined;
      const task = eg.go((signal) => {
        seen = signal;
        return untilAborted(signal);
      });
      expect(seen).to.not.equal(eg.signal);
      const error = (await expectRejection(task)) as DOMException;
      expect(error.name).to.equal('TimeoutError');
      expect(error.message).to.contain('timeout of 5 ms');
      // With cancelOnError (the default) it stopped the group.
      expect(await expectRejection(eg.wait())).to.equal(error);
      expect(eg.signal.reason).to.equal(error);
    });

    it("the task's signal follows the group's abort", async () => {
      const eg = new ErrGroup();
      const reason = new Error('stop');
      const task = eg.go((signal) => untilAborted(signal), { timeout: 60_000 });
      eg.cancel(reason);
      expect(await expectRejection(task)).to.equal(reason);
      expect(await expectRejection(eg.wait())).to.equal(reason);
      expect(eg.errors).to.deep.equal([]);
    });

    it("go()'s timeout overrides the group's", async () => {
      const eg = new ErrGroup({ timeout: 60_000 });
      const task = eg.go((signal) => untilAborted(signal), { timeout: 1 });
      expect(((await expectRejection(task)) as DOMException).name).to.equal('TimeoutError');
      await expectRejection(eg.wait());
    });

    it('time in the queue does not count', async () => {
      const eg = new ErrGroup({ limit: 1 });
      // The first task outlives the second's timeout many times over.
      eg.go(() => new Promise((resolve) => setTimeout(resolve, 30)));
      let abortedAtStart: boolean | undefined;
      const second = eg.go(
        (signal) => {
          abortedAtStart = signal.aborted;
          return 'ran';
        },
        { timeout: 1 },
      );
      expect(await second).to.equal('ran');
      expect(abortedAtStart).to.equal(false);
      await eg.wait();
    });

    it('a task that ignores its signal keeps its slot and wait() waits for it', async () => {
      const eg = new ErrGroup({ limit: 1, cancelOnError: false });
      const gate = deferred();
      const timedOut = deferred();
      eg.go(
        (signal) => {
          signal.addEventListener('abort', () => timedOut.resolve());
          return gate.promise;
        },
        { timeout: 1 },
      );
      const queued = track(eg.go(() => 'next'));
      await timedOut.promise;
      expect([eg.active, eg.queued]).to.deep.equal([1, 1]);
      const waiting = eg.wait();
      await expectPending(waiting);
      expect(queued.state.status).to.equal('pending');
      gate.resolve();
      await waiting;
      expect(await queued.promise).to.equal('next');
    });

    /** countTimers wraps setTimeout and clearTimeout while `body` runs, and returns the timers left. */
    async function countTimers(
      body: () => Promise<void>,
    ): Promise<{ left: number; made: number; refed: number }> {
      const { setTimeout: set, clearTimeout: clear } = globalThis;
      const live = new Set<unknown>();
      let made = 0;
      const handles: NodeJS.Timeout[] = [];
      globalThis.setTimeout = ((fn: () => void, ms?: number) => {
        made++;
        const handle = set(() => {
          live.delete(handle);
          fn();
        }, ms);
        live.add(handle);
        handles.push(handle);
        return handle;
      }) as typeof setTimeout;
      globalThis.clearTimeout = ((handle: NodeJS.Timeout) => {
        live.delete(handle);
        clear(handle);
      }) as typeof clearTimeout;
      try {
        await body();
      } finally {
        globalThis.setTimeout = set;
        globalThis.clearTimeout = clear;
      }
      return { left: live.size, made, refed: handles.filter((h) => h.hasRef()).length };
    }

    it('1e4 timed tasks leave no listener on the group signal and no timer behind', async function () {
      this.timeout(60_000);
      const eg = new ErrGroup({ limit: 16, timeout: 60_000 });
      const timers = await countTimers(async () => {
        const tasks: Promise<unknown>[] = [];
        for (let i = 0; i < 10_000; i++) tasks.push(eg.go(async () => i));
        await Promise.all(tasks);
      });
      expect(timers).to.deep.equal({ left: 0, made: 10_000, refed: 0 });
      // Only the group's own listener (it drops the queue at an abort) is left.
      expect(getEventListeners(eg.signal, 'abort')).to.have.length(1);
      await eg.wait();
      expect(eg.stats.fulfilled).to.equal(10_000);
    });

    it('1e4 timed tasks running at once add no listener each to the group signal, and all follow its abort', async () => {
      const eg = new ErrGroup({ timeout: 60_000 });
      const gate = deferred();
      const signals: AbortSignal[] = [];
      for (let i = 0; i < 10_000; i++) {
        eg.go((signal) => {
          signals.push(signal);
          return gate.promise;
        });
      }
      expect(eg.active).to.equal(10_000);
      expect(getEventListeners(eg.signal, 'abort')).to.have.length(1);
      const reason = new Error('stop');
      eg.cancel(reason);
      expect(signals.every((signal) => signal.aborted && signal.reason === reason)).to.equal(true);
      gate.resolve();
      expect(await expectRejection(eg.wait())).to.equal(reason);
    });

    it('the timer is unref’d: a pending timed task does not keep the process alive', async () => {
      const eg = new ErrGroup({ timeout: 60_000 });
      const gate = deferred();
      const timers = await countTimers(async () => {
        eg.go(() => gate.promise);
      });
      expect(timers).to.deep.equal({ left: 1, made: 1, refed: 0 });
      gate.resolve();
      await eg.wait();
    });

    const badTimeouts: [unknown, typeof TypeError | typeof RangeError][] = [
      ['5', TypeError],
      [5n, TypeError],
      [0, RangeError],
      [-1, RangeError],
      [Number.NaN, RangeError],
    ];
    for (const [timeout, kind] of badTimeouts) {
      it(`timeout ${String(timeout)} (${typeof timeout}): ${kind.name} in the constructor and in go()`, async () => {
        expect(() => new ErrGroup({ timeout: timeout as never })).to.throw(kind, 'timeout');
        const eg = new ErrGroup();
        expect(() => eg.go(() => 1, { timeout: timeout as never })).to.throw(kind, 'go: ');
        expect(eg.stats.admitted).to.equal(0);
        await eg.wait();
      });
    }

    it("go()'s options: a non-object or a non-string name is a TypeError", () => {
      const eg = new ErrGroup();
      expect(() => eg.go(() => 1, 5 as never)).to.throw(TypeError, 'go: options must be an object');
      expect(() => eg.tryGo(() => 1, { name: 1 as never })).to.throw(
        TypeError,
        'tryGo: options.name must be a string',
      );
    });
  });
});

describe('ErrGroup.run (SPEC §8.1)', () => {
  describe('E16 scoped body', () => {
    it('calls the body synchronously and resolves with its value after wait() resolved', async () => {
      let called = false;
      let group: ErrGroup | undefined;
      const gate = deferred();
      const running = ErrGroup.run((eg) => {
        called = true;
        group = eg;
        eg.go(() => gate.promise);
        return 'value';
      });
      expect(called).to.equal(true);
      await expectPending(running);
      gate.resolve();
      expect(await running).to.equal('value');
      expect(group?.stats.fulfilled).to.equal(1);
    });

    it("the body's error aborts the group at once and run rejects with it once every task settled", async () => {
      const boom = new Error('body');
      const gate = deferred();
      let group: ErrGroup | undefined;
      let queued: Promise<unknown> | undefined;
      const running = track(
        ErrGroup.run(
          async (eg) => {
            group = eg;
            eg.go(() => gate.promise);
            queued = eg.go(() => 'never');
            throw boom;
          },
          { limit: 1 },
        ),
      );
      await flushMicrotasks();
      expect(group?.signal.reason).to.equal(boom);
      expect(await expectRejection(queued as Promise<unknown>)).to.equal(boom);
      expect(running.state.status).to.equal('pending');
      gate.resolve();
      expect(await expectRejection(running.promise)).to.equal(boom);
    });

    it('a task error that came before the body failed wins, under the policy', async () => {
      const taskError = new Error('task');
      const bodyError = new Error('body');
      const outcome = await expectRejection(
        ErrGroup.run(
          async (eg) => {
            await eg.go(() => Promise.reject(taskError)).catch(() => undefined);
            throw bodyError;
          },
          { errors: 'all' },
        ),
      );
      expect(outcome).to.be.an.instanceOf(AggregateError);
      expect((outcome as AggregateError).errors).to.deep.equal([taskError]);
    });

    it("the body's error is never folded into an AggregateError", async () => {
      const bodyError = new Error('body');
      const outcome = await expectRejection(
        ErrGroup.run(
          (eg) => {
            eg.go((signal) => untilAborted(signal));
            throw bodyError;
          },
          { errors: 'all' },
        ),
      );
      expect(outcome).to.equal(bodyError);
    });

    it("a task error makes run reject with wait()'s reason", async () => {
      const boom = new Error('task');
      const outcome = await expectRejection(
        ErrGroup.run((eg) => {
          eg.go(() => Promise.reject(boom));
          return 'ignored';
        }),
      );
      expect(outcome).to.equal(boom);
    });

    it('bad arguments reject, never throw', async () => {
      const notFunction = ErrGroup.run(42 as never);
      expect(await expectRejection(notFunction)).to.be.an.instanceOf(TypeError);
      const badLimit = ErrGroup.run(() => 1, { limit: 0 });
      expect(await expectRejection(badLimit)).to.be.an.instanceOf(RangeError);
    });
  });
});
