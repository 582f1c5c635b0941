/**
 * The semaphore of a shared group: an Int32 token word in shared memory,
 * released with `Atomics.add` + `Atomics.notify`, acquired by parking with
 * `Atomics.waitAsync` (async waits) or `Atomics.wait` (blocking waits). Every
 * step follows PROTOCOL.md, in its model-checked order; the step names
 * (W5, X3, …) refer to it.
 *
 * @module
 */

import { cannotBlock } from './errors.js';
import { holdProcess, releaseProcess } from './keep-alive.js';
import type { Acquirer, Semaphore } from './semaphore.js';

/** The longest gap between two looks at the token word when polling (S15). */
export const MAX_POLL_INTERVAL_MS = 20;

/** The first gap when polling; it doubles up to {@link MAX_POLL_INTERVAL_MS}. */
const FIRST_POLL_INTERVAL_MS = 1;

let agentCanBlock: boolean | undefined;

/**
 * canBlock reports whether this agent may block in `Atomics.wait` (not on a
 * browser's main thread). It asks once, with a wait that cannot block: the
 * check that forbids blocking comes before the value check.
 */
function canBlock(): boolean {
  if (agentCanBlock === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      agentCanBlock = true;
    } catch {
      agentCanBlock = false;
    }
  }
  return agentCanBlock;
}

/** timeoutError is the `TimeoutError` a timed-out `waitSync` throws (S10). */
function timeoutError(timeout: number): DOMException {
  return new DOMException(
    `awaitgroup: waitSync timed out after ${timeout} ms before the counter reached 0; ` +
      'the wait was withdrawn and the group is unchanged',
    'TimeoutError',
  );
}

/**
 * AtomicsSemaphore is the token word at element 0 of `tokens`, shared by
 * every agent attached to the same group.
 */
export class AtomicsSemaphore implements Semaphore {
  readonly #acquirer: Acquirer;
  readonly #tokens: Int32Array;

  /**
   * @param acquirer - the wait side to call back when a waiter resumes or withdraws
   * @param tokens - a view whose element 0 is the token word, in shared memory
   */
  constructor(acquirer: Acquirer, tokens: Int32Array) {
    this.#acquirer = acquirer;
    this.#tokens = tokens;
  }

  release(count: number): void {
    // Tokens first, then the wake-up (R1, R2): a waiter woken before its
    // token exists would find none, park again and could miss the notify.
    Atomics.add(this.#tokens, 0, count);
    Atomics.notify(this.#tokens, 0, count);
  }

  acquire(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      new AsyncAcquire(this.#acquirer, this.#tokens, signal, resolve, reject).start();
    });
  }

  assertCanBlock(): void {
    if (!canBlock()) throw cannotBlock();
  }

  acquireSync(timeout: number): void {
    const tokens = this.#tokens;
    const deadline = performance.now() + timeout;
    let timed = timeout !== Number.POSITIVE_INFINITY;
    for (;;) {
      const t = Atomics.load(tokens, 0); // W5
      if (t > 0) {
        if (Atomics.compareExchange(tokens, 0, t, t - 1) === t) break; // W6
        continue;
      }
      if (!timed) {
        Atomics.wait(tokens, 0, t); // W7, with the value read in W5
        continue;
      }
      const remaining = deadline - performance.now();
      if (remaining > 0 && Atomics.wait(tokens, 0, t, remaining) !== 'timed-out') continue;
      // Timed out ("timed-out" already took us off the wait queue, so no X3).
      if (this.#acquirer.withdraw()) throw timeoutError(timeout); // X1, X2, X5
      // X6: released meanwhile; our token is certain to come, wait without a timeout.
      timed = false;
    }
    this.#acquirer.resumed(); // W9, W11
  }
}

/**
 * AsyncAcquire is one async wait on the token word: the loop W5–W8, the
 * resume W9–W11, and the abort X1–X6, with the wait's own state that tells
 * them apart (has it taken its token, is its `waitAsync` still pending).
 */
class AsyncAcquire {
  readonly #acquirer: Acquirer;
  readonly #tokens: Int32Array;
  readonly #signal: AbortSignal | undefined;
  readonly #resolve: (value: undefined) => void;
  readonly #reject: (reason: unknown) => void;
  /** Taken its token, or withdrawn: the loop must stop. */
  #finished = false;
  /** A `waitAsync` of this wait is queued in the engine. */
  #parked = false;
  /** The polling timer while sleeping (S15). */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pollInterval = FIRST_POLL_INTERVAL_MS;
  readonly #wake = (): void => {
    this.#parked = false;
    this.#timer = undefined;
    if (!this.#finished) this.#loop();
  };
  readonly #onAbort = (): void => {
    this.#abort();
  };

  constructor(
    acquirer: Acquirer,
    tokens: Int32Array,
    signal: AbortSignal | undefined,
    resolve: (value: undefined) => void,
    reject: (reason: unknown) => void,
  ) {
    this.#acquirer = acquirer;
    this.#tokens = tokens;
    this.#signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  start(): void {
    try {
      this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    } catch (error) {
      // A signal that cannot be listened to: withdraw as an abort would. If a
      // release already counted this wait, take its token without the signal.
      if (this.#acquirer.withdraw()) {
        this.#finished = true;
        this.#reject(error);
        return;
      }
    }
    holdProcess(); // W4
    this.#loop();
  }

  #loop(): void {
    const tokens = this.#tokens;
    for (;;) {
      const t = Atomics.load(tokens, 0); // W5
      if (t > 0) {
        if (Atomics.compareExchange(tokens, 0, t, t - 1) === t) {
          this.#resume(); // W6 took our token
          return;
        }
        continue;
      }
      // Feature-detected at each park, so that the fallback can be forced (S15).
      const waitAsync = Atomics.waitAsync;
      if (typeof waitAsync !== 'function') {
        this.#timer = setTimeout(this.#wake, this.#pollInterval);
        this.#pollInterval = Math.min(this.#pollInterval * 2, MAX_POLL_INTERVAL_MS);
        return;
      }
      const result = waitAsync(tokens, 0, t); // W7, with the value read in W5
      if (result.async) {
        this.#parked = true;
        result.value.then(this.#wake);
        return;
      }
      // "not-equal": a token arrived since W5; look again (W8).
    }
  }

  #resume(): void {
    this.#finished = true;
    this.#settle();
    try {
      this.#acquirer.resumed(); // W9, W11
    } catch (error) {
      this.#reject(error);
      return;
    }
    this.#resolve(undefined);
  }

  #abort(): void {
    if (this.#finished) return; // took its token: the abort is ignored
    if (!this.#acquirer.withdraw()) return; // X6: released; the loop takes the token
    this.#finished = true;
    // X3: the engine cannot cancel a waitAsync; a dead entry left queued
    // would swallow a later notify meant for a live waiter. Wake everyone;
    // the others find no token and park again.
    if (this.#parked) Atomics.notify(this.#tokens, 0);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#settle(); // X4
    this.#reject((this.#signal as AbortSignal).reason); // X5
  }

  /** settle drops what the pending wait held: the process and the abort listener. */
  #settle(): void {
    releaseProcess(); // W10 / X4
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}
