/**
 * ErrGroup: Go's `golang.org/x/sync/errgroup` for the event loop.
 * A layer beside the core, the size of its idea: a {@link WaitGroup} that
 * counts the admitted tasks, a FIFO of tasks waiting for a slot (each behind
 * a promise made in its go()'s async context), the task errors, and an
 * `AbortController` whose signal every task is handed. The options live in
 * errgroup-options.ts, map and mapIterable in errgroup-map.ts, debug mode's
 * ledger in errgroup-debug.ts.
 *
 * @module
 */

import {
  debugFor,
  type ErrGroupDebug,
  type ErrGroupUnfinishedTask,
  type TaskUnit,
} from './errgroup-debug.js';
import { type ErrGroupMapper, map, mapIterable } from './errgroup-map.js';
import {
  type CheckedOptions,
  checkGoOptions,
  checkLimit,
  checkOptions,
  type ErrGroupGoOptions,
  type ErrGroupOptions,
} from './errgroup-options.js';
import { describe, errGroupClosed, errGroupTaskFailed, type WaitGroupError } from './errors.js';
import {
  type ErrGroupAbortCause,
  noteQueued,
  publishAbort,
  queuedMs,
  queuedName,
  TASKS,
  traceTask,
  traceWait,
  untraced,
  WAITS,
} from './tracing.js';
import { WaitGroup } from './waitgroup.js';

export type { ErrGroupUnfinishedTask } from './errgroup-debug.js';
export type { ErrGroupMapper } from './errgroup-map.js';
export type { ErrGroupGoOptions, ErrGroupOptions } from './errgroup-options.js';

/** A task of the group: it is handed the group's signal, or its own when it has a timeout. */
export type ErrGroupTask<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** What a group has done since it was made; `eg.stats` returns a frozen copy. */
export interface ErrGroupStats {
  /** Tasks `go()` and `tryGo()` accepted, including those refused by an aborted group. */
  readonly admitted: number;
  /** Tasks whose function was called. */
  readonly started: number;
  /** Started tasks whose promise fulfilled. */
  readonly fulfilled: number;
  /** Started tasks whose promise rejected. */
  readonly rejected: number;
  /** Admitted tasks that never ran: dropped from the queue, or admitted after the abort. */
  readonly dropped: number;
  /** Tasks running now. */
  readonly active: number;
  /** Tasks waiting for a slot now. */
  readonly queued: number;
}

/**
 * A task admitted while no slot was free. The promise `go()` returned is a
 * reaction to a promise made in `go()`'s own call: settling it starts
 * the task in the async context of that call, wherever the slot was freed.
 */
interface Queued {
  readonly fn: ErrGroupTask<unknown>;
  readonly timeout: number;
  readonly unit: TaskUnit | undefined;
  /** Settles the promise made in go(): the task starts, or is dropped, in its reaction. */
  start: (entry: Queued) => void;
  /** Why the task was dropped; {@link QUEUED} while it has not been. */
  reason: unknown;
  next: Queued | undefined;
}

const ignore = (): void => {};

/** expire aborts a task's own signal when its timeout is up (E14). */
function expire(own: AbortController, timeout: number): void {
  own.abort(
    new DOMException(`the task ran longer than its timeout of ${timeout} ms`, 'TimeoutError'),
  );
}

// T1, T2: the tracing gates, module-local (an import is read through its live binding on every call).
const tasks = TASKS;
const waits = WAITS;

/** The reason of a queued task that has not been dropped. */
const QUEUED: unique symbol = Symbol('queued');

/** handled marks `promise` handled, so that ignoring it raises no `unhandledRejection` (E3). */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(ignore);
  return promise;
}

function checkTask(fn: unknown, method: string): void {
  if (typeof fn !== 'function') {
    throw new TypeError(
      `${method}: fn must be a function (signal) => value, got ${describe(fn)}; nothing was admitted`,
    );
  }
}

/** abortError is the reason of an abort nobody gave a reason for. */
function abortError(message: string): DOMException {
  return new DOMException(message, 'AbortError');
}

/** quote describes an error in one line for an AggregateError's message. */
function quote(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`;
    return String(error);
  } catch {
    return 'an error that cannot be printed';
  }
}

/**
 * An ErrGroup runs a batch of tasks that stops at the first error. Each
 * task is handed {@link ErrGroup.signal}, which aborts at the first task error (unless
 * `cancelOnError` is false), at the parent signal's abort, at
 * {@link ErrGroup.cancel}, or when {@link ErrGroup.wait} settles;
 * once it has aborted, queued tasks never start. {@link ErrGroup.limit} bounds how
 * many tasks run at once, and a queued task runs in the async context
 * (`AsyncLocalStorage`, `AsyncContext`) of the `go()` call that admitted it.
 *
 * It is Go's errgroup (Group, WithContext, Go, TryGo, SetLimit, Wait) over a
 * local {@link WaitGroup}, with what a fan-out in one process needs besides:
 * an error policy (`errors: 'all'`, `cancelOnError: false`), per-task
 * timeouts, {@link ErrGroup.cancel} and {@link ErrGroup.clearQueue}, {@link ErrGroup.stats}, and
 * {@link ErrGroup.run}, {@link ErrGroup.map} and {@link ErrGroup.mapIterable}.
 * A group serves one batch: once `wait()` has settled it admits nothing
 * more (create a new one).
 *
 * The first error is recorded and the signal aborted before the failing task
 * counts as done, so both are visible when `wait()` resumes.
 *
 * @example
 * ```ts
 * const eg = new ErrGroup({ limit: 8 });
 * for (const url of urls) eg.go((signal) => fetch(url, { signal }));
 * await eg.wait(); // rejects with the first failure, after every task settled
 * ```
 */
export class ErrGroup implements AsyncDisposable {
  /** The group's own signal, handed to every task without a timeout. */
  readonly signal: AbortSignal;

  readonly #controller = new AbortController();
  readonly #tasks = new WaitGroup({ debug: false });
  readonly #parent: AbortSignal | undefined;
  readonly #onParentAbort = (): void => this.#stop(this.#parent?.reason, 'parent');
  readonly #all: boolean;
  readonly #cancelOnError: boolean;
  readonly #timeout: number;
  #limit: number;
  #active = 0;
  #queued = 0;
  #head: Queued | undefined;
  #tail: Queued | undefined;
  // E18: counted from the group's start.
  #admitted = 0;
  #started = 0;
  #fulfilled = 0;
  #rejected = 0;
  #dropped = 0;
  // E13: every task error, in the order they failed.
  readonly #errors: unknown[] = [];
  // E8, E15: a stop by the parent, cancel() or run()'s body, and its reason.
  #stopped = false;
  #stopReason: unknown;
  #closed = false;
  #outcome: Promise<void> | undefined;
  // E14: the controllers of the running tasks that have a timeout.
  readonly #timed = new Set<AbortController>();
  // E19: debug mode's ledger of the tasks, undefined outside debug mode.
  readonly #debug: ErrGroupDebug | undefined;

  /**
   * Creates a group. With `signal`, the group's signal aborts when that
   * parent does (a parent already aborted makes a group already aborted with
   * its reason); with `limit`, at most that many tasks run at once; `errors`,
   * `cancelOnError` and `timeout` choose the error policy and a default
   * timeout for every task.
   *
   * @throws {TypeError} if `options` is not an object, `signal` is not an
   *   AbortSignal, `limit` or `timeout` is not a number, `errors` is neither
   *   `'first'` nor `'all'`, or `cancelOnError` is not a boolean.
   * @throws {RangeError} if `limit` is not an integer ≥ 1 nor Infinity, or
   *   `timeout` is not a positive number.
   */
  constructor(options?: ErrGroupOptions) {
    const checked: CheckedOptions = checkOptions(options, 'new ErrGroup');
    this.#limit = checked.limit;
    this.#all = checked.all;
    this.#cancelOnError = checked.cancelOnError;
    this.#timeout = checked.timeout;
    this.#debug = debugFor(checked.debug);
    this.signal = this.#controller.signal;
    // E5: whatever aborts the signal drops the queue in that same moment.
    this.signal.addEventListener(
      'abort',
      () => {
        const reason = this.signal.reason;
        // E14: the signal of each running task with a timeout follows the group's.
        for (const own of this.#timed) own.abort(reason);
        this.#dropQueued(reason);
      },
      { once: true },
    );
    const parent = checked.signal;
    this.#parent = parent;
    if (parent?.aborted) this.#stop(parent.reason, 'parent');
    else parent?.addEventListener('abort', this.#onParentAbort, { once: true });
  }

  /**
   * limit is how many tasks may run at once. Raising it starts queued tasks
   * at once (their functions are called in the promise reactions the setter
   * schedules, before any macrotask); lowering it lets running tasks finish.
   *
   * @throws {TypeError} if set to a non-number; {RangeError} unless an integer ≥ 1 or Infinity.
   */
  get limit(): number {
    return this.#limit;
  }

  set limit(value: number) {
    this.#limit = checkLimit(value, 'ErrGroup limit');
    this.#startQueued();
  }

  /** active is the number of tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** queued is the number of admitted tasks waiting for a slot. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * stats counts what the group has done since it was made: admitted,
   * started, fulfilled, rejected and dropped tasks, and the active and
   * queued ones now. At every moment `admitted = started + dropped + queued`
   * and `started = fulfilled + rejected + active`.
   */
  get stats(): ErrGroupStats {
    return Object.freeze({
      admitted: this.#admitted,
      started: this.#started,
      fulfilled: this.#fulfilled,
      rejected: this.#rejected,
      dropped: this.#dropped,
      active: this.#active,
      queued: this.#queued,
    });
  }

  /**
   * errors is every task error so far, in the order the tasks failed, as a
   * frozen copy. A rejection with the group's own abort reason is not in it
   * (the task stopped because it was told to), and a task that rejected with
   * `undefined` appears as a WaitGroupError ERR_ERRGROUP_TASK_FAILED.
   */
  get errors(): readonly unknown[] {
    return Object.freeze(this.#errors.slice());
  }

  /**
   * go admits `fn`: `wait()` waits for it. If a slot is free, `fn(signal)` is
   * called at once, as `Promise.try` does (a synchronous throw is the task's
   * error); otherwise it queues, first in first out, and runs later in the
   * async context of this call. The returned promise carries `fn`'s result
   * and is already marked handled: ignoring it raises no
   * `unhandledRejection`.
   *
   * With a `timeout` (here or the group's), the task is handed a signal of
   * its own that follows the group's and also aborts with a `TimeoutError`
   * once the task has run that long.
   *
   * On a group whose signal has aborted, `fn` is not called and the promise
   * rejects with the signal's reason. With the default policy the first task
   * to fail records its error and aborts the signal before it counts as done.
   *
   * @throws {TypeError} if `fn` is not a function or `options` are malformed.
   * @throws {WaitGroupError} ERR_ERRGROUP_CLOSED once `wait()` has settled.
   * @example
   * ```ts
   * const page = eg.go((signal) => fetch(url, { signal }).then((r) => r.text()), { timeout: 5000 });
   * ```
   */
  go<T>(fn: ErrGroupTask<T>, options?: ErrGroupGoOptions): Promise<Awaited<T>> {
    checkTask(fn, 'go');
    let timeout = this.#timeout;
    let name: string | undefined;
    if (options !== undefined) {
      const checked = checkGoOptions(options, 'go');
      timeout = checked.timeout ?? timeout;
      name = checked.name;
    }
    if (this.#closed) throw errGroupClosed();
    this.#admitted++;
    if (this.signal.aborted) {
      this.#dropped++;
      return handled(Promise.reject(this.signal.reason));
    }
    this.#tasks.add(1);
    const unit = this.#debug?.ledger.started(name);
    if (this.#active < this.#limit) return this.#start(fn, timeout, unit, name);
    if (unit !== undefined) unit.queued = true;
    return handled(this.#enqueue(fn, timeout, unit, name) as Promise<Awaited<T>>);
  }

  /**
   * tryGo starts `fn` now if a slot is free and the group has neither aborted
   * nor settled, and returns its promise as {@link ErrGroup.go} does; otherwise it
   * returns `undefined` and admits nothing: it never queues.
   *
   * @throws {TypeError} if `fn` is not a function or `options` are malformed.
   */
  tryGo<T>(fn: ErrGroupTask<T>, options?: ErrGroupGoOptions): Promise<Awaited<T>> | undefined {
    checkTask(fn, 'tryGo');
    let timeout = this.#timeout;
    let name: string | undefined;
    if (options !== undefined) {
      const checked = checkGoOptions(options, 'tryGo');
      timeout = checked.timeout ?? timeout;
      name = checked.name;
    }
    if (this.#closed || this.signal.aborted || this.#active >= this.#limit) return undefined;
    this.#admitted++;
    this.#tasks.add(1);
    return this.#start(fn, timeout, this.#debug?.ledger.started(name), name);
  }

  /**
   * cancel aborts the group as a parent's abort does: the signal aborts with
   * `reason` (an `AbortError` by default), queued tasks are dropped, and
   * `wait()` rejects with `reason` unless a task failed. It does nothing
   * once the signal has aborted or the group has settled.
   */
  cancel(reason?: unknown): void {
    if (this.#closed || this.signal.aborted) return;
    this.#stop(reason === undefined ? abortError('the ErrGroup was cancelled') : reason, 'cancel');
  }

  /**
   * clearQueue drops the tasks that have not started: their promises reject
   * with `reason` (an `AbortError` by default) and they count as done. It
   * returns how many it dropped. Running tasks and the signal are untouched
   * and the group goes on admitting work: `clearQueue()` then `await
   * eg.wait()` is a graceful drain.
   */
  clearQueue(reason?: unknown): number {
    if (this.#closed) return 0;
    const count = this.#queued;
    this.#dropQueued(reason === undefined ? abortError('the ErrGroup queue was cleared') : reason);
    return count;
  }

  /**
   * unfinished returns the tasks that have not finished, oldest first, each
   * with `queued` saying whether it still waits for a slot. In debug mode
   * each is named by its `name` and the site of its `go()`, with its time;
   * otherwise there is one anonymous entry for the running tasks and one for
   * the queued ones, each with its count.
   */
  unfinished(): readonly ErrGroupUnfinishedTask[] {
    if (this.#debug !== undefined) return this.#debug.unfinished();
    const open: ErrGroupUnfinishedTask[] = [];
    const anonymous = { name: undefined, site: undefined, since: undefined };
    if (this.#active > 0) open.push({ ...anonymous, count: this.#active, queued: false });
    if (this.#queued > 0) open.push({ ...anonymous, count: this.#queued, queued: true });
    return open;
  }

  /**
   * wait returns a promise that settles once every admitted task has settled,
   * stragglers included, and dropped tasks count as settled. It rejects with
   * the first task error (with `errors: 'all'`, an `AggregateError` of every
   * task error); else, if the parent aborted or the group was cancelled,
   * with that reason; else it resolves. The signal has aborted by then.
   * Every call returns the same outcome, and once it has settled the group
   * admits nothing more.
   *
   * A task admitted after the last one settled but before `wait()` resumed
   * (from a reaction to a task's promise, say) is waited for too.
   *
   * @example
   * ```ts
   * await eg.wait();
   * ```
   */
  wait(): Promise<void> {
    if (this.#outcome === undefined) {
      this.#outcome = handled(this.#settle());
      this.#debug?.waiting(this, !this.#closed);
    }
    // T1: one wait trace per call that has tasks to wait for (the inner group's wait is untraced).
    if (waits.hasSubscribers && this.#tasks.counter !== 0) {
      return traceWait('ErrGroup', this, this.#outcome);
    }
    return this.#outcome;
  }

  /** `await using eg = new ErrGroup()` waits at the end of the scope and throws the first error there. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.wait();
  }

  get [Symbol.toStringTag](): string {
    return 'ErrGroup';
  }

  /** How Node's `util.inspect` shows a group. */
  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: { stylize?: (text: string, style: string) => string },
  ): string {
    const style = options?.stylize ?? ((text: string) => text);
    const number = (value: number): string => style(String(value), 'number');
    const settled = this.#fulfilled + this.#rejected + this.#dropped;
    return (
      `ErrGroup { active: ${number(this.#active)}, queued: ${number(this.#queued)}, ` +
      `limit: ${number(this.#limit)}, aborted: ${style(String(this.signal.aborted), 'boolean')}, ` +
      `settled: ${number(settled)}/${number(this.#admitted)} }`
    );
  }

  /**
   * run makes a group, calls `body(eg)` at once (as `Promise.try` does) and
   * waits for the group. If the body throws or rejects, the group's signal
   * aborts with that error at once (running tasks are told, queued ones
   * dropped) and, once every task has settled, `run` rejects with the body's
   * error, unless a task had failed before it: then with what `wait()`
   * rejects with. Otherwise it resolves with the body's value once `wait()`
   * has resolved, or rejects with `wait()`'s reason. Bad arguments reject.
   *
   * @example
   * ```ts
   * const pages = await ErrGroup.run(async (eg) => {
   *   const a = eg.go((signal) => fetch('/a', { signal }));
   *   const b = eg.go((signal) => fetch('/b', { signal }));
   *   return [await a, await b];
   * }, { limit: 4 });
   * ```
   */
  static async run<T>(
    body: (eg: ErrGroup) => T | PromiseLike<T>,
    options?: ErrGroupOptions,
  ): Promise<Awaited<T>> {
    if (typeof body !== 'function') {
      throw new TypeError(
        `ErrGroup.run: body must be a function (eg) => value, got ${describe(body)}`,
      );
    }
    const eg = new ErrGroup(options);
    let value: Awaited<T>;
    try {
      value = await body(eg);
    } catch (error) {
      // E16: the body's failure stops the group at once; a task error that came first wins.
      const taskFirst = eg.#errors.length > 0;
      if (!eg.#closed && !eg.signal.aborted) eg.#stop(error, 'body');
      try {
        await eg.wait();
      } catch (reason) {
        if (taskFirst) throw reason;
      }
      throw error;
    }
    await eg.wait();
    return value;
  }

  /**
   * map calls `fn(item, index, signal)` for every item of an iterable or an
   * async iterable under a group made with `options` (limit, error policy,
   * timeout, async context), and resolves with the results in input order
   * once the group has resolved; it rejects as the group's `wait()` does.
   * Items are pulled lazily: at most `limit` are taken ahead of a free slot,
   * so a stream of a million items with `limit: 8` holds about eight. It
   * stops pulling when the group aborts and closes the iterator; an error of
   * the iterator itself is a task error. Bad arguments reject.
   *
   * @example
   * ```ts
   * const pages = await ErrGroup.map(urls, (url, _i, signal) => fetch(url, { signal }), { limit: 8 });
   * ```
   */
  static map<I, O>(
    input: Iterable<I> | AsyncIterable<I>,
    fn: ErrGroupMapper<I, O>,
    options?: ErrGroupOptions,
  ): Promise<Awaited<O>[]> {
    return map(input, fn, () => new ErrGroup(options));
  }

  /**
   * mapIterable is the streaming form of {@link ErrGroup.map}: an async
   * iterator that yields the results in input order as they become
   * available, holding at most 2 × `limit` items pulled and not yet yielded
   * (a slow consumer stops the pulling). It yields the results before a
   * failed item and then throws that item's error (with `errors: 'all'`,
   * the group's `AggregateError` after the last result). Leaving the loop
   * early (`break`) aborts the group, closes the source and waits for the
   * running tasks. Bad arguments reject the first `next()`.
   *
   * @example
   * ```ts
   * for await (const row of ErrGroup.mapIterable(readable, parse, { limit: 8 })) console.log(row);
   * ```
   */
  static mapIterable<I, O>(
    input: Iterable<I> | AsyncIterable<I>,
    fn: ErrGroupMapper<I, O>,
    options?: ErrGroupOptions,
  ): AsyncIterableIterator<Awaited<O>> {
    return mapIterable(
      input,
      fn,
      () => new ErrGroup(options),
      () => options?.errors === 'all',
    );
  }

  /**
   * #start runs an admitted task in a slot; its settle handler frees the slot.
   * It returns the promise of the task's result itself: the settle handlers'
   * reaction on it marks it handled, and they return nothing and never throw,
   * so the promise `then` makes for them cannot be an unhandled rejection.
   * One promise per task, as WaitGroup go() makes, and one pair of handlers
   * per group (the unlimited row of SPEC §7). A task with a timeout, or any
   * task in debug mode, takes the slower path of #startTracked.
   */
  #start<T>(
    fn: ErrGroupTask<T>,
    timeout: number,
    unit: TaskUnit | undefined,
    name: string | undefined,
    queued?: Queued,
  ): Promise<Awaited<T>> {
    this.#active++;
    this.#started++;
    if (timeout !== Number.POSITIVE_INFINITY || unit !== undefined) {
      return this.#startTracked(fn, timeout, unit, name, queued);
    }
    let result: T | PromiseLike<T>;
    try {
      // T1: go, tryGo and queued tasks are traced alike; a dropped task never gets here.
      result = tasks.hasSubscribers ? this.#trace(fn, this.signal, name, queued) : fn(this.signal);
    } catch (error) {
      result = Promise.reject(error);
    }
    const settled = Promise.resolve(result) as Promise<Awaited<T>>;
    settled.then(this.#onFulfilled, this.#onRejected);
    return settled;
  }

  /**
   * #startTracked is #start for a task with a timeout or in debug mode.
   * A task with a timeout gets a signal of its own, which follows the
   * group's and aborts with a `TimeoutError` when its time is up; its
   * listener and timer go when the task settles, and its debug unit once it
   * counts as done.
   */
  #startTracked<T>(
    fn: ErrGroupTask<T>,
    timeout: number,
    unit: TaskUnit | undefined,
    name: string | undefined,
    queued: Queued | undefined,
  ): Promise<Awaited<T>> {
    if (unit !== undefined) unit.queued = false;
    let signal = this.signal;
    let cleanup = ignore;
    if (timeout !== Number.POSITIVE_INFINITY) {
      // The group's one abort listener aborts every running timed task
      // (#abortTimed): a listener per task would make each addEventListener
      // walk all the others, O(n²) for n tasks running at once.
      const own = new AbortController();
      const timed = this.#timed;
      timed.add(own);
      const timer = setTimeout(expire, timeout, own, timeout);
      (timer as { unref?: () => void }).unref?.();
      signal = own.signal;
      cleanup = () => {
        clearTimeout(timer);
        timed.delete(own);
      };
    }
    let result: T | PromiseLike<T>;
    try {
      result = tasks.hasSubscribers ? this.#trace(fn, signal, name, queued) : fn(signal); // T1
    } catch (error) {
      result = Promise.reject(error);
    }
    const settled = Promise.resolve(result) as Promise<Awaited<T>>;
    settled.then(
      () => {
        cleanup();
        this.#onFulfilled();
        this.#retire(unit);
      },
      (error: unknown) => {
        cleanup();
        this.#onRejected(error);
        this.#retire(unit);
      },
    );
    return settled;
  }

  /** #trace runs `fn(signal)` inside a trace of awaitgroup:task, named as go() named it (T1). */
  #trace<T>(
    fn: ErrGroupTask<T>,
    signal: AbortSignal,
    name: string | undefined,
    queued: Queued | undefined,
  ): Promise<Awaited<T>> {
    if (queued === undefined) return traceTask('ErrGroup', this, name, 0, fn, signal);
    return traceTask('ErrGroup', this, queuedName(queued), queuedMs(queued), fn, signal);
  }

  /** #retire tells debug mode's ledger that a task counts as done. */
  #retire(unit: TaskUnit | undefined): void {
    if (unit !== undefined) this.#debug?.ledger.finished(unit);
  }

  /**
   * #enqueue queues a task: the promise it returns is a reaction to a
   * promise made here, in go()'s async context, which #startQueued settles
   * when a slot is free. One promise more per queued task, as p-limit pays.
   */
  #enqueue(
    fn: ErrGroupTask<unknown>,
    timeout: number,
    unit: TaskUnit | undefined,
    name: string | undefined,
  ): Promise<unknown> {
    const entry: Queued = { fn, timeout, unit, start: ignore, reason: QUEUED, next: undefined };
    noteQueued(entry, name); // T1: for its trace's name and queuedMs
    const admitted = new Promise<Queued>((start) => {
      entry.start = start;
    });
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.next = entry;
    this.#tail = entry;
    this.#queued++;
    return admitted.then(this.#runQueued);
  }

  /**
   * #runQueued starts a task taken from the queue, in the async context of
   * its go(). Its slot was taken when it left the queue; if the signal
   * aborted in between, the task never starts: it is counted as dropped
   * and done, and its promise rejects with the signal's reason.
   */
  readonly #runQueued = (entry: Queued): Promise<unknown> => {
    // Dropped from the queue (E5, E15): already counted as dropped and done.
    if (entry.reason !== QUEUED) throw entry.reason;
    if (this.signal.aborted) {
      this.#active--;
      this.#started--;
      this.#dropped++;
      this.#tasks.done();
      this.#retire(entry.unit);
      throw this.signal.reason;
    }
    this.#active--;
    this.#started--;
    return this.#start(entry.fn, entry.timeout, entry.unit, undefined, entry);
  };

  readonly #onFulfilled = (): void => {
    this.#fulfilled++;
    this.#finish();
  };

  readonly #onRejected = (error: unknown): void => {
    this.#rejected++;
    const signal = this.signal;
    // E13: a task that stopped because the group told it to is no new error.
    if (!(signal.aborted && error === signal.reason)) {
      const recorded = error === undefined ? errGroupTaskFailed() : error;
      this.#errors.push(recorded);
      // E4: record and abort before this task counts as done.
      if (this.#cancelOnError && !signal.aborted) {
        this.#controller.abort(recorded);
        publishAbort(this, 'error'); // T1
      }
    }
    this.#finish();
  };

  /** #finish frees a slot: the next queued task takes it in this same handler, then the task counts as done. */
  #finish(): void {
    this.#active--;
    this.#startQueued();
    this.#tasks.done();
  }

  /**
   * #startQueued hands free slots to queued tasks, first in first out. The
   * slot is taken here (the task counts as started and active), and the
   * task's function is called in the reaction this schedules.
   */
  #startQueued(): void {
    while (this.#active < this.#limit && this.#head !== undefined && !this.signal.aborted) {
      const entry = this.#shift();
      this.#active++;
      this.#started++;
      entry.start(entry);
    }
  }

  #shift(): Queued {
    const entry = this.#head as Queued;
    this.#head = entry.next;
    entry.next = undefined;
    if (this.#head === undefined) this.#tail = undefined;
    this.#queued--;
    return entry;
  }

  /** #dropQueued drops every queued task: its promise rejects with `reason` and it counts as done (E5, E15). */
  #dropQueued(reason: unknown): void {
    while (this.#head !== undefined) {
      const entry = this.#shift();
      entry.reason = reason;
      entry.start(entry);
      this.#dropped++;
      this.#tasks.done();
      this.#retire(entry.unit);
    }
  }

  /** #stop aborts the group from outside its tasks: the parent, cancel() or run()'s body (E8, E15, E16). */
  #stop(reason: unknown, cause: ErrGroupAbortCause): void {
    if (this.signal.aborted) return;
    this.#stopped = true;
    this.#stopReason = reason;
    this.#controller.abort(reason);
    publishAbort(this, cause); // T1: after the abort's listeners dropped the queue
  }

  async #settle(): Promise<void> {
    for (;;) {
      try {
        await untraced(() => this.#tasks.wait()); // T1: the ErrGroup's wait is traced, not this
      } catch (error) {
        // E8: ERR_WAITGROUP_REUSED would mean a task was admitted between the
        // release and the resume. Every admission here happens in a later
        // microtask than the release's check, so this is a guard: such a
        // task is counted, and is waited for like any other.
        if ((error as WaitGroupError).code !== 'ERR_WAITGROUP_REUSED') throw error;
        continue;
      }
      // This continuation runs a microtask after the wait resolved; a task
      // admitted in between left the counter above zero: wait for it too.
      if (this.#tasks.counter === 0) break;
    }
    this.#closed = true;
    this.#debug?.waiting(this, false);
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
    const errors = this.#errors;
    let failed = true;
    let reason: unknown;
    if (errors.length === 0) {
      failed = this.#stopped;
      reason = this.#stopReason;
    } else if (this.#all) {
      const count = errors.length;
      reason = new AggregateError(
        errors.slice(),
        `${count} task${count === 1 ? '' : 's'} of the ErrGroup failed; the first: ${quote(errors[0])}`,
      );
    } else {
      reason = errors[0];
    }
    // E2, E13: the signal aborts before wait() settles, with its reason if it rejects.
    if (!this.signal.aborted) {
      this.#controller.abort(failed ? reason : abortError('the ErrGroup has finished'));
      publishAbort(this, 'settled'); // T1
    }
    if (failed) throw reason;
  }
}
