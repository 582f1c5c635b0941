/**
 * Deterministic helpers for asserting on promises without the wall clock:
 * flush the queues, then look at what has settled (STYLE.md 9).
 *
 * They use only globals that exist in Node and in browsers, so that browser
 * and worker suites can import them too.
 *
 * @module
 */

import { expect } from 'chai';

/** What a tracked promise has done so far. */
export type Settled =
  | { readonly status: 'pending' }
  | { readonly status: 'fulfilled'; readonly value: unknown }
  | { readonly status: 'rejected'; readonly reason: unknown };

/** A promise and a live view of its state, updated as it settles. */
export interface Tracked<T = unknown> {
  readonly promise: Promise<T>;
  /** The state as of the last microtask that ran. */
  readonly state: Settled;
}

const PENDING: Settled = Object.freeze({ status: 'pending' });

/**
 * track attaches handlers to `promise` (so a rejection is never reported as
 * unhandled) and returns a view whose `state` follows it. The state changes
 * one microtask after the promise settles, as any `then` callback does.
 */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: { promise: Promise<T>; state: Settled } = { promise, state: PENDING };
  promise.then(
    (value) => {
      tracked.state = { status: 'fulfilled', value };
    },
    (reason: unknown) => {
      tracked.state = { status: 'rejected', reason };
    },
  );
  return tracked;
}

/**
 * nextMacrotask resolves at the next turn of the event loop: setImmediate in
 * Node, a MessageChannel message elsewhere. No timer is involved.
 */
function nextMacrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return new Promise((resolve) => setImmediate(resolve));
  }
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    (port1 as unknown as { onmessage: () => void }).onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(undefined);
  });
}

/**
 * flushMicrotasks resolves once every microtask queued before the call, and
 * every microtask those queue in turn, has run: it waits for the next
 * macrotask, which the event loop starts only with an empty microtask queue.
 * Timers and I/O are not waited for.
 */
export function flushMicrotasks(): Promise<void> {
  return nextMacrotask();
}

/**
 * settledState flushes the microtask queue and returns what `promise` has
 * done by then. Its rejection, if any, is marked handled.
 */
export async function settledState(promise: Promise<unknown>): Promise<Settled> {
  const tracked = track(promise);
  await flushMicrotasks();
  return tracked.state;
}

/**
 * expectPending asserts that `promise` is still pending once the microtask
 * queue is empty. Its rejection, if it comes later, is marked handled.
 *
 * For a local wait this is exact: everything that can settle it without a
 * new call runs in microtasks. A shared wait is woken by a task (an
 * `Atomics.waitAsync` settlement, or another thread), so there the check
 * says only "not settled by now": use it for waits that must not settle.
 */
export async function expectPending(promise: Promise<unknown>, message?: string): Promise<void> {
  const state = await settledState(promise);
  expect(state, message ?? 'expected the promise to be pending').to.deep.equal(PENDING);
}

/**
 * expectRejection awaits `promise` and returns its rejection reason; it fails
 * if the promise fulfills.
 */
export async function expectRejection(promise: Promise<unknown>): Promise<unknown> {
  let value: unknown;
  try {
    value = await promise;
  } catch (reason) {
    return reason;
  }
  expect.fail(`expected a rejection, got a fulfillment with ${String(value)}`);
}

/**
 * stepLog returns an append-only log for ordering assertions: `log('before
 * wait')`, then `expect(log.steps).to.deep.equal([...])`.
 */
export function stepLog(): ((step: string) => void) & { readonly steps: readonly string[] } {
  const steps: string[] = [];
  const log = (step: string): void => {
    steps.push(step);
  };
  return Object.assign(log, { steps });
}

/** A promise and its settlers: a task that finishes when the test says so. */
export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** deferred returns a pending promise with its settlers. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** unlistenableSignal returns a signal-like object whose addEventListener throws `error`. */
export function unlistenableSignal(error: Error): AbortSignal {
  return {
    aborted: false,
    addEventListener() {
      throw error;
    },
    removeEventListener() {},
  } as unknown as AbortSignal;
}
