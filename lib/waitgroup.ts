/**
 * WaitGroup: Go's sync.WaitGroup algorithm, written once against a
 * `StateCell` (where the word lives) and a `Semaphore` (where
 * waiters park). A local group and a shared group differ only in those two.
 *
 * @module
 */

import { AtomicsSemaphore } from './atomics-semaphore.js';
import { LocalCell, SharedCell, type StateCell } from './cell.js';
import {
  DEBUG_FROM_ENV,
  type GoOptions,
  goName,
  inspectTail,
  trace,
  type UnfinishedTask,
  unfinishedOf,
} from './diagnostics.js';
import {
  counterOverflow,
  describe,
  misuse,
  negativeCounter,
  notShared,
  reused,
  type WaitGroupError,
} from './errors.js';
import { LocalSemaphore } from './local-semaphore.js';
import type { Acquirer, Semaphore } from './semaphore.js';
import {
  allocateHandle,
  BYTE_LENGTH,
  validateHandle,
  viewsOf,
  type WaitGroupHandle,
} from './shared-memory.js';
import {
  AddOutcome,
  addToWord,
  classifyAdd,
  counterOf,
  EMPTY_WORD,
  hasMostWaiters,
  isCounterZero,
  isRegistered,
  MAX_WAITERS,
  waitersOf,
  withoutWaiter,
  withWaiter,
} from './state.js';
import { TASKS, traceTask, traceWait, WAITS } from './tracing.js';

/** Options of the {@link WaitGroup} constructor. */
export interface WaitGroupOptions {
  /** Put the group in a fresh `SharedArrayBuffer`, so that workers can attach to it. */
  // S1.
  readonly shared?: boolean | undefined;
  /**
   * Debug mode: record where each unit was added, so that {@link WaitGroup.unfinished}
   * and the reports of a wait that can never return name it. Default: on when the
   * environment has `AWAITGROUP_DEBUG=1`; `false` turns it off even then.
   */
  // D1.
  readonly debug?: boolean | undefined;
}

/** Options of {@link WaitGroup.wait}. */
export interface WaitOptions {
  /** Abort the wait: it rejects with `signal.reason` and deregisters. */
  // S9.
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link WaitGroup.waitSync}. */
export interface WaitSyncOptions {
  /** Give up after this many milliseconds with a `TimeoutError`. Default: no limit. */
  // S10.
  readonly timeout?: number | undefined;
}

// Module-local copies of the imports the hot path uses. V8 reads an import
// through its module cell, a live binding: an imported constant is not
// folded, and every call of an imported function loads the cell and checks
// it (`--print-opt-code`: a load and two compares per call; under callgrind
// 27 of the 120 instructions of an add+done pair). A module-local const is
// folded (SPEC §7, the add+done pair).
const { Update: UPDATE, Release: RELEASE } = AddOutcome;
const nextWord = addToWord;
const classify = classifyAdd;
const counterIsZero = isCounterZero;
// T1, T2: the tracing gates, read before any tracing work (module-local for the same reason).
const tasks = TASKS;
const waits = WAITS;

/** The handlers a go() task's result settles into: each calls done() once. */
// S11.
interface Settlers {
  readonly fulfilled: <T>(value: T) => T;
  readonly rejected: (reason: unknown) => never;
}

/** The promise `wait()` returns when there is nothing to wait for: settled, shared, free. */
const RESOLVED: Promise<void> = Promise.resolve();

/** The handle that {@link WaitGroup.from} passes to the constructor it calls. */
let attaching: WaitGroupHandle | undefined;

/**
 * WaitSide is the wait half of Go's algorithm over one cell, which the
 * semaphore calls back into.
 */
// model/README.md W9–W11, X1–X2.
class WaitSide implements Acquirer {
  readonly #cell: StateCell;

  constructor(cell: StateCell) {
    this.#cell = cell;
  }

  resumed(): void {
    // Go: if *statep != 0 { panic("sync: WaitGroup is reused ...") }
    if (this.#cell.load() !== EMPTY_WORD) throw reused();
  }

  withdraw(): boolean {
    const cell = this.#cell;
    for (;;) {
      const word = cell.load(); // X1
      // X2: a compare-and-swap from the value read, never a blind subtraction,
      // and only while counter > 0 and waiters > 0: once the release has reset
      // the word, the waiter's token is on its way and the wait must take it.
      if (!isRegistered(word)) return false;
      if (cell.compareAndSwap(word, withoutWaiter(word))) return true;
    }
  }
}

/**
 * safeDelta returns `delta` if it is a safe integer and throws add's TypeError
 * otherwise. Kept out of add() so that the hot path stays small enough to be
 * inlined whole into its caller (V8 budgets inlining by bytecode size).
 */
// S2.
function safeDelta(delta: number): number {
  if (Number.isSafeInteger(delta)) return delta;
  throw new TypeError(
    `add: delta must be a safe integer, got ${describe(delta)}; ` +
      'pass a whole number such as 1 (the default) or -1',
  );
}

/** refusal is the error of a refused add, built out of the hot path. */
// model/README.md A2–A4.
function refusal(outcome: AddOutcome, word: bigint, delta: number): WaitGroupError {
  if (outcome === AddOutcome.Negative) return negativeCounter(counterOf(word), delta);
  if (outcome === AddOutcome.Overflow) return counterOverflow(counterOf(word), delta);
  return misuse();
}

function badOptions(method: string, what: string, value: unknown): TypeError {
  return new TypeError(`${method}: ${what}, got ${describe(value)}`);
}

/**
 * A WaitGroup waits for a collection of tasks to finish. The code that starts
 * the tasks calls {@link WaitGroup.add} to set how many there are; each task calls
 * {@link WaitGroup.done} when it finishes; {@link WaitGroup.wait} returns a promise that resolves
 * once all of them have. It is Go's `sync.WaitGroup`, with the same counter,
 * the same checks and the same messages, for the event loop.
 *
 * A group is local (the default: its state is held by the instance) or
 * shared (its state is 16 bytes of a `SharedArrayBuffer`, so the main thread
 * and workers that attached with {@link WaitGroup.from} use one group).
 *
 * The `done()` that brings the counter to zero happens before every `wait()`
 * it releases resolves.
 *
 * `go()` returns the task's own promise, and `wait()` does not collect
 * errors: a task that can fail must handle its error (or the caller the
 * promise), or its rejection is unhandled, which ends the Node process; for a
 * fan-out that should stop at the first error, use an {@link ErrGroup}.
 *
 * @example
 * ```ts
 * const wg = new WaitGroup();
 * for (const url of urls) {
 *   wg.go(async () => {
 *     try {
 *       pages.set(url, await (await fetch(url)).text());
 *     } catch (error) {
 *       failed.set(url, error); // each task handles its own error
 *     }
 *   });
 * }
 * await wg.wait();
 * ```
 */
export class WaitGroup implements AsyncDisposable {
  /** How many bytes of a `SharedArrayBuffer` a shared group occupies. */
  // SPEC §2.
  static readonly BYTE_LENGTH: 16 = BYTE_LENGTH;

  readonly #cell: StateCell;
  /** A local group makes its semaphore at its first wait (`#sem`): an idle group stays small. */
  // SPEC §7.
  #semaphore: Semaphore | undefined;
  /** go()'s settle handlers, made at the first go() (`#makeSettlers`). */
  #settlers: Settlers | undefined;

  /**
   * Creates an empty group: counter 0, no waiters. With
   * `{ shared: true }` the group lives in a fresh 16-byte `SharedArrayBuffer`
   * and {@link WaitGroup.handle} names it for workers.
   *
   * @throws {TypeError} if `options` is not an object or `shared` is not a boolean.
   * @throws {WaitGroupError} ERR_WAITGROUP_NO_SHARED_MEMORY if `shared` is
   *   requested where `SharedArrayBuffer` does not exist.
   */
  // S1, S14.
  constructor(options?: WaitGroupOptions) {
    let handle = attaching;
    attaching = undefined;
    let debug = DEBUG_FROM_ENV;
    if (handle === undefined && options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        throw badOptions(
          'new WaitGroup',
          'options must be an object like { shared: true }',
          options,
        );
      }
      const { shared } = options;
      if (shared !== undefined && typeof shared !== 'boolean') {
        throw badOptions('new WaitGroup', 'options.shared must be a boolean', shared);
      }
      if (shared) handle = allocateHandle();
      if (options.debug !== undefined) {
        if (typeof options.debug !== 'boolean') {
          throw badOptions('new WaitGroup', 'options.debug must be a boolean', options.debug);
        }
        debug = options.debug;
      }
    }
    if (handle === undefined) {
      this.#cell = new LocalCell();
      this.#semaphore = undefined;
    } else {
      const { words, tokens } = viewsOf(handle);
      this.#cell = new SharedCell(words, 0, handle);
      this.#semaphore = new AtomicsSemaphore(new WaitSide(this.#cell), tokens);
    }
    // D1: a debug group gets its own add, done, go and wait from diagnostics.ts,
    // which call the methods below and keep the books. A group without debug
    // mode has no field and no check for it on any path (D6).
    if (debug) trace(this, this.#cell, WaitGroup.prototype);
  }

  /**
   * from attaches to the shared group that `handle` names. Any number
   * of instances, in any agents, attached to the same bytes are one group.
   * Sixteen zero bytes are an empty group, ready to use.
   *
   * @param handle - `wg.handle` of a shared group (it can be `postMessage`d),
   *   or `{ buffer, byteOffset }` naming 16 bytes of your own `SharedArrayBuffer`
   * @throws {TypeError} if `handle` is not an object or `buffer` is not a `SharedArrayBuffer`.
   * @throws {RangeError} if `byteOffset` is not an integer ≥ 0, not a multiple
   *   of 8, or leaves fewer than 16 bytes.
   * @example
   * ```ts
   * // in a worker
   * const wg = WaitGroup.from(workerData.handle);
   * try { work(); } finally { wg.done(); }
   * ```
   */
  // S14.
  static from(handle: WaitGroupHandle): WaitGroup {
    attaching = validateHandle(handle);
    try {
      return new WaitGroup();
    } finally {
      attaching = undefined;
    }
  }

  /** shared reports whether the group lives in shared memory. */
  get shared(): boolean {
    return this.#cell instanceof SharedCell;
  }

  /**
   * handle names the group's shared memory: pass it to a worker (it is
   * structured-cloneable) and attach there with {@link WaitGroup.from}.
   *
   * @throws {WaitGroupError} ERR_WAITGROUP_NOT_SHARED on a local group.
   */
  // S14.
  get handle(): WaitGroupHandle {
    const cell = this.#cell;
    if (!(cell instanceof SharedCell)) throw notShared();
    return cell.handle;
  }

  /** counter is the number of tasks not yet done, read from the current word. */
  // S13.
  get counter(): number {
    return counterOf(this.#cell.load());
  }

  /** waiters is the number of registered waits not yet released, from the current word. */
  // S13.
  get waiters(): number {
    return waitersOf(this.#cell.load());
  }

  /**
   * add adds `delta`, which may be negative, to the counter. If the counter
   * becomes zero, every pending {@link WaitGroup.wait} is released. If the counter
   * would go negative or above 2^31 − 1, add throws and the group is
   * unchanged (Go applies the add and panics; this refuses it).
   *
   * Calls with a positive delta that start from zero must happen before the
   * {@link WaitGroup.wait} they are meant for; reuse the group only after every earlier
   * wait has settled.
   *
   * @param delta - a safe integer; default 1
   * @throws {TypeError} if `delta` is not a safe integer.
   * @throws {WaitGroupError} ERR_WAITGROUP_NEGATIVE_COUNTER,
   *   ERR_WAITGROUP_COUNTER_OVERFLOW or ERR_WAITGROUP_MISUSE.
   * @example
   * ```ts
   * wg.add(3);
   * ```
   */
  // S5, S3, S4, S8, S2.
  add(delta = 1): void {
    // add() and add(1) skip the check and pass #add a constant (SPEC §7).
    // Two calls, not one call of `delta === 1 ? 1 : safeDelta(delta)`: V8 14
    // keeps that phi's value alive as a number, and then boxes the word it
    // adds into a heap bigint on every add (`--print-opt-code` on Node 26:
    // an allocation per add(1) in the loop, 1,356 bytes of code; 756 and no
    // allocation this way).
    if (delta === 1) this.#add(1);
    else this.#add(safeDelta(delta));
  }

  /**
   * done decrements the counter by one: `add(-1)`. Call it once for
   * every unit added, when that task has finished.
   *
   * @throws {WaitGroupError} ERR_WAITGROUP_NEGATIVE_COUNTER if the counter is 0.
   */
  // S6.
  done(): void {
    this.#add(-1);
  }

  /**
   * #add is Go's Add over the word: a compare-and-swap
   * loop in which a refused add writes nothing, and the add that brings the
   * counter to zero resets the whole word, waiters included, in the same
   * compare-and-swap, then releases the waiters it read.
   *
   * `delta` is a safe integer. It stays a number, not a word delta, so that
   * V8 folds the constant 1 or −1 of add() and done() into the inlined body
   * and keeps the whole path on int64 machine arithmetic: keep this
   * method and what it calls small, as V8 inlines by bytecode budget.
   */
  // SPEC §7; model/README.md A1–A7.
  #add(delta: number): void {
    const cell = this.#cell;
    for (;;) {
      const word = cell.load(); // A1
      const next = nextWord(word, delta);
      const outcome = classify(word, next, delta);
      if (outcome === UPDATE) {
        if (cell.compareAndSwap(word, next)) return; // A5
      } else if (this.#settle(outcome, word, next, delta)) {
        return;
      }
    }
  }

  /**
   * #settle ends an add that does more than store its word: the release
   * (`next` is the waiter count) or a refusal. It returns
   * false if the release lost its compare-and-swap, and #add retries. Kept
   * out of #add so that the whole of add() and done() fits V8's inlining
   * budget twice in a caller's loop (the add+done pair).
   */
  // SPEC §7; model/README.md A6–A7, A2–A4.
  #settle(outcome: AddOutcome, word: bigint, next: bigint, delta: number): boolean {
    if (outcome !== RELEASE) throw refusal(outcome, word, delta);
    if (!this.#cell.compareAndSwap(word, EMPTY_WORD)) return false; // A6
    this.#sem().release(Number(next)); // A7
    return true;
  }

  /**
   * wait returns a promise that resolves once the counter is zero. If it
   * is zero already, the promise is already resolved and nothing is
   * registered. Otherwise the wait registers as a waiter and resolves when
   * the `done()` that brings the counter to zero releases it, in the order
   * the waits were made.
   *
   * It never throws: a bad option, an aborted signal and reuse of the
   * group before the wait has resumed (ERR_WAITGROUP_REUSED) reject the
   * promise. Waits without a signal may share one promise object.
   *
   * @param options - `signal` aborts the wait: it rejects with
   *   `signal.reason` and deregisters; an abort after the release is ignored.
   * A timeout needs a timer that keeps the process alive. Node's
   * `AbortSignal.timeout()` does not, and a pending local wait does not
   * either: `await wg.wait({ signal: AbortSignal.timeout(5_000) })` at the
   * top level, with a `done()` that never comes, ends the process at once
   * (exit code 13) instead of rejecting. A shared group's pending wait keeps
   * the process alive itself.
   *
   * @example
   * ```ts
   * const controller = new AbortController();
   * const timer = setTimeout(() => controller.abort(new Error('gave up')), 5_000);
   * try {
   *   await wg.wait({ signal: controller.signal });
   * } finally {
   *   clearTimeout(timer);
   * }
   * ```
   */
  // S7, S5, S9, S8.
  wait(options?: WaitOptions): Promise<void> {
    try {
      const signal = options === undefined ? undefined : waitSignal(options);
      if (signal?.aborted) return Promise.reject(signal.reason);
      const registered = this.#register();
      if (registered !== true) return registered;
      const waiting = this.#sem().acquire(signal);
      // T1: a wait that registered is traced, when anyone listens.
      return waits.hasSubscribers ? traceWait('WaitGroup', this, waiting) : waiting;
    } catch (error) {
      // S7: wait() reports everything through its promise, even a throwing getter.
      return Promise.reject(error);
    }
  }

  /**
   * waitSync blocks the calling thread until the counter is zero. It
   * returns at once if the counter is zero. On a shared group it blocks in
   * `Atomics.wait` until released, or until `timeout` ms have passed: then it
   * deregisters and throws a `DOMException` named `TimeoutError`.
   *
   * @throws {WaitGroupError} ERR_WAITGROUP_DEADLOCK on a local group with a
   *   counter above zero (nothing could release it); ERR_WAITGROUP_CANNOT_BLOCK
   *   where the thread may not block (a browser's main thread);
   *   ERR_WAITGROUP_REUSED as {@link WaitGroup.wait} rejects.
   * @throws {TypeError} if `timeout` is not a number ≥ 0.
   * @example
   * ```ts
   * // in a worker
   * wg.waitSync({ timeout: 1_000 });
   * ```
   */
  // S10.
  waitSync(options?: WaitSyncOptions): void {
    let timeout = Number.POSITIVE_INFINITY;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        throw badOptions('waitSync', 'options must be an object like { timeout: 1000 }', options);
      }
      if (options.timeout !== undefined) {
        timeout = options.timeout;
        if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
          throw badOptions(
            'waitSync',
            'options.timeout must be a number of milliseconds >= 0 (Infinity for none)',
            timeout,
          );
        }
      }
    }
    if (this.#register(true) === true) this.#sem().acquireSync(timeout);
  }

  /** #sem returns the semaphore, making a local group's on first use. */
  #sem(): Semaphore {
    if (this.#semaphore === undefined) {
      this.#semaphore = new LocalSemaphore(new WaitSide(this.#cell));
    }
    return this.#semaphore;
  }

  /**
   * #register is Go's Wait up to the park: it returns the
   * settled promise if the counter is zero, and true once it has registered
   * one more waiter. A blocking waiter first asks the semaphore whether this
   * thread may block at all, so that a refusal registers nothing.
   */
  // model/README.md W1–W3.
  #register(blocking = false): Promise<void> | true {
    const cell = this.#cell;
    for (;;) {
      const word = cell.load(); // W1
      if (counterIsZero(word)) return RESOLVED; // W2: counter is 0
      if (blocking) this.#sem().assertCanBlock();
      if (hasMostWaiters(word)) {
        throw new RangeError(
          `wait: the group already has ${MAX_WAITERS} waiters registered, the most its word can count`,
        );
      }
      if (cell.compareAndSwap(word, withWaiter(word))) return true; // W3
    }
  }

  /**
   * go adds 1 to the counter, calls `fn` at once (as `Promise.try` does) and
   * returns a promise of its result; `done()` runs exactly once when that
   * result settles, fulfilled or rejected, a synchronous throw included.
   * Task errors are the returned promise's to report: `wait()` does
   * not collect them.
   *
   * In debug mode the task is one unit of {@link WaitGroup.unfinished}, named by
   * `options.name`, retired when its result settles.
   *
   * @param fn - the task
   * @param options - `name` names the task in debug mode's reports
   * @throws {TypeError} if `fn` is not a function, or `options` or `name` is
   *   malformed; nothing is added.
   * @throws {WaitGroupError} ERR_WAITGROUP_COUNTER_OVERFLOW; `fn` is not called.
   * @example
   * ```ts
   * const body = await wg.go(() => fetch(url).then((r) => r.text()));
   * ```
   */
  // S11, D2, D1.
  go<T>(fn: () => T | PromiseLike<T>, options?: GoOptions): Promise<Awaited<T>> {
    if (typeof fn !== 'function') {
      throw new TypeError(`go: fn must be a function, got ${describe(fn)}; nothing was added`);
    }
    if (options !== undefined) goName(options);
    this.#add(1);
    let result: T | PromiseLike<T>;
    try {
      // T1: the task runs inside a trace of its own, when anyone listens.
      result = tasks.hasSubscribers
        ? traceTask('WaitGroup', this, options?.name, 0, fn, undefined)
        : fn();
    } catch (error) {
      this.done();
      return Promise.reject(error);
    }
    const settlers = this.#settlers ?? this.#makeSettlers();
    return Promise.resolve(result).then(settlers.fulfilled, settlers.rejected) as Promise<
      Awaited<T>
    >;
  }

  /**
   * #makeSettlers makes the group's pair of go() settle handlers, once. They
   * are made here and not in go(): a closure over `this` written in go()
   * makes V8 allocate a context on every go() call, taken or not (40 B per
   * task in the go() fan-out rows of the benchmarks, against (f)). One field holds
   * both: two fields cost an idle group 16 B on Node 24 and 26 (* idle group ≤ 320 B).
   */
  // SPEC §7.
  #makeSettlers(): Settlers {
    const settlers: Settlers = {
      fulfilled: (value) => {
        this.done();
        return value;
      },
      rejected: (reason) => {
        this.done();
        throw reason;
      },
    };
    this.#settlers = settlers;
    return settlers;
  }

  /**
   * unfinished returns the units not yet done, oldest first. In debug
   * mode each `add(n)` and `go()` is a unit with its name, call site, time and
   * the counts it still holds; `done()` retires the oldest `add` unit's counts,
   * a `go()` task its own. A shared group lists what this instance added.
   * Outside debug mode it returns one anonymous unit holding the whole counter
   * while the counter is above zero, and nothing once it is zero.
   *
   * @example
   * ```ts
   * const wg = new WaitGroup({ debug: true });
   * wg.add(1); // and a done() that never comes
   * wg.unfinished(); // [{ name: undefined, site: 'file:///app/crawl.js:2:4', since: 1764662400000, count: 1 }]
   * ```
   */
  // D2.
  unfinished(): readonly UnfinishedTask[] {
    return unfinishedOf(this, this.counter);
  }

  /** `await using wg = new WaitGroup()` waits for the group when the scope ends. */
  // S12.
  [Symbol.asyncDispose](): Promise<void> {
    return this.wait();
  }

  get [Symbol.toStringTag](): string {
    return 'WaitGroup';
  }

  /**
   * How Node's `util.inspect` shows a group: its counter, waiters and
   * home; in debug mode also its unfinished units.
   */
  // S13, D3.
  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: { stylize?: (text: string, style: string) => string; breakLength?: number },
  ): string {
    const word = this.#cell.load();
    const style = options?.stylize ?? ((text: string) => text);
    return (
      `WaitGroup { counter: ${style(String(counterOf(word)), 'number')}, ` +
      `waiters: ${style(String(waitersOf(word)), 'number')}, ` +
      `shared: ${style(String(this.shared), 'boolean')}${inspectTail(this, options)} }`
    );
  }
}

/**
 * waitSignal returns the signal of wait()'s `options`, or throws the
 * TypeError for options that are not an object or a signal that is not
 * shaped like an `AbortSignal` (so that signals of other realms and
 * polyfills pass).
 */
function waitSignal(options: WaitOptions): AbortSignal | undefined {
  if (typeof options !== 'object' || options === null) {
    throw badOptions('wait', 'options must be an object like { signal }', options);
  }
  const { signal } = options;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw badOptions('wait', 'options.signal must be an AbortSignal', signal);
  }
  return signal;
}

/** isAbortSignal tells an `AbortSignal`, of this realm or another, by its shape. */
export function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    typeof (value as AbortSignal).removeEventListener === 'function'
  );
}
