/**
 * The semaphore of a local group: a token count and a FIFO queue of parked
 * waits, all on one thread.
 *
 * @module
 */

import { deadlock } from './errors.js';
import { Fifo } from './fifo.js';
import type { Acquirer, Semaphore } from './semaphore.js';

type Resolve = (value: undefined) => void;
type Reject = (reason: unknown) => void;

/** Where a `Parked` entry is in its life. */
const PARKED = 0;
const RELEASED = 1;
const SETTLED = 2;

/**
 * Parked is one entry of the queue: either a single wait with a signal, or a
 * batch of consecutive waits without one. A batch shares one promise: waits
 * that cannot be aborted have nothing of their own to settle, and this is
 * what keeps a pending waiter at a few bytes.
 */
// SPEC §7.
class Parked {
  /** How many waits this entry stands for; it needs that many tokens. */
  size = 1;
  state = PARKED;
  prev: Parked | undefined = undefined;
  next: Parked | undefined = undefined;
  readonly promise: Promise<void>;
  readonly batch: boolean;
  resolve!: Resolve;
  reject!: Reject;

  constructor(batch: boolean) {
    this.batch = batch;
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve as Resolve;
      this.reject = reject;
    });
  }
}

/**
 * LocalSemaphore is a counting semaphore whose acquirers park on promises in
 * a doubly linked FIFO queue: O(1) at both ends and for the removal of an
 * aborted wait.
 *
 * Consecutive acquirers without a signal join one batch entry and are woken
 * together, when the tokens issued cover the whole batch. A WaitGroup always
 * releases every parked waiter at once, so for it this changes nothing but
 * the cost; it is the one way this backend differs from a per-token
 * semaphore.
 *
 * A woken entry resumes in one microtask after the releasing call: the
 * `done()` that releases a wait and a synchronous `add()` right after it run
 * before the waiter looks at the word again.
 */
// S8.
export class LocalSemaphore implements Semaphore {
  readonly #acquirer: Acquirer;
  #tokens = 0;
  readonly #queue = new Fifo<Parked>();

  /** @param acquirer - the wait side to call back when a waiter resumes or withdraws */
  constructor(acquirer: Acquirer) {
    this.#acquirer = acquirer;
  }

  release(count: number): void {
    this.#tokens += count;
    let first: Parked | undefined;
    let last: Parked | undefined;
    for (let entry = this.#queue.head; entry !== undefined && entry.size <= this.#tokens; ) {
      this.#tokens -= entry.size;
      entry.state = RELEASED;
      first ??= entry;
      last = entry;
      entry = entry.next;
    }
    if (first === undefined || last === undefined) return;
    // Detach [first, last] as one chain; it stays linked through `next`.
    this.#queue.shiftThrough(last);
    queueMicrotask(() => this.#resume(first));
  }

  acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal === undefined) {
      const tail = this.#queue.tail;
      if (tail?.batch === true && this.#tokens === 0) {
        tail.size++;
        return tail.promise;
      }
      return this.#park(new Parked(true));
    }
    const entry = new Parked(false);
    const onAbort = (): void => {
      if (entry.state !== PARKED || !this.#acquirer.withdraw()) return;
      this.#queue.unlink(entry);
      entry.state = SETTLED;
      entry.reject(signal.reason);
    };
    try {
      signal.addEventListener('abort', onAbort, { once: true });
    } catch (error) {
      // A signal-like object that cannot be listened to: withdraw as an abort
      // would, so that the release issues no token for a wait never parked.
      this.#acquirer.withdraw();
      return Promise.reject(error);
    }
    const { resolve, reject } = entry;
    entry.resolve = (value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    entry.reject = (reason) => {
      signal.removeEventListener('abort', onAbort);
      reject(reason);
    };
    return this.#park(entry);
  }

  assertCanBlock(): void {
    throw deadlock();
  }

  acquireSync(_timeout: number): void {
    // The WaitGroup calls assertCanBlock first; reaching here is a bug.
    throw deadlock();
  }

  #park(entry: Parked): Promise<void> {
    this.#queue.push(entry);
    if (this.#tokens >= entry.size) this.release(0);
    return entry.promise;
  }

  #resume(first: Parked | undefined): void {
    const acquirer = this.#acquirer;
    for (let entry = first; entry !== undefined; ) {
      const next = entry.next;
      entry.next = undefined;
      entry.state = SETTLED;
      try {
        acquirer.resumed();
        entry.resolve(undefined);
      } catch (error) {
        entry.reject(error);
      }
      entry = next;
    }
  }
}
