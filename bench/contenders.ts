/**
 * The contenders of the benchmarks: awaitgroup, its peers, and the baselines
 * of SPEC §7 written out here. Every contender is reduced to one small shape,
 * {@link Group}; a child process loads exactly one of them, so every call site
 * in the timed loops sees one class and stays monomorphic.
 *
 * @module
 */

import { LocalCell } from '../lib/cell.js';
import { LIMITER_LABELS } from './limiters.js';

/** What the workloads call: Go's three verbs. */
export interface Group {
  add(delta: number): void;
  done(): void;
  wait(): Promise<void>;
}

/** A contender: how to make one group. `expected` is the number of done() calls to come, for peers that must know it up front. */
export interface Contender {
  readonly create: (expected: number) => Group;
  /** Track a task with the contender's own go(), where it has one. */
  readonly go?: (group: Group, task: () => Promise<void>) => void;
}

/** The settled promise a baseline returns from wait() at zero. */
const RESOLVED: Promise<void> = Promise.resolve();

/** (b) A plain-number counter with one shared resolver: the limit for a local group. */
export class CounterGroup implements Group {
  n = 0;
  promise: Promise<void> | undefined = undefined;
  resolve: (() => void) | undefined = undefined;

  add(delta: number): void {
    this.n += delta;
  }

  done(): void {
    if (--this.n === 0) {
      const resolve = this.resolve;
      if (resolve !== undefined) {
        this.resolve = undefined;
        this.promise = undefined;
        resolve();
      }
    }
  }

  wait(): Promise<void> {
    if (this.n === 0) return RESOLVED;
    if (this.promise === undefined) {
      this.promise = new Promise<void>((resolve) => {
        this.resolve = resolve;
      });
    }
    return this.promise;
  }
}

/** (b') A plain-number counter with an array of per-waiter resolvers. */
export class ResolverArrayGroup implements Group {
  n = 0;
  resolvers: Array<() => void> = [];

  add(delta: number): void {
    this.n += delta;
  }

  done(): void {
    if (--this.n === 0) {
      const resolvers = this.resolvers;
      if (resolvers.length !== 0) {
        this.resolvers = [];
        for (let i = 0; i < resolvers.length; i++) (resolvers[i] as () => void)();
      }
    }
  }

  wait(): Promise<void> {
    if (this.n === 0) return RESOLVED;
    return new Promise<void>((resolve) => {
      this.resolvers.push(resolve);
    });
  }
}

/**
 * (f) (b) with a `go` that returns the task's promise:
 * `Promise.resolve(fn()).then(ok, fail)`, with one pair of settle handlers
 * per group. It is the floor for any `go()` that returns the task's result:
 * one promise per task, and nothing else.
 */
export class GoCounterGroup extends CounterGroup {
  readonly #ok = <T>(value: T): T => {
    this.done();
    return value;
  };
  readonly #fail = (reason: unknown): never => {
    this.done();
    throw reason;
  };

  go<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
    this.add(1);
    return Promise.resolve(fn()).then(this.#ok, this.#fail) as Promise<Awaited<T>>;
  }
}

/**
 * (e) A naive packed-bigint counter: Go's word in a bigint field, with add,
 * shift, asIntN and asUintN on every call.
 */
export class PackedBigIntGroup implements Group {
  state = 0n;
  promise: Promise<void> | undefined = undefined;
  resolve: (() => void) | undefined = undefined;

  add(delta: number): void {
    const state = this.state + (BigInt(delta) << 32n);
    const v = Number(BigInt.asIntN(32, state >> 32n));
    const w = Number(BigInt.asUintN(32, state));
    if (v < 0) throw new Error('sync: negative WaitGroup counter');
    if (v > 0 || w === 0) {
      this.state = state;
      return;
    }
    this.state = 0n;
    const resolve = this.resolve;
    this.resolve = undefined;
    this.promise = undefined;
    resolve?.();
  }

  done(): void {
    this.add(-1);
  }

  wait(): Promise<void> {
    const state = this.state;
    if (Number(BigInt.asIntN(32, state >> 32n)) === 0) return RESOLVED;
    this.state = state + 1n;
    if (this.promise === undefined) {
      this.promise = new Promise<void>((resolve) => {
        this.resolve = resolve;
      });
    }
    return this.promise;
  }
}

const WORD_ONE = 1n << 32n;

/**
 * (w) (b) with its counter in a bigint word: the high half of a
 * `BigInt64Array(1)` element, as a local group keeps it, with (b)'s one
 * test at zero and nothing of Go's checks (the workloads only add 1). The
 * floor of what a `bigint` word costs on this platform, warm (the pair
 * rows) and cold (the cold fan-out rows), against which our ratio to (b)
 * is read.
 */
export class BareWordGroup implements Group {
  readonly word = new BigInt64Array(1);
  promise: Promise<void> | undefined = undefined;
  resolve: (() => void) | undefined = undefined;

  add(_delta: number): void {
    this.word[0] = (this.word[0] as bigint) + WORD_ONE;
  }

  done(): void {
    const word = (this.word[0] as bigint) - WORD_ONE;
    this.word[0] = word;
    if (word === 0n) {
      const resolve = this.resolve;
      if (resolve !== undefined) {
        this.resolve = undefined;
        this.promise = undefined;
        resolve();
      }
    }
  }

  wait(): Promise<void> {
    if (this.word[0] === 0n) return RESOLVED;
    if (this.promise === undefined) {
      this.promise = new Promise<void>((resolve) => {
        this.resolve = resolve;
      });
    }
    return this.promise;
  }
}

const WORD_MINUS_ONE = -WORD_ONE;
const WORD_ZERO = 0n;

/** The next word of (s), a function as the state model's addToWord is. */
function floorNext(word: bigint, delta: number): bigint {
  return word + (delta === -1 ? WORD_MINUS_ONE : WORD_ONE);
}

/** The outcome of (s), a function as the state model's classifyAdd is: 0 store, 1 release. */
function floorOutcome(_word: bigint, next: bigint, delta: number): number {
  return delta < 0 && next === WORD_ZERO ? 1 : 0;
}

// Module-local, as waitgroup.ts keeps its imports.
const next = floorNext;
const outcome = floorOutcome;

/**
 * (s) (w) through the call structure of a local group, with none of Go's
 * checks: add() and done() call a private `#add`, a compare-and-swap loop
 * that reads and writes the word through a local group's own cell and asks
 * two functions for the next word and the outcome. What one algorithm
 * written against a cell and a state model costs on its own, against which
 * the cold rows are read (V8 tiers each function up on its own call count).
 */
export class StructureFloorGroup implements Group {
  readonly #cell = new LocalCell();
  promise: Promise<void> | undefined = undefined;
  resolve: (() => void) | undefined = undefined;

  add(delta = 1): void {
    this.#add(delta);
  }

  done(): void {
    this.#add(-1);
  }

  #add(delta: number): void {
    const cell = this.#cell;
    for (;;) {
      const word = cell.load();
      const after = next(word, delta);
      if (outcome(word, after, delta) === 0) {
        if (cell.compareAndSwap(word, after)) return;
      } else if (this.#release(word)) {
        return;
      }
    }
  }

  #release(word: bigint): boolean {
    if (!this.#cell.compareAndSwap(word, WORD_ZERO)) return false;
    const resolve = this.resolve;
    if (resolve !== undefined) {
      this.resolve = undefined;
      this.promise = undefined;
      resolve();
    }
    return true;
  }

  wait(): Promise<void> {
    if (this.#cell.load() === WORD_ZERO) return RESOLVED;
    if (this.promise === undefined) {
      this.promise = new Promise<void>((resolve) => {
        this.resolve = resolve;
      });
    }
    return this.promise;
  }
}

/** (s) with (f)'s `go`: the call structure under a `go()` that returns the task's promise. */
export class StructureFloorGoGroup extends StructureFloorGroup {
  readonly #ok = <T>(value: T): T => {
    this.done();
    return value;
  };
  readonly #fail = (reason: unknown): never => {
    this.done();
    throw reason;
  };

  go<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
    this.add(1);
    return Promise.resolve(fn()).then(this.#ok, this.#fail) as Promise<Awaited<T>>;
  }
}

/**
 * (g) Raw `Atomics.waitAsync` per waiter on a shared `Int32Array` counter:
 * what one parked `waitAsync` per wait costs on this platform, the floor of a
 * shared group that parks each waiter on its own.
 */
export class RawWaitAsyncGroup implements Group {
  readonly counter = new Int32Array(new SharedArrayBuffer(4));

  add(delta: number): void {
    Atomics.add(this.counter, 0, delta);
  }

  done(): void {
    if (Atomics.sub(this.counter, 0, 1) === 1) Atomics.notify(this.counter, 0);
  }

  wait(): Promise<void> {
    const value = Atomics.load(this.counter, 0);
    if (value === 0) return RESOLVED;
    const result = Atomics.waitAsync(this.counter, 0, value);
    return (result.async ? result.value : RESOLVED) as Promise<void>;
  }
}

/** Every contender id, with its label in the tables. */
export const LABELS: Readonly<Record<string, string>> = {
  a: '(a) Promise.all',
  b: '(b) number + one resolver',
  b2: "(b') number + resolver array",
  e: '(e) naive packed bigint',
  f: '(f) number + go() one promise',
  w: '(w) (b) over a bigint word',
  s: '(s) (w) through our call structure',
  's-go': "(s) with (f)'s go()",
  g: '(g) raw Atomics.waitAsync each',
  d: '(d) raw Atomics.sub + waitAsync',
  c: '(c) postMessage barrier',
  local: 'awaitgroup local add+done',
  'local-go': 'awaitgroup local go()',
  'local-debug': 'awaitgroup local add+done, debug on',
  'local-go-debug': 'awaitgroup local go(), debug on',
  'local-go-traced': 'awaitgroup local go(), one tracing subscriber',
  shared: 'awaitgroup shared',
  jpw: '@jpwilliams/waitgroup',
  esfx: '@esfx/async-countdown',
  teamwork: '@hapi/teamwork',
  ...LIMITER_LABELS,
};

/**
 * loadContender imports only what contender `id` needs. The (a), (c) and (d)
 * baselines have no group: their workloads write them out.
 */
export async function loadContender(id: string): Promise<Contender> {
  switch (id) {
    case 'b':
      return { create: () => new CounterGroup() };
    case 'b2':
      return { create: () => new ResolverArrayGroup() };
    case 'e':
      return { create: () => new PackedBigIntGroup() };
    case 'w':
      return { create: () => new BareWordGroup() };
    case 's':
      return { create: () => new StructureFloorGroup() };
    case 'g':
      return { create: () => new RawWaitAsyncGroup() };
    case 'f':
      return {
        create: () => new GoCounterGroup(),
        go: (group, task) => {
          (group as GoCounterGroup).go(task);
        },
      };
    case 's-go':
      return {
        create: () => new StructureFloorGoGroup(),
        go: (group, task) => {
          (group as StructureFloorGoGroup).go(task);
        },
      };
    case 'local':
    case 'local-go':
    case 'local-debug':
    case 'local-go-debug':
    case 'local-go-traced':
    case 'shared': {
      const { WaitGroup } = await import('../lib/index.js');
      // One subscriber that does nothing, as an APM's would before it samples: the cost of a trace.
      if (id === 'local-go-traced') await subscribeToTasks();
      const shared = id === 'shared';
      // Debug off is explicit, so that AWAITGROUP_DEBUG in the environment cannot turn it on.
      const debug = id.endsWith('-debug');
      return {
        create: () => new WaitGroup({ shared, debug }),
        go: (group, task) => {
          (group as InstanceType<typeof WaitGroup>).go(task);
        },
      };
    }
    case 'jpw': {
      const { WaitGroup } = await import('@jpwilliams/waitgroup');
      return { create: () => new WaitGroup() };
    }
    case 'esfx': {
      const { AsyncCountdownEvent } = await import('@esfx/async-countdown');
      return { create: () => new EsfxGroup(new AsyncCountdownEvent(1)) };
    }
    case 'teamwork': {
      const { Team } = await import('@hapi/teamwork');
      return { create: (expected) => new TeamGroup(new Team({ meetings: expected })) };
    }
    default:
      throw new Error(`unknown contender ${id}`);
  }
}

/** subscribeToTasks subscribes a no-op subscriber to every event of the awaitgroup:task channel. */
async function subscribeToTasks(): Promise<void> {
  const { tracingChannel } = await import('node:diagnostics_channel');
  const ignore = (): void => {};
  tracingChannel('awaitgroup:task').subscribe({
    start: ignore,
    end: ignore,
    asyncStart: ignore,
    asyncEnd: ignore,
    error: ignore,
  });
}

interface Countdown {
  add(count?: number): void;
  signal(count?: number): boolean;
  wait(): Promise<void>;
}

/**
 * An AsyncCountdownEvent cannot be incremented once at zero, so it starts at
 * 1 (a sentinel) and the sentinel is signalled by the first wait().
 */
class EsfxGroup implements Group {
  readonly #countdown: Countdown;
  #armed = true;

  constructor(countdown: Countdown) {
    this.#countdown = countdown;
  }

  add(delta: number): void {
    this.#countdown.add(delta);
  }

  done(): void {
    this.#countdown.signal();
  }

  wait(): Promise<void> {
    if (this.#armed) {
      this.#armed = false;
      this.#countdown.signal();
    }
    return this.#countdown.wait();
  }
}

interface TeamLike {
  work: Promise<unknown>;
  attend(note?: unknown): void;
}

/** A Team knows its number of meetings up front: add() is a no-op, done() attends. */
class TeamGroup implements Group {
  readonly #team: TeamLike;

  constructor(team: TeamLike) {
    this.#team = team;
  }

  add(_delta: number): void {}

  done(): void {
    this.#team.attend();
  }

  wait(): Promise<void> {
    return this.#team.work as Promise<void>;
  }
}
