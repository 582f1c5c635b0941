import assert from 'node:assert/strict';
import { Worker as ThreadWorker } from 'node:worker_threads';
import { WaitGroup } from '../../../lib/index.js';
import type { Case } from '../run.js';
import { RUNTIME } from '../runtime.js';

/** A worker of either kind, reduced to what the cases use. */
interface AnyWorker {
  post(message: unknown): void;
  next(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

const script = new URL('../fixtures/shared-worker.js', import.meta.url);

function threadWorker(): AnyWorker {
  const worker = new ThreadWorker(script);
  const inbox: Record<string, unknown>[] = [];
  const waiting: ((message: Record<string, unknown>) => void)[] = [];
  worker.on('message', (message: Record<string, unknown>) => {
    const take = waiting.shift();
    if (take) take(message);
    else inbox.push(message);
  });
  return {
    post: (message) => worker.postMessage(message),
    next: () => {
      const message = inbox.shift();
      return message ? Promise.resolve(message) : new Promise((resolve) => waiting.push(resolve));
    },
    stop: async () => {
      await worker.terminate();
    },
  };
}

interface WebWorkerLike {
  onmessage: ((event: { data: Record<string, unknown> }) => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
}

function webWorker(): AnyWorker {
  const WebWorker = (globalThis as { Worker?: new (url: URL, options: object) => WebWorkerLike })
    .Worker as new (
    url: URL,
    options: object,
  ) => WebWorkerLike;
  const worker = new WebWorker(script, { type: 'module' });
  const inbox: Record<string, unknown>[] = [];
  const waiting: ((message: Record<string, unknown>) => void)[] = [];
  worker.onmessage = (event) => {
    const take = waiting.shift();
    if (take) take(event.data);
    else inbox.push(event.data);
  };
  return {
    post: (message) => worker.postMessage(message),
    next: () => {
      const message = inbox.shift();
      return message ? Promise.resolve(message) : new Promise((resolve) => waiting.push(resolve));
    },
    stop: async () => worker.terminate(),
  };
}

/** The kinds of worker this runtime has: node:worker_threads everywhere, Web Workers on Deno and Bun. */
const kinds: [string, () => AnyWorker][] = [['node:worker_threads', threadWorker]];
if (RUNTIME.name !== 'node') kinds.push(['module Web Workers', webWorker]);

const cases: Case[] = [];
for (const [kind, start] of kinds) {
  cases.push({
    name: `a shared group between main and 4 ${kind}, 5 rounds, writes visible after wait()`,
    async run() {
      const workers = Array.from({ length: 4 }, start);
      try {
        const wg = new WaitGroup({ shared: true });
        const data = new Int32Array(new SharedArrayBuffer(16));
        for (let round = 1; round <= 5; round++) {
          wg.add(4);
          const waiting = wg.wait();
          workers.forEach((worker, index) => {
            worker.post({ kind: 'round', handle: wg.handle, data, index, round });
          });
          await waiting;
          assert.deepEqual([...data], [round, round, round, round]);
          assert.deepEqual([wg.counter, wg.waiters], [0, 0]);
          await Promise.all(workers.map((worker) => worker.next()));
        }
      } finally {
        await Promise.all(workers.map((worker) => worker.stop()));
      }
    },
  });
  cases.push({
    name: `waitSync in one of the ${kind} times out with a TimeoutError and deregisters`,
    async run() {
      const worker = start();
      try {
        const wg = new WaitGroup({ shared: true });
        wg.add(1);
        worker.post({ kind: 'waitSync', handle: wg.handle, timeout: 50 });
        assert.deepEqual(await worker.next(), {
          kind: 'waitSync',
          outcome: 'TimeoutError',
          waiters: 0,
        });
        assert.deepEqual([wg.counter, wg.waiters], [1, 0]);
      } finally {
        await worker.stop();
      }
    },
  });
}
export default cases;
