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
      return {
        async run(n, limit, task) {
          await pMap({ [Symbol.iterator]: indices(n) }, task, { concurrency: limit });
        },
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
