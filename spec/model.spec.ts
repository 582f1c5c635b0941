// A model-based randomized test of the local group: random sequences of
// add / done / wait / wait with a signal / abort / waitSync / flush, each
// run against the real WaitGroup and a small reference model, comparing the
// counter, the waiters and how every wait has settled after every step.

import { expect } from 'chai';
import fc from 'fast-check';
import { WaitGroup, type WaitGroupErrorCode } from '../lib/index.js';
import { MAX_COUNTER } from '../lib/state.js';
import { flushMicrotasks, type Settled, type Tracked, track } from './helpers/async.js';
import { expectWaitGroupError, expectWaitGroupErrorValue } from './helpers/waitgroup.js';

type Command =
  | { readonly op: 'add'; readonly delta: number }
  | { readonly op: 'done' }
  | { readonly op: 'wait' }
  | { readonly op: 'waitSignal' }
  | { readonly op: 'waitAborted' }
  | { readonly op: 'abort'; readonly index: number }
  | { readonly op: 'waitSync' }
  | { readonly op: 'flush' };

/** How a wait ends, in the model. */
type Outcome =
  | { readonly status: 'fulfilled' }
  | { readonly status: 'rejected'; readonly code: WaitGroupErrorCode }
  | { readonly status: 'rejected'; readonly reason: unknown };

/** One wait() call, as the model sees it. */
interface Wait {
  readonly id: number;
  readonly tracked: Tracked<void>;
  readonly controller: AbortController | undefined;
  /** registered: counted in waiters; released: its resume is queued; settled: decided. */
  phase: 'registered' | 'released' | 'settled';
  outcome: Outcome | undefined;
  /** The outcome is observable: a flush has run since it was decided. */
  visible: boolean;
}

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        { weight: 6, arbitrary: fc.constant(1) },
        { weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }) },
        { weight: 1, arbitrary: fc.constantFrom(MAX_COUNTER, -MAX_COUNTER, 2 ** 31, -(2 ** 31)) },
      )
      .map((delta) => ({ op: 'add', delta }) as const),
  },
  { weight: 5, arbitrary: fc.constant({ op: 'done' } as const) },
  { weight: 2, arbitrary: fc.constant({ op: 'wait' } as const) },
  { weight: 3, arbitrary: fc.constant({ op: 'waitSignal' } as const) },
  { weight: 1, arbitrary: fc.constant({ op: 'waitAborted' } as const) },
  { weight: 3, arbitrary: fc.nat(7).map((index) => ({ op: 'abort', index }) as const) },
  { weight: 1, arbitrary: fc.constant({ op: 'waitSync' } as const) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' } as const) },
);

/** expectSettled compares what the real wait has done with what the model says it has. */
function expectSettled(wait: Wait, step: number): void {
  const actual: Settled = wait.tracked.state;
  const label = `wait #${wait.id} after step ${step}`;
  const outcome = wait.visible ? wait.outcome : undefined;
  if (outcome === undefined) {
    expect(actual.status, label).to.equal('pending');
    return;
  }
  expect(actual.status, label).to.equal(outcome.status);
  if (actual.status !== 'rejected' || outcome.status !== 'rejected') return;
  if ('code' in outcome) expectWaitGroupErrorValue(actual.reason, outcome.code);
  else expect(actual.reason, label).to.equal(outcome.reason);
}

/** run plays `commands` against a fresh group and the model, checking after every step. */
async function run(commands: readonly Command[]): Promise<void> {
  const wg = new WaitGroup();
  let counter = 0;
  let registered: Wait[] = [];
  let released: Wait[] = [];
  const waits: Wait[] = [];
  const withSignal: Wait[] = [];

  const newWait = (promise: Promise<void>, controller?: AbortController): Wait => {
    const wait: Wait = {
      id: waits.length,
      tracked: track(promise),
      controller,
      phase: 'settled',
      outcome: undefined,
      visible: false,
    };
    waits.push(wait);
    if (controller !== undefined) withSignal.push(wait);
    return wait;
  };
  const settle = (wait: Wait, outcome: Outcome): void => {
    wait.phase = 'settled';
    wait.outcome = outcome;
  };
  const add = (delta: number): void => {
    const next = counter + delta;
    if (next < 0) {
      expectWaitGroupError(() => wg.add(delta), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
      return;
    }
    if (next > MAX_COUNTER) {
      expectWaitGroupError(() => wg.add(delta), 'ERR_WAITGROUP_COUNTER_OVERFLOW');
      return;
    }
    if (delta === -1) wg.done();
    else wg.add(delta);
    counter = next;
    if (counter === 0 && registered.length > 0) {
      for (const wait of registered) wait.phase = 'released';
      released = released.concat(registered);
      registered = [];
    }
  };
  const register = (wait: Wait, immediately: Outcome): void => {
    if (counter === 0) settle(wait, immediately);
    else {
      wait.phase = 'registered';
      registered.push(wait);
    }
  };
  const flush = async (): Promise<void> => {
    await flushMicrotasks();
    // Every queued resume ran in that flush, and saw the word as it is now.
    const idle = counter === 0 && registered.length === 0;
    for (const wait of released) {
      settle(
        wait,
        idle ? { status: 'fulfilled' } : { status: 'rejected', code: 'ERR_WAITGROUP_REUSED' },
      );
    }
    released = [];
    for (const wait of waits) if (wait.outcome !== undefined) wait.visible = true;
  };

  for (const [step, command] of commands.entries()) {
    switch (command.op) {
      case 'add':
        add(command.delta);
        break;
      case 'done':
        add(-1);
        break;
      case 'wait':
        register(newWait(wg.wait()), { status: 'fulfilled' });
        break;
      case 'waitSignal': {
        const controller = new AbortController();
        register(newWait(wg.wait({ signal: controller.signal }), controller), {
          status: 'fulfilled',
        });
        break;
      }
      case 'waitAborted': {
        const reason = new Error(`aborted before wait #${waits.length}`);
        const wait = newWait(wg.wait({ signal: AbortSignal.abort(reason) }));
        settle(wait, { status: 'rejected', reason });
        break;
      }
      case 'abort': {
        // The index counts back from the newest wait whose signal is not aborted yet.
        const live = withSignal.filter((w) => !w.controller?.signal.aborted);
        const wait = live[live.length - 1 - (command.index % Math.max(live.length, 1))];
        if (wait === undefined) break;
        const reason = new Error(`abort of wait #${wait.id} at step ${step}`);
        wait.controller?.abort(reason);
        if (wait.phase === 'registered') {
          registered = registered.filter((w) => w !== wait);
          settle(wait, { status: 'rejected', reason });
        }
        break;
      }
      case 'waitSync':
        if (counter === 0) wg.waitSync();
        else expectWaitGroupError(() => wg.waitSync(), 'ERR_WAITGROUP_DEADLOCK');
        break;
      case 'flush':
        await flush();
        break;
    }
    expect({ counter: wg.counter, waiters: wg.waiters }, `after step ${step}`).to.deep.equal({
      counter,
      waiters: registered.length,
    });
    for (const wait of waits) expectSettled(wait, step);
  }

  // Drain: bring the counter to 0; then every wait must have settled.
  await flush();
  if (counter > 0) add(-counter);
  await flush();
  for (const wait of waits) {
    expect(wait.outcome, `wait #${wait.id} settled`).to.not.equal(undefined);
    expectSettled(wait, commands.length);
  }
  expect({ counter: wg.counter, waiters: wg.waiters }).to.deep.equal({ counter: 0, waiters: 0 });
}

describe('model: the local group against a reference model', () => {
  it('agrees on counter, waiters and every settlement, after every step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { maxLength: 60, size: 'max' }), (commands) =>
        run(commands),
      ),
      { numRuns: 200 },
    );
  });

  it('agrees on the S8 scenario: done(); add(1) in one run, then flush', async () => {
    await run([
      { op: 'add', delta: 1 },
      { op: 'wait' },
      { op: 'waitSignal' },
      { op: 'done' },
      { op: 'add', delta: 1 },
      { op: 'flush' },
      { op: 'abort', index: 0 },
      { op: 'done' },
      { op: 'flush' },
    ]);
  });

  it('agrees on a late abort: released, reused, a new waiter, then the abort', async () => {
    await run([
      { op: 'add', delta: 1 },
      { op: 'waitSignal' },
      { op: 'done' },
      { op: 'add', delta: 1 },
      { op: 'waitSignal' },
      { op: 'abort', index: 1 },
      { op: 'flush' },
      { op: 'done' },
      { op: 'flush' },
    ]);
  });

  it('agrees on the S9 scenario: abort between registered waiters, then release', async () => {
    await run([
      { op: 'add', delta: 2 },
      { op: 'waitSignal' },
      { op: 'wait' },
      { op: 'waitSignal' },
      { op: 'abort', index: 1 },
      { op: 'flush' },
      { op: 'done' },
      { op: 'done' },
      { op: 'abort', index: 0 },
      { op: 'flush' },
    ]);
  });
});
