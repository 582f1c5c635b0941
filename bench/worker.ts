/**
 * A worker of the shared workloads: it attaches to the group (or to the
 * baseline's counter), then for every round the main thread starts it calls
 * done() `perThread` times, writing a shared timestamp just before its last
 * one, and reports its per-call cost.
 *
 * Control words (Int32 at byte 0): [0] round number, [1] workers finished
 * the round, [2] stop. Then Float64: stamps[threads], costs[threads].
 *
 * @module
 */

import { parentPort, workerData } from 'node:worker_threads';
import { WaitGroup, type WaitGroupHandle } from '../lib/index.js';

/** What child.ts passes to each worker. */
export interface WorkerData {
  readonly mode: 'shared' | 'd' | 'c';
  readonly index: number;
  readonly threads: number;
  readonly perThread: number;
  readonly control: SharedArrayBuffer;
  readonly handle?: WaitGroupHandle;
  readonly counter?: SharedArrayBuffer;
}

const data = workerData as WorkerData;
const { index, threads, perThread } = data;
const control = new Int32Array(data.control, 0, 4);
const stamps = new Float64Array(data.control, 16, threads);
const costs = new Float64Array(data.control, 16 + 8 * threads, threads);

function makeDone(): () => void {
  switch (data.mode) {
    case 'shared': {
      const wg = WaitGroup.from(data.handle as WaitGroupHandle);
      return () => wg.done();
    }
    case 'd': {
      const counter = new Int32Array(data.counter as SharedArrayBuffer);
      return () => {
        if (Atomics.sub(counter, 0, 1) === 1) Atomics.notify(counter, 0);
      };
    }
    default: {
      const port = parentPort;
      if (port === null) throw new Error('bench worker: no parentPort');
      return () => port.postMessage(0);
    }
  }
}

function round(done: () => void): void {
  const start = performance.now();
  for (let i = 1; i < perThread; i++) done();
  stamps[index] = performance.timeOrigin + performance.now();
  done();
  costs[index] = ((performance.now() - start) * 1e6) / perThread;
}

const done = makeDone();
Atomics.add(control, 1, 1); // ready
Atomics.notify(control, 1);
let seen = 0;
for (;;) {
  Atomics.wait(control, 0, seen);
  if (Atomics.load(control, 2) !== 0) break;
  seen = Atomics.load(control, 0);
  round(done);
  Atomics.add(control, 1, 1);
  Atomics.notify(control, 1);
}
