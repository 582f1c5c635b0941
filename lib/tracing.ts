/**
 * Tracing: the `diagnostics_channel` events that APMs and
 * OpenTelemetry subscribe to, published by every group's `go()` tasks and
 * `wait()`s, and by an ErrGroup when its signal aborts.
 *
 * - `TracingChannel` `awaitgroup:task`: one trace per task that starts
 *   (start, end, asyncStart, asyncEnd, error: the shape `tracePromise`
 *   gives), context `{ kind, group, name, queuedMs }`.
 * - `TracingChannel` `awaitgroup:wait`: one trace per `wait()` that has
 *   something to wait for, context `{ kind, group }`.
 * - channel `awaitgroup:errgroup:abort`: once per ErrGroup, when its signal
 *   aborts, `{ group, reason, cause, stats }`.
 *
 * The module is loaded with the runtime's `getBuiltinModule`, so that `lib/`
 * imports nothing from Node and a browser, which has no such module, runs
 * none of this. A group checks `hasSubscribers` of one of the gates below
 * before it calls in: without a subscriber a task costs one property load
 * and allocates nothing.
 *
 * @module
 */
// SPEC §11, T1 and T2; STYLE.md 18.

/** Which class a traced task or wait belongs to. */
export type TraceGroupKind = 'WaitGroup' | 'ErrGroup' | 'RedisWaitGroup';

/**
 * The context object of a trace on `awaitgroup:task`: every event of one
 * task's trace carries the same object. `tracePromise` adds `result` when
 * the task fulfils and `error` when it fails.
 */
export interface TaskTraceContext {
  /** The class of the group that runs the task. */
  readonly kind: TraceGroupKind;
  /** The group itself. */
  readonly group: object;
  /** The name given to `go(fn, { name })`, or undefined. */
  readonly name: string | undefined;
  /** Milliseconds the task waited for a slot before it started; 0 when it started at once. */
  readonly queuedMs: number;
  /** The task's value, once it has fulfilled. */
  result?: unknown;
  /** The task's error, once it has failed. */
  error?: unknown;
}

/**
 * The context object of a trace on `awaitgroup:wait`: a `wait()` that had
 * something to wait for. `error` is set when the wait rejects.
 */
export interface WaitTraceContext {
  /** The class of the group waited for. */
  readonly kind: TraceGroupKind;
  /** The group itself. */
  readonly group: object;
  /** Set by `tracePromise` when the wait resolves (to undefined). */
  result?: unknown;
  /** The reason the wait rejected. */
  error?: unknown;
}

/** What aborted an ErrGroup's signal. */
export type ErrGroupAbortCause = 'error' | 'parent' | 'cancel' | 'body' | 'settled';

/** The message of `awaitgroup:errgroup:abort`. */
export interface ErrGroupAbortMessage {
  /** The ErrGroup whose signal aborted. */
  readonly group: object;
  /** `group.signal.reason`. */
  readonly reason: unknown;
  /** What aborted it: a task's error, the parent signal, `cancel()`, `run()`'s body, or `wait()` settling. */
  readonly cause: ErrGroupAbortCause;
  /** The group's counts, taken after its queued tasks were dropped. */
  readonly stats: unknown;
}

/** The names of the channels, for `diagnostics_channel.tracingChannel(name)` and `channel(name)`. */
export const TASK_CHANNEL = 'awaitgroup:task';
export const WAIT_CHANNEL = 'awaitgroup:wait';
export const ABORT_CHANNEL = 'awaitgroup:errgroup:abort';

/** A gate: whether anyone listens, read on the hot path before any work. */
export interface Gate {
  readonly hasSubscribers: boolean;
}

// The subset of node:diagnostics_channel used here, typed structurally so
// that the declarations do not need Node's types.
interface Channel extends Gate {
  publish(message: unknown): void;
}

interface TracingChannel {
  readonly hasSubscribers?: boolean;
  readonly start: Channel;
  readonly end: Channel;
  readonly asyncStart: Channel;
  readonly asyncEnd: Channel;
  readonly error: Channel;
  tracePromise<R, This>(fn: (this: This) => Promise<R>, context: object, thisArg: This): Promise<R>;
}

interface DiagnosticsChannel {
  channel(name: string): Channel;
  tracingChannel(name: string): TracingChannel;
}

/** load returns node:diagnostics_channel where the runtime has it (Node ≥ 20.16, Deno, Bun). */
function load(): DiagnosticsChannel | undefined {
  try {
    const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
      .process;
    const dc = process?.getBuiltinModule?.('node:diagnostics_channel') as
      | DiagnosticsChannel
      | undefined;
    return typeof dc?.tracingChannel === 'function' ? dc : undefined;
  } catch {
    return undefined;
  }
}

/** The gate of a runtime without diagnostics_channel: nobody ever listens. */
const CLOSED: Gate = Object.freeze({ hasSubscribers: false });

/**
 * gateOf returns what tells whether a tracing channel has subscribers: the
 * channel itself where it has `hasSubscribers` (Node ≥ 20.13, Deno), else
 * an object that asks its five channels (Bun).
 */
function gateOf(channel: TracingChannel): Gate {
  if (typeof channel.hasSubscribers === 'boolean') return channel as Gate;
  const { start, end, asyncStart, asyncEnd, error } = channel;
  return {
    get hasSubscribers() {
      return (
        start.hasSubscribers ||
        end.hasSubscribers ||
        asyncStart.hasSubscribers ||
        asyncEnd.hasSubscribers ||
        error.hasSubscribers
      );
    },
  };
}

const dc = load();
const taskChannel = dc?.tracingChannel(TASK_CHANNEL);
const waitChannel = dc?.tracingChannel(WAIT_CHANNEL);
const abortChannel: Channel | undefined = dc?.channel(ABORT_CHANNEL);

/** TASKS.hasSubscribers: whether a group should call `traceTask` for a task. */
export const TASKS: Gate = taskChannel === undefined ? CLOSED : gateOf(taskChannel);
/** WAITS.hasSubscribers: whether a group should call `traceWait` for a wait. */
export const WAITS: Gate = waitChannel === undefined ? CLOSED : gateOf(waitChannel);

/** What a queued task's trace needs, noted only while a task subscriber listens. */
interface QueuedNote {
  readonly since: number;
  readonly name: string | undefined;
}

const queuedNotes = new WeakMap<object, QueuedNote>();

/**
 * noteQueued notes that the task `entry` stands for has queued for a slot,
 * with its name, if a task subscriber listens: `queuedMs` and
 * `queuedName` read it when the task starts. Without a subscriber it
 * does nothing, so that a queued task costs nothing more.
 */
export function noteQueued(entry: object, name?: string): void {
  if (TASKS.hasSubscribers) queuedNotes.set(entry, { since: performance.now(), name });
}

/** queuedMs returns how long the task `entry` stands for waited for a slot; 0 if not noted. */
export function queuedMs(entry: object): number {
  const note = queuedNotes.get(entry);
  return note === undefined ? 0 : performance.now() - note.since;
}

/** queuedName returns the name noted for the task `entry` stands for. */
export function queuedName(entry: object): string | undefined {
  return queuedNotes.get(entry)?.name;
}

/** How many `untraced` calls are running: their waits publish nothing. */
let quiet = 0;

const ignore = (): void => {};

/** One traced call: the function, its argument, and the promise it returned. */
interface Call<A, T> {
  readonly fn: (arg: A) => T | PromiseLike<T>;
  readonly arg: A;
  promise: Promise<Awaited<T>> | undefined;
}

/**
 * run calls `this.fn(this.arg)` and keeps the native promise of its result,
 * which `tracePromise` needs (Node 26 publishes no async events for a plain
 * value). A synchronous throw propagates: tracePromise publishes `error`
 * and `end` and rethrows it.
 */
function run<A, T>(this: Call<A, T>): Promise<Awaited<T>> {
  const result = this.fn(this.arg);
  const promise = (result instanceof Promise ? result : Promise.resolve(result)) as Promise<
    Awaited<T>
  >;
  this.promise = promise;
  return promise;
}

/**
 * traced runs `call` inside a trace of `channel` and returns the promise
 * that `call` returned, not the one `tracePromise` chains onto it: the
 * group's own reactions then run in the order they would untraced (on Node
 * before 26, tracePromise's promise rejects two microtasks after a task's),
 * each after the trace's asyncStart and asyncEnd. The chained promise is
 * marked handled; the caller handles the one returned.
 */
function traced<A, T>(
  channel: TracingChannel,
  context: object,
  call: Call<A, T>,
): Promise<Awaited<T>> {
  channel.tracePromise(run, context, call).then(undefined, ignore);
  return call.promise as Promise<Awaited<T>>;
}

/**
 * traceTask calls `fn(arg)` inside a trace of `awaitgroup:task`, in the
 * caller's async context (the task's), and returns the promise of its
 * result. Call it only when `TASKS` has subscribers.
 *
 * @throws what `fn` throws synchronously, after `error` and `end` were published
 */
export function traceTask<A, T>(
  kind: TraceGroupKind,
  group: object,
  name: string | undefined,
  queuedMs: number,
  fn: (arg: A) => T | PromiseLike<T>,
  arg: A,
): Promise<Awaited<T>> {
  const context: TaskTraceContext = { kind, group, name, queuedMs };
  return traced(taskChannel as TracingChannel, context, { fn, arg, promise: undefined });
}

function same(wait: Promise<void>): Promise<void> {
  return wait;
}

/**
 * traceWait traces `wait` on `awaitgroup:wait` and returns it; inside
 * `untraced` it only returns it. Call it only when `WAITS` has
 * subscribers, for a wait that has registered.
 */
export function traceWait(kind: TraceGroupKind, group: object, wait: Promise<void>): Promise<void> {
  if (quiet !== 0) return wait;
  const context: WaitTraceContext = { kind, group };
  return traced(waitChannel as TracingChannel, context, {
    fn: same,
    arg: wait,
    promise: undefined,
  });
}

/**
 * untraced calls `fn` with wait tracing off: a group that waits on an inner
 * group (an ErrGroup on its WaitGroup) publishes one wait, its own.
 */
export function untraced<T>(fn: () => T): T {
  quiet++;
  try {
    return fn();
  } finally {
    quiet--;
  }
}

/**
 * publishAbort publishes on `awaitgroup:errgroup:abort` that `group`'s
 * signal has aborted, if anyone listens. Call it once the abort has run its
 * listeners (the queue is dropped); `stats` is read from the group then.
 */
export function publishAbort(
  group: { readonly signal: AbortSignal; readonly stats?: unknown },
  cause: ErrGroupAbortCause,
): void {
  if (abortChannel === undefined || !abortChannel.hasSubscribers) return;
  const message: ErrGroupAbortMessage = {
    group,
    reason: group.signal.reason,
    cause,
    stats: group.stats,
  };
  abortChannel.publish(message);
}
