/**
 * The options of an ErrGroup and of its go(): their types and their checks,
 * in one place so that the class reads like Go's file.
 *
 * @module
 */

import { describe } from './errors.js';
import { isAbortSignal } from './waitgroup.js';

/** Options of the ErrGroup constructor, of `ErrGroup.run`, `ErrGroup.map` and `ErrGroup.mapIterable`. */
export interface ErrGroupOptions {
  /** A parent signal: its abort stops the group, as a cancelled parent context does in Go. */
  readonly signal?: AbortSignal | undefined;
  /** How many tasks may run at once: an integer ≥ 1, or `Infinity` (the default). */
  readonly limit?: number | undefined;
  /**
   * What `wait()` rejects with when tasks failed: `'first'` (the default), the
   * first task error itself; `'all'`, an `AggregateError` of every task error
   * in the order they failed, leaving out rejections with the group's own
   * abort reason.
   */
  readonly errors?: 'first' | 'all' | undefined;
  /**
   * Whether the first task error aborts the signal and drops the queued
   * tasks (the default, `true`, as in Go). With `false` the group is a
   * supervisor: a task error aborts nothing and queued tasks still start;
   * only the parent, `cancel()` or the end of `wait()` abort the signal.
   */
  readonly cancelOnError?: boolean | undefined;
  /**
   * How many milliseconds a task may run once started (time in the queue
   * does not count): a positive number, or `Infinity` (the default). Such a
   * task is handed a signal of its own that also aborts with a
   * `TimeoutError` when its time is up. A task that ignores its signal
   * keeps its slot until it settles, and `wait()` waits for it.
   */
  readonly timeout?: number | undefined;
  /**
   * Debug mode: record where each task was admitted, so that `unfinished()`
   * and the report of a `wait()` that can never return name it. Default: on
   * when the environment has `AWAITGROUP_DEBUG=1`; `false` turns it off even then.
   */
  readonly debug?: boolean | undefined;
}

/** Options of an ErrGroup's `go(fn, options)` and `tryGo(fn, options)`. */
export interface ErrGroupGoOptions {
  /** A name for the task, shown by `unfinished()` and the debug reports. */
  readonly name?: string | undefined;
  /** How many milliseconds the task may run once started; overrides the group's `timeout`. */
  readonly timeout?: number | undefined;
}

/** The options of a group, checked, with their defaults filled in. */
export interface CheckedOptions {
  readonly signal: AbortSignal | undefined;
  readonly limit: number;
  readonly all: boolean;
  readonly cancelOnError: boolean;
  readonly timeout: number;
  readonly debug: boolean | undefined;
}

/** The longest delay setTimeout keeps: a longer timeout is no timeout in practice (24.8 days). */
const MAX_DELAY = 2_147_483_647;

// E1.
/** checkLimit returns `limit` if it is an integer ≥ 1 or Infinity, and throws otherwise. */
export function checkLimit(limit: unknown, where: string): number {
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

// E14.
/** checkTimeout returns `timeout` if it is a positive number or Infinity, and throws otherwise. */
export function checkTimeout(timeout: unknown, where: string): number {
  if (typeof timeout !== 'number') {
    throw new TypeError(
      `${where}: timeout must be a number of milliseconds, got ${describe(timeout)}; ` +
        'pass Infinity for no timeout',
    );
  }
  if (!(timeout > 0)) {
    throw new RangeError(
      `${where}: timeout must be a positive number of milliseconds or Infinity, got ${timeout}`,
    );
  }
  return timeout > MAX_DELAY ? Number.POSITIVE_INFINITY : timeout;
}

// E1, E13, E14.
/** checkOptions checks the options of a group and fills in the defaults. */
export function checkOptions(options: unknown, where: string): CheckedOptions {
  if (options === undefined) {
    return {
      signal: undefined,
      limit: Number.POSITIVE_INFINITY,
      all: false,
      cancelOnError: true,
      timeout: Number.POSITIVE_INFINITY,
      debug: undefined,
    };
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${where}: options must be an object like { signal, limit: 8 }, got ${describe(options)}`,
    );
  }
  const { signal, limit, errors, cancelOnError, timeout, debug } = options as ErrGroupOptions;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(`${where}: options.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  if (errors !== undefined && errors !== 'first' && errors !== 'all') {
    throw new TypeError(
      `${where}: options.errors must be 'first' or 'all', got ${describe(errors)}`,
    );
  }
  if (cancelOnError !== undefined && typeof cancelOnError !== 'boolean') {
    throw new TypeError(
      `${where}: options.cancelOnError must be a boolean, got ${describe(cancelOnError)}`,
    );
  }
  if (debug !== undefined && typeof debug !== 'boolean') {
    throw new TypeError(`${where}: options.debug must be a boolean, got ${describe(debug)}`);
  }
  return {
    signal,
    limit: limit === undefined ? Number.POSITIVE_INFINITY : checkLimit(limit, where),
    all: errors === 'all',
    cancelOnError: cancelOnError ?? true,
    timeout: timeout === undefined ? Number.POSITIVE_INFINITY : checkTimeout(timeout, where),
    debug,
  };
}

// E14, E19.
/** checkGoOptions checks the options of one go() or tryGo(). */
export function checkGoOptions(
  options: unknown,
  method: string,
): { readonly name: string | undefined; readonly timeout: number | undefined } {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${method}: options must be an object like { name: 'fetch /a', timeout: 5000 }, got ${describe(options)}`,
    );
  }
  const { name, timeout } = options as ErrGroupGoOptions;
  if (name !== undefined && typeof name !== 'string') {
    throw new TypeError(`${method}: options.name must be a string, got ${describe(name)}`);
  }
  return { name, timeout: timeout === undefined ? undefined : checkTimeout(timeout, method) };
}
