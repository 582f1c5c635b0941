// A port of Go's src/sync/waitgroup_test.go: the tests that have a meaning
// on one thread, with async tasks standing in for goroutines.

import { expect } from 'chai';
import { WaitGroup } from '../lib/index.js';
import { flushMicrotasks } from './helpers/async.js';
import { expectRecovered, expectState, expectWaitGroupError } from './helpers/waitgroup.js';

/** A task that yields to the event loop a few times first, as a goroutine might be scheduled late. */
async function yieldTimes(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await null;
}

/**
 * testWaitGroup is Go's barrier test: n tasks each call wg1.Done() and then
 * wait on wg2; the main task waits on wg1, checks that nobody has passed
 * wg2, and then releases them one Done() at a time.
 */
async function testWaitGroup(wg1: WaitGroup, wg2: WaitGroup): Promise<void> {
  const n = 16;
  wg1.add(n);
  wg2.add(n);
  let exited = 0;
  const tasks: Promise<void>[] = [];
  for (let i = 0; i !== n; i++) {
    tasks.push(
      (async () => {
        await yieldTimes(i % 4);
        wg1.done();
        await wg2.wait();
        exited++;
      })(),
    );
  }
  await wg1.wait();
  expectState(wg1, 0, 0);
  expectState(wg2, n, n);
  for (let i = 0; i !== n; i++) {
    await flushMicrotasks();
    expect(exited, 'WaitGroup released group too soon').to.equal(0);
    wg2.done();
  }
  await Promise.all(tasks); // would hang if the barrier failed to release someone
  expect(exited).to.equal(n);
  expectState(wg2, 0, 0);
}

describe('Go waitgroup_test.go', () => {
  it('TestWaitGroup: the two-group barrier, 8 times on the same groups', async () => {
    const wg1 = new WaitGroup();
    const wg2 = new WaitGroup();
    // Run the same test a few times to ensure the barrier is in a proper state.
    for (let i = 0; i !== 8; i++) await testWaitGroup(wg1, wg2);
  });

  it('TestWaitGroupMisuse: Add(1), Done(), Done() panics with a negative counter', async () => {
    const wg = new WaitGroup();
    wg.add(1);
    wg.done();
    const error = expectWaitGroupError(() => wg.done(), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
    expect(error.message.startsWith('sync: negative WaitGroup counter')).to.equal(true);
    // Unlike Go, the refused Done leaves the group usable.
    await expectRecovered(wg);
  });

  it('TestWaitGroupRace: no spurious wake-up from Wait, 1000 times', async () => {
    for (let i = 0; i < 1000; i++) {
      const wg = new WaitGroup();
      let n = 0;
      // spawn task 1
      wg.add(1);
      void (async () => {
        await yieldTimes(i % 3);
        n++;
        wg.done();
      })();
      // spawn task 2
      wg.add(1);
      void (async () => {
        await yieldTimes(i % 5);
        n++;
        wg.done();
      })();
      // Wait for tasks 1 and 2.
      await wg.wait();
      expect(n, 'Spurious wakeup from Wait').to.equal(2);
    }
  });

  it('TestWaitGroupAlign: a group embedded in a struct beside other fields', async () => {
    const x = { x: 1, wg: new WaitGroup() };
    x.wg.add(1);
    void (async (y: typeof x) => {
      await null;
      y.wg.done();
    })(x);
    await x.wg.wait();
  });

  it('TestWaitGroupAlign, for many groups: each is independent of the others', async () => {
    const groups = Array.from({ length: 64 }, () => new WaitGroup());
    groups.forEach((wg, i) => {
      wg.add(i + 1);
    });
    const released: number[] = [];
    const waits = groups.map((wg, i) => wg.wait().then(() => released.push(i)));
    for (let round = 1; round <= 64; round++) {
      for (let i = round - 1; i < 64; i++) groups[i]?.done();
      await flushMicrotasks();
      expect(released).to.have.length(round);
      expect(released[round - 1]).to.equal(round - 1);
    }
    await Promise.all(waits);
  });

  it('TestWaitGroupGo: Go(f) runs f, and Wait waits for it', async () => {
    const wg = new WaitGroup();
    let i = 0;
    void wg.go(() => {
      i++;
    });
    await wg.wait();
    expect(i).to.equal(1);
  });

  it('TestWaitGroupGo with several Go calls: Wait waits for all of them', async () => {
    const wg = new WaitGroup();
    let count = 0;
    const n = 10;
    for (let j = 0; j < n; j++) {
      void wg.go(async () => {
        await yieldTimes(j);
        count++;
      });
    }
    expectState(wg, n, 0);
    await wg.wait();
    expect(count).to.equal(n);
  });

  it('TestWaitGroupGo with a panic: the task’s promise rejects and Done still runs', async () => {
    const wg = new WaitGroup();
    const panic = new Error('panic in f');
    const task = wg.go(async () => {
      await null;
      throw panic;
    });
    await wg.wait();
    expectState(wg, 0, 0);
    let caught: unknown;
    try {
      await task;
    } catch (error) {
      caught = error;
    }
    expect(caught).to.equal(panic);
  });
});
