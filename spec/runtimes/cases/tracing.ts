import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { ErrGroup, WaitGroup } from '../../../lib/index.js';
import type { Case } from '../run.js';
import { RUNTIME } from '../runtime.js';

type Handlers = Parameters<ReturnType<typeof diagnostics.tracingChannel>['subscribe']>[0];

/** subscribe records `channel`'s events as `event:kind:store` until the returned function is called. */
function subscribe(
  channel: ReturnType<typeof diagnostics.tracingChannel>,
  log: string[],
  als: AsyncLocalStorage<string>,
): () => void {
  const entry =
    (event: string) =>
    (context: unknown): void => {
      log.push(`${event}:${(context as { kind: string }).kind}:${als.getStore()}`);
    };
  const handlers = {
    start: entry('start'),
    end: entry('end'),
    asyncStart: entry('asyncStart'),
    asyncEnd: entry('asyncEnd'),
    error: entry('error'),
  } as Handlers;
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}

export default [
  {
    name: `the tracing channels publish go() tasks and waits on ${RUNTIME.description}, in the caller's async context`,
    async run() {
      const als = new AsyncLocalStorage<string>();
      const log: string[] = [];
      const stopTasks = subscribe(diagnostics.tracingChannel('awaitgroup:task'), log, als);
      const stopWaits = subscribe(diagnostics.tracingChannel('awaitgroup:wait'), log, als);
      try {
        const wg = new WaitGroup();
        let inTask: string | undefined;
        const task = als.run('request', () =>
          wg.go(async () => {
            inTask = als.getStore();
            return 'done';
          }),
        );
        const waiting = als.run('waiter', () => wg.wait());
        assert.equal(await task, 'done');
        await waiting;
        assert.equal(inTask, 'request');
        assert.deepEqual(log, [
          'start:WaitGroup:request',
          'end:WaitGroup:request',
          'start:WaitGroup:waiter',
          'end:WaitGroup:waiter',
          'asyncStart:WaitGroup:request',
          'asyncEnd:WaitGroup:request',
          'asyncStart:WaitGroup:waiter',
          'asyncEnd:WaitGroup:waiter',
        ]);
      } finally {
        stopTasks();
        stopWaits();
      }
      // Without a subscriber, nothing is published.
      const before = log.length;
      const wg = new WaitGroup();
      await wg.go(async () => undefined);
      assert.equal(log.length, before);
    },
  },
  {
    name: 'an ErrGroup publishes a failed task, its one wait and its abort',
    async run() {
      const als = new AsyncLocalStorage<string>();
      const log: string[] = [];
      const aborts: unknown[] = [];
      const onAbort = (message: unknown): void => {
        aborts.push(message);
      };
      const stopTasks = subscribe(diagnostics.tracingChannel('awaitgroup:task'), log, als);
      const stopWaits = subscribe(diagnostics.tracingChannel('awaitgroup:wait'), log, als);
      diagnostics.subscribe('awaitgroup:errgroup:abort', onAbort);
      try {
        const eg = new ErrGroup({ limit: 1 });
        const failure = new Error('failed');
        eg.go(() => Promise.reject(failure));
        eg.go(() => 'dropped');
        await assert.rejects(eg.wait(), (error) => error === failure);
        assert.deepEqual(
          log.map((entry) => entry.split(':').slice(0, 2).join(':')),
          [
            'start:ErrGroup',
            'end:ErrGroup',
            'start:ErrGroup',
            'end:ErrGroup',
            'error:ErrGroup',
            'asyncStart:ErrGroup',
            'asyncEnd:ErrGroup',
            'error:ErrGroup',
            'asyncStart:ErrGroup',
            'asyncEnd:ErrGroup',
          ],
        );
        assert.equal(aborts.length, 1);
        assert.deepEqual(
          { ...(aborts[0] as object), stats: undefined },
          { group: eg, reason: failure, cause: 'error', stats: undefined },
        );
      } finally {
        stopTasks();
        stopWaits();
        diagnostics.unsubscribe('awaitgroup:errgroup:abort', onAbort);
      }
    },
  },
] satisfies Case[];
