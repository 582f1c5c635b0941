import { inspect } from 'node:util';
import { expect } from 'chai';
import * as index from '../lib/index.js';
import { WaitGroup, WaitGroupError, type WaitGroupOptions } from '../lib/index.js';
import { MAX_COUNTER } from '../lib/state.js';
import { expectPending, flushMicrotasks, stepLog, track } from './helpers/async.js';
import {
  expectRecovered,
  expectState,
  expectWaitGroupError,
  expectWaitGroupRejection,
} from './helpers/waitgroup.js';

describe('local WaitGroup: the counter', () => {
  describe('S1 construction', () => {
    it('new WaitGroup() is local, with counter 0 and waiters 0', () => {
      const wg = new WaitGroup();
      expect(wg.shared).to.equal(false);
      expectState(wg, 0, 0);
    });

    it('is usable at once, as Go’s zero value is', async () => {
      await expectRecovered(new WaitGroup());
    });

    for (const options of [{}, { shared: false }, { shared: undefined }]) {
      it(`new WaitGroup(${JSON.stringify(options)}) is local`, () => {
        const wg = new WaitGroup(options);
        expect(wg.shared).to.equal(false);
        expectState(wg, 0, 0);
      });
    }

    it('new WaitGroup({ shared: true }) allocates a fresh 16-byte SharedArrayBuffer', () => {
      const a = new WaitGroup({ shared: true });
      const b = new WaitGroup({ shared: true });
      expect(a.shared).to.equal(true);
      expectState(a, 0, 0);
      expect(Object.prototype.toString.call(a.handle.buffer)).to.equal(
        '[object SharedArrayBuffer]',
      );
      expect(a.handle.buffer.byteLength).to.equal(WaitGroup.BYTE_LENGTH);
      expect(a.handle.byteOffset).to.equal(0);
      expect(a.handle.buffer).to.not.equal(b.handle.buffer);
      expect(WaitGroup.BYTE_LENGTH).to.equal(16);
    });

    it('groups are independent', () => {
      const a = new WaitGroup();
      const b = new WaitGroup();
      a.add(3);
      expectState(a, 3, 0);
      expectState(b, 0, 0);
    });
  });

  describe('S2 add(delta) takes a safe integer', () => {
    const refused: [string, unknown][] = [
      ['1.5', 1.5],
      ['-1.5', -1.5],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['-Infinity', Number.NEGATIVE_INFINITY],
      ['2**53', 2 ** 53],
      ['-(2**53)', -(2 ** 53)],
      ["'1'", '1'],
      ['1n', 1n],
      ['null', null],
      ['{}', {}],
      ['true', true],
      ['new Number(1)', Object(1)],
    ];
    for (const [name, delta] of refused) {
      it(`refuses ${name} with a TypeError and changes nothing`, async () => {
        const wg = new WaitGroup();
        wg.add(2);
        const waiting = wg.wait();
        expect(() => wg.add(delta as number))
          .to.throw(TypeError)
          .with.property('message')
          .that.matches(/^add: delta must be a safe integer, got /);
        expectState(wg, 2, 1);
        await expectPending(waiting);
        wg.add(-2);
        await waiting;
        await expectRecovered(wg);
      });
    }

    it('echoes the bad value and its type', () => {
      const wg = new WaitGroup();
      expect(() => wg.add(1.5)).to.throw(TypeError, 'got 1.5 (number)');
      expect(() => wg.add('1' as unknown as number)).to.throw(TypeError, 'got "1" (string)');
      expect(() => wg.add(1n as unknown as number)).to.throw(TypeError, 'got 1n (bigint)');
      expect(() => wg.add(null as unknown as number)).to.throw(TypeError, 'got null (null)');
    });

    it('a refused delta is a plain TypeError, not a WaitGroupError', () => {
      const wg = new WaitGroup();
      expect(() => wg.add(Number.NaN))
        .to.throw()
        .that.is.not.an.instanceOf(WaitGroupError);
    });

    for (const [name, delta] of [
      ['0', 0],
      ['-0', -0],
    ] as const) {
      it(`accepts ${name}: nothing changes and nobody is released`, async () => {
        const wg = new WaitGroup();
        wg.add(0);
        expectState(wg, 0, 0);
        wg.add(1);
        const waiting = wg.wait();
        wg.add(delta);
        expectState(wg, 1, 1);
        await expectPending(waiting);
        wg.done();
        await waiting;
      });
    }

    it('undefined is the default, 1', () => {
      const wg = new WaitGroup();
      wg.add();
      expectState(wg, 1, 0);
      wg.add(undefined);
      expectState(wg, 2, 0);
    });

    it('accepts negative deltas and the largest values that fit', () => {
      const wg = new WaitGroup();
      wg.add(MAX_COUNTER);
      expectState(wg, MAX_COUNTER, 0);
      wg.add(-(MAX_COUNTER - 5));
      expectState(wg, 5, 0);
      wg.add(-5);
      expectState(wg, 0, 0);
    });
  });

  describe('S3 the counter stays in [0, 2^31 - 1]', () => {
    it('done() at 0 throws NEGATIVE_COUNTER with Go’s message', () => {
      const wg = new WaitGroup();
      const error = expectWaitGroupError(() => wg.done(), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
      expect(error.message).to.contain('counter 0, delta -1');
      expectState(wg, 0, 0);
    });

    it('add(-3) at 2 throws NEGATIVE_COUNTER; counter and waiters unchanged', async () => {
      const wg = new WaitGroup();
      wg.add(2);
      const waiting = wg.wait();
      expectWaitGroupError(() => wg.add(-3), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
      expectState(wg, 2, 1);
      await expectPending(waiting, 'a refused add releases no waiter');
      wg.add(-2);
      await waiting;
      await expectRecovered(wg);
    });

    it('add(-(2**53 - 1)) throws NEGATIVE_COUNTER', () => {
      const wg = new WaitGroup();
      wg.add(MAX_COUNTER);
      expectWaitGroupError(
        () => wg.add(-Number.MAX_SAFE_INTEGER),
        'ERR_WAITGROUP_NEGATIVE_COUNTER',
      );
      expectState(wg, MAX_COUNTER, 0);
    });

    it('add(1) at 2^31 - 1 throws COUNTER_OVERFLOW; counter and waiters unchanged', async () => {
      const wg = new WaitGroup();
      wg.add(MAX_COUNTER);
      const waiting = wg.wait();
      const error = expectWaitGroupError(() => wg.add(1), 'ERR_WAITGROUP_COUNTER_OVERFLOW');
      expect(error.message).to.contain(`counter ${MAX_COUNTER}, delta 1`);
      expectState(wg, MAX_COUNTER, 1);
      await expectPending(waiting);
      wg.add(-MAX_COUNTER);
      await waiting;
      await expectRecovered(wg);
    });

    for (const delta of [2 ** 31, Number.MAX_SAFE_INTEGER]) {
      it(`add(${delta}) at 0 throws COUNTER_OVERFLOW`, async () => {
        const wg = new WaitGroup();
        expectWaitGroupError(() => wg.add(delta), 'ERR_WAITGROUP_COUNTER_OVERFLOW');
        expectState(wg, 0, 0);
        await expectRecovered(wg);
      });
    }

    it('a refused done() releases no waiter, and the next done() does', async () => {
      const wg = new WaitGroup();
      const log = stepLog();
      wg.add(1);
      const waiting = wg.wait().then(() => log('released'));
      wg.done();
      expectWaitGroupError(() => wg.done(), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
      await waiting;
      expect(log.steps).to.deep.equal(['released']);
      expectState(wg, 0, 0);
    });

    it('each refusal is a fresh error', () => {
      const wg = new WaitGroup();
      const a = expectWaitGroupError(() => wg.done(), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
      const b = expectWaitGroupError(() => wg.done(), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
      expect(a).to.not.equal(b);
    });
  });

  describe('S4 misuse: Add called concurrently with Wait', () => {
    // The state S4 guards against, counter 0 with waiters registered, is never
    // stored: the add that brings the counter to 0 clears the waiters in the
    // same step. What Go calls this misuse surfaces as S8's REUSED.
    it('an add right after the releasing done() rejects the released wait with REUSED', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const waiting = wg.wait();
      wg.done();
      expectState(wg, 0, 0);
      wg.add(1); // no ERR_WAITGROUP_MISUSE: the waiters were cleared with the counter
      expectState(wg, 1, 0);
      await expectWaitGroupRejection(waiting, 'ERR_WAITGROUP_REUSED');
      wg.done();
      await expectRecovered(wg);
    });

    it('counter 0 with waiters is never observable through the API', async () => {
      const wg = new WaitGroup();
      wg.add(2);
      const waits = [wg.wait(), wg.wait(), wg.wait()];
      expectState(wg, 2, 3);
      wg.done();
      expectState(wg, 1, 3);
      wg.done();
      expectState(wg, 0, 0);
      await Promise.all(waits);
    });
  });

  describe('S5 release', () => {
    it('the done() that brings the counter to 0 releases every registered waiter', async () => {
      const wg = new WaitGroup();
      wg.add(2);
      const waits = [wg.wait(), wg.wait(), wg.wait()].map(track);
      expectState(wg, 2, 3);
      wg.done();
      await flushMicrotasks();
      expect(waits.map((w) => w.state.status)).to.deep.equal(['pending', 'pending', 'pending']);
      wg.done();
      expectState(wg, 0, 0);
      await flushMicrotasks();
      expect(waits.map((w) => w.state.status)).to.deep.equal([
        'fulfilled',
        'fulfilled',
        'fulfilled',
      ]);
    });

    it('add(-n) that brings the counter to 0 releases them too', async () => {
      const wg = new WaitGroup();
      wg.add(5);
      const waiting = wg.wait();
      wg.add(-5);
      expectState(wg, 0, 0);
      await waiting;
    });

    it('releases in the order wait() was called, signal or not', async () => {
      const wg = new WaitGroup();
      const log = stepLog();
      const controller = new AbortController();
      wg.add(1);
      const waits: Promise<void>[] = [];
      for (let i = 0; i < 6; i++) {
        const options = i % 3 === 1 ? { signal: controller.signal } : undefined;
        waits.push(wg.wait(options).then(() => log(`wait ${i}`)));
      }
      expectState(wg, 1, 6);
      wg.done();
      await Promise.all(waits);
      expect(log.steps).to.deep.equal(['wait 0', 'wait 1', 'wait 2', 'wait 3', 'wait 4', 'wait 5']);
    });

    it('releases in order across rounds, with an aborted wait between', async () => {
      const wg = new WaitGroup();
      const log = stepLog();
      const controller = new AbortController();
      wg.add(1);
      const a = wg.wait().then(() => log('a'));
      const b = wg.wait({ signal: controller.signal }).catch(() => log('b aborted'));
      const c = wg.wait({ signal: new AbortController().signal }).then(() => log('c'));
      const d = wg.wait().then(() => log('d'));
      controller.abort();
      expectState(wg, 1, 3);
      wg.done();
      await Promise.all([a, b, c, d]);
      expect(log.steps).to.deep.equal(['b aborted', 'a', 'c', 'd']);
    });

    it('every registered waiter settles exactly once', async () => {
      const wg = new WaitGroup();
      let settled = 0;
      wg.add(1);
      const waits = Array.from({ length: 100 }, (_, i) =>
        (i % 2 === 0 ? wg.wait() : wg.wait({ signal: new AbortController().signal })).then(() => {
          settled++;
        }),
      );
      wg.done();
      await Promise.all(waits);
      expect(settled).to.equal(100);
    });

    it('the releasing done() happens before the released waits resume', async () => {
      const wg = new WaitGroup();
      const log = stepLog();
      wg.add(1);
      const waiting = wg.wait().then(() => log('after wait'));
      log('before done');
      wg.done();
      log('after done');
      await waiting;
      expect(log.steps).to.deep.equal(['before done', 'after done', 'after wait']);
    });
  });

  describe('S6 done() is add(-1)', () => {
    it('decrements the counter by one', () => {
      const wg = new WaitGroup();
      wg.add(3);
      wg.done();
      expectState(wg, 2, 0);
      wg.add(-1);
      expectState(wg, 1, 0);
    });

    it('releases at zero as add(-1) does', async () => {
      const wg = new WaitGroup();
      wg.add(1);
      const waiting = wg.wait();
      wg.done();
      await waiting;
      expectState(wg, 0, 0);
    });
  });

  describe('S13 inspection', () => {
    it('counter and waiters read the current word', () => {
      const wg = new WaitGroup();
      wg.add(2);
      expectState(wg, 2, 0);
      void wg.wait();
      void wg.wait({ signal: new AbortController().signal });
      expectState(wg, 2, 2);
      wg.done();
      expectState(wg, 1, 2);
      wg.done();
      expectState(wg, 0, 0);
    });

    it('util.inspect shows counter, waiters and home', () => {
      const wg = new WaitGroup();
      wg.add(2);
      void wg.wait();
      expect(inspect(wg)).to.equal('WaitGroup { counter: 2, waiters: 1, shared: false }');
      wg.add(-2);
      expect(inspect(wg)).to.equal('WaitGroup { counter: 0, waiters: 0, shared: false }');
    });

    it('util.inspect styles the numbers when asked for colors', () => {
      const wg = new WaitGroup();
      wg.add(2);
      const text = inspect(wg, { colors: true });
      expect(text).to.not.equal('WaitGroup { counter: 2, waiters: 0, shared: false }');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
      expect(text.replace(/\u001b\[\d+m/g, '')).to.equal(
        'WaitGroup { counter: 2, waiters: 0, shared: false }',
      );
    });

    it('util.inspect nested in an object', () => {
      expect(inspect({ wg: new WaitGroup() })).to.equal(
        '{ wg: WaitGroup { counter: 0, waiters: 0, shared: false } }',
      );
    });

    it('has the toStringTag WaitGroup', () => {
      expect(Object.prototype.toString.call(new WaitGroup())).to.equal('[object WaitGroup]');
    });
  });

  describe('S14 local groups have no handle; options are validated', () => {
    it('wg.handle on a local group throws NOT_SHARED and says how to share', () => {
      const wg = new WaitGroup();
      const error = expectWaitGroupError(() => wg.handle, 'ERR_WAITGROUP_NOT_SHARED');
      expect(error.message).to.contain('new WaitGroup({ shared: true })');
    });

    for (const [name, options] of [
      ['null', null],
      ['1', 1],
      ["'shared'", 'shared'],
      ['true', true],
    ] as const) {
      it(`new WaitGroup(${name}) is a TypeError`, () => {
        expect(() => new WaitGroup(options as unknown as WaitGroupOptions))
          .to.throw(TypeError)
          .with.property('message')
          .that.matches(/^new WaitGroup: options must be an object like \{ shared: true \}, got /);
      });
    }

    for (const [name, shared] of [
      ["'yes'", 'yes'],
      ['1', 1],
      ['null', null],
    ] as const) {
      it(`new WaitGroup({ shared: ${name} }) is a TypeError`, () => {
        expect(() => new WaitGroup({ shared: shared as unknown as boolean }))
          .to.throw(TypeError)
          .with.property('message')
          .that.matches(/^new WaitGroup: options\.shared must be a boolean, got /);
      });
    }
  });

  describe('WaitGroupError', () => {
    it('is exported from the index (spec/package.spec.ts checks the whole surface)', () => {
      expect(index.WaitGroupError).to.equal(WaitGroupError);
    });

    it('is an Error with name WaitGroupError and a code', () => {
      const error = new WaitGroupError('ERR_WAITGROUP_MISUSE', 'a message');
      expect(error).to.be.an.instanceOf(Error);
      expect(error).to.be.an.instanceOf(WaitGroupError);
      expect(error.name).to.equal('WaitGroupError');
      expect(error.code).to.equal('ERR_WAITGROUP_MISUSE');
      expect(error.message).to.equal('a message');
      expect(String(error)).to.equal('WaitGroupError: a message');
      expect(error.stack).to.be.a('string').that.contains('WaitGroupError: a message');
    });

    it('keeps name on the prototype, so instances carry only code, message and stack', () => {
      const error = new WaitGroupError('ERR_WAITGROUP_REUSED', 'm');
      expect(Object.hasOwn(error, 'name')).to.equal(false);
      expect(Object.keys(error)).to.deep.equal(['code']);
    });

    it('thrown errors carry a stack that points at the caller', () => {
      const wg = new WaitGroup();
      const error = expectWaitGroupError(() => wg.done(), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
      expect(error.stack).to.contain('waitgroup-counter.spec');
    });
  });
});
