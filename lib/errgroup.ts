/**
 * ErrGroup: Go's `golang.org/x/sync/errgroup` for the event loop (SPEC §8).
 * A layer beside the core, the size of its idea: a {@link WaitGroup} that
 * counts the admitted tasks, a FIFO of tasks waiting for a slot, the first
 * error, and an `AbortController` whose signal every task is handed.
 *
 * @module
 */

import { describe, errGroupClosed, type WaitGroupError } from './errors.js';
import {
  type ErrGroupAbortCause,
  noteQueued,
  publishAbort,
  queuedMs,
  TASKS,
  traceTask,
  traceWait,
  untraced,
  WAITS,
} from './tracing.js';
import { isAbortSignal, WaitGroup } from './waitgroup.js';

/** Options of the {@link ErrGroup} constructor (E1). */
export interface ErrGroupOptions {
  /** A parent signal: its abort stops the group, as a cancelled parent context does in Go (E2). */
  readonly signal?: AbortSignal | undefined;
  /** How many tasks may run at once: an integer ≥ 1, or `Infinity` (the default) (E6). */
  readonly limit?: number | undefined;
}

/** A task of the group: it is handed the group's signal. */
export type ErrGroupTask<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** A task admitted while no slot was free, with the settlers of the promise `go()` returned. */
interface Queued {
  readonly fn: ErrGroupTask<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  next: Queued | undefined;
}

const ignore = (): void => {};

// T1, T2: the tracing gates, module-local (an import is read through its live binding on every call).
const tasks = TASKS;
const waits = WAITS;

/** handled marks `promise` handled, so that ignoring it raises no `unhandledRejection` (E3). */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(ignore);
  return promise;
}

/** checkLimit returns `limit` if it is an integer ≥ 1 or Infinity, and throws E1's errors otherwise. */
function checkLimit(limit: unknown, where: string): number {
  if (typeof limit !== 'number') {
    throw new TypeError(
      `${where}: limit must be a number, got ${describe(limit)}; pass an integer >= 1, or Infinity for no limit`,
    );
  }
  if (limit !== Number.POSITIVE_INFINITY && !(Number.isInteger(limit) && limit >= 1)) {
    throw new RangeError(
      `${where}: limit must be an integer >= 1 or Infinity, got ${limit}; ` +
        'use 1 to run one task at a time',
    );
  }
  return limit;
}

function checkTask(fn: unknown, method: string): void {
  if (typeof fn !== 'function') {
    throw new TypeError(
      `${method}: fn must be a function (signal) => value, got ${describe(fn)}; nothing was admitted`,
    );
  }
}

/**
 * An ErrGroup runs a batch of tasks that stops at the first error. Each
 * task is handed {@link signal}, which aborts at the first task error, at the
 * parent signal's abort, or when {@link wait} settles; once it has aborted,
 * queued tasks never start. {@link limit} bounds how many tasks run at once.
 *
 * It is Go's errgroup (Group, WithContext, Go, TryGo, SetLimit, Wait) over a
 * local {@link WaitGroup}. A group serves one batch: once `wait()` has
 * settled it admits nothing more (create a new one).
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
  /** The group's own signal, handed to every task (E2). */
  readonly signal: AbortSignal;

  readonly #controller = new AbortController();
  readonly #tasks = new WaitGroup();
  readonly #parent: AbortSignal | undefined;
  readonly #onParentAbort = (): void => this.#abortByParent();
  #limit = Number.POSITIVE_INFINITY;
  #active = 0;
  #queued = 0;
  #head: Queued | undefined;
  #tail: Queued | undefined;
  #failed = false;
  #error: unknown;
  #parentAborted = false;
  #closed = false;
  #outcome: Promise<void> | undefined;

  /**
   * Creates a group (E1). With `signal`, the group's signal aborts when that
   * parent does (a parent already aborted makes a group already aborted with
   * its reason); with `limit`, at most that many tasks run at once.
   *
   * @throws {TypeError} if `options` is not an object, `signal` is not an
   *   AbortSignal or `limit` is not a number.
   * @throws {RangeError} if `limit` is not an integer ≥ 1 nor Infinity.
   */
  constructor(options?: ErrGroupOptions) {
    let parent: AbortSignal | undefined;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        throw new TypeError(
          `new ErrGroup: options must be an object like { signal, limit: 8 }, got ${describe(options)}`,
        );
      }
      const { signal, limit } = options;
      if (signal !== undefined && !isAbortSignal(signal)) {
        throw new TypeError(
          `new ErrGroup: options.signal must be an AbortSignal, got ${describe(signal)}`,
        );
      }
      if (limit !== undefined) this.#limit = checkLimit(limit, 'new ErrGroup');
      parent = signal;
    }
    this.signal = this.#controller.signal;
    // E5: whatever aborts the signal drops the queue in that same moment.
    this.signal.addEventListener('abort', () => this.#dropQueued(), { once: true });
    this.#parent = parent;
    if (parent?.aborted) this.#abortByParent();
    else parent?.addEventListener('abort', this.#onParentAbort, { once: true });
  }

  /**
   * limit is how many tasks may run at once (E6). Raising it starts queued
   * tasks at once, inside the setter; lowering it lets running tasks finish.
   *
   * @throws {TypeError} if set to a non-number; {RangeError} unless an integer ≥ 1 or Infinity (E1).
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
   * go admits `fn` (E3): `wait()` waits for it. If a slot is free, `fn(signal)`
   * is called at once, as `Promise.try` does (a synchronous throw is the
   * task's error); otherwise it queues, first in first out. The returned
   * promise carries `fn`'s result and is already marked handled: ignoring it
   * raises no `unhandledRejection`.
   *
   * On a group whose signal has aborted, `fn` is not called and the promise
   * rejects with the signal's reason (E5). The first task to fail records its
   * error and aborts the signal before it counts as done (E4).
   *
   * @throws {TypeError} if `fn` is not a function.
   * @throws {WaitGroupError} ERR_ERRGROUP_CLOSED once `wait()` has settled.
   * @example
   * ```ts
   * const page = eg.go((signal) => fetch(url, { signal }).then((r) => r.text()));
   * ```
   */
  go<T>(fn: ErrGroupTask<T>): Promise<Awaited<T>> {
    checkTask(fn, 'go');
    if (this.#closed) throw errGroupClosed();
    if (this.signal.aborted) return handled(Promise.reject(this.signal.reason));
    this.#tasks.add(1);
    if (this.#active < this.#limit) return this.#start(fn);
    return handled(
      new Promise<Awaited<T>>((resolve, reject) => {
        const entry: Queued = {
          fn,
          resolve: resolve as (value: unknown) => void,
          reject,
          next: undefined,
        };
        if (this.#tail === undefined) this.#head = entry;
        else this.#tail.next = entry;
        this.#tail = entry;
        this.#queued++;
        noteQueued(entry); // T1: for its trace's queuedMs
      }),
    );
  }

  /**
   * tryGo starts `fn` now if a slot is free and the group has neither aborted
   * nor settled, and returns its promise as {@link go} does; otherwise it
   * returns `undefined` and admits nothing: it never queues (E7).
   *
   * @throws {TypeError} if `fn` is not a function.
   */
  tryGo<T>(fn: ErrGroupTask<T>): Promise<Awaited<T>> | undefined {
    checkTask(fn, 'tryGo');
    if (this.#closed || this.signal.aborted || this.#active >= this.#limit) return undefined;
    this.#tasks.add(1);
    return this.#start(fn);
  }

  /**
   * wait returns a promise that settles once every admitted task has settled,
   * stragglers included, and queued tasks dropped by an abort count as
   * settled (E8). It rejects with the first task error; else, if the parent
   * aborted, with the parent's reason; else it resolves. The signal has
   * aborted by then (E2). Every call returns the same outcome, and once it
   * has settled the group admits nothing more (E3).
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
    this.#outcome ??= handled(this.#settle());
    // T1: one wait trace per call that has tasks to wait for (the inner group's wait is untraced).
    if (waits.hasSubscribers && this.#tasks.counter !== 0) {
      return traceWait('ErrGroup', this, this.#outcome);
    }
    return this.#outcome;
  }

  /** `await using eg = new ErrGroup()` waits at the end of the scope and throws the first error there (E9). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.wait();
  }

  get [Symbol.toStringTag](): string {
    return 'ErrGroup';
  }

  /** How Node's `util.inspect` shows a group (E10). */
  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: { stylize?: (text: string, style: string) => string },
  ): string {
    const style = options?.stylize ?? ((text: string) => text);
    const number = (value: number): string => style(String(value), 'number');
    return (
      `ErrGroup { active: ${number(this.#active)}, queued: ${number(this.#queued)}, ` +
      `limit: ${number(this.#limit)}, aborted: ${style(String(this.signal.aborted), 'boolean')} }`
    );
  }

  /**
   * #start runs an admitted task in a slot; its settle handler frees the slot
   * (E4, E6). It returns the promise of the task's result itself: the settle
   * handlers' reaction on it marks it handled (E3), and they return nothing
   * and never throw, so the promise `then` makes for them cannot be an
   * unhandled rejection. One promise per task, as WaitGroup go() makes: a
   * `catch()` on a promise of their own cost a promise and a microtask per
   * task (the unlimited row of SPEC §7: a CPU profile put 492 against 374 ms
   * in the collector, against go()).
   */
  #start<T>(fn: ErrGroupTask<T>, queued?: Queued): Promise<Awaited<T>> {
    this.#active++;
    let result: T | PromiseLike<T>;
    try {
      // T1: tryGo and queued tasks are traced as go; a dropped task never gets here.
      result = tasks.hasSubscribers
        ? traceTask(
            'ErrGroup',
            this,
            undefined,
            queued === undefined ? 0 : queuedMs(queued),
            fn,
            this.signal,
          )
        : fn(this.signal);
    } catch (error) {
      result = Promise.reject(error);
    }
    const settled = Promise.resolve(result) as Promise<Awaited<T>>;
    // One pair of settle handlers per group, not per task (the unlimited row of SPEC §7).
    settled.then(this.#onFulfilled, this.#onRejected);
    return settled;
  }

  readonly #onFulfilled = (): void => {
    this.#finish();
  };

  readonly #onRejected = (error: unknown): void => {
    // E4: record and abort before this task counts as done.
    if (!this.#failed) {
      this.#failed = true;
      this.#error = error;
      this.#abort(error, 'error');
    }
    this.#finish();
  };

  /** #finish frees a slot: the next queued task starts in this same handler, then the task counts as done. */
  #finish(): void {
    this.#active--;
    this.#startQueued();
    this.#tasks.done();
  }

  #startQueued(): void {
    while (this.#active < this.#limit && this.#head !== undefined && !this.signal.aborted) {
      const entry = this.#shift();
      this.#start(entry.fn, entry).then(entry.resolve, entry.reject);
    }
  }

  #shift(): Queued {
    const entry = this.#head as Queued;
    this.#head = entry.next;
    if (this.#head === undefined) this.#tail = undefined;
    this.#queued--;
    return entry;
  }

  /** #dropQueued is E5: once the signal has aborted, queued tasks reject with its reason and count as done. */
  #dropQueued(): void {
    const reason = this.signal.reason;
    while (this.#head !== undefined) {
      this.#shift().reject(reason);
      this.#tasks.done();
    }
  }

  #abortByParent(): void {
    this.#parentAborted = true;
    this.#abort(this.#parent?.reason, 'parent');
  }

  /** #abort aborts the signal, once, and tells the abort channel why. */
  #abort(reason: unknown, cause: ErrGroupAbortCause): void {
    if (this.signal.aborted) return;
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
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
    if (!this.signal.aborted) {
      this.#abort(new DOMException('the ErrGroup has finished', 'AbortError'), 'settled');
    }
    if (this.#failed) throw this.#error;
    if (this.#parentAborted) throw this.#parent?.reason;
  }
}
