import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { ErrGroup } from '../../../lib/index.js';
import type { Case } from '../run.js';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export default [
  {
    name: 'ErrGroup E12: 20 tasks with limit 2 each run in the AsyncLocalStorage context of their go()',
    async run() {
      const als = new AsyncLocalStorage<{ id: number }>();
      const eg = new ErrGroup({ limit: 2 });
      const wrong: string[] = [];
      for (let id = 0; id < 20; id++) {
        als.run({ id }, () => {
          eg.go(async () => {
            if (als.getStore()?.id !== id)
              wrong.push(`task ${id} started in ${als.getStore()?.id}`);
            await tick();
            if (als.getStore()?.id !== id)
              wrong.push(`task ${id} resumed in ${als.getStore()?.id}`);
          });
        });
      }
      await eg.wait();
      assert.deepEqual(wrong, []);
    },
  },
  {
    name: 'ErrGroup E12: map and mapIterable run every mapper in the context of their call',
    async run() {
      const als = new AsyncLocalStorage<string>();
      const mapped = await als.run('map', () =>
        ErrGroup.map(
          [1, 2, 3, 4, 5, 6],
          async () => {
            await tick();
            return als.getStore();
          },
          { limit: 2 },
        ),
      );
      assert.deepEqual(mapped, ['map', 'map', 'map', 'map', 'map', 'map']);
      const streamed: (string | undefined)[] = [];
      const iterator = als.run('mapIterable', () =>
        ErrGroup.mapIterable(
          [1, 2, 3, 4],
          async () => {
            await tick();
            return als.getStore();
          },
          { limit: 2 },
        ),
      );
      for await (const store of iterator) streamed.push(store);
      assert.deepEqual(streamed, ['mapIterable', 'mapIterable', 'mapIterable', 'mapIterable']);
    },
  },
  {
    name: 'ErrGroup: a per-task timeout aborts the task signal with a TimeoutError',
    async run() {
      const eg = new ErrGroup({ timeout: 5, cancelOnError: false });
      const task = eg.go(
        (signal) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          }),
      );
      await assert.rejects(task, (error: Error) => error.name === 'TimeoutError');
      await assert.rejects(eg.wait(), (error: Error) => error.name === 'TimeoutError');
    },
  },
] satisfies Case[];
