/**
 * The stalled-wait report of debug mode: a wait that has been pending, with
 * no change of its group's counter, for `AWAITGROUP_STALL_MS` milliseconds
 * (default 10 000) is reported with a warning (code
 * `AWAITGROUP_STALLED_WAIT`), and again after twice that, four times that,
 * and so on while it stays stalled. A change of the counter starts the count
 * again. The timer is unref'd: it never keeps a process alive.
 *
 * This is the report a shared group needs: its pending wait keeps the
 * process alive, so the exit report never comes, and a worker that died
 * before its `done()` would otherwise hang the process with no word.
 *
 * The module knows nothing of WaitGroup: a group hands it a source (what
 * its counter reads, whether its wait is still pending, the report's text),
 * so that a local, a shared and a Redis group are watched alike.
 *
 * @module
 */

// SPEC §10 D7. diagnostics.ts starts a watch for local and shared debug
// groups; the Redis group (lib/redis/redis-waitgroup.ts) calls
// startStallWatch() with a source of its own and a `warn` that reads its
// units across processes before it emits.

/** The code of the stalled-wait warning. */
export const STALLED_WAIT_CODE = 'AWAITGROUP_STALLED_WAIT';

/** The code of the warning for an environment variable whose value is not understood. */
export const INVALID_ENV_CODE = 'AWAITGROUP_INVALID_ENV';

/** How long a wait may stall before the first report, unless `AWAITGROUP_STALL_MS` says. */
export const DEFAULT_STALL_MS = 10_000;

/** What a stall watch reads of the group it watches. */
export interface StallSource {
  /**
   * progress returns a value that changes whenever the group's counter
   * changes (the counter, or a count of changes, or both); compared with `!==`.
   */
  progress(): unknown;
  /** pending reports whether a wait of the group is still pending; once false, the watch stops. */
  pending(): boolean;
  /** report returns the warning's text for a wait that has stalled for `stalledMs`. */
  report(stalledMs: number, now: number): string;
}

/** A running watch: stop it when the wait settles. */
export interface StallWatch {
  stop(): void;
}

/** The subset of Node's `process` used here. */
interface ProcessLike {
  readonly env?: Readonly<Record<string, string | undefined>>;
  emitWarning?(warning: string, options: { readonly code: string }): void;
}

function processLike(): ProcessLike | undefined {
  return (globalThis as { process?: ProcessLike }).process;
}

/** emit emits `text` as a Node warning with `code`, or on the console where there is no `process`. */
export function emit(text: string, code: string): void {
  const proc = processLike();
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(text, { code });
  else console.warn(`[${code}] ${text}`);
}

/** readEnv returns an environment variable, or undefined where there is none or it may not be read. */
export function readEnv(name: string): string | undefined {
  try {
    return processLike()?.env?.[name];
  } catch {
    return undefined; // Deno without --allow-env
  }
}

/**
 * parseStallMs reads `AWAITGROUP_STALL_MS`: a whole number of milliseconds
 * above zero. Anything else is a warning, and the default applies.
 */
export function parseStallMs(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_STALL_MS;
  const text = value.trim();
  const ms = Number(text);
  if (/^\d+$/.test(text) && ms > 0 && Number.isSafeInteger(ms)) return ms;
  emit(
    `AWAITGROUP_STALL_MS='${value}' is not a whole number of milliseconds above 0; ` +
      `stalled waits are reported after ${DEFAULT_STALL_MS} ms. Set it like AWAITGROUP_STALL_MS=30000`,
    INVALID_ENV_CODE,
  );
  return DEFAULT_STALL_MS;
}

let stallMs: number | undefined;

/** The delay before the first report: `AWAITGROUP_STALL_MS`, read at the first watch. */
function firstDelay(): number {
  stallMs ??= parseStallMs(readEnv('AWAITGROUP_STALL_MS'));
  return stallMs;
}

/** A timer handle as Node, Deno, Bun and browsers return it. */
type TimerHandle = ReturnType<typeof setTimeout>;

/** later calls `fn` after `ms` with a timer that does not keep the process alive. */
function later(fn: () => void, ms: number): TimerHandle {
  const timer = setTimeout(fn, ms);
  const handle = timer as unknown as { unref?: () => unknown };
  if (typeof handle?.unref === 'function') handle.unref();
  else if (typeof timer === 'number') {
    // Deno's timers are numbers, unref'd with Deno.unrefTimer.
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(timer);
  }
  return timer;
}

class Watch implements StallWatch {
  readonly #source: StallSource;
  readonly #delay: number;
  readonly #warn: (text: string) => void;
  #interval: number;
  #since: number;
  #progress: unknown;
  #timer: TimerHandle | undefined;

  constructor(source: StallSource, delay: number, warn: (text: string) => void) {
    this.#source = source;
    this.#delay = delay;
    this.#interval = delay;
    this.#warn = warn;
    this.#since = Date.now();
    this.#progress = source.progress();
    this.#timer = later(() => this.#tick(), delay);
  }

  #tick(): void {
    this.#timer = undefined;
    const source = this.#source;
    if (!source.pending()) return;
    const now = Date.now();
    const progress = source.progress();
    if (progress !== this.#progress) {
      // The counter moved: the wait is not stalled; count again from now.
      this.#progress = progress;
      this.#since = now;
      this.#interval = this.#delay;
    } else {
      this.#warn(source.report(now - this.#since, now));
      this.#interval *= 2;
    }
    this.#timer = later(() => this.#tick(), this.#interval);
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * startStallWatch watches a pending wait of a group: while `source.pending()`
 * holds and `source.progress()` stays the same, it emits
 * `source.report(...)` as an `AWAITGROUP_STALLED_WAIT` warning after the
 * first delay (`AWAITGROUP_STALL_MS`, default 10 000 ms), then after twice
 * that, four times that, and so on. A change of progress starts the count
 * again. Its timer never keeps the process alive. Call `stop()` when the
 * wait settles; the watch also stops by itself at the first tick that finds
 * no wait pending.
 *
 * @param source - what the watch reads of the group
 * @param options - `delay` overrides the first delay; `warn` replaces the warning
 */
export function startStallWatch(
  source: StallSource,
  options: { readonly delay?: number; readonly warn?: (text: string) => void } = {},
): StallWatch {
  const warn = options.warn ?? ((text: string) => emit(text, STALLED_WAIT_CODE));
  return new Watch(source, options.delay ?? firstDelay(), warn);
}
