/**
 * Debug mode: which tasks never finished, and where they were
 * started. All of the bookkeeping lives here, so that waitgroup.ts keeps
 * reading like Go's file and a group without debug mode carries and runs
 * none of it.
 *
 * A debug group is an ordinary WaitGroup on which `trace` has put its
 * own `add`, `done`, `go` and `wait`: each calls the class's method and then
 * tells the group's `Ledger`. The ledger records one unit per
 * successful `add(n)` (n counts) or `go()` (one count), with its call site and
 * time; `done()` retires one count of the oldest open `add` unit, a `go()`
 * task retires its own unit when it settles.
 *
 * Two reports name the units of a group whose `wait()` can never return: a
 * warning on `beforeExit`, and a warning when a local group with a
 * pending wait is garbage-collected. Neither keeps a group alive: the
 * ledger, which both reports read, holds the group's state cell and its
 * units, never the group.
 *
 * Only globals that exist in browsers too are used; Node's `process` is
 * feature-detected.
 *
 * @module
 */
// SPEC §10, D6, D2, D4, D5.

import type { StateCell } from './cell.js';
import { describe } from './errors.js';
import { emit, INVALID_ENV_CODE, readEnv, type StallWatch, startStallWatch } from './stall.js';
import { counterOf, waitersOf } from './state.js';
import { TASKS, traceTask } from './tracing.js';

/** One open unit of work, as {@link WaitGroup.unfinished} reports it. */
// D2.
export interface UnfinishedTask {
  /** The `name` given to `go(fn, { name })`; undefined for `add` and unnamed tasks. */
  readonly name: string | undefined;
  /** Where the unit was added: the first stack frame outside awaitgroup, `file:line:column`. */
  readonly site: string | undefined;
  /** `Date.now()` when the unit was added. */
  readonly since: number | undefined;
  /** How many counts of the counter the unit still holds. */
  readonly count: number;
}

/** The subset of Node's `process` that debug mode uses, when there is one. */
interface ProcessLike {
  readonly env?: Readonly<Record<string, string | undefined>>;
  on?(event: 'beforeExit', listener: () => void): unknown;
  removeListener?(event: 'beforeExit', listener: () => void): unknown;
  emitWarning?(warning: string, options: { readonly code: string }): void;
  cwd?(): string;
}

/** The code of both reports' warnings. */
// D4, D5.
export const WARNING_CODE = 'AWAITGROUP_PENDING_WAIT';

function processLike(): ProcessLike | undefined {
  return (globalThis as { process?: ProcessLike }).process;
}

/**
 * parseDebug reads a value of `AWAITGROUP_DEBUG`: `1`, `true`, `yes` and
 * `on`, in any case, turn debug mode on; unset, empty, `0`, `false`, `no` and
 * `off` leave it off; anything else is a warning that says what is accepted,
 * and debug mode stays off.
 */
// SPEC §10 D1 and D7: the values AWAITGROUP_DEBUG accepts.
export function parseDebug(value: string | undefined): boolean {
  if (value === undefined) return false;
  const text = value.trim().toLowerCase();
  if (text === '1' || text === 'true' || text === 'yes' || text === 'on') return true;
  if (text === '' || text === '0' || text === 'false' || text === 'no' || text === 'off') {
    return false;
  }
  emit(
    `AWAITGROUP_DEBUG='${value}' is not understood, so debug mode stays off; ` +
      'set AWAITGROUP_DEBUG=1 (or true, yes, on) to turn it on, or 0 (false, no, off) to leave it off',
    INVALID_ENV_CODE,
  );
  return false;
}

/**
 * Whether the environment turns debug mode on for every group. Read once,
 * when the module loads (as Node reads NODE_DEBUG); a runtime that guards its
 * environment (Deno without --allow-env) reads as off.
 */
export const DEBUG_FROM_ENV: boolean = parseDebug(readEnv('AWAITGROUP_DEBUG'));

// --- Call sites -------------------------------------------------------------

/** How many frames a capture keeps: the package's own frames plus room for the caller's. */
const STACK_FRAMES = 24;

/** location returns the `file:line:column` of one line of an `Error.stack`, or undefined. */
function location(line: string): string | undefined {
  let text = line.trim();
  if (text.startsWith('at ')) {
    // V8: "at fn (file:1:2)", "at async fn (file:1:2)" or "at file:1:2".
    text = text.slice(3);
    if (text.endsWith(')')) text = text.slice(text.lastIndexOf('(') + 1, -1);
  } else {
    // SpiderMonkey and JavaScriptCore: "fn@file:1:2".
    text = text.slice(text.indexOf('@') + 1);
  }
  return /:\d+:\d+$/.test(text) ? text : undefined;
}

/** directoryOf returns `site`'s file up to and including its last path separator. */
function directoryOf(site: string): string {
  const file = site.replace(/:\d+:\d+$/, '');
  return file.slice(0, Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
}

/**
 * callSite returns the first frame of the current stack outside this
 * package, as the stack trace names it. The package's own frames are
 * those in the directory of this module as the same trace names it, so that
 * they are skipped whether the trace shows the compiled files or, through
 * source maps, their sources.
 */
// D2.
export function callSite(): string | undefined {
  const E = Error as { stackTraceLimit?: number };
  const limit = E.stackTraceLimit;
  if (typeof limit === 'number') E.stackTraceLimit = STACK_FRAMES;
  const stack = new Error().stack;
  if (typeof limit === 'number') E.stackTraceLimit = limit;
  if (stack === undefined) return undefined;
  let own: string | undefined;
  for (const line of stack.split('\n')) {
    const site = location(line);
    if (site === undefined) continue;
    // The first frame is this function's: it names the package's directory.
    own ??= directoryOf(site);
    if (!site.startsWith(own)) return site;
  }
  return undefined;
}

// --- The ledger -------------------------------------------------------------

/** One open unit: an `add(n)` with the counts it still holds, or one `go()` task. */
class Unit implements UnfinishedTask {
  readonly order: number;
  readonly name: string | undefined;
  readonly site: string | undefined;
  readonly since: number;
  /** Whether a `go()` task made it (else an `add`). */
  readonly task: boolean;
  count: number;
  // E19.
  /** An ErrGroup task still waiting for a slot. */
  queued = false;

  constructor(order: number, name: string | undefined, count: number, task: boolean) {
    this.order = order;
    this.name = name;
    this.task = task;
    this.site = callSite();
    this.since = Date.now();
    this.count = count;
  }
}

/** The view of one unit that unfinished() hands out: a copy, frozen. */
function snapshot(unit: Unit): UnfinishedTask {
  return Object.freeze({ name: unit.name, site: unit.site, since: unit.since, count: unit.count });
}

/** An ErrGroup's view of one unit: also whether it waits for a slot (E19). */
function errGroupSnapshot(unit: Unit): UnfinishedTask & { readonly queued: boolean } {
  const { name, site, since, count, queued } = unit;
  return Object.freeze({ name, site, since, count, queued });
}

// E19.
/** What a ledger's reports call its group and its unnamed tasks. */
export type LedgerKind = 'WaitGroup' | 'ErrGroup';

/**
 * Ledger is the bookkeeping of one debug group: its open units, oldest
 * first, and the cell whose word says whether a wait is pending. It never
 * references the group, so that it can be what the reports hold.
 */
// D5.
export class Ledger {
  /** Where the group was made or attached. */
  readonly site: string | undefined;
  readonly #cell: StateCell;
  readonly #shared: boolean;
  readonly #kind: LedgerKind;
  /** Open `add` units, oldest first, from index #head on (a queue without shift()). */
  #adds: Unit[] = [];
  #head = 0;
  /** Open `go()` units in the order they started (a Set keeps insertion order). */
  readonly #tasks = new Set<Unit>();
  #order = 0;
  /** Whether the beforeExit report is watching this ledger. */
  watched = false;
  /** Whether the group is registered for the report of a collected group. */
  // D5.
  registered = false;
  /** How many times this agent's calls changed the counter: the stall watch's progress. */
  #changes = 0;
  /** The stalled-wait watch while a wait is pending. */
  #stall: StallWatch | undefined;

  constructor(
    cell: StateCell,
    shared: boolean,
    site: string | undefined,
    kind: LedgerKind = 'WaitGroup',
  ) {
    this.#cell = cell;
    this.#shared = shared;
    this.site = site;
    this.#kind = kind;
  }

  get shared(): boolean {
    return this.#shared;
  }

  /** added records a successful `add(delta)`: a new unit, or retired counts. */
  // D2.
  added(delta: number): void {
    if (delta > 0) this.#adds.push(new Unit(this.#order++, undefined, delta, false));
    else if (delta < 0) this.#retire(-delta);
    this.#changed();
  }

  /**
   * #changed follows a change of the counter. At zero every `add` unit is
   * retired, whatever retired the counts: a `done()` may have counted
   * against a `go()` task's unit (nothing is open at zero but the tasks
   * still to settle, and their own settle retires them).
   */
  #changed(): void {
    this.#changes++;
    const word = this.#cell.load();
    if (counterOf(word) === 0 && this.#adds.length > 0) {
      this.#adds = [];
      this.#head = 0;
    }
    if (waitersOf(word) === 0) {
      if (this.watched) unwatch(this);
      this.stopStall();
    }
  }

  /** watchStall starts the stalled-wait watch for a pending wait, unless one runs. */
  // SPEC §10 D7.
  watchStall(): void {
    if (this.#stall !== undefined) return;
    this.#stall = startStallWatch({
      progress: () => `${this.#changes}:${counterOf(this.#cell.load())}`,
      pending: () => {
        const word = this.#cell.load();
        const pending = waitersOf(word) > 0 && counterOf(word) > 0;
        if (!pending) this.#stall = undefined;
        return pending;
      },
      report: (stalledMs, now) => this.stallReport(stalledMs, now),
    });
  }

  /** stopStall stops the stalled-wait watch, if one runs. */
  stopStall(): void {
    this.#stall?.stop();
    this.#stall = undefined;
  }

  /** started records a `go()` task that has been counted, and returns its unit. */
  started(name: string | undefined): Unit {
    const unit = new Unit(this.#order++, name, 1, true);
    this.#tasks.add(unit);
    return unit;
  }

  /** finished retires a `go()` task's own unit, once its result has settled and its done() ran. */
  finished(unit: Unit): void {
    this.#tasks.delete(unit);
    this.#changed();
  }

  /** #retire retires `count` counts of the oldest open `add` units. */
  #retire(count: number): void {
    const adds = this.#adds;
    let left = count;
    while (left > 0 && this.#head < adds.length) {
      const unit = adds[this.#head] as Unit;
      const taken = Math.min(unit.count, left);
      unit.count -= taken;
      left -= taken;
      if (unit.count === 0) adds[this.#head++] = undefined as unknown as Unit;
    }
    if (this.#head === adds.length) {
      this.#adds = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > adds.length) {
      this.#adds = adds.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * unfinished returns copies of the open units, oldest first. A shared
   * group's list is reconciled with its counter first, and the counts other
   * agents added are one anonymous unit at the end.
   */
  // D2.
  unfinished(): UnfinishedTask[] {
    const rest = this.#reconcile();
    const units: UnfinishedTask[] = this.#units().map(
      this.#kind === 'ErrGroup' ? errGroupSnapshot : snapshot,
    );
    if (rest > 0) units.push({ name: undefined, site: undefined, since: undefined, count: rest });
    return units;
  }

  /**
   * #reconcile brings a shared group's units in line with its counter, and
   * returns the counts of the counter that no unit of this agent holds. Other
   * agents' done() calls retire this agent's counts too: they are taken from
   * the oldest open add units, the rule a done() of this agent follows (a
   * go() task's unit stays until its own result settles). A local group's
   * units already agree with its counter: it returns 0 and changes nothing.
   */
  #reconcile(): number {
    if (!this.#shared) return 0;
    const counter = counterOf(this.#cell.load());
    let tracked = 0;
    for (const unit of this.#units()) tracked += unit.count;
    if (tracked > counter) this.#retire(tracked - counter);
    return Math.max(0, counter - tracked);
  }

  /** #units merges the open `add` and `go()` units, which are each in order, by age. */
  #units(): Unit[] {
    const out: Unit[] = [];
    const adds = this.#adds;
    let i = this.#head;
    for (const task of this.#tasks) {
      while (i < adds.length && (adds[i] as Unit).order < task.order) out.push(adds[i++] as Unit);
      out.push(task);
    }
    while (i < adds.length) out.push(adds[i++] as Unit);
    return out;
  }

  /** pendingWaits returns how many waits are registered in the group's word. */
  pendingWaits(): number {
    return waitersOf(this.#cell.load());
  }

  /**
   * report describes the group for the exit and collection reports: where it was made, its pending
   * waits and its unfinished units with their sites and ages; undefined if
   * no wait is pending.
   */
  // D4, D5.
  report(now: number, collected = false): string | undefined {
    const waits = this.pendingWaits();
    if (waits === 0) return undefined;
    const made = `${this.#kind} ${this.#made()}${collected ? ' was garbage-collected with' : ':'}`;
    return `${made} ${plural(waits, 'wait()')} pending, ${this.#unfinishedText(now)}`;
  }

  /** stallReport describes the group for the stalled-wait report. */
  stallReport(stalledMs: number, now: number): string {
    const waits = this.pendingWaits();
    const seconds = (stalledMs / 1000).toFixed(1);
    return (
      `${this.#kind} ${this.#made()}: ${plural(waits, 'wait()')} pending with no change of the ` +
      `counter for ${seconds} s, ${this.#unfinishedText(now)}`
    );
  }

  #made(): string {
    return `${this.#shared ? 'attached at' : 'created at'} ${shorten(this.site)}`;
  }

  /** #unfinishedText is "N tasks never finished: " and each unit with its site and age. */
  #unfinishedText(now: number): string {
    const rest = this.#reconcile();
    const units = this.#units();
    let tracked = 0;
    for (const unit of units) tracked += unit.count;
    const tasks = Math.max(counterOf(this.#cell.load()), tracked);
    const parts = units.map((unit) => describeUnit(unit, now, this.#kind));
    const elsewhere = Math.max(rest, tasks - tracked);
    if (elsewhere > 0) {
      parts.push(`${elsewhere} added ${this.#shared ? 'by another agent' : 'elsewhere'}`);
    }
    return `${plural(tasks, 'task')} never finished: ${parts.join(', ')}`;
  }

  /** describeUnits returns each open unit as the reports show it, oldest first. */
  describeUnits(now: number): string[] {
    const rest = this.#reconcile();
    const parts = this.#units().map((unit) => describeUnit(unit, now, this.#kind));
    if (rest > 0) parts.push(`${rest} added by another agent`);
    return parts;
  }
}

/** plural is "1 task" or "2 tasks"; "wait()" becomes "wait()s". */
function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** describeUnit is one unit as the reports show it: name, counts, where it was added and how long ago. */
function describeUnit(unit: Unit, now: number, kind: LedgerKind): string {
  const errGroup = kind === 'ErrGroup';
  const label = unit.name ?? (unit.task ? (errGroup ? 'go()' : 'a go() task') : 'add()');
  const times = unit.count > 1 ? ` ×${unit.count}` : '';
  const age = ((now - unit.since) / 1000).toFixed(1);
  const state = errGroup ? (unit.queued ? 'queued, ' : 'running, ') : '';
  return `${label}${times} (${state}added at ${shorten(unit.site)}, ${age} s ago)`;
}

/** shorten names a site relative to the working directory, as a user reads it. */
function shorten(site: string | undefined): string {
  if (site === undefined) return 'an unknown site';
  let cwd: string | undefined;
  try {
    cwd = processLike()?.cwd?.();
  } catch {
    cwd = undefined;
  }
  if (cwd === undefined) return site;
  const base = `${cwd.replace(/[\\/]$/, '')}/`;
  for (const prefix of [`file://${base}`, base]) {
    if (site.startsWith(prefix)) return site.slice(prefix.length);
  }
  return site;
}

/** warn emits a report as a Node warning, or on the console where there is no `process`. */
function warn(text: string): void {
  emit(text, WARNING_CODE);
}

// --- D4: beforeExit ---------------------------------------------------------

/** The ledgers of debug groups with a pending wait: what the beforeExit report reads. */
const watching = new Set<Ledger>();
let listening = false;

function onBeforeExit(): void {
  const now = Date.now();
  const lines: string[] = [];
  for (const ledger of watching) {
    const line = ledger.report(now);
    if (line !== undefined) lines.push(line);
    ledger.watched = false;
  }
  watching.clear();
  stopListening();
  // Reported once: the warning is emitted on a later tick, and the loop that
  // then empties again emits beforeExit again.
  if (lines.length > 0) warn(lines.join('\n'));
}

function stopListening(): void {
  if (!listening) return;
  listening = false;
  processLike()?.removeListener?.('beforeExit', onBeforeExit);
}

/** watch puts a ledger in the beforeExit report; the listener exists only while one is watched. */
function watch(ledger: Ledger): void {
  if (ledger.watched) return;
  ledger.watched = true;
  watching.add(ledger);
  if (listening) return;
  const proc = processLike();
  if (typeof proc?.on !== 'function') return;
  listening = true;
  proc.on('beforeExit', onBeforeExit);
}

function unwatch(ledger: Ledger): void {
  ledger.watched = false;
  watching.delete(ledger);
  if (watching.size === 0) stopListening();
}

/** watchedGroups returns how many debug groups the beforeExit report is watching (for tests). */
export function watchedGroups(): number {
  return watching.size;
}

/**
 * watchLedger puts the ledger of a group with a pending wait in both reports
 * (at exit, and when collected), as a debug WaitGroup's wait() does; for an ErrGroup.
 */
// D4, D5, E19.
export function watchLedger(ledger: Ledger, group: object): void {
  if (ledger.pendingWaits() === 0) return;
  watch(ledger);
  if (!ledger.registered && !ledger.shared && finalizer !== undefined) {
    ledger.registered = true;
    finalizer.register(group, ledger);
  }
}

// --- D5: collected with a pending wait --------------------------------------

/** Holds each debug local group weakly, with its ledger as the held value. */
const finalizer: FinalizationRegistry<Ledger> | undefined =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry((ledger) => {
        ledger.stopStall();
        if (ledger.watched) unwatch(ledger);
        const line = ledger.report(Date.now(), true);
        if (line !== undefined) warn(line);
      })
    : undefined;

// --- Debug groups -----------------------------------------------------------

/** What trace() needs of a group: the class's own methods, to call before bookkeeping. */
interface Traced {
  readonly counter: number;
  readonly shared: boolean;
  add(delta?: number): void;
  done(): void;
  wait(options?: unknown): Promise<void>;
  go<T>(fn: () => T | PromiseLike<T>, options?: GoOptions): Promise<Awaited<T>>;
}

/** Options of `go(fn, options)`. */
export interface GoOptions {
  /** A name for the task, shown by {@link WaitGroup.unfinished} and the reports. */
  // D2.
  readonly name?: string | undefined;
}

/** goName returns the `name` of go()'s options, or throws the TypeError for bad options. */
export function goName(options: GoOptions): string | undefined {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `go: options must be an object like { name: 'fetch /a' }, got ${describe(options)}`,
    );
  }
  const { name } = options;
  if (name !== undefined && typeof name !== 'string') {
    throw new TypeError(`go: options.name must be a string, got ${describe(name)}`);
  }
  return name;
}

/** The ledger of each debug group, for unfinished() and inspect. */
const ledgers = new WeakMap<object, Ledger>();

/** ledgerOf returns the ledger of a debug group, undefined for any other group. */
export function ledgerOf(wg: object): Ledger | undefined {
  return ledgers.get(wg);
}

/**
 * trace makes `wg` a debug group: it records where the group was made
 * and puts on the instance an `add`, `done`, `go` and `wait` that call the
 * class's own (`base`) and then keep the ledger. A call the class's method
 * refuses throws before anything is recorded. The instance's methods are
 * non-enumerable and bound to it, as the class's are not.
 *
 * @param wg - the group, at the end of its constructor
 * @param cell - the group's state cell, which the ledger reads for pending waits
 * @param base - the class's prototype methods
 */
// D1, D2.
export function trace<G extends Traced>(wg: G, cell: StateCell, base: Traced): void {
  const ledger = new Ledger(cell, wg.shared, callSite());
  ledgers.set(wg, ledger);
  const methods: Pick<Traced, 'add' | 'done' | 'wait' | 'go'> = {
    add(delta = 1) {
      base.add.call(wg, delta);
      ledger.added(delta);
    },
    done() {
      base.done.call(wg);
      ledger.added(-1);
    },
    wait(options) {
      const waiting = base.wait.call(wg, options);
      if (ledger.pendingWaits() > 0) {
        watch(ledger);
        ledger.watchStall();
        if (!ledger.registered && !ledger.shared && finalizer !== undefined) {
          ledger.registered = true;
          finalizer.register(wg, ledger);
        }
      }
      return waiting;
    },
    go<T>(fn: () => T | PromiseLike<T>, options?: GoOptions): Promise<Awaited<T>> {
      // A bad fn is the class's TypeError, thrown before anything is added.
      if (typeof fn !== 'function') return base.go.call(wg, fn, options) as Promise<Awaited<T>>;
      const name = options === undefined ? undefined : goName(options);
      base.add.call(wg, 1);
      const unit = ledger.started(name);
      const finish = (): void => {
        try {
          base.done.call(wg);
        } finally {
          ledger.finished(unit); // even when a stray done() took this task's count
        }
      };
      let result: T | PromiseLike<T>;
      try {
        // T1: traced as the class's go() is.
        result = TASKS.hasSubscribers ? traceTask('WaitGroup', wg, name, 0, fn, undefined) : fn();
      } catch (error) {
        finish();
        return Promise.reject(error);
      }
      return Promise.resolve(result).then(
        (value) => {
          finish();
          return value;
        },
        (reason: unknown) => {
          finish();
          throw reason;
        },
      ) as Promise<Awaited<T>>;
    },
  };
  for (const [key, value] of Object.entries(methods)) {
    Object.defineProperty(wg, key, { value, writable: true, configurable: true });
  }
}

/**
 * unfinishedOf is {@link WaitGroup.unfinished}: a debug group's open units,
 * oldest first; otherwise one anonymous entry holding the whole counter
 * while it is above zero.
 */
// D2.
export function unfinishedOf(wg: object, counter: number): readonly UnfinishedTask[] {
  const ledger = ledgers.get(wg);
  if (ledger !== undefined) return ledger.unfinished();
  if (counter === 0) return [];
  return [{ name: undefined, site: undefined, since: undefined, count: counter }];
}

/**
 * inspectTail is what debug mode adds to `util.inspect(wg)`: its unfinished
 * units, each with its site and age, on one line if it fits Node's
 * `breakLength`, else one unit per line; the empty string for any other group.
 */
export function inspectTail(wg: object, options: unknown): string {
  const ledger = ledgers.get(wg);
  if (ledger === undefined) return '';
  const parts = ledger.describeUnits(Date.now());
  if (parts.length === 0) return ', unfinished: []';
  const style = stylizer(options);
  const items = parts.map((part) => style(part, 'special'));
  // One line if it fits (measured without colour codes), else one unit per line.
  if (`, unfinished: [ ${parts.join(', ')} ]`.length <= breakLengthOf(options)) {
    return `, unfinished: [ ${items.join(', ')} ]`;
  }
  return `, unfinished: [\n${items.map((item) => `  ${item}`).join(',\n')}\n]`;
}

function stylizer(options: unknown): (text: string, style: string) => string {
  const stylize = (options as { stylize?: unknown } | undefined)?.stylize;
  return typeof stylize === 'function'
    ? (stylize as (text: string, style: string) => string)
    : (text) => text;
}

function breakLengthOf(options: unknown): number {
  const value = (options as { breakLength?: unknown } | undefined)?.breakLength;
  return typeof value === 'number' ? value : 80;
}
