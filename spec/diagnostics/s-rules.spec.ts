// Every S-rule holds in debug mode: random sequences of add / done / wait /
// wait with a signal / abort / waitSync / go / settle a task / flush are run
// against a plain group and a debug group side by side. After every step the
// two agree on the counter, the waiters, what each call threw, and the order
// in which every wait and task settled and how; the plain group is the one
// spec/model.spec.ts checks against its reference model. The debug group's
// go() units are, at every step, exactly its unsettled tasks.

import { expect } from 'chai';
import fc from 'fast-check';
import { WaitGroup } from '../../lib/index.js';
import { MAX_COUNTER } from '../../lib/state.js';
import { flushMicrotasks } from '../helpers/async.js';

type Command =
  | { readonly op: 'add'; readonly delta: number }
  | { readonly op: 'done' }
  | { readonly op: 'wait' }
  | { readonly op: 'waitSignal' }
  | { readonly op: 'abort'; readonly index: number }
  | { readonly op: 'waitSync' }
  | { readonly op: 'go'; readonly sync: 'none' | 'value' | 'throw' }
  | { readonly op: 'settle'; readonly index: number; readonly ok: boolean }
  | { readonly op: 'flush' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        { weight: 6, arbitrary: fc.constant(1) },
        { weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }) },
        { weight: 1, arbitrary: fc.constantFrom(MAX_COUNTER, -MAX_COUNTER, 1.5) },
      )
      .map((delta) => ({ op: 'add', delta }) as const),
  },
  { weight: 4, arbitrary: fc.constant({ op: 'done' } as const) },
  { weight: 2, arbitrary: fc.constant({ op: 'wait' } as const) },
  { weight: 2, arbitrary: fc.constant({ op: 'waitSignal' } as const) },
  { weight: 2, arbitrary: fc.nat(7).map((index) => ({ op: 'abort', index }) as const) },
  { weight: 1, arbitrary: fc.constant({ op: 'waitSync' } as const) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom('none', 'none', 'value', 'throw')
      .map((sync) => ({ op: 'go', sync }) as const),
  },
  {
    weight: 4,
    arbitrary: fc
      .record({ index: fc.nat(7), ok: fc.boolean() })
      .map(({ index, ok }) => ({ op: 'settle', index, ok }) as const),
  },
  { weight: 2, arbitrary: fc.constant({ op: 'flush' } as const) },
);

/** What a call did, comparable across the two groups. */
function outcomeOf(call: () => unknown): string {
  try {
    call();
    return 'ok';
  } catch (error) {
    return describeError(error);
  }
}

function describeError(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string };
  return `${e.name}:${e.code ?? ''}:${e.message}`;
}

/** One group under test with its settle log. */
class Side {
  readonly wg: WaitGroup;
  readonly log: string[] = [];
  readonly tasks: Array<{ id: number; resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(debug: boolean) {
    this.wg = new WaitGroup({ debug });
  }

  watch(label: string, promise: Promise<unknown>): void {
    promise.then(
      () => this.log.push(`${label} fulfilled`),
      (reason: unknown) => this.log.push(`${label} rejected ${describeError(reason)}`),
    );
  }
}

async function run(commands: readonly Command[]): Promise<void> {
  const plain = new Side(false);
  const debug = new Side(true);
  const sides = [plain, debug];
  const controllers: AbortController[] = [];
  const open: number[] = []; // ids of tasks not yet settled by a command
  const started: string[] = []; // names of the tasks go() accepted, in order
  const thrown = new Set<string>(); // those whose fn threw: retired at once
  let ids = 0;

  for (const [step, command] of commands.entries()) {
    const outcomes = sides.map((side) => {
      const { wg } = side;
      switch (command.op) {
        case 'add':
          return outcomeOf(() => wg.add(command.delta));
        case 'done':
          return outcomeOf(() => wg.done());
        case 'wait':
          side.watch(`wait ${ids}`, wg.wait());
          return 'ok';
        case 'waitSignal': {
          const controller = controllers[ids] ?? new AbortController();
          controllers[ids] = controller;
          side.watch(`wait ${ids}`, wg.wait({ signal: controller.signal }));
          return 'ok';
        }
        case 'abort':
          return 'ok';
        case 'waitSync':
          return outcomeOf(() => wg.waitSync());
        case 'go': {
          const id = ids;
          return outcomeOf(() => {
            const task = wg.go<unknown>(
              () => {
                if (command.sync === 'value') return id;
                if (command.sync === 'throw') throw new Error(`task ${id} threw`);
                return new Promise<void>((resolve, reject) => {
                  side.tasks.push({ id, resolve, reject });
                });
              },
              { name: `task ${id}` },
            );
            side.watch(`task ${id}`, task);
          });
        }
        case 'settle': {
          const task = side.tasks.find((t) => t.id === open[command.index % open.length]);
          if (task === undefined) return 'ok';
          side.tasks.splice(side.tasks.indexOf(task), 1);
          if (command.ok) task.resolve();
          else task.reject(new Error(`task ${task.id} failed`));
          return 'ok';
        }
        case 'flush':
          return 'ok';
      }
      return 'ok';
    });
    if (command.op === 'abort') {
      const live = controllers.filter((c) => c !== undefined && !c.signal.aborted);
      live[command.index % Math.max(live.length, 1)]?.abort(new Error(`abort at ${step}`));
    }
    if (command.op === 'settle' && open.length > 0) open.splice(command.index % open.length, 1);
    if (command.op === 'go' && outcomes[0] === 'ok') {
      started.push(`task ${ids}`);
      if (command.sync === 'none') open.push(ids);
      if (command.sync === 'throw') thrown.add(`task ${ids}`);
    }
    if (['wait', 'waitSignal', 'go'].includes(command.op)) ids++;
    if (command.op === 'flush') await flushMicrotasks();

    const label = `after step ${step} (${JSON.stringify(command)})`;
    expect(outcomes[1], label).to.equal(outcomes[0]);
    expect({ counter: debug.wg.counter, waiters: debug.wg.waiters }, label).to.deep.equal({
      counter: plain.wg.counter,
      waiters: plain.wg.waiters,
    });
    expect(debug.log, label).to.deep.equal(plain.log);
    const named = debug.wg
      .unfinished()
      .flatMap((unit) => (unit.name === undefined ? [] : [unit.name]));
    // A task's unit is retired as its result settles, one microtask before
    // the log sees it; microtasks run only in a flush.
    const unsettled = started.filter(
      (name) => !thrown.has(name) && !debug.log.some((entry) => entry.startsWith(`${name} `)),
    );
    expect(named, label).to.deep.equal(unsettled);
  }
  for (const side of sides) for (const task of side.tasks) task.resolve();
  await flushMicrotasks();
  for (const { wg } of sides) if (wg.counter > 0) wg.add(-wg.counter);
  await flushMicrotasks();
  expect(debug.log).to.deep.equal(plain.log);
  expect(debug.wg.unfinished()).to.deep.equal([]);
}

describe('S-rules in debug mode: a debug group behaves as a plain one', () => {
  it('agrees on counter, waiters, every throw and the order of every settlement, after every step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { maxLength: 60, size: 'max' }), (commands) =>
        run(commands),
      ),
      { numRuns: 200 },
    );
  });
});
