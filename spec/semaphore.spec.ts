// One behavioural suite for the Semaphore interface, run against both
// backends (STYLE.md 2), with a fake Acquirer that records its calls.

import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import { AtomicsSemaphore } from '../lib/atomics-semaphore.js';
import { pendingSharedWaits } from '../lib/keep-alive.js';
import { LocalSemaphore } from '../lib/local-semaphore.js';
import type { Acquirer, Semaphore } from '../lib/semaphore.js';
import {
  expectPending,
  expectRejection,
  flushMicrotasks,
  stepLog,
  track,
} from './helpers/async.js';
import { expectWaitGroupError } from './helpers/waitgroup.js';

/**
 * FakeAcquirer records every call. `resumed()` throws `resumeError` if one
 * is set; `withdraw()` returns the next scripted value (default true).
 */
class FakeAcquirer implements Acquirer {
  readonly calls: string[] = [];
  resumeError: unknown;
  readonly withdrawals: boolean[] = [];

  resumed(): void {
    this.calls.push('resumed');
    if (this.resumeError !== undefined) throw this.resumeError;
  }

  withdraw(): boolean {
    this.calls.push('withdraw');
    return this.withdrawals.shift() ?? true;
  }
}

interface Backend {
  readonly name: string;
  create(acquirer: Acquirer): Semaphore;
  /** Tokens issued and not taken, where the backend can tell. */
  tokens?(): number;
}

let lastTokens: Int32Array | undefined;

/** The shared waits pending before each test (set in beforeEach): other suites' are not ours. */
let baseline = 0;

/**
 * expectNoSharedWaitsLeft lets woken waits finish, then checks that the
 * test left no shared wait pending (nothing holding the process, S16).
 */
async function expectNoSharedWaitsLeft(): Promise<void> {
  for (let i = 0; i < 100 && pendingSharedWaits() > baseline; i++) await flushMicrotasks();
  expect(pendingSharedWaits(), 'shared waits left pending').to.equal(baseline);
}

const backends: Backend[] = [
  { name: 'LocalSemaphore', create: (acquirer) => new LocalSemaphore(acquirer) },
  {
    name: 'AtomicsSemaphore',
    create: (acquirer) => {
      lastTokens = new Int32Array(new SharedArrayBuffer(4));
      return new AtomicsSemaphore(acquirer, lastTokens);
    },
    tokens: () => Atomics.load(lastTokens as Int32Array, 0),
  },
];

/** acquireLogged acquires and logs `name` when the acquire settles. */
function acquireLogged(
  semaphore: Semaphore,
  log: (step: string) => void,
  name: string,
  signal?: AbortSignal,
): Promise<void> {
  return semaphore.acquire(signal).then(
    () => log(`${name} resolved`),
    (reason: unknown) => {
      log(`${name} rejected ${String(reason)}`);
    },
  );
}

for (const backend of backends) {
  describe(`Semaphore: ${backend.name}`, () => {
    let acquirer: FakeAcquirer;
    let semaphore: Semaphore;

    beforeEach(() => {
      baseline = pendingSharedWaits();
      acquirer = new FakeAcquirer();
      semaphore = backend.create(acquirer);
    });

    afterEach(async () => {
      // Wake whatever a failed test left parked, so that nothing keeps the
      // process alive, then check that no shared wait is left pending.
      acquirer.resumeError = undefined;
      semaphore.release(1000);
      await expectNoSharedWaitsLeft();
    });

    it('a release before the acquire is kept: the acquire takes it', async () => {
      semaphore.release(1);
      await semaphore.acquire(undefined);
      expect(acquirer.calls).to.deep.equal(['resumed']);
      if (backend.tokens) expect(backend.tokens()).to.equal(0);
    });

    it('release(0) issues nothing', async () => {
      semaphore.release(0);
      await expectPending(semaphore.acquire(undefined));
      expect(acquirer.calls).to.deep.equal([]);
    });

    it('an acquire stays parked until a release', async () => {
      const acquired = semaphore.acquire(undefined);
      await expectPending(acquired);
      expect(acquirer.calls).to.deep.equal([]);
      semaphore.release(1);
      await acquired;
      expect(acquirer.calls).to.deep.equal(['resumed']);
    });

    it('release(n) wakes n parked acquirers, oldest first', async () => {
      const log = stepLog();
      const { signal } = new AbortController();
      const a = acquireLogged(semaphore, log, 'a', signal);
      const b = acquireLogged(semaphore, log, 'b', signal);
      const c = acquireLogged(semaphore, log, 'c', signal);
      await flushMicrotasks();
      semaphore.release(2);
      await Promise.all([a, b]);
      expect(log.steps).to.deep.equal(['a resolved', 'b resolved']);
      await expectPending(c);
      semaphore.release(1);
      await c;
      expect(log.steps).to.deep.equal(['a resolved', 'b resolved', 'c resolved']);
      expect(acquirer.calls).to.deep.equal(['resumed', 'resumed', 'resumed']);
      if (backend.tokens) expect(backend.tokens()).to.equal(0);
    });

    it('release(n) wakes everyone parked, in order, signal or not', async () => {
      const log = stepLog();
      const { signal } = new AbortController();
      const waits = [
        acquireLogged(semaphore, log, '0'),
        acquireLogged(semaphore, log, '1', signal),
        acquireLogged(semaphore, log, '2'),
        acquireLogged(semaphore, log, '3'),
        acquireLogged(semaphore, log, '4', signal),
      ];
      await flushMicrotasks();
      semaphore.release(5);
      await Promise.all(waits);
      expect(log.steps).to.deep.equal([
        '0 resolved',
        '1 resolved',
        '2 resolved',
        '3 resolved',
        '4 resolved',
      ]);
    });

    it('resumed() throwing rejects the acquire with what it threw', async () => {
      const error = new Error('reused');
      acquirer.resumeError = error;
      const acquired = semaphore.acquire(undefined);
      semaphore.release(1);
      expect(await expectRejection(acquired)).to.equal(error);
      expect(acquirer.calls).to.deep.equal(['resumed']);
    });

    it('resumed() throwing rejects an acquire that had a token at once', async () => {
      const error = new Error('reused');
      acquirer.resumeError = error;
      semaphore.release(1);
      expect(await expectRejection(semaphore.acquire(new AbortController().signal))).to.equal(
        error,
      );
    });

    it('acquire never throws synchronously', () => {
      acquirer.resumeError = new Error('x');
      semaphore.release(1);
      let acquired: Promise<void> | undefined;
      expect(() => {
        acquired = semaphore.acquire(undefined);
      }).to.not.throw();
      void (acquired as Promise<void>).catch(() => {});
    });

    it('an abort that withdraws rejects with the reason and consumes no token', async () => {
      const controller = new AbortController();
      const aborted = semaphore.acquire(controller.signal);
      const other = semaphore.acquire(undefined);
      await flushMicrotasks();
      controller.abort('reason');
      expect(await expectRejection(aborted)).to.equal('reason');
      expect(acquirer.calls).to.deep.equal(['withdraw']);
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      semaphore.release(1);
      await other; // the one token went to the other acquirer
      expect(acquirer.calls).to.deep.equal(['withdraw', 'resumed']);
      if (backend.tokens) expect(backend.tokens()).to.equal(0);
    });

    it('after an abort that withdrew, a release is kept for the next acquire', async () => {
      const controller = new AbortController();
      const aborted = semaphore.acquire(controller.signal);
      await flushMicrotasks();
      controller.abort('gone');
      await expectRejection(aborted);
      semaphore.release(1);
      if (backend.tokens) expect(backend.tokens()).to.equal(1);
      await semaphore.acquire(undefined);
      expect(acquirer.calls).to.deep.equal(['withdraw', 'resumed']);
    });

    it('an abort whose withdraw() fails keeps waiting and resolves after the release', async () => {
      acquirer.withdrawals.push(false);
      const controller = new AbortController();
      const acquired = semaphore.acquire(controller.signal);
      await flushMicrotasks();
      controller.abort('too late');
      expect(acquirer.calls).to.deep.equal(['withdraw']);
      await expectPending(acquired);
      semaphore.release(1);
      await acquired;
      expect(acquirer.calls).to.deep.equal(['withdraw', 'resumed']);
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    });

    it('an abort after the token was taken is ignored: withdraw() is not called', async () => {
      const controller = new AbortController();
      const acquired = semaphore.acquire(controller.signal);
      semaphore.release(1);
      await acquired;
      controller.abort();
      expect(acquirer.calls).to.deep.equal(['resumed']);
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    });

    it('aborting one of several leaves the others parked in order', async () => {
      const log = stepLog();
      const controller = new AbortController();
      const { signal } = new AbortController();
      const a = acquireLogged(semaphore, log, 'a', signal);
      const b = acquireLogged(semaphore, log, 'b', controller.signal);
      const c = acquireLogged(semaphore, log, 'c', signal);
      await flushMicrotasks();
      controller.abort('abort');
      await b;
      semaphore.release(1);
      await a;
      await expectPending(c);
      semaphore.release(1);
      await c;
      expect(log.steps).to.deep.equal(['b rejected abort', 'a resolved', 'c resolved']);
    });

    it('a signal used for many acquires does not accumulate listeners', async () => {
      const { signal } = new AbortController();
      for (let i = 0; i < 200; i++) {
        const acquired = semaphore.acquire(signal);
        semaphore.release(1);
        await acquired;
      }
      expect(getEventListeners(signal, 'abort')).to.have.length(0);
    });
  });
}

describe('Semaphore: backend differences', () => {
  describe('LocalSemaphore', () => {
    it('assertCanBlock throws DEADLOCK: only this thread could release it', () => {
      const semaphore = new LocalSemaphore(new FakeAcquirer());
      expectWaitGroupError(() => semaphore.assertCanBlock(), 'ERR_WAITGROUP_DEADLOCK');
    });

    it('acquireSync throws DEADLOCK and calls nothing back', () => {
      const acquirer = new FakeAcquirer();
      const semaphore = new LocalSemaphore(acquirer);
      semaphore.release(1);
      expectWaitGroupError(() => semaphore.acquireSync(0), 'ERR_WAITGROUP_DEADLOCK');
      expect(acquirer.calls).to.deep.equal([]);
    });

    it('consecutive acquirers without a signal share one batch and one promise', () => {
      const semaphore = new LocalSemaphore(new FakeAcquirer());
      const a = semaphore.acquire(undefined);
      const b = semaphore.acquire(undefined);
      const c = semaphore.acquire(new AbortController().signal);
      const d = semaphore.acquire(undefined);
      expect(a).to.equal(b);
      expect(c).to.not.equal(a);
      expect(d).to.not.equal(a);
      expect(d).to.not.equal(c);
      semaphore.release(4);
    });

    it('a batch wakes only when the tokens cover all of it, and then resumes once', async () => {
      const acquirer = new FakeAcquirer();
      const semaphore = new LocalSemaphore(acquirer);
      const batch = track(semaphore.acquire(undefined));
      semaphore.acquire(undefined);
      semaphore.acquire(undefined);
      semaphore.release(2);
      await flushMicrotasks();
      expect(batch.state.status).to.equal('pending');
      expect(acquirer.calls).to.deep.equal([]);
      semaphore.release(1);
      await flushMicrotasks();
      expect(batch.state.status).to.equal('fulfilled');
      expect(acquirer.calls).to.deep.equal(['resumed']);
    });

    it('an acquirer behind an uncovered batch waits for it, even with tokens left', async () => {
      const acquirer = new FakeAcquirer();
      const semaphore = new LocalSemaphore(acquirer);
      const log = stepLog();
      const batch = acquireLogged(semaphore, log, 'batch');
      void semaphore.acquire(undefined);
      semaphore.release(1); // 1 token, the batch of 2 needs 2
      const late = acquireLogged(semaphore, log, 'late'); // does not join: tokens are not 0
      await flushMicrotasks();
      expect(log.steps).to.deep.equal([]);
      semaphore.release(1);
      await batch;
      await expectPending(late);
      semaphore.release(1);
      await late;
      expect(log.steps).to.deep.equal(['batch resolved', 'late resolved']);
      expect(acquirer.calls).to.deep.equal(['resumed', 'resumed']);
    });

    it('resumed() throwing rejects every acquirer of the batch with that error', async () => {
      const acquirer = new FakeAcquirer();
      const semaphore = new LocalSemaphore(acquirer);
      const error = new Error('reused');
      acquirer.resumeError = error;
      const a = semaphore.acquire(undefined);
      const b = semaphore.acquire(undefined);
      semaphore.release(2);
      expect(await expectRejection(a)).to.equal(error);
      expect(await expectRejection(b)).to.equal(error);
      expect(acquirer.calls).to.deep.equal(['resumed']);
    });

    it('resumes one microtask after the releasing call, not during it', async () => {
      const acquirer = new FakeAcquirer();
      const semaphore = new LocalSemaphore(acquirer);
      const acquired = semaphore.acquire(undefined);
      semaphore.release(1);
      expect(acquirer.calls).to.deep.equal([]);
      await acquired;
      expect(acquirer.calls).to.deep.equal(['resumed']);
    });

    it('an abort after the release, before the resume, is ignored', async () => {
      const acquirer = new FakeAcquirer();
      const semaphore = new LocalSemaphore(acquirer);
      const controller = new AbortController();
      const acquired = semaphore.acquire(controller.signal);
      semaphore.release(1);
      controller.abort();
      await acquired;
      expect(acquirer.calls).to.deep.equal(['resumed']);
    });

    it('removing the only, the first and the last entry keeps the queue linked', async () => {
      const acquirer = new FakeAcquirer();
      const semaphore = new LocalSemaphore(acquirer);
      const log = stepLog();
      const controllers = Array.from({ length: 4 }, () => new AbortController());
      const waits = controllers.map((c, i) => acquireLogged(semaphore, log, `${i}`, c.signal));
      controllers[3]?.abort('last');
      controllers[0]?.abort('first');
      controllers[1]?.abort('next');
      semaphore.release(1);
      controllers[2]?.abort('released');
      await Promise.all(waits);
      // a new acquirer after the queue emptied
      const again = acquireLogged(semaphore, log, 'again', new AbortController().signal);
      semaphore.release(1);
      await again;
      expect(log.steps).to.deep.equal([
        '3 rejected last',
        '0 rejected first',
        '1 rejected next',
        '2 resolved',
        'again resolved',
      ]);
    });
  });

  describe('AtomicsSemaphore', () => {
    let tokens: Int32Array;
    let acquirer: FakeAcquirer;
    let semaphore: AtomicsSemaphore;

    beforeEach(() => {
      baseline = pendingSharedWaits();
      tokens = new Int32Array(new SharedArrayBuffer(4));
      acquirer = new FakeAcquirer();
      semaphore = new AtomicsSemaphore(acquirer, tokens);
    });

    afterEach(async () => {
      acquirer.resumeError = undefined;
      semaphore.release(1000);
      await expectNoSharedWaitsLeft();
    });

    it('assertCanBlock does not throw on Node’s main thread', () => {
      expect(() => semaphore.assertCanBlock()).to.not.throw();
      expect(() => semaphore.assertCanBlock()).to.not.throw(); // the answer is cached
    });

    it('acquireSync takes an issued token at once and resumes', () => {
      semaphore.release(2);
      semaphore.acquireSync(0);
      expect(acquirer.calls).to.deep.equal(['resumed']);
      expect(Atomics.load(tokens, 0)).to.equal(1);
      semaphore.acquireSync(Number.POSITIVE_INFINITY);
      expect(Atomics.load(tokens, 0)).to.equal(0);
    });

    it('acquireSync throws what resumed() throws', () => {
      const error = new Error('reused');
      acquirer.resumeError = error;
      semaphore.release(1);
      expect(() => semaphore.acquireSync(0)).to.throw(error);
    });

    it('acquireSync with timeout 0 withdraws and throws a TimeoutError DOMException', () => {
      let thrown: unknown;
      try {
        semaphore.acquireSync(0);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.an.instanceOf(DOMException);
      expect((thrown as DOMException).name).to.equal('TimeoutError');
      expect((thrown as DOMException).message).to.match(
        /^awaitgroup: waitSync timed out after 0 ms/,
      );
      expect(acquirer.calls).to.deep.equal(['withdraw']);
      expect(Atomics.load(tokens, 0)).to.equal(0);
    });

    it('acquireSync with a short timeout and nothing issued times out too', () => {
      expect(() => semaphore.acquireSync(1))
        .to.throw(DOMException)
        .with.property('name', 'TimeoutError');
      expect(acquirer.calls).to.deep.equal(['withdraw']);
    });

    it('a release counts tokens in the shared word and notifies', () => {
      semaphore.release(3);
      expect(Atomics.load(tokens, 0)).to.equal(3);
    });

    it('instances over the same word are one semaphore', async () => {
      const other = new AtomicsSemaphore(acquirer, new Int32Array(tokens.buffer));
      const acquired = semaphore.acquire(undefined);
      await flushMicrotasks();
      other.release(1);
      await acquired;
      expect(Atomics.load(tokens, 0)).to.equal(0);
    });

    it('an abort while parked wakes the other parked acquirers, who park again', async () => {
      const controller = new AbortController();
      const log = stepLog();
      const a = acquireLogged(semaphore, log, 'a', controller.signal);
      const b = acquireLogged(semaphore, log, 'b');
      await flushMicrotasks();
      controller.abort('x');
      await a;
      await expectPending(b);
      await flushMicrotasks();
      await expectPending(b);
      semaphore.release(1);
      await b;
      expect(log.steps).to.deep.equal(['a rejected x', 'b resolved']);
    });

    it('holds the process while an acquire is pending, and lets go when it settles', async () => {
      const controller = new AbortController();
      const a = semaphore.acquire(undefined);
      const b = semaphore.acquire(controller.signal);
      expect(pendingSharedWaits()).to.equal(baseline + 2);
      controller.abort();
      await expectRejection(b);
      expect(pendingSharedWaits()).to.equal(baseline + 1);
      semaphore.release(1);
      await a;
      expect(pendingSharedWaits()).to.equal(baseline);
    });

    describe('without Atomics.waitAsync: polling (S15)', () => {
      let saved: PropertyDescriptor | undefined;

      beforeEach(() => {
        saved = Object.getOwnPropertyDescriptor(Atomics, 'waitAsync');
        delete (Atomics as { waitAsync?: unknown }).waitAsync;
      });

      afterEach(() => {
        if (saved !== undefined) Object.defineProperty(Atomics, 'waitAsync', saved);
        expect(typeof Atomics.waitAsync).to.equal('function');
      });

      it('an acquire parked before the release resolves after it', async () => {
        expect(typeof Atomics.waitAsync).to.equal('undefined');
        const acquired = semaphore.acquire(undefined);
        await expectPending(acquired);
        semaphore.release(1);
        await acquired;
        expect(acquirer.calls).to.deep.equal(['resumed']);
        expect(Atomics.load(tokens, 0)).to.equal(0);
      });

      it('keeps polling with backoff until the release comes', async () => {
        const acquired = semaphore.acquire(undefined);
        // Let several polls find nothing: wait for timers, not a fixed time.
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 5));
        await expectPending(acquired);
        semaphore.release(1);
        await acquired;
      });

      it('an abort while polling withdraws, rejects and stops the timer', async () => {
        const controller = new AbortController();
        const acquired = semaphore.acquire(controller.signal);
        await flushMicrotasks();
        controller.abort('stop');
        expect(await expectRejection(acquired)).to.equal('stop');
        expect(pendingSharedWaits()).to.equal(baseline);
        semaphore.release(1);
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(Atomics.load(tokens, 0), 'the stopped poll took no token').to.equal(1);
      });

      it('a release before the acquire needs no poll', async () => {
        semaphore.release(1);
        await semaphore.acquire(undefined);
        expect(acquirer.calls).to.deep.equal(['resumed']);
      });
    });
  });
});
