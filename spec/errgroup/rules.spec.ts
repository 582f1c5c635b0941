import { getEventListeners } from 'node:events';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { ErrGroup, type WaitGroupError } from '../../lib/index.js';
import {
  deferred,
  expectPending,
  expectRejection,
  flushMicrotasks,
  track,
} from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';

describe('ErrGroup (SPEC §8)', () => {
  describe('E1 options', () => {
    const badOptions: [string, unknown, typeof TypeError | typeof RangeError][] = [
      ['options null', null, TypeError],
      ['options a number', 3, TypeError],
      ['signal not an AbortSignal', { signal: {} }, TypeError],
      ['limit a string', { limit: '4' }, TypeError],
      ['limit a bigint', { limit: 4n }, TypeError],
      ['limit 0', { limit: 0 }, RangeError],
      ['limit -1', { limit: -1 }, RangeError],
      ['limit 1.5', { limit: 1.5 }, RangeError],
      ['limit NaN', { limit: Number.NaN }, RangeError],
    ];
    for (const [what, options, kind] of badOptions) {
      it(`${what}: ${kind.name}`, () => {
        expect(() => new ErrGroup(options as never)).to.throw(kind, /ErrGroup/);
      });
    }

    it('limit defaults to Infinity and takes integers >= 1 and Infinity', () => {
      expect(new ErrGroup().limit).to.equal(Number.POSITIVE_INFINITY);
      expect(new ErrGroup({ limit: 1 }).limit).to.equal(1);
      expect(new ErrGroup({ limit: Number.POSITIVE_INFINITY }).limit).to.equal(
        Number.POSITIVE_INFINITY,
      );
    });

    it('the limit setter checks the same way and changes nothing when refused', () => {
      const eg = new ErrGroup({ limit: 3 });
      expect(() => {
        eg.limit = 0;
      }).to.throw(RangeError, 'integer >= 1 or Infinity, got 0');
      expect(() => {
        eg.limit = '2' as never;
      }).to.throw(TypeError, 'limit must be a number, got "2" (string)');
      expect(eg.limit).to.equal(3);
    });

    it('a parent already aborted makes a group already aborted with its reason', () => {
      const reason = new Error('parent gone');
      const eg = new ErrGroup({ signal: AbortSignal.abort(reason) });
      expect(eg.signal.aborted).to.equal(true);
      expect(eg.signal.reason).to.equal(reason);
    });
  });

  describe('E2 the signal', () => {
    it('aborts with the first task error', async () => {
      const eg = new ErrGroup();
      const boom = new Error('boom');
      eg.go(() => Promise.reject(boom));
      await expectRejection(eg.wait());
      expect(eg.signal.reason).to.equal(boom);
    });

    it("aborts with the parent's reason when the parent aborts", () => {
      const parent = new AbortController();
      const eg = new ErrGroup({ signal: parent.signal });
      const reason = new Error('stop');
      parent.abort(reason);
      expect(eg.signal.aborted).to.equal(true);
      expect(eg.signal.reason).to.equal(reason);
    });

    it('aborts with an AbortError when wait() settles with neither', async () => {
      const eg = new ErrGroup();
      eg.go(() => 1);
      await eg.wait();
      expect(eg.signal.aborted).to.equal(true);
      expect(eg.signal.reason).to.be.an.instanceOf(DOMException);
      expect((eg.signal.reason as DOMException).name).to.equal('AbortError');
    });

    it('1e4 groups on one long-lived parent leave no listener behind', async () => {
      const parent = new AbortController();
      for (let i = 0; i < 10_000; i++) {
        const eg = new ErrGroup({ signal: parent.signal });
        eg.go(() => i);
        await eg.wait();
      }
      expect(getEventListeners(parent.signal, 'abort')).to.have.length(0);
    });

    it('holds one listener on the parent while the group is open', () => {
      const parent = new AbortController();
      const eg = new ErrGroup({ signal: parent.signal });
      expect(getEventListeners(parent.signal, 'abort')).to.have.length(1);
      eg.go(() => undefined);
      expect(getEventListeners(parent.signal, 'abort')).to.have.length(1);
    });
  });

  describe('E3 go', () => {
    it('a non-function is a TypeError and admits nothing', async () => {
      const eg = new ErrGroup();
      expect(() => eg.go(42 as never)).to.throw(TypeError, 'go: fn must be a function');
      expect(eg.active + eg.queued).to.equal(0);
      await eg.wait();
    });

    it('calls fn at once with the signal, as Promise.try does', () => {
      const eg = new ErrGroup();
      let seen: AbortSignal | undefined;
      eg.go((signal) => {
        seen = signal;
      });
      expect(seen).to.equal(eg.signal);
    });

    it('a synchronous throw is the task error, on its promise and on wait()', async () => {
      const eg = new ErrGroup();
      const boom = new Error('sync');
      const task = eg.go(() => {
        throw boom;
      });
      expect(await expectRejection(task)).to.equal(boom);
      expect(await expectRejection(eg.wait())).to.equal(boom);
    });

    it('the promise carries the result of fn', async () => {
      const eg = new ErrGroup();
      expect(await eg.go(() => Promise.resolve('page'))).to.equal('page');
    });

    it('by the time an await of the promise resumes, the slot is free and the task is done', async () => {
      const eg = new ErrGroup({ limit: 1 });
      let release = (): void => {};
      const first = eg.go(() => new Promise<string>((resolve) => (release = () => resolve('a'))));
      const second = eg.go(() => 'b');
      expect([eg.active, eg.queued]).to.deep.equal([1, 1]);
      release();
      expect(await first).to.equal('a');
      // The first task's handler ran before this await resumed: its slot went
      // to the queued task, which is running (E6).
      expect([eg.active, eg.queued]).to.deep.equal([1, 0]);
      expect(await second).to.equal('b');
      expect([eg.active, eg.queued]).to.deep.equal([0, 0]);
      const rejected = eg.go(() => Promise.reject(new Error('late')));
      expect(((await expectRejection(rejected)) as Error).message).to.equal('late');
      expect([eg.active, eg.queued]).to.deep.equal([0, 0]);
      expect(eg.signal.aborted).to.equal(true);
    });

    it('throws ERR_ERRGROUP_CLOSED synchronously once wait() has settled', async () => {
      const eg = new ErrGroup();
      await eg.wait();
      let error: unknown;
      try {
        eg.go(() => 1);
      } catch (caught) {
        error = caught;
      }
      expectWaitGroupErrorValue(error, 'ERR_ERRGROUP_CLOSED');
      expect((error as WaitGroupError).message).to.contain('create a new ErrGroup');
    });
  });

  describe('E4 first error', () => {
    it('records the first error, not wrapped; later errors stay on their own promises', async () => {
      const eg = new ErrGroup();
      const first = new Error('first');
      const second = new Error('second');
      const a = deferred();
      const b = deferred();
      const pa = eg.go(() => a.promise);
      const pb = eg.go(() => b.promise);
      a.reject(first);
      b.reject(second);
      expect(await expectRejection(pa)).to.equal(first);
      expect(await expectRejection(pb)).to.equal(second);
      expect(await expectRejection(eg.wait())).to.equal(first);
    });

    it('aborts the signal before the failing task counts as done', async () => {
      const eg = new ErrGroup();
      const boom = new Error('boom');
      const slow = deferred();
      eg.go(() => slow.promise);
      eg.go(() => Promise.reject(boom));
      const waiting = eg.wait();
      await flushMicrotasks();
      // The failing task has settled; the slow one still runs: wait() is pending, the signal aborted.
      expect(eg.signal.aborted).to.equal(true);
      expect(eg.signal.reason).to.equal(boom);
      await expectPending(waiting);
      slow.resolve();
      expect(await expectRejection(waiting)).to.equal(boom);
    });

    it('the error is recorded and the signal aborted when wait() resumes', async () => {
      const eg = new ErrGroup();
      const boom = new Error('boom');
      eg.go(async () => {
        await null;
        throw boom;
      });
      let seen: unknown;
      await eg.wait().catch((error: unknown) => {
        seen = { error, aborted: eg.signal.aborted, reason: eg.signal.reason };
      });
      expect(seen).to.deep.equal({ error: boom, aborted: true, reason: boom });
    });
  });

  describe('E5 after an abort', () => {
    it('queued tasks never start; their promises reject with the reason and count as done', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const boom = new Error('boom');
      const running = deferred();
      const started: number[] = [];
      eg.go(() => running.promise);
      const queued = [1, 2, 3].map((n) =>
        eg.go(() => {
          started.push(n);
        }),
      );
      expect(eg.queued).to.equal(3);
      running.reject(boom);
      for (const task of queued) expect(await expectRejection(task)).to.equal(boom);
      expect(await expectRejection(eg.wait())).to.equal(boom);
      expect(started).to.deep.equal([]);
      expect(eg.queued).to.equal(0);
    });

    it('a parent abort drops the queue at that moment', async () => {
      const parent = new AbortController();
      const eg = new ErrGroup({ signal: parent.signal, limit: 1 });
      const running = deferred();
      eg.go(() => running.promise);
      const queued = track(eg.go(() => 'never'));
      parent.abort(new Error('cancelled'));
      expect(eg.queued).to.equal(0);
      await flushMicrotasks();
      expect(queued.state.status).to.equal('rejected');
      running.resolve();
      expect(((await expectRejection(eg.wait())) as Error).message).to.equal('cancelled');
    });

    it('go() on an aborted group that has not settled calls nothing and rejects (handled)', async () => {
      const parent = new AbortController();
      const reason = new Error('stop');
      const eg = new ErrGroup({ signal: parent.signal });
      const running = deferred();
      eg.go(() => running.promise);
      parent.abort(reason);
      let called = false;
      const late = eg.go(() => {
        called = true;
      });
      expect(await expectRejection(late)).to.equal(reason);
      expect(called).to.equal(false);
      running.resolve();
      expect(await expectRejection(eg.wait())).to.equal(reason);
    });
  });

  describe('E6 limit', () => {
    it('runs at most limit tasks; the next queued one starts in the settle handler', async () => {
      const eg = new ErrGroup({ limit: 2 });
      const gates = [deferred(), deferred(), deferred()];
      const log: string[] = [];
      gates.forEach((gate, i) => {
        eg.go(() => {
          log.push(`start ${i}`);
          return gate.promise;
        });
      });
      expect([eg.active, eg.queued]).to.deep.equal([2, 1]);
      gates[0]?.resolve();
      await flushMicrotasks();
      expect(log).to.deep.equal(['start 0', 'start 1', 'start 2']);
      expect([eg.active, eg.queued]).to.deep.equal([2, 0]);
      gates[1]?.resolve();
      gates[2]?.resolve();
      await eg.wait();
      expect([eg.active, eg.queued]).to.deep.equal([0, 0]);
    });

    it('raising limit takes the slots inside the setter; the tasks start before any macrotask', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const never = deferred();
      const started: number[] = [];
      for (let i = 0; i < 4; i++) {
        eg.go(() => {
          started.push(i);
          return never.promise;
        });
      }
      expect(started).to.deep.equal([0]);
      eg.limit = 3;
      // E12: a queued task starts in a reaction made in its go()'s context.
      expect([eg.active, eg.queued]).to.deep.equal([3, 1]);
      await flushMicrotasks();
      expect(started).to.deep.equal([0, 1, 2]);
    });

    it('lowering limit lets the running tasks finish and starts no more until below it', async () => {
      const eg = new ErrGroup({ limit: 3 });
      const gates = [deferred(), deferred(), deferred(), deferred()];
      const started: number[] = [];
      gates.forEach((gate, i) => {
        eg.go(() => {
          started.push(i);
          return gate.promise;
        });
      });
      eg.limit = 1;
      gates[0]?.resolve();
      gates[1]?.resolve();
      await flushMicrotasks();
      expect(started).to.deep.equal([0, 1, 2]);
      gates[2]?.resolve();
      await flushMicrotasks();
      expect(started).to.deep.equal([0, 1, 2, 3]);
      gates[3]?.resolve();
      await eg.wait();
    });

    it('tasks may start tasks: the group settles after the tasks they started', async () => {
      const eg = new ErrGroup({ limit: 2 });
      const visited: string[] = [];
      const crawl = (path: string, depth: number): void => {
        eg.go(async () => {
          await null;
          visited.push(path);
          if (depth < 3) {
            crawl(`${path}/a`, depth + 1);
            crawl(`${path}/b`, depth + 1);
          }
        });
      };
      crawl('', 0);
      await eg.wait();
      expect(visited).to.have.length(15);
    });
  });

  describe('E7 tryGo', () => {
    it('starts fn when a slot is free and returns its promise', async () => {
      const eg = new ErrGroup({ limit: 1 });
      const task = eg.tryGo(() => 'ran');
      expect(task).to.be.an.instanceOf(Promise);
      expect(await task).to.equal('ran');
    });

    it('returns undefined and admits nothing when no slot is free', () => {
      const eg = new ErrGroup({ limit: 1 });
      eg.go(() => deferred().promise);
      let called = false;
      expect(
        eg.tryGo(() => {
          called = true;
        }),
      ).to.equal(undefined);
      expect([called, eg.active, eg.queued]).to.deep.equal([false, 1, 0]);
    });

    it('returns undefined on an aborted or a settled group; a non-function is a TypeError', async () => {
      const aborted = new ErrGroup({ signal: AbortSignal.abort() });
      expect(aborted.tryGo(() => 1)).to.equal(undefined);
      const settled = new ErrGroup();
      await settled.wait();
      expect(settled.tryGo(() => 1)).to.equal(undefined);
      expect(() => settled.tryGo('x' as never)).to.throw(TypeError, 'tryGo: fn must be a function');
    });
  });

  describe('E8 wait', () => {
    it('settles only after every admitted task has settled, stragglers included', async () => {
      const eg = new ErrGroup();
      const straggler = deferred();
      eg.go(() => straggler.promise);
      eg.go(() => Promise.reject(new Error('fast failure')));
      const waiting = eg.wait();
      await expectPending(waiting);
      straggler.resolve();
      await expectRejection(waiting);
    });

    it('the first task error wins even if it came after the parent abort', async () => {
      const parent = new AbortController();
      const eg = new ErrGroup({ signal: parent.signal });
      const task = deferred();
      eg.go(() => task.promise);
      parent.abort(new Error('parent'));
      const failure = new Error('task failed after the abort');
      task.reject(failure);
      expect(await expectRejection(eg.wait())).to.equal(failure);
    });

    it("rejects with the parent's reason when the parent aborted and no task failed", async () => {
      const parent = new AbortController();
      const eg = new ErrGroup({ signal: parent.signal });
      const reason = new Error('shutdown');
      eg.go(() => 1);
      parent.abort(reason);
      expect(await expectRejection(eg.wait())).to.equal(reason);
    });

    it('every call gives the same outcome, before and after it settles', async () => {
      const eg = new ErrGroup();
      const boom = new Error('boom');
      const before = eg.wait();
      eg.go(() => Promise.reject(boom));
      expect(await expectRejection(before)).to.equal(boom);
      expect(await expectRejection(eg.wait())).to.equal(boom);
      expect(eg.wait()).to.equal(before);
    });

    it("a go() from a reaction to the last task's promise is waited for, never REUSED", async () => {
      for (let round = 0; round < 50; round++) {
        const eg = new ErrGroup();
        const log: string[] = [];
        eg.go(() => 'first').then(() => {
          const late = eg.tryGo(async () => {
            await null;
            log.push('late ran');
          });
          log.push(late === undefined ? 'late refused' : 'late admitted');
        });
        await eg.wait();
        if (log[0] === 'late admitted') expect(log).to.deep.equal(['late admitted', 'late ran']);
        else expect(log).to.deep.equal(['late refused']);
      }
    });

    it('a go() landing between the release and the resume is admitted and awaited', async () => {
      const eg = new ErrGroup();
      let lateDone = false;
      const first = eg.go(() => undefined);
      // A reaction on the task's own promise runs right after the release.
      first.then(() => {
        eg.go(async () => {
          await null;
          lateDone = true;
        });
      });
      await eg.wait();
      expect(lateDone).to.equal(true);
    });
  });

  describe('E9 await using', () => {
    it('[Symbol.asyncDispose] is wait(): it throws the first error at the end of the scope', async () => {
      const eg = new ErrGroup();
      const boom = new Error('boom');
      eg.go(() => Promise.reject(boom));
      expect(eg[Symbol.asyncDispose]()).to.equal(eg.wait());
      expect(await expectRejection(eg[Symbol.asyncDispose]())).to.equal(boom);
    });
  });

  describe('E10 util.inspect', () => {
    it('shows active, queued, limit, aborted and settled (E18)', () => {
      const eg = new ErrGroup({ limit: 4 });
      for (let i = 0; i < 14; i++) eg.go(() => deferred().promise);
      expect(inspect(eg)).to.equal(
        'ErrGroup { active: 4, queued: 10, limit: 4, aborted: false, settled: 0/14 }',
      );
      expect(Object.prototype.toString.call(eg)).to.equal('[object ErrGroup]');
    });
  });
});
