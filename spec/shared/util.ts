/**
 * Helpers for the shared-group suites: real worker_threads started from the
 * compiled fixture, a buffered message queue per worker (so that no reply is
 * missed), handshakes on shared Int32 words, child processes, and readers of
 * a group's raw bytes.
 *
 * Every worker and child started here is tracked, and {@link stopAll}
 * terminates them; each suite calls it in `afterEach`.
 *
 * @module
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { WaitGroup, type WaitGroupHandle } from '../../lib/index.js';
import type { WorkerMessage, WorkerTask } from '../fixtures/shared-tasks.js';

const WORKER_FIXTURE = new URL('../fixtures/shared-worker.js', import.meta.url);

const live = new Set<{ stop(): Promise<unknown> }>();

const groups = new Set<WaitGroup>();

/**
 * sharedGroup returns a new shared group that {@link stopAll} will empty, so
 * that a failed test cannot leave a wait pending (and the process held, S16).
 */
export function sharedGroup(): WaitGroup {
  const wg = new WaitGroup({ shared: true });
  groups.add(wg);
  return wg;
}

/**
 * stopAll terminates every worker and kills every child started by this
 * module, then brings the counter of every group from {@link sharedGroup}
 * to zero, releasing whatever still waits on it.
 */
export async function stopAll(): Promise<void> {
  const all = [...live];
  live.clear();
  await Promise.all(all.map((each) => each.stop()));
  for (const wg of groups) {
    try {
      if (wg.counter > 0) wg.add(-wg.counter);
    } catch {
      // Nothing else touches the group once its workers are gone.
    }
  }
  groups.clear();
  // Let the released waits settle before the next test looks at the keep-alive count.
  await new Promise((resolve) => setImmediate(resolve));
}

const failureListeners = new Set<(error: Error) => void>();

/**
 * failFast resolves or rejects as `promise` does, but rejects at once if any
 * worker started by this module fails meanwhile (an error, or an exit before
 * its task was complete): a test waiting on a dead worker fails with the
 * reason instead of timing out.
 */
export function failFast<T>(promise: Promise<T>): Promise<T> {
  let listener: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => {
    listener = reject;
    failureListeners.add(reject);
  });
  return Promise.race([promise, failed]).finally(() => {
    if (listener) failureListeners.delete(listener);
  });
}

/** A predicate over worker messages, or the `type` a message must have. */
export type MessageMatch = string | ((message: WorkerMessage) => boolean);

/**
 * TestWorker is a real worker running spec/fixtures/shared-worker.js with a
 * {@link WorkerTask}. Its messages are buffered, so {@link next} finds a
 * message that arrived before it was asked for. An `error` or an unexpected
 * `exit` before the worker posted `complete` fails every pending and later
 * {@link next}, and every {@link failFast}.
 */
export class TestWorker {
  readonly worker: Worker;
  readonly #messages: WorkerMessage[] = [];
  readonly #pending = new Set<{
    match: (message: WorkerMessage) => boolean;
    resolve: (message: WorkerMessage) => void;
    reject: (error: Error) => void;
  }>();
  #failure: Error | undefined;
  #stopping = false;
  #complete = false;
  #nextId = 1;

  constructor(task: WorkerTask) {
    this.worker = new Worker(WORKER_FIXTURE, { workerData: task });
    live.add(this);
    this.worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'complete') {
        this.#complete = true;
        return;
      }
      for (const waiter of this.#pending) {
        if (waiter.match(message)) {
          this.#pending.delete(waiter);
          waiter.resolve(message);
          return;
        }
      }
      this.#messages.push(message);
    });
    this.worker.on('error', (error) => this.#fail(error));
    this.worker.on('exit', (code) => {
      live.delete(this);
      if (this.#stopping || (code === 0 && this.#complete)) return;
      this.#fail(
        new Error(`worker (${task.task}) exited with code ${code} before its task was complete`),
      );
    });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const listener of failureListeners) listener(error);
    for (const waiter of this.#pending) waiter.reject(error);
    this.#pending.clear();
  }

  /** next resolves with the first message, buffered or to come, that `match` accepts. */
  next<M extends WorkerMessage = WorkerMessage>(match: MessageMatch): Promise<M> {
    const accept =
      typeof match === 'string' ? (message: WorkerMessage) => message.type === match : match;
    const index = this.#messages.findIndex(accept);
    if (index >= 0) {
      const [message] = this.#messages.splice(index, 1);
      return Promise.resolve(message as M);
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<M>((resolve, reject) => {
      this.#pending.add({
        match: accept,
        resolve: resolve as (message: WorkerMessage) => void,
        reject,
      });
    });
  }

  /**
   * request posts a command to a `commands` worker and returns its id; the
   * replies carry that id (see {@link reply}).
   */
  request(command: Record<string, unknown> & { op: string }): number {
    const id = this.#nextId++;
    this.worker.postMessage({ ...command, id });
    return id;
  }

  /** reply resolves with the reply of `type` to request `id`. */
  reply<M extends WorkerMessage = WorkerMessage>(id: number, type: string): Promise<M> {
    return this.next<M>((message) => message.id === id && message.type === type);
  }

  /** stop terminates the worker. */
  async stop(): Promise<void> {
    this.#stopping = true;
    live.delete(this);
    await this.worker.terminate();
  }
}

/** startWorker starts a tracked worker running `task`. */
export function startWorker(task: WorkerTask): TestWorker {
  return new TestWorker(task);
}

/** tokenWord returns the group's semaphore word: the Int32 at byteOffset + 8 (SPEC §2). */
export function tokenWord(handle: WaitGroupHandle): number {
  return Atomics.load(new Int32Array(handle.buffer, handle.byteOffset + 8, 1), 0);
}

/** reservedWord returns the group's reserved bytes 12–15, which stay zero (SPEC §2). */
export function reservedWord(handle: WaitGroupHandle): number {
  return Atomics.load(new Int32Array(handle.buffer, handle.byteOffset + 12, 1), 0);
}

/** stateWord returns the group's raw 64-bit state word. */
export function stateWord(handle: WaitGroupHandle): bigint {
  return Atomics.load(new BigInt64Array(handle.buffer, handle.byteOffset, 1), 0);
}

/** control returns an Int32Array of `length` words over a fresh SharedArrayBuffer. */
export function control(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * Int32Array.BYTES_PER_ELEMENT));
}

/**
 * untilWord resolves once `accept` holds for `words[index]`, parked in
 * `Atomics.waitAsync` between looks; whoever changes the word notifies it.
 * It returns the value accepted, and fails fast if a worker dies.
 */
export function untilWord(
  words: Int32Array,
  index: number,
  accept: (value: number) => boolean,
): Promise<number> {
  return failFast(
    (async () => {
      for (;;) {
        const value = Atomics.load(words, index);
        if (accept(value)) return value;
        const result = Atomics.waitAsync(words, index, value);
        if (result.async) await result.value;
      }
    })(),
  );
}

/** setWord stores `value` at `words[index]` and wakes every agent parked on it. */
export function setWord(words: Int32Array, index: number, value: number): void {
  Atomics.store(words, index, value);
  Atomics.notify(words, index);
}

/** bumpWord adds 1 to `words[index]`, wakes every agent parked on it, and returns the new value. */
export function bumpWord(words: Int32Array, index: number): number {
  const value = Atomics.add(words, index, 1) + 1;
  Atomics.notify(words, index);
  return value;
}

/**
 * until resolves once `condition()` holds, looking again at each turn of the
 * event loop. It is for states another thread reaches without telling us
 * (a worker blocked in `waitSync` has registered); the mocha timeout is its
 * hang guard, and `label` names what was awaited if it never comes.
 */
export async function until(condition: () => boolean, label: string): Promise<void> {
  let looks = 0;
  while (!condition()) {
    looks++;
    // Poll at once a few times, then leave the CPU to the worker we wait for.
    await new Promise((resolve) => (looks < 100 ? setImmediate(resolve) : setTimeout(resolve, 1)));
    if (looks === 100_000) throw new Error(`gave up waiting until ${label}`);
  }
}

/** What a child process did. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * runChild runs the compiled fixture `name` (under dist/spec/fixtures/) in a
 * fresh `node` and resolves with how it ended. The hang guard kills it after
 * `killAfterMs` and rejects, saying what it printed so far.
 */
export function runChild(
  name: string,
  args: readonly string[] = [],
  killAfterMs = 10_000,
): Promise<ChildResult> {
  const script = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const tracked = {
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  live.add(tracked);
  return new Promise<ChildResult>((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${name} did not exit within ${killAfterMs} ms (killed); ` +
            `stdout: ${JSON.stringify(stdout)}, stderr: ${JSON.stringify(stderr)}`,
        ),
      );
    }, killAfterMs);
    child.on('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      live.delete(tracked);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
