/**
 * The semaphore a WaitGroup parks its waiters on: Go's
 * `runtime_Semacquire` / `runtime_Semrelease`, made promise-based. Two
 * backends implement `Semaphore`: a resolver queue for local groups
 * (local-semaphore.ts) and an `Atomics` word for shared groups
 * (atomics-semaphore.ts). The WaitGroup algorithm sees only this interface.
 *
 * @module
 */

/**
 * Acquirer is the wait side of the WaitGroup algorithm, which a semaphore
 * calls back into at the two points where a parked wait meets the state word.
 */
export interface Acquirer {
  /**
   * resumed runs once a waiter has taken its token.
   * It returns normally for the wait to resolve, and throws (ERR_WAITGROUP_REUSED) for
   * it to reject.
   */
  // S8; model/README.md W9–W11.
  resumed(): void;
  /**
   * withdraw runs when a waiter that has not taken its token is aborted or
   * times out. It returns true if it removed the
   * waiter's registration from the word, so that no token will be issued for
   * it; false if a release already counted the waiter, so that its token is
   * on its way and the wait must go on to take it.
   */
  // model/README.md X1–X2.
  withdraw(): boolean;
}

/** A counting semaphore whose acquirers park asynchronously or block. */
export interface Semaphore {
  /**
   * release issues `count` tokens and wakes up to `count` parked acquirers,
   * oldest first.
   */
  // R1–R2.
  release(count: number): void;
  /**
   * acquire takes one token for a waiter that has registered in the word,
   * parking until one is issued, then calls
   * `Acquirer.resumed`. The promise resolves or rejects as `resumed`
   * returns or throws. If `signal` aborts before the token is taken and
   * `Acquirer.withdraw` removes the registration, it rejects with
   * `signal.reason` and leaves nothing parked. It never throws
   * synchronously.
   */
  // S9; model/README.md W5–W8.
  acquire(signal: AbortSignal | undefined): Promise<void>;
  /**
   * assertCanBlock throws if the calling thread may not block on this
   * semaphore: a local semaphore can never be released while its only
   * thread is blocked (ERR_WAITGROUP_DEADLOCK); a browser's main thread may
   * not block at all (ERR_WAITGROUP_CANNOT_BLOCK). The WaitGroup calls it
   * before registering a blocking waiter.
   */
  // S10.
  assertCanBlock(): void;
  /**
   * acquireSync is `acquire` for a blocking waiter: it blocks the
   * thread until it takes a token, then calls `Acquirer.resumed`. After
   * `timeout` milliseconds it withdraws and throws a `TimeoutError`
   * `DOMException`; if the waiter was already released it blocks on until
   * its token arrives and returns normally.
   */
  acquireSync(timeout: number): void;
}
