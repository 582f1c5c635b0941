/**
 * Model-based test (R2, R5, R6, R7): random runs of add, done, wait, abort,
 * SCRIPT FLUSH and CLIENT KILL against a RedisWaitGroup, with the local
 * WaitGroup as the oracle: after each step both have the same counter and
 * waiters, refuse the same calls with the same codes, and settle the same
 * waits the same way.
 */

import { expect } from 'chai';
import fc from 'fast-check';
import { WaitGroup, type WaitGroupError } from '../../lib/index.js';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { connect, type Kind } from './support/clients.js';
import { sharedServer, uniqueName } from './support/env.js';
import { until } from './support/members.js';

type Step =
  | { readonly op: 'add'; readonly delta: number }
  | { readonly op: 'done' }
  | { readonly op: 'wait'; readonly abortable: boolean }
  | { readonly op: 'abort' }
  | { readonly op: 'flush' }
  | { readonly op: 'kill' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), delta: fc.integer({ min: -2, max: 3 }) }),
  fc.constant({ op: 'done' as const }),
  fc.record({ op: fc.constant('wait' as const), abortable: fc.boolean() }),
  fc.constant({ op: 'abort' as const }),
  fc.constant({ op: 'flush' as const }),
  fc.constant({ op: 'kill' as const }),
);

const codeOf = async (call: () => unknown): Promise<string | undefined> => {
  try {
    await call();
    return undefined;
  } catch (error) {
    return (error as WaitGroupError).code ?? 'other';
  }
};

for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
  describe(`model: RedisWaitGroup against the local WaitGroup with injected faults (${kind}, single server)`, () => {
    it('agrees on state, refusals and settlements over random runs', async function () {
      this.timeout(120_000);
      const server = await sharedServer();
      const connected = await connect({ kind, cluster: false, ports: [server.port] });
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
            const local = new WaitGroup();
            const remote = await RedisWaitGroup.create(connected.client, uniqueName('model'));
            const settled: { local: string[]; remote: string[] } = { local: [], remote: [] };
            const controllers: AbortController[] = [];
            const pending: Promise<unknown>[] = [];
            const record = (
              side: string[],
              i: number,
              promise: Promise<unknown>,
            ): Promise<unknown> =>
              promise.then(
                () => side.push(`${i} ok`),
                (error) =>
                  side.push(
                    `${i} ${(error as Error).message === 'model abort' ? 'aborted' : 'error'}`,
                  ),
              );
            for (const [i, s] of steps.entries()) {
              switch (s.op) {
                case 'add':
                case 'done': {
                  const delta = s.op === 'add' ? s.delta : -1;
                  const want = await codeOf(() => local.add(delta));
                  const got = await codeOf(() => remote.add(delta));
                  expect(got, `step ${i} ${s.op} ${delta}`).to.equal(want);
                  break;
                }
                case 'wait': {
                  const controller = new AbortController();
                  const signal = s.abortable ? controller.signal : undefined;
                  if (s.abortable) controllers.push(controller);
                  pending.push(record(settled.local, i, local.wait(signal ? { signal } : {})));
                  pending.push(record(settled.remote, i, remote.wait(signal ? { signal } : {})));
                  await until(
                    async () => (await remote.state()).waiters === local.waiters,
                    'registered',
                  );
                  break;
                }
                case 'abort': {
                  const controller = controllers.shift();
                  controller?.abort(new Error('model abort'));
                  await until(
                    async () => (await remote.state()).waiters === local.waiters,
                    'deregistered',
                  );
                  break;
                }
                case 'flush':
                  await server.cli('SCRIPT', 'FLUSH');
                  break;
                case 'kill':
                  await server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
                  break;
              }
              expect(await remote.state(), `after step ${i} ${s.op}`).to.deep.include({
                counter: local.counter,
                waiters: local.waiters,
              });
            }
            // Release whatever is left and compare how every wait settled.
            if (local.counter > 0) {
              const rest = local.counter;
              local.add(-rest);
              await remote.add(-rest);
            }
            await Promise.all(pending);
            expect([...settled.remote].sort()).to.deep.equal([...settled.local].sort());
          }),
          { numRuns: 12 },
        );
      } finally {
        await connected.close();
      }
    });
  });
}
