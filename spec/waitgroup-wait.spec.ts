import { getEventListeners, setMaxListeners } from 'node:events';
import { expect } from 'chai';
import { WaitGroup, type WaitOptions, type WaitSyncOptions } from '../lib/index.js';
import { MAX_COUNTER } from '../lib/state.js';
import {
  expectPending,
  expectRejection,
  flushMicrotasks,
  settledState,
  stepLog,
  unlistenableSignal,
} from './helpers/async.js';
import {
  expectRecovered,
  expectState,
  expectWaitGroupError,
  expectWaitGroupRejection,
} from './helpers/waitgroup.js';

/** listeners counts the abort listeners on `signal`. */
function listeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

describe('local WaitGroup: waiting', () => {
  describe('S7 wait()', () => {
    it('returns a resolved promise at counter 0 and registers nothing', async () => {
      const wg = new WaitGroup();
      const waiting = wg.wait();
      expect(waiting).to.be.an.instanceOf(Promise);
      expectState(wg, 0, 0);
      expect(await settledState(waiting)).to.deep.equal({ status: 'fulfilled', value: undefined });
    });

    it('with a live signal at counter 0 resolves and adds no listener', async () => {
      const wg = new WaitGroup();
      const { signal } = new AbortController();
      await wg.wait({ signal });
      expect(listeners(signal)).to.equal(0);
      expectState(wg, 0, 0);
    });

    it('registers one waiter per call at counter > 0 and stays pending', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const a = wg.wait();
      expectState(wg, 1, 1);
      const b = wg.wait({});
      expectState(wg, 1, 2);
      const c = wg.wait({ signal: undefined });
      expectState(wg, 1, 3);
      await expectPending(Promise.race([a, b, c]));
      wg.done();
      await Promise.all([a, b, c]);
    });

    for (const [name, options] of [
      ['null', null],
      ['1', 1],
      ["'signal'", 'signal'],
    ] as const) {
      it(`rejects options ${name} with a TypeError and registers nothing`, async () => {
        const wg = new WaitGroup();
        wg.add(1);
        let waiting: Promise<void> | undefined;
        expect(() => {
          waiting = wg.wait(options as unknown as WaitOptions);
        }).to.not.throw();
        expectState(wg, 1, 0);
        const reason = await expectRejection(waiting as Promise<void>);
        expect(reason).to.be.an.instanceOf(TypeError);
        expect((reason as TypeError).message).to.match(
          /^wait: options must be an object like \{ signal \}, got /,
        );
      });
    }

    for (const [name, signal] of [
      ['null', null],
      ['an object', {}],
      ['an EventTarget', new EventTarget()],
      ['an AbortController', new AbortController()],
    ] as const) {
      it(`rejects signal ${name} with a TypeError and registers nothing`, async () => {
        const wg = new WaitGroup();
        wg.add(1);
        const waiting = wg.wait({ signal: signal as unknown as AbortSignal });
        expectState(wg, 1, 0);
        const reason = await expectRejection(waiting);
        expect(reason).to.be.an.instanceOf(TypeError);
        expect((reason as TypeError).message).to.match(
          /^wait: options\.signal must be an AbortSignal, got /,
        );
      });
    }

    it('rejects bad options even at counter 0', async () => {
      const wg = new WaitGroup();
      expect(await expectRejection(wg.wait(null as unknown as WaitOptions))).to.be.an.instanceOf(
        TypeError,
      );
    });

    it('rejects, not throws, when reading the options throws, and registers nothing', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const error = new Error('getter');
      const options = {
        get signal(): AbortSignal {
          throw error;
        },
      };
      let waiting: Promise<void> | undefined;
      expect(() => {
        waiting = wg.wait(options);
      }).to.not.throw();
      expect(await expectRejection(waiting as Promise<void>)).to.equal(error);
      expectState(wg, 1, 0);
      wg.done();
    });

    it('accepts a signal-shaped object from another realm', async () => {
      const wg = new WaitGroup();
      const { signal } = new AbortController();
      const foreign = {
        aborted: false,
        reason: undefined,
        addEventListener: signal.addEventListener.bind(signal),
        removeEventListener: signal.removeEventListener.bind(signal),
      } as unknown as AbortSignal;
      wg.add(1);
      const waiting = wg.wait({ signal: foreign });
      expectState(wg, 1, 1);
      wg.done();
      await waiting;
    });

    it('a signal-like object that cannot be listened to rejects and registers nothing', async () => {
      const wg = new WaitGroup();
      const log = stepLog();
      wg.add(1);
      const error = new Error('no listeners');
      const signal = unlistenableSignal(error);
      let waiting: Promise<void> | undefined;
      expect(() => {
        waiting = wg.wait({ signal });
      }).to.not.throw();
      expectState(wg, 1, 0);
      expect(await expectRejection(waiting as Promise<void>)).to.equal(error);
      // No token is issued for it: a wait of the next round is not released early.
      const before = wg.wait().then(() => log('before'));
      wg.done();
      await before;
      wg.add(1);
      const next = wg.wait().then(() => log('next'));
      await expectPending(next);
      wg.done();
      await next;
      expect(log.steps).to.deep.equal(['before', 'next']);
    });

    it('waits at counter 0 share one settled promise', () => {
      const wg = new WaitGroup();
      expect(wg.wait()).to.equal(wg.wait());
    });
  });

  describe('S8 reuse before the previous wait has returned', () => {
    it('done(); add(1) in one synchronous run rejects the pending wait with REUSED', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const waiting = wg.wait();
      wg.done();
      wg.add(1);
      await expectWaitGroupRejection(waiting, 'ERR_WAITGROUP_REUSED');
      expectState(wg, 1, 0);
    });

    it('rejects every time, for every released wait, signal or not', async () => {
      const wg = new WaitGroup();
      for (let round = 0; round < 50; round++) {
        wg.add(1);
        const waits = [wg.wait(), wg.wait({ signal: new AbortController().signal }), wg.wait()];
        wg.done();
        wg.add(1);
        for (const waiting of waits)
          await expectWaitGroupRejection(waiting, 'ERR_WAITGROUP_REUSED');
        wg.done();
      }
      await expectRecovered(wg);
    });

    it('a wait of the new round is not affected', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const old = wg.wait();
      wg.done();
      wg.add(1);
      const next = wg.wait();
      expectState(wg, 1, 1);
      await expectWaitGroupRejection(old, 'ERR_WAITGROUP_REUSED');
      await expectPending(next);
      wg.done();
      await next;
    });

    it('done(); add(1); done() before the resume is not reuse: the word is 0 again', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const waiting = wg.wait();
      wg.done();
      wg.add(1);
      wg.done();
      await waiting;
    });

    it('reuse once every earlier wait has settled is fine', async () => {
      const wg = new WaitGroup();
      for (let round = 0; round < 10; round++) {
        wg.add(2);
        const waits = [wg.wait(), wg.wait({ signal: new AbortController().signal })];
        wg.done();
        wg.done();
        await Promise.all(waits);
        expectState(wg, 0, 0);
      }
    });

    it('reuse after an await of the releasing turn is fine', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const waiting = wg.wait();
      wg.done();
      await flushMicrotasks();
      wg.add(1);
      await waiting;
      wg.done();
    });
  });

  describe('S9 cancellation', () => {
    it('an already-aborted signal rejects with signal.reason and registers nothing', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const reason = new Error('stop');
      controller.abort(reason);
      const waiting = wg.wait({ signal: controller.signal });
      expectState(wg, 1, 0);
      expect(await expectRejection(waiting)).to.equal(reason);
      expect(listeners(controller.signal)).to.equal(0);
    });

    it('an already-aborted signal rejects even at counter 0', async () => {
      const wg = new WaitGroup();
      const signal = AbortSignal.abort('gone');
      expect(await expectRejection(wg.wait({ signal }))).to.equal('gone');
    });

    it('the default reason is an AbortError DOMException', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const waiting = wg.wait({ signal: controller.signal });
      controller.abort();
      const reason = await expectRejection(waiting);
      expect(reason).to.be.an.instanceOf(DOMException);
      expect((reason as DOMException).name).to.equal('AbortError');
      expect(reason).to.equal(controller.signal.reason);
    });

    it('an abort while registered deregisters and rejects with the reason', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const waiting = wg.wait({ signal: controller.signal });
      expectState(wg, 1, 1);
      expect(listeners(controller.signal)).to.equal(1);
      controller.abort('why');
      expectState(wg, 1, 0);
      expect(await expectRejection(waiting)).to.equal('why');
      expect(listeners(controller.signal)).to.equal(0);
    });

    it('leaves the other waiters registered, and the group releases them later', async () => {
      const wg = new WaitGroup();
      const log = stepLog();
      wg.add(2);
      const controller = new AbortController();
      const a = wg.wait().then(() => log('a'));
      const b = wg.wait({ signal: controller.signal }).catch((r) => log(`b ${r}`));
      const c = wg.wait({ signal: new AbortController().signal }).then(() => log('c'));
      expectState(wg, 2, 3);
      controller.abort('aborted');
      expectState(wg, 2, 2);
      await flushMicrotasks();
      expect(log.steps).to.deep.equal(['b aborted']);
      wg.done();
      await flushMicrotasks();
      expect(log.steps).to.deep.equal(['b aborted']);
      wg.done();
      expectState(wg, 0, 0);
      await Promise.all([a, b, c]);
      expect(log.steps).to.deep.equal(['b aborted', 'a', 'c']);
      await expectRecovered(wg);
    });

    it('aborting every waiter leaves the counter and no waiters; done() then releases nobody', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controllers = [new AbortController(), new AbortController()];
      const waits = controllers.map((c) => wg.wait({ signal: c.signal }));
      for (const c of controllers) c.abort();
      expectState(wg, 1, 0);
      wg.done();
      expectState(wg, 0, 0);
      for (const waiting of waits) await expectRejection(waiting);
      await expectRecovered(wg);
    });

    it('one signal shared by several waits aborts them all', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const waits = [1, 2, 3].map(() => wg.wait({ signal: controller.signal }));
      expectState(wg, 1, 3);
      controller.abort('all');
      expectState(wg, 1, 0);
      for (const waiting of waits) expect(await expectRejection(waiting)).to.equal('all');
    });

    it('an abort after the release is ignored: the wait resolves', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const waiting = wg.wait({ signal: controller.signal });
      wg.done();
      controller.abort('late');
      expectState(wg, 0, 0);
      expect(await settledState(waiting)).to.deep.equal({ status: 'fulfilled', value: undefined });
    });

    it('an abort after the release, with the group reused, is still ignored (REUSED)', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const waiting = wg.wait({ signal: controller.signal });
      wg.done();
      wg.add(1);
      controller.abort('late');
      expectState(wg, 1, 0);
      await expectWaitGroupRejection(waiting, 'ERR_WAITGROUP_REUSED');
    });

    it('an abort after the release does not deregister a waiter of the next round', async () => {
      const wg = new WaitGroup();
      const log = stepLog();
      wg.add(1);
      const controller = new AbortController();
      const old = wg.wait({ signal: controller.signal });
      wg.done();
      wg.add(1);
      const next = wg.wait().then(() => log('next'));
      expectState(wg, 1, 1);
      controller.abort('late');
      expectState(wg, 1, 1);
      await expectWaitGroupRejection(old, 'ERR_WAITGROUP_REUSED');
      await expectPending(next);
      wg.done();
      await next;
      expect(log.steps).to.deep.equal(['next']);
    });

    it('an abort after the wait has settled is ignored', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const waiting = wg.wait({ signal: controller.signal });
      wg.done();
      await waiting;
      wg.add(1);
      controller.abort();
      expectState(wg, 1, 0);
      wg.done();
    });

    it('removes its listener when the wait settles, so one signal serves 1000 waits', async () => {
      const wg = new WaitGroup();
      const { signal } = new AbortController();
      for (let i = 0; i < 1000; i++) {
        wg.add(1);
        const waiting = wg.wait({ signal });
        expect(listeners(signal)).to.equal(1);
        if (i % 2 === 0) {
          wg.done();
          await waiting;
        } else {
          wg.done();
          wg.add(1);
          await expectWaitGroupRejection(waiting, 'ERR_WAITGROUP_REUSED');
          wg.done();
        }
        expect(listeners(signal)).to.equal(0);
      }
    });

    it('holds one listener per pending wait, and none after they all settle', async () => {
      const wg = new WaitGroup();
      const { signal } = new AbortController();
      setMaxListeners(0, signal);
      wg.add(1);
      const waits = Array.from({ length: 1000 }, () => wg.wait({ signal }));
      expect(listeners(signal)).to.equal(1000);
      wg.done();
      await Promise.all(waits);
      expect(listeners(signal)).to.equal(0);
    });

    it('works with AbortSignal.any', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const waiting = wg.wait({ signal: AbortSignal.any([controller.signal]) });
      controller.abort('any');
      expect(await expectRejection(waiting)).to.equal('any');
      expectState(wg, 1, 0);
    });
  });

  describe('S10 waitSync on a local group', () => {
    it('returns at once at counter 0', () => {
      const wg = new WaitGroup();
      expect(wg.waitSync()).to.equal(undefined);
      expect(wg.waitSync({ timeout: 0 })).to.equal(undefined);
      expect(wg.waitSync({ timeout: Number.POSITIVE_INFINITY })).to.equal(undefined);
      expectState(wg, 0, 0);
    });

    it('throws DEADLOCK at counter > 0 and registers nothing', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      expectWaitGroupError(() => wg.waitSync(), 'ERR_WAITGROUP_DEADLOCK');
      expectWaitGroupError(() => wg.waitSync({ timeout: 10 }), 'ERR_WAITGROUP_DEADLOCK');
      expectState(wg, 1, 0);
      wg.done();
      await expectRecovered(wg);
    });

    it('the DEADLOCK message says what to use instead', () => {
      const wg = new WaitGroup();
      wg.add(1);
      const error = expectWaitGroupError(() => wg.waitSync(), 'ERR_WAITGROUP_DEADLOCK');
      expect(error.message).to.contain('await wg.wait()');
    });

    it('throws DEADLOCK with waiters registered, leaving them registered', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const waiting = wg.wait();
      expectWaitGroupError(() => wg.waitSync(), 'ERR_WAITGROUP_DEADLOCK');
      expectState(wg, 1, 1);
      wg.done();
      await waiting;
    });

    for (const [name, options] of [
      ['null', null],
      ['5', 5],
    ] as const) {
      it(`options ${name} is a TypeError`, () => {
        const wg = new WaitGroup();
        expect(() => wg.waitSync(options as unknown as WaitSyncOptions))
          .to.throw(TypeError)
          .with.property('message')
          .that.matches(/^waitSync: options must be an object like \{ timeout: 1000 \}, got /);
      });
    }

    for (const [name, timeout] of [
      ['-1', -1],
      ['NaN', Number.NaN],
      ["'10'", '10'],
      ['null', null],
      ['10n', 10n],
      ['-Infinity', Number.NEGATIVE_INFINITY],
    ] as const) {
      it(`timeout ${name} is a TypeError, at any counter`, () => {
        const wg = new WaitGroup();
        const call = () => wg.waitSync({ timeout: timeout as unknown as number });
        const pattern = /^waitSync: options\.timeout must be a number of milliseconds >= 0/;
        expect(call).to.throw(TypeError).with.property('message').that.matches(pattern);
        wg.add(1);
        expect(call).to.throw(TypeError).with.property('message').that.matches(pattern);
        expectState(wg, 1, 0);
      });
    }
  });

  describe('S11 go(fn)', () => {
    for (const [name, fn] of [
      ['undefined', undefined],
      ['null', null],
      ['a promise', Promise.resolve()],
      ['a string', 'fn'],
    ] as const) {
      it(`${name} is a TypeError and adds nothing`, () => {
        const wg = new WaitGroup();
        expect(() => wg.go(fn as unknown as () => void))
          .to.throw(TypeError)
          .with.property('message')
          .that.matches(/^go: fn must be a function, got .*; nothing was added$/);
        expectState(wg, 0, 0);
      });
    }

    it('names the bad value in the message', () => {
      const wg = new WaitGroup();
      expect(() => wg.go('fn' as unknown as () => void)).to.throw(TypeError, 'got "fn" (string)');
    });

    it('adds 1, calls fn synchronously, and the counter is 1 while fn runs', async () => {
      const wg = new WaitGroup();
      const log = stepLog();
      const result = wg.go(() => {
        log(`in fn: counter ${wg.counter}`);
        return 42;
      });
      log('after go');
      expectState(wg, 1, 0);
      expect(await result).to.equal(42);
      expect(log.steps).to.deep.equal(['in fn: counter 1', 'after go']);
      expectState(wg, 0, 0);
    });

    it('resolves with the fulfilled value of an async fn, done() after it settles', async () => {
      const wg = new WaitGroup();
      const log = stepLog();
      let finish!: (value: string) => void;
      const result = wg.go(
        () =>
          new Promise<string>((resolve) => {
            finish = resolve;
          }),
      );
      const waiting = wg.wait().then(() => log('wait resolved'));
      await expectPending(result);
      expectState(wg, 1, 1);
      finish('value');
      expect(await result).to.equal('value');
      await waiting;
      expectState(wg, 0, 0);
      expect(log.steps).to.deep.equal(['wait resolved']);
    });

    it('rejects with the rejection of fn; done() still runs; wait() does not collect it', async () => {
      const wg = new WaitGroup();
      const boom = new Error('boom');
      const result = wg.go(async () => {
        await null;
        throw boom;
      });
      const waiting = wg.wait();
      expect(await expectRejection(result)).to.equal(boom);
      expect(await settledState(waiting)).to.deep.equal({ status: 'fulfilled', value: undefined });
      expectState(wg, 0, 0);
    });

    it('a synchronous throw runs done() exactly once and rejects the returned promise', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const boom = new Error('sync boom');
      let result: Promise<never> | undefined;
      expect(() => {
        result = wg.go(() => {
          throw boom;
        });
      }).to.not.throw();
      expectState(wg, 1, 0);
      expect(await expectRejection(result as Promise<never>)).to.equal(boom);
      await flushMicrotasks();
      expectState(wg, 1, 0);
      wg.done();
    });

    it('runs done() exactly once for fulfilled and rejected tasks', async () => {
      const wg = new WaitGroup();
      wg.add(1); // held, so that an extra done() would show up in the counter
      const tasks = [
        wg.go(() => 1),
        wg.go(async () => 2),
        wg.go(() => Promise.reject(new Error('3'))),
        wg.go(() => {
          throw new Error('4');
        }),
      ];
      expectState(wg, 4, 0); // the synchronous throw is done already
      await Promise.allSettled(tasks);
      await flushMicrotasks();
      expectState(wg, 1, 0);
      wg.done();
    });

    it('resolves a thenable', async () => {
      const wg = new WaitGroup();
      const thenable = {
        // biome-ignore lint/suspicious/noThenProperty: go() must accept any thenable
        then: (resolve: (v: number) => void) => resolve(7),
      } as PromiseLike<number>;
      expect(await wg.go(() => thenable)).to.equal(7);
      expectState(wg, 0, 0);
    });

    it('at counter 2^31 - 1 throws OVERFLOW and does not call fn', () => {
      const wg = new WaitGroup();
      wg.add(MAX_COUNTER);
      let called = false;
      expectWaitGroupError(
        () =>
          wg.go(() => {
            called = true;
          }),
        'ERR_WAITGROUP_COUNTER_OVERFLOW',
      );
      expect(called).to.equal(false);
      expectState(wg, MAX_COUNTER, 0);
    });

    it('many go() calls then one wait()', async () => {
      const wg = new WaitGroup();
      const results: number[] = [];
      for (let i = 0; i < 100; i++) {
        void wg.go(async () => {
          await null;
          results.push(i);
        });
      }
      expectState(wg, 100, 0);
      await wg.wait();
      expect(results).to.have.length(100);
    });
  });

  describe('S12 await using', () => {
    it('waits for the group when the scope ends', async () => {
      const log = stepLog();
      let finish!: () => void;
      const scope = async () => {
        await using wg = new WaitGroup();
        void wg.go(
          () =>
            new Promise<void>((resolve) => {
              finish = () => {
                log('task done');
                resolve();
              };
            }),
        );
        log('scope end');
      };
      const ended = scope().then(() => log('after scope'));
      await flushMicrotasks();
      expect(log.steps).to.deep.equal(['scope end']);
      await expectPending(ended);
      finish();
      await ended;
      expect(log.steps).to.deep.equal(['scope end', 'task done', 'after scope']);
    });

    it('[Symbol.asyncDispose] is wait()', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const disposing = wg[Symbol.asyncDispose]();
      expectState(wg, 1, 1);
      wg.done();
      await disposing;
    });

    it('an empty group disposes at once', async () => {
      const log = stepLog();
      {
        await using _wg = new WaitGroup();
        log('in scope');
      }
      log('after scope');
      expect(log.steps).to.deep.equal(['in scope', 'after scope']);
    });
  });
});
