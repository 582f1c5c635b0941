/**
 * RedisWaitGroup: Go's sync.WaitGroup for many processes on many hosts, its
 * state in Redis. Each operation is one script (scripts/); this
 * class validates, retries transient failures with the same operation id
 * and keeps this process' pending waits, which one `Waker` per
 * client serves.
 *
 * @module
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type GoOptions, goName } from '../diagnostics.js';
import {
  counterOverflow,
  describe,
  groupExists,
  groupLost,
  misuse,
  negativeCounter,
  taskLost,
} from '../errors.js';
import { TASKS, traceTask, traceWait, WAITS } from '../tracing.js';
import { type Connection, connectionOf, isTransient, type RedisClient } from './client.js';
import { Script } from './script.js';
import { ABORT } from './scripts/abort.js';
import { ADD } from './scripts/add.js';
import { CHECK } from './scripts/check.js';
import { CREATE } from './scripts/create.js';
import { REGISTER } from './scripts/register.js';
import { RENEW } from './scripts/renew.js';
import { type Waker, wakerOf } from './waker.js';

/** What identifies a group in Redis: its name and the epoch `create` gave it. Plain JSON. */
export interface RedisWaitGroupHandle {
  readonly name: string;
  readonly epoch: string;
}

/** Options of {@link RedisWaitGroup.create} and {@link RedisWaitGroup.from}. */
export interface RedisWaitGroupOptions {
  /**
   * Milliseconds after the group's last change before Redis drops all its
   * keys. `create` stores it in the group (default 86,400,000: a day);
   * `from` keeps the group's own unless it passes one, which then replaces it.
   */
  readonly ttl?: number | undefined;
  /** Milliseconds a go() task's process may be silent before the task counts as lost. Default 30,000. */
  readonly lease?: number | undefined;
}

/** Options of {@link RedisWaitGroup.done}. */
export interface RedisDoneOptions {
  /** Count this done once for the group's lifetime, however often it is called with this id. */
  readonly id?: string | undefined;
}

/** Options of {@link RedisWaitGroup.wait}. */
export interface RedisWaitOptions {
  /** Abort the wait: it deregisters atomically and rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
}

const DEFAULT_TTL = 86_400_000;
const DEFAULT_LEASE = 30_000;
const MIN_LEASE = 100;
const RECHECK_MS = 1000;
const ATTEMPTS = 12;
const MAX_NAME = 200;
const OWNER = `host ${hostname()} pid ${process.pid}`;
const PROCESS = randomUUID();
let sequence = 0;

const scripts = {
  create: new Script(CREATE),
  add: new Script(ADD),
  register: new Script(REGISTER),
  check: new Script(CHECK),
  abort: new Script(ABORT),
  renew: new Script(RENEW),
};

/** opId returns an id no other operation of any process has. */
function opId(): string {
  return `${PROCESS}:${++sequence}`;
}

/** A pending wait of this process. */
interface Pending {
  readonly gen: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * RedisWaitGroup waits for a collection of tasks that run in many processes,
 * on many hosts, to finish. Its counter, its waiters and its generation live
 * in Redis under keys that share the hash tag `{name}`, so the same group
 * works on one server and on a Redis Cluster.
 *
 * Every process attaches with {@link RedisWaitGroup.from} and the group's
 * handle; `add` and `done` are Go's Add and Done, applied once each even
 * when a reply is lost and the call is retried; `wait` resolves when
 * the counter reaches zero. The `done()` that brings the counter to zero
 * happens before every `wait()` it releases resolves.
 *
 * @example
 * ```ts
 * const wg = await RedisWaitGroup.create(client, 'batch-42');
 * await wg.add(jobs.length);
 * queue.push(jobs.map((job) => ({ job, group: wg.handle })));
 * await wg.wait();                       // in a worker: await RedisWaitGroup.from(client, group).done({ id: job.id })
 * ```
 */
export class RedisWaitGroup implements AsyncDisposable {
  /** The group's name. */
  readonly name: string;
  /** The handle other processes attach with: `{ name, epoch }`, plain JSON. */
  readonly handle: RedisWaitGroupHandle;
  readonly #connection: Connection;
  readonly #waker: Waker;
  readonly #keys: readonly string[];
  readonly #ttl: string;
  readonly #lease: number;
  readonly #pending = new Set<Pending>();
  #unwatch: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking = false;
  readonly #tasks = new Set<string>();
  readonly #watcher = {
    released: (gen: number) => this.#released(gen),
    recheck: () => void this.#recheck(),
  };
  #renewer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    client: object,
    connection: Connection,
    handle: RedisWaitGroupHandle,
    ttl: string,
    lease: number,
  ) {
    this.name = handle.name;
    this.handle = Object.freeze({ name: handle.name, epoch: handle.epoch });
    this.#connection = connection;
    this.#waker = wakerOf(client, connection);
    const base = `awaitgroup:{${handle.name}}`;
    this.#keys = [base, `${base}:ops`, `${base}:events`, `${base}:leases`];
    this.#ttl = ttl;
    this.#lease = lease;
  }

  /**
   * create makes an empty group named `name` in Redis with a fresh random
   * epoch and returns it. An existing live group of that name is
   * `ERR_WAITGROUP_EXISTS`; nothing is changed then.
   *
   * @param client - a node-redis client or cluster, or an ioredis Redis or Cluster
   * @param name - 1 to 200 characters, without `{` or `}`
   * @throws TypeError or RangeError for a bad client, name or option; WaitGroupError ERR_WAITGROUP_EXISTS
   */
  static async create(
    client: RedisClient,
    name: string,
    options?: RedisWaitGroupOptions,
  ): Promise<RedisWaitGroup> {
    const connection = connectionOf(client, 'RedisWaitGroup.create');
    checkName(name, 'RedisWaitGroup.create');
    const { ttl, lease } = checkOptions(options, 'RedisWaitGroup.create');
    const wg = new RedisWaitGroup(
      client,
      connection,
      { name, epoch: randomUUID() },
      String(ttl ?? DEFAULT_TTL),
      lease ?? DEFAULT_LEASE,
    );
    const [status] = await wg.#run(scripts.create, [wg.handle.epoch, wg.#ttl]);
    if (status === 'exists') throw groupExists(name);
    return wg;
  }

  /**
   * from attaches to the group that `handle` names, without a round trip.
   * A handle whose group is gone, or was created again under the same
   * name, makes every later call reject with `ERR_WAITGROUP_LOST`.
   *
   * @throws TypeError or RangeError for a bad client, handle or option
   */
  static from(
    client: RedisClient,
    handle: RedisWaitGroupHandle,
    options?: RedisWaitGroupOptions,
  ): RedisWaitGroup {
    const connection = connectionOf(client, 'RedisWaitGroup.from');
    if (typeof handle !== 'object' || handle === null) {
      throw new TypeError(
        `RedisWaitGroup.from: handle must be a group's handle { name, epoch } (wg.handle), got ${describe(handle)}`,
      );
    }
    checkName(handle.name, 'RedisWaitGroup.from: handle.name');
    if (typeof handle.epoch !== 'string' || handle.epoch === '') {
      throw new TypeError(
        `RedisWaitGroup.from: handle.epoch must be the non-empty string of wg.handle.epoch, got ${describe(handle.epoch)}`,
      );
    }
    const { ttl, lease } = checkOptions(options, 'RedisWaitGroup.from');
    return new RedisWaitGroup(
      client,
      connection,
      handle,
      ttl === undefined ? '' : String(ttl),
      lease ?? DEFAULT_LEASE,
    );
  }

  /**
   * add adds `delta`, which may be negative, to the counter.
   * If the counter becomes zero, every pending `wait()` of the current
   * generation, in every process, resolves. An add that would take the
   * counter below zero or above 2^31 − 1 rejects and changes nothing.
   *
   * @param delta - a safe integer; default 1
   * @throws TypeError for a bad delta; WaitGroupError ERR_WAITGROUP_NEGATIVE_COUNTER,
   *   ERR_WAITGROUP_COUNTER_OVERFLOW, ERR_WAITGROUP_LOST
   */
  async add(delta = 1): Promise<void> {
    if (!Number.isSafeInteger(delta)) {
      throw new TypeError(
        `add: delta must be a safe integer, got ${describe(delta)}; nothing was added`,
      );
    }
    await this.#apply(delta, '', '', '', '');
  }

  /**
   * done decrements the counter by one. With `{ id }` it counts once
   * for the group's lifetime: a later `done({ id })` with the same id
   * resolves and changes nothing, so a queue that runs a job twice
   * cannot release the group early.
   *
   * @throws TypeError for a bad id; WaitGroupError ERR_WAITGROUP_NEGATIVE_COUNTER, ERR_WAITGROUP_LOST
   */
  async done(options?: RedisDoneOptions): Promise<void> {
    let id = '';
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        throw new TypeError(
          `done: options must be an object like { id: 'job-7' }, got ${describe(options)}`,
        );
      }
      if (options.id !== undefined) {
        if (typeof options.id !== 'string' || options.id === '') {
          throw new TypeError(
            `done: options.id must be a non-empty string (the job's id), got ${describe(options.id)}`,
          );
        }
        id = options.id;
      }
    }
    await this.#apply(-1, id, '', '', '');
  }

  /**
   * go adds one, runs `fn` once that add is applied, and calls done when
   * its result settles, fulfilled or rejected. While it runs, the
   * task holds a lease renewed by this process; should the process die, the
   * lease expires and every pending wait rejects with
   * `ERR_WAITGROUP_TASK_LOST` naming the task and its owner.
   *
   * @returns the task's result; a failed done after a fulfilled task rejects with its error
   * @throws TypeError for a non-function or bad options, with nothing added
   */
  async go<T>(fn: () => T | PromiseLike<T>, options?: GoOptions): Promise<Awaited<T>> {
    if (typeof fn !== 'function') {
      throw new TypeError(`go: fn must be a function, got ${describe(fn)}; nothing was added`);
    }
    const name = options === undefined ? undefined : goName(options);
    const task = opId();
    const info = JSON.stringify({ task: name ?? (fn.name || 'anonymous'), owner: OWNER });
    await this.#apply(1, '', 'start', task, info);
    this.#renewing(task);
    let result: Awaited<T>;
    try {
      // T1: the task runs inside a trace of its own, when anyone listens.
      result = await (TASKS.hasSubscribers
        ? traceTask('RedisWaitGroup', this, name, 0, fn, undefined)
        : fn());
    } catch (error) {
      await this.#finish(task).catch(() => {});
      throw error;
    }
    await this.#finish(task);
    return result;
  }

  /**
   * wait resolves when the counter is zero: at once if it is zero
   * now, else when the generation it registered in is released. It never
   * throws synchronously. A waiter re-checks the state after its connection
   * comes back and at least every second, so no release is missed.
   *
   * @throws (rejects) `signal.reason` on abort; WaitGroupError ERR_WAITGROUP_LOST,
   *   ERR_WAITGROUP_TASK_LOST
   */
  async wait(options?: RedisWaitOptions): Promise<void> {
    const signal = signalOf(options);
    signal?.throwIfAborted();
    const reply = await this.#run(scripts.register, [this.handle.epoch, this.#ttl, opId()]);
    const [status] = reply;
    if (status === 'zero') return;
    this.#refuse(reply);
    const gen = Number(reply[1]);
    if (Number(reply[2]) > gen) return;
    const lastId = String(reply[3]);
    const waiting = new Promise<void>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      const settle = (): void => {
        this.#pending.delete(pending);
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
        if (this.#pending.size === 0) this.#idle();
      };
      const pending: Pending = {
        gen,
        resolve: () => {
          settle();
          resolve();
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      this.#pending.add(pending);
      this.#watch(lastId);
      if (signal !== undefined) {
        onAbort = () => void this.#abort(pending, signal);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    // T1: a wait that registered is traced, when anyone listens.
    return WAITS.hasSubscribers ? traceWait('RedisWaitGroup', this, waiting) : waiting;
  }

  /**
   * state reads the counter and the waiters of the current generation.
   *
   * @throws WaitGroupError ERR_WAITGROUP_LOST
   */
  async state(): Promise<{ counter: number; waiters: number }> {
    const reply = await this.#run(scripts.check, [this.handle.epoch]);
    this.#refuse(reply);
    return { counter: Number(reply[2]), waiters: Number(reply[3]) };
  }

  /** `await using wg = …` waits for the group when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.wait();
  }

  /** The shape `util.inspect` shows. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RedisWaitGroup { name: ${JSON.stringify(this.name)}, pending: ${this.#pending.size} }`;
  }

  async #apply(
    delta: number,
    id: string,
    lease: string,
    task: string,
    info: string,
  ): Promise<void> {
    const args = [
      this.handle.epoch,
      this.#ttl,
      opId(),
      String(delta),
      id,
      lease,
      task,
      String(this.#lease),
      info,
    ];
    const reply = await this.#run(scripts.add, args);
    this.#refuse(reply, delta);
  }

  #finish(task: string): Promise<void> {
    this.#tasks.delete(task);
    if (this.#tasks.size === 0 && this.#renewer !== undefined) {
      clearInterval(this.#renewer);
      this.#renewer = undefined;
    }
    return this.#apply(-1, '', 'end', task, '');
  }

  #renewing(task: string): void {
    this.#tasks.add(task);
    if (this.#renewer !== undefined) return;
    this.#renewer = setInterval(() => {
      if (this.#tasks.size === 0) return;
      this.#run(scripts.renew, [
        this.handle.epoch,
        this.#ttl,
        String(this.#lease),
        ...this.#tasks,
      ]).catch(() => {});
    }, this.#lease / 3);
    this.#renewer.unref?.();
  }

  /** refuse throws the error a script's refusal stands for. */
  #refuse(reply: unknown[], delta = 0): void {
    const [status] = reply;
    switch (status) {
      case 'lost':
        throw groupLost(this.name, reply[1] === 'epoch' ? EPOCH : MISSING);
      case 'tasklost':
        throw lostTask(reply[2]);
      case 'negative':
        throw negativeCounter(Number(reply[1]), delta);
      case 'overflow':
        throw counterOverflow(Number(reply[1]), delta);
      case 'misuse':
        throw misuse();
    }
  }

  async #abort(pending: Pending, signal: AbortSignal): Promise<void> {
    if (!this.#pending.has(pending)) return;
    let reply: unknown[];
    try {
      reply = await this.#run(scripts.abort, [
        this.handle.epoch,
        this.#ttl,
        opId(),
        String(pending.gen),
      ]);
    } catch {
      pending.reject(signal.reason);
      return;
    }
    if (reply[0] === 'released') pending.resolve();
    else pending.reject(signal.reason);
  }

  #watch(lastId: string): void {
    // Watching again with the same watcher only moves the read position back to `lastId`.
    const unwatch = this.#waker.watch(this.#keys[2] as string, lastId, this.#watcher);
    if (this.#unwatch === undefined) {
      this.#unwatch = unwatch;
      this.#timer = setInterval(() => void this.#recheck(), RECHECK_MS);
    }
  }

  #idle(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const unwatch = this.#unwatch;
    this.#unwatch = undefined;
    unwatch?.();
  }

  /** released settles the waits whose generation is before `gen`. */
  #released(gen: number): void {
    for (const pending of [...this.#pending]) if (pending.gen < gen) pending.resolve();
  }

  /** recheck reads the state: the truth that the stream only hints at. */
  async #recheck(): Promise<void> {
    if (this.#checking || this.#pending.size === 0) return;
    this.#checking = true;
    try {
      const reply = await this.#run(scripts.check, [this.handle.epoch]);
      if (reply[0] === 'lost') {
        const error = (): Error => groupLost(this.name, reply[1] === 'epoch' ? EPOCH : MISSING);
        for (const pending of [...this.#pending]) pending.reject(error());
        return;
      }
      this.#released(Number(reply[1]));
      if (reply[4] !== '') {
        for (const pending of [...this.#pending]) pending.reject(lostTask(reply[5]));
      }
    } catch {
      // Unreachable for now: the next round, or the reconnect, checks again.
    } finally {
      this.#checking = false;
    }
  }

  /** run runs a script on this group's keys, retrying transient failures. */
  async #run(script: Script, args: readonly string[]): Promise<unknown[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await script.run(this.#connection, this.#keys, args)) as unknown[];
      } catch (error) {
        if (attempt >= ATTEMPTS || !isTransient(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
      }
    }
  }
}

const MISSING = 'is not in Redis (it expired, was deleted, or Redis restarted without its data)';
const EPOCH = 'was created again under the same name (another epoch)';

function lostTask(json: unknown): Error {
  let task = 'unknown';
  let owner = 'an unknown process';
  try {
    const parsed = JSON.parse(String(json)) as { task?: unknown; owner?: unknown };
    task = String(parsed.task);
    owner = String(parsed.owner);
  } catch {
    // A lease without its record: name what is known.
  }
  return taskLost(JSON.stringify(task), owner);
}

function checkName(name: unknown, caller: string): asserts name is string {
  if (typeof name !== 'string') {
    throw new TypeError(`${caller}: name must be a string, got ${describe(name)}`);
  }
  if (name.length === 0 || name.length > MAX_NAME || /[{}]/.test(name)) {
    throw new RangeError(
      `${caller}: name must be 1 to ${MAX_NAME} characters without { or } (it becomes the keys' hash tag), got ${describe(name)}`,
    );
  }
}

function checkOptions(
  options: unknown,
  caller: string,
): { ttl: number | undefined; lease: number | undefined } {
  if (options === undefined) return { ttl: undefined, lease: undefined };
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${caller}: options must be an object like { ttl: 3_600_000 }, got ${describe(options)}`,
    );
  }
  const { ttl, lease } = options as RedisWaitGroupOptions;
  return {
    ttl: milliseconds(ttl, 1, `${caller}: options.ttl`),
    lease: milliseconds(lease, MIN_LEASE, `${caller}: options.lease`),
  };
}

function milliseconds(value: unknown, min: number, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    throw new TypeError(`${what} must be a number of milliseconds, got ${describe(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `${what} must be an integer of at least ${min} ms, got ${describe(value)}`,
    );
  }
  return value;
}

function signalOf(options: unknown): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `wait: options must be an object like { signal }, got ${describe(options)}`,
    );
  }
  const { signal } = options as RedisWaitOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`wait: options.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return signal;
}
