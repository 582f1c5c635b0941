/**
 * Batch: group commit of one instance's changes. A change requested while
 * an earlier one is in flight waits in a FIFO queue; when the call in
 * flight settles, everything queued goes as one call. A change when
 * nothing is in flight goes at once. One batch is in flight at a time, so
 * changes apply in the order they were requested.
 *
 * @module
 */

/** How one change of a batch came out: undefined when it applied, else its error. */
export type Outcome = { readonly error: unknown } | undefined;

/**
 * Send applies the changes of one batch, in order, and returns one outcome
 * per change. `signal` (present when every change of the batch has one)
 * aborts once every change of the batch was aborted by its caller; `since`
 * is when the oldest change was requested (performance.now()). A rejection
 * rejects every change of the batch.
 */
export type Send<T> = (
  changes: readonly T[],
  signal: AbortSignal | undefined,
  since: number,
) => Promise<readonly Outcome[]>;

interface Entry<T> {
  readonly change: T;
  readonly signal: AbortSignal | undefined;
  readonly since: number;
  settled: boolean;
  resolve(): void;
  reject(error: unknown): void;
  onAbort?: (() => void) | undefined;
}

/** Batch queues the changes of one instance and sends them in order, one batch in flight at a time. */
export class Batch<T> {
  readonly #send: Send<T>;
  readonly #max: number;
  readonly #queue: Entry<T>[] = [];
  #busy = false;

  /**
   * @param send - applies one batch
   * @param max - the most changes one batch carries
   */
  constructor(send: Send<T>, max: number) {
    this.#send = send;
    this.#max = max;
  }

  /**
   * submit applies `change` with the next batch: it resolves once the change
   * is applied, or rejects with its own error. An abort rejects at once with
   * `signal.reason`; a change still queued is then never sent.
   */
  submit(change: T, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.#busy) return this.#alone(change, signal);
    return new Promise<void>((resolve, reject) => {
      const entry: Entry<T> = {
        change,
        signal,
        since: performance.now(),
        settled: false,
        resolve,
        reject,
      };
      if (signal !== undefined) {
        entry.onAbort = () => {
          const queued = this.#queue.indexOf(entry);
          if (queued !== -1) this.#queue.splice(queued, 1);
          settle(entry, { error: signal.reason });
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#queue.push(entry);
    });
  }

  /**
   * alone sends a change when nothing is in flight: a batch of one, with no
   * queue entry of its own (the commonest call pays for no gathering). Its
   * signal is the batch's. What is queued meanwhile goes after it.
   */
  async #alone(change: T, signal: AbortSignal | undefined): Promise<void> {
    this.#busy = true;
    let outcome: Outcome;
    try {
      [outcome] = await this.#send([change], signal, performance.now());
    } finally {
      if (this.#queue.length > 0) void this.#pump();
      else this.#busy = false;
    }
    if (outcome !== undefined) throw outcome.error;
  }

  /** pump sends the queued changes, a batch at a time, until none is left. */
  async #pump(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0) {
        const entries = this.#queue.splice(0, this.#max);
        await this.#flush(entries);
        // Concurrent callers just settled usually call again at once: one
        // turn of the event loop gathers them into the next batch rather
        // than sending what is queued and then them after it. A lone caller
        // (a batch of one) goes on without waiting.
        if (entries.length > 1 && this.#queue.length < entries.length) await nextTurn();
      }
    } finally {
      this.#busy = false;
    }
  }

  async #flush(entries: readonly Entry<T>[]): Promise<void> {
    // The batch's call stops (rejects at once) only once every caller of it has aborted.
    const controller = entries.every((entry) => entry.signal !== undefined)
      ? new AbortController()
      : undefined;
    let live = entries.length;
    const gone = (): void => {
      if (--live === 0) controller?.abort();
    };
    if (controller !== undefined) {
      for (const entry of entries) entry.signal?.addEventListener('abort', gone, { once: true });
    }
    try {
      const outcomes = await this.#send(
        entries.map((entry) => entry.change),
        controller?.signal,
        entries[0]?.since ?? performance.now(),
      );
      entries.forEach((entry, i) => {
        settle(entry, outcomes[i]);
      });
    } catch (error) {
      for (const entry of entries) settle(entry, { error });
    } finally {
      if (controller !== undefined) {
        for (const entry of entries) entry.signal?.removeEventListener('abort', gone);
      }
    }
  }
}

const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;

/** nextTurn resolves at the next turn of the event loop (setImmediate where there is one). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (immediate !== undefined) immediate(resolve);
    else setTimeout(resolve, 0);
  });
}

function settle<T>(entry: Entry<T>, outcome: Outcome): void {
  if (entry.settled) return;
  entry.settled = true;
  if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
  if (outcome === undefined) entry.resolve();
  else entry.reject(outcome.error);
}
