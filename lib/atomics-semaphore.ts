/**
 * The semaphore of a shared group: an Int32 token word in shared memory,
 * released with `Atomics.add` + `Atomics.notify`, acquired by parking with
 * `Atomics.waitAsync` (async waits) or `Atomics.wait` (blocking waits). Every
 * step follows the protocol checked by model/waitgroup.pml, in its order; the
 * step names are those of the model's README.
 *
 * The async waits of one agent on one group share one parked
 * `Atomics.waitAsync` and queue locally behind it (the multiplexer):
 * a pending wait costs a queue entry, not an engine waiter, and one wake-up
 * of this agent takes the tokens of all its released waits (the
 * "shared group, one thread: 1e4 pending waits" row).
 *
 * @module
 */
// SPEC §7; model/README.md W5, M3, X2, M0–M7.

import { cannotBlock } from './errors.js';
import { Fifo } from './fifo.js';
import { holdProcess, releaseProcess } from './keep-alive.js';
import type { Acquirer, Semaphore } from './semaphore.js';

/** The longest gap between two looks at the token word when polling. */
// S15.
export const MAX_POLL_INTERVAL_MS = 20;

/** The first gap when polling; it doubles up to `MAX_POLL_INTERVAL_MS`. */
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

/** timeoutError is the `TimeoutError` a timed-out `waitSync` throws. */
// S10.
function timeoutError(timeout: number): DOMException {
  return new DOMException(
    `awaitgroup: waitSync timed out after ${timeout} ms before the counter reached 0; ` +
      'the wait was withdrawn and the group is unchanged',
    'TimeoutError',
  );
}

/**
 * AtomicsSemaphore is the token word at element 0 of `tokens`, shared by
 * every agent attached to the same group, and this agent's multiplexer of
 * async waits on it: a FIFO queue of `Entry`s behind at most one
 * pending `Atomics.waitAsync` (or the poll timer).
 */
// S15.
export class AtomicsSemaphore implements Semaphore {
  readonly #acquirer: Acquirer;
  readonly #tokens: Int32Array;
  readonly #queue = new Fifo<Entry>();
  /** The tokens the queued entries still need. */
  #needed = 0;
  /** A `waitAsync` of this multiplexer is pending, or its poll timer. */
  // S15.
  #parked = false;
  /** The poll timer while sleeping. */
  // S15.
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #pollInterval = FIRST_POLL_INTERVAL_MS;
  /** the pending `waitAsync` (or the poll timer) is done: take what has come. */
  // model/README.md M6.
  readonly #wake = (): void => {
    this.#parked = false;
    this.#timer = undefined;
    this.#pump();
  };

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
    if (signal === undefined) {
      // A wait without a signal has nothing of its own to settle: it joins
      // the batch at the tail, if that batch has taken no token yet.
      const tail = this.#queue.tail;
      if (tail?.batch === true && tail.taken === 0) {
        tail.size++;
        this.#needed++;
        holdProcess(); // M0: S16 counts every pending wait
        return tail.promise;
      }
      return this.#enqueue(new Entry(true, undefined));
    }
    const entry = new Entry(false, signal);
    const onAbort = (): void => {
      this.#abort(entry);
    };
    try {
      signal.addEventListener('abort', onAbort, { once: true });
    } catch (error) {
      // A signal that cannot be listened to: withdraw as an abort would. If a
      // release already counted this wait, take its token without the signal.
      if (this.#acquirer.withdraw()) return Promise.reject(error);
      entry.signal = undefined;
      return this.#enqueue(entry);
    }
    entry.onAbort = onAbort;
    return this.#enqueue(entry);
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
      // Timed out ("timed-out" already took us off the wait queue).
      if (this.#acquirer.withdraw()) throw timeoutError(timeout); // X1, X2
      // X6: released meanwhile; our token is certain to come, wait without a timeout.
      timed = false;
    }
    this.#acquirer.resumed(); // W9, W11
  }

  /** queue `entry` locally; the pump runs unless the pending `waitAsync` will. */
  // model/README.md M0.
  #enqueue(entry: Entry): Promise<void> {
    this.#queue.push(entry);
    this.#needed++;
    holdProcess();
    if (!this.#parked) this.#pump();
    return entry.promise;
  }

  /**
   * take the tokens the queued entries need, as many as are there in
   * one compare-and-swap, and hand them out oldest first, until the queue is
   * empty or the word is 0; then park one `waitAsync` with the value read
   * (or a poll timer). One compare-and-swap, not one per token: releasing
   * 1e5 waits of this thread took 1e5 of them, a tenth of the release
   * (shared group with many waiters on one thread).
   */
  // SPEC §7; model/README.md M1–M5.
  #pump(): void {
    const tokens = this.#tokens;
    while (this.#queue.head !== undefined) {
      const t = Atomics.load(tokens, 0); // M2
      if (t > 0) {
        const k = Math.min(t, this.#needed);
        if (Atomics.compareExchange(tokens, 0, t, t - k) !== t) continue; // M3
        this.#needed -= k;
        this.#handOut(k);
        continue;
      }
      // Feature-detected at each park, so that the fallback can be forced (S15).
      const waitAsync = Atomics.waitAsync;
      if (typeof waitAsync !== 'function') {
        this.#parked = true;
        this.#timer = setTimeout(this.#wake, this.#pollInterval);
        this.#pollInterval = Math.min(this.#pollInterval * 2, MAX_POLL_INTERVAL_MS);
        return;
      }
      const result = waitAsync(tokens, 0, t); // M5, with the value read in M2
      if (result.async) {
        this.#parked = true;
        result.value.then(this.#wake);
        return;
      }
      // "not-equal": a token arrived since M2; look again.
    }
    this.#pollInterval = FIRST_POLL_INTERVAL_MS;
  }

  /** #handOut gives `count` tokens just taken to the queued entries, oldest first. */
  // model/README.md M3, M4.
  #handOut(count: number): void {
    let left = count;
    for (let entry = this.#queue.head; entry !== undefined && left > 0; entry = this.#queue.head) {
      const want = entry.size - entry.taken;
      if (want > left) {
        entry.taken += left;
        return;
      }
      left -= want;
      entry.taken = entry.size;
      this.#queue.unlink(entry);
      this.#resume(entry); // M4
    }
  }

  /** `entry` has all its tokens; the reuse check settles it. */
  // model/README.md M4, W9–W11.
  #resume(entry: Entry): void {
    releaseProcess(entry.size);
    entry.dropListener();
    try {
      this.#acquirer.resumed();
    } catch (error) {
      entry.reject(error);
      return;
    }
    entry.resolve(undefined);
  }

  /** the abort of a queued wait with a signal. */
  // model/README.md M7, X1, X2, X6.
  #abort(entry: Entry): void {
    // Settled (took its token), or released: then the pump gives it its token.
    if (entry.taken > 0 || !this.#acquirer.withdraw()) return;
    this.#queue.unlink(entry);
    this.#needed--;
    releaseProcess(1);
    entry.dropListener();
    if (this.#queue.head === undefined && this.#parked) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#parked = false;
      } else {
        // The engine cannot cancel a waitAsync; left queued with nobody
        // behind it, it would swallow a notify meant for another agent's
        // waiter (model: wrong-mux-no-flush). Wake everyone; the others find
        // no token and park again. Our own callback then finds the queue empty.
        Atomics.notify(this.#tokens, 0);
      }
    }
    entry.reject((entry.signal as AbortSignal).reason);
  }
}

/**
 * Entry is one element of the multiplexer's queue: a single wait with a
 * signal, or a batch of consecutive waits without one, which share one
 * promise (a pending wait without a signal is a counter increment).
 */
// SPEC §7.
class Entry {
  /** How many waits this entry stands for: the tokens it needs. */
  size = 1;
  /** The tokens taken for it so far. */
  taken = 0;
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  readonly batch: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined = undefined;
  readonly promise: Promise<void>;
  resolve!: (value: undefined) => void;
  reject!: (reason: unknown) => void;

  constructor(batch: boolean, signal: AbortSignal | undefined) {
    this.batch = batch;
    this.signal = signal;
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve as (value: undefined) => void;
      this.reject = reject;
    });
  }

  /** dropListener removes the abort listener of a settling wait. */
  dropListener(): void {
    if (this.onAbort !== undefined) {
      this.signal?.removeEventListener('abort', this.onAbort);
      this.onAbort = undefined;
    }
  }
}
