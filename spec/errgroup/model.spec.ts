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

/** One task of a random fan-out: how it ends, and what it does to the group when it starts. */
interface FanOutPlan {
  readonly ends: 'ok' | 'error' | 'undefined';
  readonly action: 'none' | 'cancel' | 'clear' | 'limit';
  readonly limit: number;
}

const fanOutArb: fc.Arbitrary<FanOutPlan> = fc.record({
  ends: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'error', 'undefined'),
  action: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'cancel', 'clear', 'limit'),
  limit: fc.integer({ min: 1, max: 4 }),
});

describe('E13 E14 E15 E16 E17 handled promises, in a child process', () => {
  it('cancel, clearQueue, timeouts, run, map and mapIterable raise no unhandledRejection under --unhandled-rejections=strict', async function () {
    this.timeout(20_000);
    const script = fileURLToPath(
      new URL('../fixtures/errgroup-fanout-unhandled.js', import.meta.url),
    );
    const { stdout, stderr } = await run(
      process.execPath,
      ['--unhandled-rejections=strict', script],
      { timeout: 15_000 },
    );
    expect(stdout).to.equal(
      [
        'cancel: AbortError',
        'supervisor: AggregateError',
        'run: TypeError',
        'map: RangeError',
        'mapIterable: left early',
        'mapIterable: SyntaxError',
        'exit',
        '',
      ].join('\n'),
    );
    expect(stderr).to.equal('');
  });
});

describe('E13 E15 E18 model: random failures, cancels, clears, limits and durations', () => {
  it('keeps the stats invariants at every step and wait() follows the policy', async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.constantFrom<'first' | 'all'>('first', 'all'),
        fc.array(fanOutArb, { minLength: 1, maxLength: 25 }),
        async (s, limit, cancelOnError, errors, plans) => {
          const eg = new ErrGroup({ limit, cancelOnError, errors });
          const check = (): void => {
            const st = eg.stats;
            expect(st.admitted).to.equal(st.started + st.dropped + st.queued);
            expect(st.started).to.equal(st.fulfilled + st.rejected + st.active);
            expect(st.active).to.equal(eg.active);
            expect(st.queued).to.equal(eg.queued);
          };
          const failures: unknown[] = [];
          let cancelReason: unknown;
          let failedFirst = false;
          let startedAfterFailure = false;
          let ran = 0;
          const tasks = plans.map((plan, i) => {
            check();
            const task = eg.go(async () => {
              ran++;
              check();
              if (cancelOnError && failedFirst) startedAfterFailure = true;
              if (plan.action === 'cancel') {
                const reason = new Error(`cancel ${i}`);
                if (!eg.signal.aborted) cancelReason ??= reason;
                eg.cancel(reason);
              } else if (plan.action === 'clear') {
                const queued = eg.queued;
                expect(eg.clearQueue()).to.equal(queued);
                expect(eg.queued).to.equal(0);
              } else if (plan.action === 'limit') {
                eg.limit = plan.limit;
              }
              check();
              await s.schedule(Promise.resolve(), `task ${i}`);
              check();
              if (plan.ends === 'ok') return i;
              failedFirst = true;
              if (plan.ends === 'undefined') {
                failures.push(undefined);
                throw undefined;
              }
              const failure = new Error(`task ${i} failed`);
              failures.push(failure);
              throw failure;
            });
            return task.then(check, check);
          });
          const outcome = eg.wait().then(
            () => ({ ok: true as const }),
            (error: unknown) => ({ ok: false as const, error }),
          );
          await s.waitFor(Promise.all([...tasks, outcome]));
          const result = await outcome;
          check();
          const st = eg.stats;
          expect([st.active, st.queued]).to.deep.equal([0, 0]);
          expect(st.started).to.equal(ran);
          expect(st.admitted).to.equal(plans.length);
          expect(startedAfterFailure).to.equal(false);
          // eg.errors: every failure in order, a rejection with undefined as ERR_ERRGROUP_TASK_FAILED.
          const recorded = eg.errors;
          expect(recorded).to.have.length(failures.length);
          failures.forEach((failure, i) => {
            if (failure === undefined) {
              expect((recorded[i] as { code?: string }).code).to.equal('ERR_ERRGROUP_TASK_FAILED');
            } else {
              expect(recorded[i]).to.equal(failure);
            }
          });
          if (recorded.length > 0) {
            expect(result.ok).to.equal(false);
            if (errors === 'all') {
              expect((result as { error: AggregateError }).error.errors).to.deep.equal([
                ...recorded,
              ]);
            } else {
              expect((result as { error: unknown }).error).to.equal(recorded[0]);
            }
          } else if (cancelReason !== undefined) {
            expect(result).to.deep.equal({ ok: false, error: cancelReason });
          } else {
            expect(result.ok).to.equal(true);
          }
          // The signal aborted before wait() settled; with no earlier abort, with wait()'s reason.
          expect(eg.signal.aborted).to.equal(true);
          if (!result.ok && !cancelOnError && cancelReason === undefined) {
            expect(eg.signal.reason).to.equal(result.error);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('E17 model: map and mapIterable over random durations and limits', () => {
  it('map resolves with every result in input order and never holds more than limit items', async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 30 }),
        fc.boolean(),
        async (s, limit, length, asyncSource) => {
          let pulled = 0;
          let finished = 0;
          let most = 0;
          function* items(): Generator<number> {
            for (let i = 0; i < length; i++) {
              pulled++;
              yield i;
            }
          }
          async function* asyncItems(): AsyncGenerator<number> {
            yield* items();
          }
          const source = asyncSource ? asyncItems() : items();
          const mapping = ErrGroup.map(
            source,
            async (item: number, index: number) => {
              most = Math.max(most, pulled - finished);
              await s.schedule(Promise.resolve(), `item ${index}`);
              finished++;
              return item * 10;
            },
            { limit },
          );
          const results = await s.waitFor(mapping);
          expect(results).to.deep.equal(Array.from({ length }, (_, i) => i * 10));
          expect(most).to.be.at.most(limit);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('mapIterable yields in input order, the results before the first failed position, then its error', async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.boolean(), { minLength: 0, maxLength: 20 }),
        async (s, limit, fails) => {
          let pulled = 0;
          let yielded = 0;
          let most = 0;
          function* items(): Generator<number> {
            for (let i = 0; i < fails.length; i++) {
              pulled++;
              yield i;
            }
          }
          const out: number[] = [];
          const consuming = (async () => {
            for await (const value of ErrGroup.mapIterable(
              items(),
              async (item: number) => {
                await s.schedule(Promise.resolve(), `item ${item}`);
                if (fails[item]) throw new Error(`item ${item}`);
                return item;
              },
              // The tasks ignore the signal: each failure is its own error.
              { limit, cancelOnError: false },
            )) {
              yielded++;
              most = Math.max(most, pulled - yielded);
              out.push(value);
            }
          })().then(
            () => undefined,
            (error: unknown) => error,
          );
          const error = await s.waitFor(consuming);
          const firstFailure = fails.indexOf(true);
          const prefix = firstFailure === -1 ? fails.length : firstFailure;
          expect(out).to.deep.equal(Array.from({ length: prefix }, (_, i) => i));
          if (firstFailure === -1) expect(error).to.equal(undefined);
          else expect((error as Error).message).to.equal(`item ${firstFailure}`);
          expect(most).to.be.at.most(2 * limit);
        },
      ),
      { numRuns: 200 },
    );
  });
});
