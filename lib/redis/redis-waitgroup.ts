/**
 * RedisWaitGroup: Go's sync.WaitGroup for many processes on many hosts, its
 * state in Redis. Each operation is one script (scripts/); this
 * class validates, retries transient failures with the same operation id
 * and keeps this process' pending waits, which one `Waker` per
 * client serves.
 *
 * @module
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DEBUG_FROM_ENV, type GoOptions, goName } from '../diagnostics.js';
import {
  counterOverflow,
  describe,
  groupExists,
  groupLost,
  misuse,
  negativeCounter,
  taskLost,
  unavailable,
  type WaitGroupError,
} from '../errors.js';
import { emit, STALLED_WAIT_CODE, type StallWatch, startStallWatch } from '../stall.js';
import { TASKS, traceTask, traceWait, WAITS } from '../tracing.js';
import { Batch, type Outcome } from './batch.js';
import {
  type Connection,
  connectionOf,
  isClosed,
  isTransient,
  type RedisClient,
} from './client.js';
import { Script } from './script.js';
import { ABORT } from './scripts/abort.js';
import { ADD } from './scripts/add.js';
import { CHECK } from './scripts/check.js';
import { CREATE } from './scripts/create.js';
import { REGISTER } from './scripts/register.js';
import { RENEW } from './scripts/renew.js';
import { UNFINISHED } from './scripts/unfinished.js';
import { topicOf, type Waker, wakerOf } from './waker.js';

/** What identifies a group in Redis: its name and the epoch `create` gave it. Plain JSON. */
export interface RedisWaitGroupHandle {
  readonly name: string;
  readonly epoch: string;
}

/** Options of {@link RedisWaitGroup.create} and {@link RedisWaitGroup.from}. */
export interface RedisWaitGroupOptions {
  /**
   * Milliseconds after the group's last change before Redis drops all its
   * keys. Only `create` takes it (default 86,400,000: a day); it belongs to
   * the group, and `from` refuses it.
   */
  readonly ttl?: number | undefined;
  /** Milliseconds a go() task's process may be silent before the task counts as lost. Default 30,000. */
  readonly lease?: number | undefined;
  /**
   * The prefix of every key of the group (default `'awaitgroup:'`), so that
   * an ACL user limited to its own keys (`~app:*`) can use groups. Every
   * process of a group must use the same prefix.
   */
  readonly prefix?: string | undefined;
  /**
   * After each change, wait until this many replicas have it (`WAIT`,
   * bounded by `retryFor`) before the call resolves. Default 0.
   */
  readonly replicas?: number | undefined;
  /**
   * Milliseconds a call keeps retrying while Redis does not answer before it
   * rejects with `ERR_WAITGROUP_UNAVAILABLE`. Default 30,000. A pending
   * `wait()` is not bounded by it: it outlasts an outage until its signal.
   */
  readonly retryFor?: number | undefined;
  /**
   * Milliseconds an operation id is kept so that a retry of the call is
   * still recognised. Default 600,000 (10 minutes).
   */
  readonly retryWindow?: number | undefined;
  /**
   * Debug mode for this instance: a `wait()` of this process pending with no
   * change of the group's counter for `AWAITGROUP_STALL_MS` ms (default
   * 10 000) is reported with a warning (code `AWAITGROUP_STALLED_WAIT`)
   * naming the group's unfinished units across processes, then again at
   * doubling intervals while it stays stalled. Default: on when the
   * environment variable `AWAITGROUP_DEBUG` is `1`, `true`, `yes` or `on`.
   */
  readonly debug?: boolean | undefined;
}

/** Options of {@link RedisWaitGroup.create}. */
export interface RedisCreateOptions extends RedisWaitGroupOptions {
  /** Abort the call: it rejects at once with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
}

/** The `{ signal }` option of the calls that talk to Redis. */
export interface RedisCallOptions {
  /** Abort the call: it rejects at once with `signal.reason`, whether or not Redis answers. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link RedisWaitGroup.done}. */
export interface RedisDoneOptions extends RedisCallOptions {
  /** Count this done once for the group's lifetime, however often it is called with this id. */
  readonly id?: string | undefined;
}

/** Options of {@link RedisWaitGroup.go}. */
export interface RedisGoOptions extends GoOptions, RedisCallOptions {}

/** Options of {@link RedisWaitGroup.wait}. */
export interface RedisWaitOptions extends RedisCallOptions {}

/** What {@link RedisWaitGroup.state} reads. */
export interface RedisWaitGroupState {
  readonly counter: number;
  /** The waiters registered in the current generation. */
  readonly waiters: number;
  /** The generation: how many times the group has released its waiters. */
  readonly gen: number;
  /** The group's configured TTL in ms. */
  readonly ttl: number;
  /** 'task' once the group was lost with a go() task whose owner stopped; every call then rejects. */
  readonly lost?: 'task' | undefined;
  /** The lost task's name. */
  readonly task?: string | undefined;
  /** The lost task's owner: its host and pid. */
  readonly owner?: string | undefined;
}

/** One open unit of a Redis group, as {@link RedisWaitGroup.unfinished} reports it. */
export type RedisUnfinished =
  | {
      /** The go() task's name. */
      readonly name: string;
      readonly host: string;
      readonly pid: number;
      /** When it started, in ms since the epoch on Redis' clock. */
      readonly since: number;
      /** When its lease runs out, in ms since the epoch on Redis' clock. */
      readonly leaseExpiresAt: number;
      /** Whether its lease has run out: its process stopped renewing it. */
      readonly expired: boolean;
    }
  | {
      /** Units added by plain add(): they have no name. */
      readonly name: undefined;
      readonly count: number;
    };

const DEFAULT_TTL = 86_400_000;
const DEFAULT_LEASE = 30_000;
const DEFAULT_RETRY_FOR = 30_000;
const DEFAULT_RETRY_WINDOW = 600_000;
const DEFAULT_PREFIX = 'awaitgroup:';
const MIN_LEASE = 100;
const RECHECK_MS = 1000;
/** Re-checks of the pending waits of all groups of a process, per second, at most (about). */
const RECHECKS_PER_SECOND = 100;
const DEREGISTER_ATTEMPTS = 5;
const MAX_NAME = 200;
const MAX_PREFIX = 100;
const MAX_LISTED = 1000;
/** The most changes of one instance one add script applies, so that no script runs long. */
const MAX_BATCH = 256;
const HOST = hostname();
const OWNER = `host ${HOST} pid ${process.pid}`;
// 72 random bits, short: every operation id of the retry window is stored with it.
const PROCESS = randomBytes(9).toString('base64url');
let sequence = 0;

const scripts = {
  create: new Script(CREATE),
  add: new Script(ADD),
  register: new Script(REGISTER),
  check: new Script(CHECK),
  abort: new Script(ABORT),
  renew: new Script(RENEW),
  unfinished: new Script(UNFINISHED),
};

/** The highest version of each group this process has seen: a lower one is a rollback. */
const versions = new Map<string, number>();

/** opId returns an id no other operation of any process has. */
function opId(): string {
  return `${PROCESS}:${++sequence}`;
}

/** One change of the counter: the add script's arguments for it, and its delta. */
interface Change {
  readonly args: readonly string[];
  readonly delta: number;
}

/** A pending wait of this process. */
interface Pending {
  readonly gen: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** How a call retries: bounded by retryFor (calls) or only by its signal (a wait). */
interface RunOptions {
  readonly signal?: AbortSignal | undefined;
  readonly unbounded?: boolean;
  readonly attempts?: number;
  /** How long the call may take in all, in ms, when not retryFor. */
  readonly limit?: number;
}

/**
 * RedisWaitGroup waits for a collection of tasks that run in many processes,
 * on many hosts, to finish. Its counter, its waiters and its generation live
 * in Redis under keys that share the hash tag `{name}`, so the same group
 * works on one server and on a Redis Cluster.
 *
 * Every process attaches with {@link RedisWaitGroup.from} and the group's
 * handle; `add` and `done` are Go's Add and Done, applied once each even
 * when a reply is lost and the call is retried; `wait` resolves when the
 * counter reaches zero. The `done()` that brings the counter to zero
 * happens before every `wait()` it releases resolves.
 *
 * A call retries while Redis does not answer for at most `retryFor` ms,
 * then rejects with `ERR_WAITGROUP_UNAVAILABLE`; every call takes
 * `{ signal }`. A group whose state Redis lost (expired, evicted, rolled
 * back by a failover or an older snapshot) rejects with
 * `ERR_WAITGROUP_LOST`, never runs on.
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
  /** What this group's releases are read as: its stream (Cluster) or its topic on the bell. */
  readonly #topic: string;
  readonly #ttl: string;
  readonly #lease: number;
  readonly #replicas: number;
  readonly #retryFor: number;
  readonly #window: string;
  readonly #version: string;
  readonly #pending = new Set<Pending>();
  #unwatch: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #checking = false;
  #lost: (() => WaitGroupError) | undefined;
  readonly #tasks = new Set<string>();
  readonly #watcher = {
    released: (gen: number) => this.#released(gen),
    recheck: () => void this.#recheck(),
    closed: () => this.#closed(),
  };
  #renewer: ReturnType<typeof setInterval> | undefined;
  #renewing = false;
  readonly #debug: boolean;
  /** Debug mode: the stalled-wait watch while a wait of this process is pending. */
  #stall: StallWatch | undefined;
  /** Debug mode: how many changes of the counter (or generation) this process has seen. */
  #changes = 0;
  /** Debug mode: the counter and generation last read from Redis. */
  #counterSeen: number | undefined;
  #genSeen: number | undefined;
  /** The changes of this instance requested while one is in flight go together, in order. */
  readonly #batch = new Batch<Change>(
    (changes, signal, since) => this.#commit(changes, signal, since),
    MAX_BATCH,
  );

  private constructor(
    client: object,
    connection: Connection,
    handle: RedisWaitGroupHandle,
    ttl: string,
    options: Settings,
  ) {
    this.name = handle.name;
    this.handle = Object.freeze({ name: handle.name, epoch: handle.epoch });
    this.#connection = connection;
    this.#waker = wakerOf(client, connection, options.prefix);
    const base = `${options.prefix}{${handle.name}}`;
    const keys = [base, `${base}:ops`, `${base}:events`, `${base}:leases`, `${base}:opids`];
    // One server: every release also rings the bell that one read serves.
    if (!connection.cluster) keys.push(this.#waker.bell);
    this.#keys = keys;
    this.#topic = connection.cluster ? `${base}:events` : topicOf(base, handle.epoch);
    this.#version = `${base}\0${handle.epoch}`;
    this.#ttl = ttl;
    this.#lease = options.lease;
    this.#replicas = options.replicas;
    this.#retryFor = options.retryFor;
    this.#window = String(options.retryWindow);
    this.#debug = options.debug;
  }

  /**
   * create makes an empty group named `name` in Redis with a fresh random
   * epoch and returns it. An existing live group of that name is
   * `ERR_WAITGROUP_EXISTS`; nothing is changed then.
   *
   * @param client - a connected node-redis client or cluster, or an ioredis Redis or Cluster
   * @param name - 1 to 200 characters of well-formed Unicode, without `{` or `}`
   * @throws TypeError or RangeError for a bad client, name or option; WaitGroupError
   *   ERR_WAITGROUP_EXISTS, ERR_WAITGROUP_UNAVAILABLE; `signal.reason` on abort
   */
  static async create(
    client: RedisClient,
    name: string,
    options?: RedisCreateOptions,
  ): Promise<RedisWaitGroup> {
    const connection = connectionOf(client, 'RedisWaitGroup.create');
    checkName(name, 'RedisWaitGroup.create');
    const settings = checkOptions(options, 'RedisWaitGroup.create', connection);
    const signal = signalOf(options, 'RedisWaitGroup.create');
    signal?.throwIfAborted();
    const wg = new RedisWaitGroup(
      client,
      connection,
      { name, epoch: randomUUID() },
      String(settings.ttl ?? DEFAULT_TTL),
      settings,
    );
    const reply = await wg.#run(scripts.create, [wg.#ttl], { signal });
    if (reply[0] === 'exists') throw groupExists(name);
    await wg.#replicate(signal);
    wg.#saw(reply);
    return wg;
  }

  /**
   * from attaches to the group that `handle` names, without a round trip.
   * A handle whose group is gone, or was created again under the same name,
   * makes every later call reject with `ERR_WAITGROUP_LOST`.
   *
   * @throws TypeError or RangeError for a bad client, handle or option (`ttl` belongs to create)
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
    const settings = checkOptions(options, 'RedisWaitGroup.from', connection);
    if (settings.ttl !== undefined) {
      throw new TypeError(
        `RedisWaitGroup.from: options.ttl belongs to the group and is set by RedisWaitGroup.create; ` +
          `leave it out of from(), got ${describe(settings.ttl)}`,
      );
    }
    return new RedisWaitGroup(client, connection, handle, '', settings);
  }

  /**
   * add adds `delta`, which may be negative, to the counter. If the counter
   * becomes zero, every pending `wait()` of the current generation, in every
   * process, resolves. An add that would take the counter below zero or
   * above 2^31 − 1 rejects and changes nothing.
   *
   * @param delta - a safe integer; default 1
   * @throws TypeError for a bad delta; WaitGroupError ERR_WAITGROUP_NEGATIVE_COUNTER,
   *   ERR_WAITGROUP_COUNTER_OVERFLOW, ERR_WAITGROUP_LOST, ERR_WAITGROUP_TASK_LOST,
   *   ERR_WAITGROUP_UNAVAILABLE; `signal.reason` on abort
   */
  async add(delta = 1, options?: RedisCallOptions): Promise<void> {
    if (!Number.isSafeInteger(delta)) {
      throw new TypeError(
        `add: delta must be a safe integer, got ${describe(delta)}; nothing was added`,
      );
    }
    const signal = signalOf(options, 'add');
    await this.#apply(delta, '', '', '', '', signal);
  }

  /**
   * done decrements the counter by one. With `{ id }` it counts once for
   * the group's lifetime: a later `done({ id })` with the same id resolves
   * and changes nothing, so a queue that runs a job twice cannot release
   * the group early, and a caller may safely retry it after
   * `ERR_WAITGROUP_UNAVAILABLE`.
   *
   * @throws TypeError for a bad id; WaitGroupError ERR_WAITGROUP_NEGATIVE_COUNTER, ERR_WAITGROUP_LOST,
   *   ERR_WAITGROUP_TASK_LOST, ERR_WAITGROUP_UNAVAILABLE; `signal.reason` on abort
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
    const signal = signalOf(options, 'done');
    await this.#apply(-1, id, '', '', '', signal);
  }

  /**
   * go adds one, runs `fn` once that add is applied, and calls done when
   * its result settles, fulfilled or rejected. While it runs, the task
   * holds a lease renewed by this process; should the process die, the
   * lease expires and every pending wait rejects with
   * `ERR_WAITGROUP_TASK_LOST` naming the task and its owner. `signal`
   * aborts the add; once `fn` runs, its done is always applied.
   *
   * @returns the task's result; a failed done after a fulfilled task rejects with its error
   * @throws TypeError for a non-function or bad options, with nothing added
   */
  async go<T>(fn: () => T | PromiseLike<T>, options?: RedisGoOptions): Promise<Awaited<T>> {
    if (typeof fn !== 'function') {
      throw new TypeError(`go: fn must be a function, got ${describe(fn)}; nothing was added`);
    }
    const name = options === undefined ? undefined : goName(options);
    const signal = signalOf(options, 'go');
    const task = opId();
    const info = JSON.stringify({
      task: name ?? (fn.name || 'anonymous'),
      owner: OWNER,
      host: HOST,
      pid: process.pid,
    });
    await this.#apply(1, '', 'start', task, info, signal);
    this.#renew(task);
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
   * wait resolves when the counter is zero: at once if it is zero now, else
   * when the generation it registered in is released. It never throws
   * synchronously. A pending wait outlasts an outage of Redis (it is not
   * bounded by `retryFor`) and re-checks the state when the connection comes
   * back and at a bounded interval, so no release is missed.
   *
   * @throws (rejects) `signal.reason` on abort, at once; WaitGroupError ERR_WAITGROUP_LOST,
   *   ERR_WAITGROUP_TASK_LOST, ERR_WAITGROUP_UNAVAILABLE (the client was closed)
   */
  async wait(options?: RedisWaitOptions): Promise<void> {
    const signal = signalOf(options, 'wait');
    signal?.throwIfAborted();
    if (this.#lost !== undefined) throw this.#lost();
    const op = opId();
    let reply: unknown[];
    try {
      reply = await this.#run(scripts.register, [op], { signal, unbounded: true });
    } catch (error) {
      // The registration may have been applied: take it back in the background.
      if (signal?.aborted && error === signal.reason) this.#deregister(op, '');
      throw error;
    }
    const [status] = reply;
    if (status === 'zero') return;
    this.#refuse(reply);
    const gen = Number(reply[2]);
    if (Number(reply[3]) > gen) return;
    const lastId = String(reply[4]);
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
      if (this.#waker.closed) {
        reject(clientClosed());
        return;
      }
      this.#pending.add(pending);
      this.#watch(lastId);
      // D7: debug mode reports a wait that stalls.
      if (this.#debug) this.#watchStall(gen);
      if (signal !== undefined) {
        onAbort = () => {
          if (!this.#pending.has(pending)) return;
          pending.reject(signal.reason);
          this.#deregister(op, String(gen));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    // T1: a wait that registered is traced, when anyone listens.
    return WAITS.hasSubscribers ? traceWait('RedisWaitGroup', this, waiting) : waiting;
  }

  /**
   * state reads the counter, the waiters of the current generation, the
   * generation and the group's TTL; for a group lost with a task, which
   * task and owner.
   *
   * @throws WaitGroupError ERR_WAITGROUP_LOST, ERR_WAITGROUP_UNAVAILABLE; `signal.reason` on abort
   */
  async state(options?: RedisCallOptions): Promise<RedisWaitGroupState> {
    const signal = signalOf(options, 'state');
    const reply = await this.#run(scripts.check, [], { signal });
    const lost = reply[0] === 'tasklost';
    if (!lost) this.#refuse(reply);
    const state = {
      counter: Number(reply[3]),
      waiters: Number(reply[4]),
      gen: Number(reply[2]),
      ttl: Number(reply[5]),
    };
    if (this.#debug) this.#observe(state.counter, state.gen);
    if (!lost) return state;
    const info = reply[1];
    this.#lost ??= () => lostTask(info);
    return { ...state, lost: 'task', ...taskOf(info) };
  }

  /**
   * unfinished lists the open units of the group across every process: each
   * go() task still holding a lease (at most 1000), and one entry with the
   * count of units added by plain add(). A group lost with a task lists
   * that task as expired.
   *
   * @throws WaitGroupError ERR_WAITGROUP_LOST, ERR_WAITGROUP_UNAVAILABLE; `signal.reason` on abort
   */
  async unfinished(options?: RedisCallOptions): Promise<RedisUnfinished[]> {
    const signal = signalOf(options, 'unfinished');
    return (await this.#unfinished({ signal })).units;
  }

  /** unfinished reads the open units with Redis' clock, the counter and how many tasks hold a lease. */
  async #unfinished(options: RunOptions): Promise<Unfinished> {
    const reply = await this.#run(scripts.unfinished, [String(MAX_LISTED)], options);
    if (reply[0] === 'tasklost') {
      const info = parse(reply[1]);
      const units = [
        { ...unitOf(info), since: Number.NaN, leaseExpiresAt: Number.NaN, expired: true },
      ];
      return { now: Number.NaN, counter: Number.NaN, live: 1, units };
    }
    this.#refuse(reply);
    const now = Number(reply[3]);
    const live = Number(reply[4]);
    if (this.#debug) this.#observe(Number(reply[2]));
    const units: RedisUnfinished[] = [];
    for (let i = 5; i + 2 < reply.length; i += 3) {
      const leaseExpiresAt = Number(reply[i + 2]);
      units.push({
        ...unitOf(parse(reply[i])),
        since: Number(reply[i + 1]),
        leaseExpiresAt,
        expired: leaseExpiresAt <= now,
      });
    }
    const plain = Number(reply[2]) - live;
    if (plain > 0) units.push({ name: undefined, count: plain });
    return { now, counter: Number(reply[2]), live, units };
  }

  /** observe counts a change of the counter (or generation) read from Redis: the stall watch's progress. */
  #observe(counter: number, gen?: number): void {
    if (this.#counterSeen !== undefined && counter !== this.#counterSeen) this.#changes++;
    this.#counterSeen = counter;
    if (gen === undefined) return;
    if (this.#genSeen !== undefined && gen !== this.#genSeen) this.#changes++;
    this.#genSeen = gen;
  }

  /**
   * watchStall starts the stalled-wait watch for a pending wait, unless one
   * runs. Its progress is what the re-checks already read, so it adds no
   * round trip until it reports; a report reads the units across processes.
   */
  // SPEC §10 D7, §11 T4.
  #watchStall(gen: number): void {
    if (this.#stall !== undefined) return;
    // The wait's registration read the generation; the next re-check reads the counter.
    this.#genSeen = gen;
    this.#counterSeen = undefined;
    const watch = startStallWatch(
      {
        progress: () => this.#changes,
        pending: () => this.#pending.size > 0,
        report: (stalledMs) => {
          const seconds = (stalledMs / 1000).toFixed(1);
          return (
            `RedisWaitGroup ${quote(this.name)}: ${plural(this.#pending.size, 'wait()')} pending in this ` +
            `process with no change of the counter for ${seconds} s`
          );
        },
      },
      { warn: (head) => void this.#stallReport(watch, head) },
    );
    this.#stall = watch;
  }

  /** stallReport reads the unfinished units and emits the report, unless the wait settled meanwhile. */
  async #stallReport(watch: StallWatch, head: string): Promise<void> {
    let tail: string;
    try {
      tail = describeUnfinished(await this.#unfinished({ attempts: 1 }));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      tail = `its unfinished units could not be read from Redis: ${message}`;
    }
    if (this.#stall === watch) emit(`${head}, ${tail}`, STALLED_WAIT_CODE);
  }

  /** `await using wg = …` waits for the group when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.wait();
  }

  /**
   * How Node's `util.inspect` shows the group: its name, its epoch and how
   * many waits of this process are pending, in Node's own style.
   */
  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: { stylize?: (text: string, style: string) => string },
    inspect?: (value: unknown, options?: object) => string,
  ): string {
    const style = options?.stylize ?? ((text: string) => text);
    const text = (value: string): string =>
      typeof inspect === 'function' ? inspect(value, options) : style(quote(value), 'string');
    const debug = this.#debug ? `, debug: ${style('true', 'boolean')}` : '';
    return (
      `RedisWaitGroup { name: ${text(this.name)}, epoch: ${text(this.handle.epoch)}, ` +
      `pending: ${style(String(this.#pending.size), 'number')}${debug} }`
    );
  }

  async #apply(
    delta: number,
    id: string,
    lease: string,
    task: string,
    info: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (this.#lost !== undefined) throw this.#lost();
    const args = [opId(), String(delta), id, lease, task, String(this.#lease), info];
    await this.#batch.submit({ args, delta }, signal);
  }

  /**
   * commit applies a batch of this instance's changes with one add script,
   * in order, each with its own operation id (a retry sends the same batch),
   * and returns each change's outcome: its own refusal, or applied. With
   * replicas, one WAIT serves the whole batch.
   */
  // SPEC §9 R7, R13, R16; §9.1 R14: retryFor counts from the oldest change's call.
  async #commit(
    changes: readonly Change[],
    signal: AbortSignal | undefined,
    since: number,
  ): Promise<readonly Outcome[]> {
    // A batch of one (the commonest) sends its own arguments, and its reply is its own.
    const args =
      changes.length === 1 ? (changes[0] as Change).args : changes.flatMap((c) => c.args);
    const limit = this.#retryFor - (performance.now() - since);
    const reply = await this.#run(scripts.add, args, { signal, limit });
    // A refusal of the prelude (lost, tasklost) is every change's.
    if (reply.length !== 4 * changes.length) {
      this.#refuse(reply);
      throw new TypeError(`awaitgroup: unexpected reply from Redis: ${describe(reply)}`);
    }
    const outcomes: Outcome[] = [];
    const seen: unknown[][] = [];
    for (let i = 0; i < changes.length; i++) {
      const own = changes.length === 1 ? reply : reply.slice(4 * i, 4 * i + 4);
      try {
        this.#refuse(own, changes[i]?.delta);
      } catch (error) {
        outcomes.push({ error });
        continue;
      }
      outcomes.push(undefined);
      seen.push(own);
      if (own[0] !== 'ok') continue;
      if (this.#debug) this.#observe(Number(own[2]));
      // A change's own release settles this instance's waits at once, before
      // its call returns (an abort after it is then ignored); other instances
      // and processes hear it from the waker.
      if (Number(own[2]) === 0) this.#released(Number(own[3]));
    }
    if (seen.length > 0) {
      try {
        await this.#replicate(signal);
      } catch (error) {
        return outcomes.map((outcome) => outcome ?? { error });
      }
      for (const own of seen) this.#saw(own);
    }
    return outcomes;
  }

  /**
   * replicate waits until `replicas` replicas have the change, within
   * retryFor. It sends WAIT in slices of at most {@link WAIT_SLICE_MS}, on
   * the connection that wrote the change, so that no slice outlives a
   * client's own command timeout (ioredis `commandTimeout`) and the user's
   * other commands on that connection wait at most one slice behind it.
   */
  async #replicate(signal: AbortSignal | undefined): Promise<void> {
    if (this.#replicas === 0) return;
    // R17 bounded by R14's retryFor: the replicas have 0.8 of it, the last reply the rest.
    const bound = Math.max(1, Math.floor(this.#retryFor * 0.8));
    const deadline = performance.now() + bound;
    let slice = WAIT_SLICE_MS;
    let acks = 0;
    /** The client's own timeout, if it cut the last WAIT short. */
    let cut: unknown;
    for (;;) {
      const ms = Math.max(1, Math.min(slice, Math.ceil(deadline - performance.now())));
      const args = ['WAIT', String(this.#replicas), String(ms)];
      try {
        const reply = await this.#call(() => this.#connection.call(this.#keys[0], args), {
          signal,
          attempts: 1,
          limit: ms + Math.max(1000, this.#retryFor / 5),
        });
        acks = Number(reply);
        cut = undefined;
        if (acks >= this.#replicas) return;
      } catch (error) {
        const cause = error instanceof Error ? error.cause : undefined;
        if (!timedOutByClient(error)) {
          // Not sent again: a WAIT that is the first command of a new connection
          // waits for nothing (measured: it counted a stopped replica at once).
          if (cause !== undefined && isTransient(cause)) throw this.#replicasUnknown(cause);
          throw error;
        }
        // The client gave up on the slice (its own command timeout) on the same
        // connection, where the server still runs it: shorter slices fit once it
        // has drained, and each WAIT waits for the same write.
        slice = Math.max(MIN_WAIT_SLICE_MS, Math.floor(slice / 2));
        cut = cause;
      }
      if (performance.now() >= deadline) break;
    }
    const answer =
      cut === undefined
        ? `only ${acks} of the ${this.#replicas} replicas asked for (options.replicas) acknowledged`
        : `the client's own command timeout cut the WAITs for the ${this.#replicas} replicas ` +
          'asked for (options.replicas) short: none was seen to acknowledge';
    throw unavailable(
      `Redis did not answer: ${answer} the change within ${bound} ms on ` +
        `${this.#connection.describeServer()}; check that the replicas are up and connected ` +
        '(INFO replication). The change was applied on the master and may be lost in a failover',
      cut,
    );
  }

  /** replicasUnknown is the error of a connection lost while its change waited for the replicas. */
  #replicasUnknown(cause: unknown): WaitGroupError {
    return unavailable(
      `Redis did not answer: the connection to ${this.#connection.describeServer()} was lost ` +
        `while the change waited for the ${this.#replicas} replicas asked for (options.replicas), ` +
        'so whether they have it is unknown. The change was applied on the master: ' +
        'done({ id }) is safe to call again',
      cause,
    );
  }

  #finish(task: string): Promise<void> {
    this.#tasks.delete(task);
    if (this.#tasks.size === 0 && this.#renewer !== undefined) {
      clearInterval(this.#renewer);
      this.#renewer = undefined;
    }
    return this.#apply(-1, '', 'end', task, '', undefined);
  }

  #renew(task: string): void {
    this.#tasks.add(task);
    if (this.#renewer !== undefined) return;
    this.#renewer = setInterval(() => {
      if (this.#tasks.size === 0 || this.#renewing) return;
      if (this.#waker.closed) {
        clearInterval(this.#renewer);
        this.#renewer = undefined;
        return;
      }
      this.#renewing = true;
      this.#run(scripts.renew, [String(this.#lease), ...this.#tasks], { attempts: 1 })
        .catch(() => {})
        .finally(() => {
          this.#renewing = false;
        });
    }, this.#lease / 3);
    this.#renewer.unref?.();
  }

  /** refuse throws the error a script's refusal stands for. */
  #refuse(reply: unknown[], delta = 0): void {
    const [status] = reply;
    switch (status) {
      case 'lost':
        throw groupLost(this.name, whyLost(reply[1]));
      case 'tasklost': {
        const info = reply[1];
        this.#lost ??= () => lostTask(info);
        throw this.#lost();
      }
      case 'negative':
        throw negativeCounter(Number(reply[2]), delta);
      case 'overflow':
        throw counterOverflow(Number(reply[2]), delta);
      case 'misuse':
        throw misuse();
    }
  }

  /** deregister takes back a wait's registration in the background: bounded, never throwing. */
  #deregister(op: string, gen: string): void {
    this.#run(scripts.abort, [opId(), op, gen], { attempts: DEREGISTER_ATTEMPTS }).catch(() => {});
  }

  #watch(lastId: string): void {
    // Watching again with the same watcher only moves the read position back to `lastId`.
    const unwatch = this.#waker.watch(this.#topic, lastId, this.#watcher);
    if (this.#unwatch === undefined) {
      this.#unwatch = unwatch;
      this.#schedule();
    }
  }

  /**
   * schedule arms the next re-check: every second for a few groups, spread
   * out for many, so that a process re-checks about
   * {@link RECHECKS_PER_SECOND} groups a second in all.
   */
  #schedule(): void {
    clearTimeout(this.#timer);
    const period = RECHECK_MS * Math.max(1, this.#waker.watched / RECHECKS_PER_SECOND);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        void this.#recheck().finally(() => {
          if (this.#unwatch !== undefined && this.#timer === undefined) this.#schedule();
        });
      },
      period * (0.75 + Math.random() / 2),
    );
  }

  #idle(): void {
    this.#stall?.stop();
    this.#stall = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const unwatch = this.#unwatch;
    this.#unwatch = undefined;
    unwatch?.();
  }

  /** closed: the user closed the client; every pending wait rejects. */
  #closed(): void {
    for (const pending of [...this.#pending]) pending.reject(clientClosed());
    this.#idle();
    clearInterval(this.#renewer);
    this.#renewer = undefined;
  }

  /** released settles the waits whose generation is before `gen`. */
  #released(gen: number): void {
    for (const pending of [...this.#pending]) if (pending.gen < gen) pending.resolve();
  }

  /** recheck reads the state: the truth that the stream only hints at. Never throws. */
  async #recheck(): Promise<void> {
    if (this.#checking || this.#pending.size === 0) return;
    this.#checking = true;
    try {
      const readiness = this.#connection.readiness();
      if (readiness === 'closed' || readiness === 'unconnected' || this.#waker.closed) {
        this.#closed();
        return;
      }
      const reply = await this.#run(scripts.check, [], { attempts: 1 });
      if (reply[0] === 'lost' || reply[0] === 'tasklost') {
        const fail = (): unknown => {
          try {
            this.#refuse(reply);
          } catch (error) {
            return error;
          }
          return undefined;
        };
        for (const pending of [...this.#pending]) pending.reject(fail());
        return;
      }
      const gen = Number(reply[2]);
      const counter = Number(reply[3]);
      if (this.#debug) this.#observe(counter, gen);
      this.#released(gen);
      // A wait whose generation finds the counter at zero has nothing left to
      // wait for (its registration was lost with a rollback): it resolves.
      if (counter === 0) {
        for (const pending of [...this.#pending]) if (pending.gen === gen) pending.resolve();
      }
    } catch (error) {
      if (
        error instanceof Error &&
        (error as WaitGroupError).code === 'ERR_WAITGROUP_UNAVAILABLE'
      ) {
        if (this.#waker.closed || isClosedNow(this.#connection)) this.#closed();
      }
      // Otherwise unreachable for now: the next round, or the reconnect, checks again.
    } finally {
      this.#checking = false;
    }
  }

  /**
   * run runs a script on this group's keys, retrying transient failures with
   * the same arguments (so the same operation id), and reads its version.
   */
  async #run(script: Script, args: readonly string[], options: RunOptions): Promise<unknown[]> {
    const reply = await this.#call(
      () =>
        script.run(this.#connection, this.#keys, [
          this.handle.epoch,
          String(versions.get(this.#version) ?? 0),
          this.#window,
          ...args,
        ]),
      options,
    );
    if (!Array.isArray(reply)) {
      throw new TypeError(`awaitgroup: unexpected reply from Redis: ${describe(reply)}`);
    }
    const list = reply.map((item) => (typeof item === 'number' ? item : String(item)));
    // With replicas, a version counts as seen only once the replicas have it
    // (see #apply): a change they never got may be lost without a rollback.
    if (this.#replicas === 0) this.#saw(list);
    return list;
  }

  /** saw remembers the version a script's reply carries, if it is the highest seen. */
  #saw(reply: readonly unknown[]): void {
    const version = Number(reply[1]);
    if (VERSIONED.has(reply[0] as string) && Number.isSafeInteger(version)) {
      if (version > (versions.get(this.#version) ?? 0)) versions.set(this.#version, version);
    }
  }

  /**
   * call sends one command (by `send`) and retries transient failures with
   * backoff: for at most retryFor ms, `attempts` times, or (unbounded) until
   * the signal. An abort rejects at once with `signal.reason`; a closed or
   * never connected client at once with ERR_WAITGROUP_UNAVAILABLE.
   */
  async #call(send: () => Promise<unknown>, options: RunOptions): Promise<unknown> {
    const { signal, unbounded = false, attempts = Number.POSITIVE_INFINITY } = options;
    const limit = options.limit ?? this.#retryFor;
    const start = performance.now();
    let last: unknown;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      refuseClosed(this.#connection);
      const left = unbounded ? Number.POSITIVE_INFINITY : limit - (performance.now() - start);
      if (left <= 0) throw this.#unavailable(last);
      try {
        return await bounded(send(), left, signal);
      } catch (error) {
        if (error === TIMED_OUT) throw this.#unavailable(last);
        if (signal?.aborted && error === signal.reason) throw error;
        if (isClosed(error)) throw clientClosed(error);
        refuseClosed(this.#connection, error);
        if (!isTransient(error)) throw error;
        last = error;
        if (attempt >= attempts) throw this.#unavailable(last);
      }
      await bounded(sleep(Math.min(1000, 25 * 2 ** attempt)), Number.POSITIVE_INFINITY, signal);
    }
  }

  #unavailable(cause: unknown): WaitGroupError {
    const reason =
      cause instanceof Error
        ? ` (last error: ${cause.message})`
        : ` (no reply within ${this.#retryFor} ms)`;
    return unavailable(
      `Redis did not answer within ${this.#retryFor} ms (options.retryFor): ` +
        `${this.#connection.describeServer()}${reason}; check that it is up and reachable ` +
        'from this host, and for a Cluster or Sentinel that a master serves the group. ' +
        'The change may or may not have been applied: done({ id }) is safe to call again',
      cause,
    );
  }
}

/** The statuses whose reply carries the group's version second. */
const VERSIONED = new Set([
  'ok',
  'again',
  'wait',
  'zero',
  'aborted',
  'released',
  'negative',
  'overflow',
  'misuse',
]);

const TIMED_OUT = Symbol('timed out');

/**
 * The longest block of one WAIT of `replicas`. Redis ends a blocked WAIT at
 * its next event loop tick (up to 100 ms late at the default `hz` of 10),
 * so a slice answers within about 250 ms: below the command timeouts
 * clients are given (ioredis `commandTimeout` of 300 ms and up), and the
 * longest a user's other commands on that connection wait behind it.
 */
const WAIT_SLICE_MS = 150;
/** The shortest slice, for a client whose own command timeout is shorter still. */
const MIN_WAIT_SLICE_MS = 15;

/**
 * timedOutByClient tells whether `error` (as #call throws it) is the
 * client's own command timeout on a command it had sent: ioredis
 * "Command timed out", node-redis "... waiting for a reply". A command
 * never sent (node-redis "... waiting to be sent") is not one.
 */
function timedOutByClient(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  if (!(cause instanceof Error)) return false;
  return /timed out/i.test(cause.message) && !/waiting to be sent/.test(cause.message);
}

/**
 * bounded settles like `promise`, or rejects with TIMED_OUT after `ms`, or
 * with `signal.reason` at its abort: whichever comes first. A rejection of
 * `promise` that comes later is handled.
 */
function bounded<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T> {
  if (ms === Number.POSITIVE_INFINITY && signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      done();
      reject(signal?.reason);
    };
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (ms !== Number.POSITIVE_INFINITY) {
      timer = setTimeout(() => {
        done();
        reject(TIMED_OUT);
      }, ms);
    }
    if (signal !== undefined) {
      if (signal.aborted) {
        onAbort();
        promise.catch(() => {});
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
    }
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isClosedNow(connection: Connection): boolean {
  const readiness = connection.readiness();
  return readiness === 'closed' || readiness === 'unconnected';
}

/** refuseClosed throws at once for a client the user closed or never connected. */
function refuseClosed(connection: Connection, cause?: unknown): void {
  const readiness = connection.readiness();
  if (readiness === 'closed') throw clientClosed(cause);
  if (readiness === 'unconnected') {
    throw unavailable(
      'the client was closed or never connected: connect the client first: ' +
        'await client.connect() (node-redis), then pass it to RedisWaitGroup',
      cause,
    );
  }
}

function clientClosed(cause?: unknown): WaitGroupError {
  return unavailable(
    'the client was closed (quit, close, destroy or disconnect), so this call cannot reach Redis; ' +
      'open a new client and attach to the group again with RedisWaitGroup.from(client, handle)',
    cause,
  );
}

function whyLost(why: unknown): string {
  switch (why) {
    case 'epoch':
      return EPOCH;
    case 'evicted':
      return EVICTED;
    case 'rollback':
      return ROLLBACK;
    default:
      return MISSING;
  }
}

const MISSING = 'is not in Redis (it expired, was deleted, or Redis restarted without its data)';
const EPOCH = 'was created again under the same name (another epoch)';
const EVICTED =
  'lost some of its keys (evicted under maxmemory: use the noeviction or a volatile-* policy)';
const ROLLBACK =
  'is older in Redis than a change this process saw acknowledged (a failover to a replica that ' +
  'was behind, or a restart from an older snapshot: see options.replicas)';

function parse(json: unknown): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(String(json));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function taskOf(json: unknown): { task: string; owner: string } {
  const parsed = parse(json);
  return {
    task: parsed.task === undefined ? 'unknown' : String(parsed.task),
    owner: parsed.owner === undefined ? 'an unknown process' : String(parsed.owner),
  };
}

function unitOf(info: Record<string, unknown>): { name: string; host: string; pid: number } {
  return {
    name: info.task === undefined ? 'unknown' : String(info.task),
    host: info.host === undefined ? 'unknown' : String(info.host),
    pid: Number(info.pid),
  };
}

function lostTask(json: unknown): WaitGroupError {
  const { task, owner } = taskOf(json);
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
  if (!isWellFormed(name)) {
    throw new RangeError(
      `${caller}: name must be well-formed Unicode (a lone surrogate would make two names the same key), got ${describe(name)}`,
    );
  }
}

/** isWellFormed is String.prototype.isWellFormed, where Node 20 lacks it. */
function isWellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof native === 'function') return native.call(text);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** The settings of a group's instance, checked. */
interface Settings {
  readonly ttl: number | undefined;
  readonly lease: number;
  readonly prefix: string;
  readonly replicas: number;
  readonly retryFor: number;
  readonly retryWindow: number;
  readonly debug: boolean;
}

function checkOptions(options: unknown, caller: string, connection: Connection): Settings {
  if (connection.keyPrefix !== '' && connection.cluster) {
    throw new TypeError(
      `${caller}: the client adds its own key prefix (ioredis keyPrefix ${JSON.stringify(connection.keyPrefix)}), ` +
        'which a Cluster client cannot route scripts with; use options.prefix on a client without keyPrefix',
    );
  }
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${caller}: options must be an object like { ttl: 3_600_000 }, got ${describe(options)}`,
    );
  }
  const { ttl, lease, prefix, replicas, retryFor, retryWindow, debug } =
    options as RedisWaitGroupOptions;
  if (debug !== undefined && typeof debug !== 'boolean') {
    throw new TypeError(
      `${caller}: options.debug must be a boolean (true turns debug mode on), got ${describe(debug)}`,
    );
  }
  if (prefix !== undefined) {
    if (typeof prefix !== 'string') {
      throw new TypeError(
        `${caller}: options.prefix must be a string like 'app:', got ${describe(prefix)}`,
      );
    }
    if (prefix.length > MAX_PREFIX || /[{}]/.test(prefix) || !isWellFormed(prefix)) {
      throw new RangeError(
        `${caller}: options.prefix must be at most ${MAX_PREFIX} characters of well-formed Unicode without { or }, got ${describe(prefix)}`,
      );
    }
  }
  if (replicas !== undefined && (!Number.isSafeInteger(replicas) || (replicas as number) < 0)) {
    throw new RangeError(
      `${caller}: options.replicas must be a whole number of replicas (0 or more), got ${describe(replicas)}`,
    );
  }
  return {
    ttl: milliseconds(ttl, 1, `${caller}: options.ttl`),
    lease: milliseconds(lease, MIN_LEASE, `${caller}: options.lease`) ?? DEFAULT_LEASE,
    prefix: prefix ?? DEFAULT_PREFIX,
    replicas: replicas ?? 0,
    retryFor: milliseconds(retryFor, 1, `${caller}: options.retryFor`) ?? DEFAULT_RETRY_FOR,
    retryWindow:
      milliseconds(retryWindow, 1, `${caller}: options.retryWindow`) ?? DEFAULT_RETRY_WINDOW,
    debug: debug ?? DEBUG_FROM_ENV,
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

function signalOf(options: unknown, caller: string): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${caller}: options must be an object like { signal }, got ${describe(options)}`,
    );
  }
  const { signal } = options as RedisCallOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${caller}: options.signal must be an AbortSignal, got ${describe(signal)}`,
    );
  }
  return signal;
}

/** What a read of the unfinished units gives: Redis' clock, the counter, the tasks holding a lease. */
interface Unfinished {
  readonly now: number;
  readonly counter: number;
  readonly live: number;
  readonly units: RedisUnfinished[];
}

/** quote quotes a string the way Node's util.inspect does: in single quotes, unless it holds one. */
function quote(text: string): string {
  if (!text.includes("'")) return `'${text.replace(/\\/g, '\\\\')}'`;
  return JSON.stringify(text);
}

/** plural is "1 task" or "2 tasks"; "wait()" becomes "wait()s". */
function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** seconds shows a span of ms as seconds, one decimal. */
function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

/**
 * describeUnfinished is the stalled-wait report's list of units across
 * processes: each go() task with its host, pid, age and lease, then what
 * plain add() added.
 */
function describeUnfinished({ now, counter, live, units }: Unfinished): string {
  const parts: string[] = [];
  let tasks = 0;
  for (const unit of units) {
    if (unit.name === undefined) {
      parts.push(unit.count > 1 ? `add() ×${unit.count}` : 'add()');
      continue;
    }
    tasks++;
    const owner = `go() task on host ${unit.host} pid ${unit.pid}`;
    if (Number.isNaN(unit.since)) {
      parts.push(`${unit.name} (${owner}, lease expired: the group is lost with it)`);
      continue;
    }
    const lease = unit.expired
      ? `lease expired ${seconds(now - unit.leaseExpiresAt)} ago, its process stopped renewing it`
      : `lease live, expires in ${seconds(unit.leaseExpiresAt - now)}`;
    parts.push(`${unit.name} (${owner}, started ${seconds(now - unit.since)} ago, ${lease})`);
  }
  // At most MAX_LISTED tasks are listed.
  if (live > tasks) parts.push(`${live - tasks} more go() tasks`);
  const count = Number.isNaN(counter) ? live : counter;
  return `${plural(count, 'task')} never finished across processes: ${parts.join(', ')}`;
}
