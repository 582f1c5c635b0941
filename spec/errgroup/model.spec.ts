import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import fc from 'fast-check';
import { ErrGroup } from '../../lib/index.js';

const run = promisify(execFile);

/** One task of a random batch: does it fail, and a limit to set when it starts (0: none). */
interface TaskPlan {
  readonly fails: boolean;
  readonly setLimit: number;
}

const planArb: fc.Arbitrary<TaskPlan> = fc.record({
  fails: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  setLimit: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 4 })),
});

describe('E11 model: random durations, failures, limits and limit changes', () => {
  it('never runs more than limit, runs or drops every task, and wait() reports the first failure', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.array(planArb, { minLength: 1, maxLength: 25 }),
        async (s, limit, plans) => {
          const eg = new ErrGroup({ limit });
          const started = new Set<number>();
          const dropped = new Set<number>();
          let firstFailure: Error | undefined;
          let overLimit = false;
          const tasks = plans.map((plan, i) => {
            const task = eg.go(async () => {
              started.add(i);
              if (eg.active > eg.limit) overLimit = true;
              // Each task takes as long as the scheduler says: a random duration.
              await s.schedule(Promise.resolve(), `task ${i}`);
              if (plan.setLimit > 0) eg.limit = plan.setLimit;
              if (plan.fails) {
                const failure = new Error(`task ${i} failed`);
                firstFailure ??= failure;
                throw failure;
              }
              return i;
            });
            return task.then(
              () => undefined,
              (reason: unknown) => {
                if (!started.has(i)) {
                  // Dropped from the queue: only after the abort, with its reason.
                  expect(eg.signal.aborted).to.equal(true);
                  expect(reason).to.equal(eg.signal.reason);
                  dropped.add(i);
                }
              },
            );
          });
          const outcome = eg.wait().then(
            () => undefined,
            (error: unknown) => error,
          );
          // Release the scheduled durations until every task and wait() settled.
          await s.waitFor(Promise.all([...tasks, outcome]));
          expect(await outcome).to.equal(firstFailure);
          expect(overLimit).to.equal(false);
          expect(started.size + dropped.size).to.equal(plans.length);
          if (firstFailure === undefined) expect(dropped.size).to.equal(0);
          expect([eg.active, eg.queued]).to.deep.equal([0, 0]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('E3 handled promises, in a child process', () => {
  it('ignored go() promises raise no unhandledRejection under --unhandled-rejections=strict', async function () {
    this.timeout(20_000);
    const script = fileURLToPath(new URL('../fixtures/errgroup-unhandled.js', import.meta.url));
    const { stdout, stderr } = await run(
      process.execPath,
      ['--unhandled-rejections=strict', script],
      { timeout: 15_000 },
    );
    expect(stdout).to.equal(
      'wait rejected: first failure; aborted true\nparent: parent stopped\nexit\n',
    );
    expect(stderr).to.equal('');
  });
});
