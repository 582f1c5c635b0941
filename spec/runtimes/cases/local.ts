import assert from 'node:assert/strict';
import { ErrGroup, WaitGroup } from '../../../lib/index.js';
import type { Case } from '../run.js';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export default [
  {
    name: 'a local fan-out of 100 tasks with add and done, then one wait()',
    async run() {
      const wg = new WaitGroup();
      let finished = 0;
      for (let i = 0; i < 100; i++) {
        wg.add(1);
        tick().then(() => {
          finished++;
          wg.done();
        });
      }
      assert.equal(wg.counter, 100);
      await wg.wait();
      assert.equal(finished, 100);
      assert.deepEqual([wg.counter, wg.waiters], [0, 0]);
    },
  },
  {
    name: 'go() returns the result or the rejection, and calls done() once either way',
    async run() {
      const wg = new WaitGroup();
      const ok = wg.go(async () => 'value');
      const failed = wg.go(() => Promise.reject(new Error('task failed')));
      assert.equal(wg.counter, 2);
      assert.equal(await ok, 'value');
      await assert.rejects(failed, /task failed/);
      await wg.wait();
      assert.equal(wg.counter, 0);
    },
  },
  {
    name: 'wait({ signal }) rejects with the reason on abort and deregisters',
    async run() {
      const wg = new WaitGroup();
      wg.add(1);
      const controller = new AbortController();
      const waiting = wg.wait({ signal: controller.signal });
      assert.equal(wg.waiters, 1);
      const reason = new Error('gave up');
      controller.abort(reason);
      await assert.rejects(waiting, (error) => error === reason);
      assert.deepEqual([wg.counter, wg.waiters], [1, 0]);
      wg.done();
    },
  },
  {
    name: 'Symbol.asyncDispose is wait()',
    async run() {
      const wg = new WaitGroup();
      let released = false;
      wg.go(async () => {
        await tick();
        released = true;
      });
      await wg[Symbol.asyncDispose]();
      assert.equal(released, true);
    },
  },
  {
    name: 'ErrGroup: the first error aborts the signal, drops the queue and is what wait() rejects with',
    async run() {
      const eg = new ErrGroup({ limit: 2 });
      const started: number[] = [];
      for (let i = 0; i < 6; i++) {
        eg.go(async (signal) => {
          started.push(i);
          await tick();
          if (i === 1) throw new Error(`task ${i} failed`);
          assert.equal(signal, eg.signal);
        });
      }
      assert.deepEqual([eg.active, eg.queued], [2, 4]);
      await assert.rejects(eg.wait(), /task 1 failed/);
      assert.equal(eg.signal.aborted, true);
      assert.equal((eg.signal.reason as Error).message, 'task 1 failed');
      assert.deepEqual(started, [0, 1, 2]);
    },
  },
] satisfies Case[];
