/**
 * The contenders of the ErrGroup rows (SPEC §7): ErrGroup, p-limit 7 (the
 * most used limiter, which like go() takes every task up front), p-map 7
 * (which pulls tasks from an iterator and so holds only `limit` promises: a
 * different shape, printed beside it) and WaitGroup go() for the unlimited
 * row. Each is reduced to one shape, {@link Limiter}; a child loads one.
 *
 * @module
 */

/** Run `n` tasks, at most `limit` at once, and settle when all have. */
export interface Limiter {
  run(n: number, limit: number, task: () => Promise<void>): Promise<void>;
  /**
   * The peak heap of the last run() above the heap before it, in bytes, for
   * the contenders that sample it (the map rows: SPEC §8.1 E20).
   */
  peak?(): number;
  /**
   * Admit `n` tasks behind `limit: 1` while the first is held, and return a
   * function that lets them all run: what the queued-memory row measures.
   */
  queue(n: number, task: () => Promise<void>): () => Promise<void>;
}

/** LIMITER_LABELS names the limiter contenders in the tables. */
export const LIMITER_LABELS: Readonly<Record<string, string>> = {
  errgroup: 'awaitgroup ErrGroup',
  plimit: 'p-limit 7',
  pmap: 'p-map 7 (iterator)',
  'errgroup-timeout': 'awaitgroup ErrGroup, each task a timeout',
  'errgroup-map': 'awaitgroup ErrGroup.map',
  'errgroup-map-iterable': 'awaitgroup ErrGroup.mapIterable',
  'pmap-iterable': 'p-map 7 pMapIterable',
  'wg-go': 'awaitgroup WaitGroup go()',
};

/** gate returns a promise that the returned function resolves: the held first task. */
function gate(): [Promise<void>, () => void] {
  let open!: () => void;
  return [new Promise<void>((resolve) => (open = resolve)), () => open()];
}

/** loadLimiter imports only what limiter `id` needs. */
export async function loadLimiter(id: string): Promise<Limiter> {
  switch (id) {
    case 'errgroup': {
      const { ErrGroup } = await import('../lib/index.js');
      return {
        run(n, limit, task) {
          const eg = new ErrGroup({ limit });
          for (let i = 0; i < n; i++) eg.go(task);
          return eg.wait();
        },
        queue(n, task) {
          const eg = new ErrGroup({ limit: 1 });
          const [held, open] = gate();
          eg.go(() => held);
          for (let i = 0; i < n; i++) eg.go(task);
          return () => {
            open();
            return eg.wait();
          };
        },
      };
    }
    case 'errgroup-timeout': {
      const { ErrGroup } = await import('../lib/index.js');
      return {
        run(n, limit, task) {
          // A timeout long enough never to fire: the cost of its signal, listener and timer.
          const eg = new ErrGroup({ limit, timeout: 60_000 });
          for (let i = 0; i < n; i++) eg.go(task);
          return eg.wait();
        },
        queue() {
          throw new Error('the queued row measures the group without timeouts');
        },
      };
    }
    case 'errgroup-map': {
      const { ErrGroup } = await import('../lib/index.js');
      const sampler = new PeakSampler();
      return {
        async run(n, limit, task) {
          sampler.start();
          await ErrGroup.map({ [Symbol.iterator]: indices(n) }, sampler.wrap(task), { limit });
        },
        peak: () => sampler.peak,
        queue() {
          throw new Error('ErrGroup.map pulls from an iterator: it queues nothing to measure');
        },
      };
    }
    case 'errgroup-map-iterable': {
      const { ErrGroup } = await import('../lib/index.js');
      const { Readable } = await import('node:stream');
      return {
        async run(n, limit, task) {
          const source = Readable.from({ [Symbol.iterator]: indices(n) }, { objectMode: true });
          for await (const _ of ErrGroup.mapIterable(source, task, { limit })) {
            // each result in input order
          }
        },
        queue() {
          throw new Error('mapIterable pulls from a stream: it queues nothing to measure');
        },
      };
    }
    case 'pmap-iterable': {
      const { pMapIterable } = await import('p-map');
      const { Readable } = await import('node:stream');
      return {
        async run(n, limit, task) {
          const source = Readable.from({ [Symbol.iterator]: indices(n) }, { objectMode: true });
          for await (const _ of pMapIterable(source, task, { concurrency: limit })) {
            // each result in input order
          }
        },
        queue() {
          throw new Error('pMapIterable pulls from a stream: it queues nothing to measure');
        },
      };
    }
    case 'plimit': {
      const { default: pLimit } = await import('p-limit');
      return {
        async run(n, limit, task) {
          const run = pLimit(limit);
          const all = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) all[i] = run(task);
          await Promise.all(all);
        },
        queue(n, task) {
          const run = pLimit(1);
          const [held, open] = gate();
          const all = [run(() => held)];
          for (let i = 0; i < n; i++) all.push(run(task));
          return async () => {
            open();
            await Promise.all(all);
          };
        },
      };
    }
    case 'pmap': {
      const { default: pMap } = await import('p-map');
      const sampler = new PeakSampler();
      return {
        async run(n, limit, task) {
          sampler.start();
          await pMap({ [Symbol.iterator]: indices(n) }, sampler.wrap(task), {
            concurrency: limit,
          });
        },
        peak: () => sampler.peak,
        queue() {
          throw new Error('p-map pulls from an iterator: it queues nothing to measure');
        },
      };
    }
    case 'wg-go': {
      const { WaitGroup } = await import('../lib/index.js');
      return {
        run(n, _limit, task) {
          const wg = new WaitGroup();
          for (let i = 0; i < n; i++) wg.go(task);
          return wg.wait();
        },
        queue() {
          throw new Error('a WaitGroup has no limit: it queues nothing');
        },
      };
    }
    default:
      throw new Error(`unknown limiter ${id}`);
  }
}

function indices(n: number): () => Iterator<number> {
  return function* () {
    for (let i = 0; i < n; i++) yield i;
  };
}

/**
 * PeakSampler samples the heap every {@link PeakSampler.EVERY} tasks of a
 * run and keeps the highest reading above the heap at the start: the same
 * probe in both map contenders, so that its cost falls on both alike.
 */
class PeakSampler {
  static readonly EVERY = 512;
  #base = 0;
  #calls = 0;
  peak = 0;

  start(): void {
    (globalThis as { gc?: () => void }).gc?.();
    this.#base = process.memoryUsage().heapUsed;
    this.#calls = 0;
    this.peak = 0;
  }

  wrap(task: () => Promise<void>): () => Promise<void> {
    return () => {
      if (++this.#calls % PeakSampler.EVERY === 0) {
        this.peak = Math.max(this.peak, process.memoryUsage().heapUsed - this.#base);
      }
      return task();
    };
  }
}
