/**
 * WaitGroupError and its codes. Go panics become errors with a
 * stable `code` and Go's message; every error is created fresh at its throw.
 *
 * @module
 */
// SPEC §5.

import { MAX_COUNTER } from './state.js';

/** The codes a {@link WaitGroupError} can carry. */
// SPEC §5.
export type WaitGroupErrorCode =
  | 'ERR_WAITGROUP_NEGATIVE_COUNTER'
  | 'ERR_WAITGROUP_COUNTER_OVERFLOW'
  | 'ERR_WAITGROUP_MISUSE'
  | 'ERR_WAITGROUP_REUSED'
  | 'ERR_WAITGROUP_DEADLOCK'
  | 'ERR_WAITGROUP_CANNOT_BLOCK'
  | 'ERR_WAITGROUP_NOT_SHARED'
  | 'ERR_WAITGROUP_NO_SHARED_MEMORY'
  | 'ERR_ERRGROUP_CLOSED'
  | 'ERR_WAITGROUP_EXISTS'
  | 'ERR_WAITGROUP_LOST'
  | 'ERR_WAITGROUP_TASK_LOST'
  | 'ERR_ERRGROUP_TASK_FAILED'
  | 'ERR_WAITGROUP_UNAVAILABLE';

/**
 * WaitGroupError reports a misuse of a WaitGroup, or a state in which the
 * requested operation cannot run. `code` is stable; the message starts with
 * Go's panic text where Go has one, and then says what to do.
 */
export class WaitGroupError extends Error {
  /** The stable code of this error, one of the codes the README lists. */
  // SPEC §5.
  readonly code: WaitGroupErrorCode;

  /**
   * @param code - the error's code
   * @param message - what was wrong and what to do
   */
  constructor(code: WaitGroupErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  static {
    // On the prototype, not the instance, so that error objects stay small.
    Object.defineProperty(WaitGroupError.prototype, 'name', {
      value: 'WaitGroupError',
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}

/** an add that would take the counter below zero. */
// S3.
export function negativeCounter(counter: number, delta: number): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_NEGATIVE_COUNTER',
    `sync: negative WaitGroup counter (counter ${counter}, delta ${delta}); ` +
      'call done() once per unit added, and add() before starting the work it counts',
  );
}

/** an add that would take the counter above 2^31 − 1. */
// S3.
export function counterOverflow(counter: number, delta: number): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_COUNTER_OVERFLOW',
    `awaitgroup: counter would exceed ${MAX_COUNTER} (counter ${counter}, delta ${delta}); ` +
      'the group is unchanged: add less, or split the work over several groups',
  );
}

/** a positive add from counter 0 while waiters are still registered. */
// S4.
export function misuse(): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_MISUSE',
    'sync: WaitGroup misuse: Add called concurrently with Wait; ' +
      'start a new round with add() only after every earlier wait() has settled',
  );
}

/** a released waiter found the group already in use again. */
// S8.
export function reused(): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_REUSED',
    'sync: WaitGroup is reused before previous Wait has returned; ' +
      'wait until every earlier wait() has settled (aborted ones included) before add() starts a new round',
  );
}

/** waitSync on a local group that nothing on another thread can release. */
// S10.
export function deadlock(): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_DEADLOCK',
    'awaitgroup: waitSync on a local WaitGroup would block forever: ' +
      'only this thread can call done(), and it would be blocked; use await wg.wait(), ' +
      'or a shared group (new WaitGroup({ shared: true })) released by workers',
  );
}

/** the calling agent may not block (a browser's main thread). */
// S10.
export function cannotBlock(): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_CANNOT_BLOCK',
    'awaitgroup: this thread may not block (Atomics.wait is not allowed here, as on a ' +
      "browser's main thread); use await wg.wait() instead of waitSync()",
  );
}

/** `handle` of a local group. */
// S14.
export function notShared(): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_NOT_SHARED',
    'awaitgroup: this WaitGroup is local and has no handle; ' +
      'create it with new WaitGroup({ shared: true }) to share it',
  );
}

/** `{ shared: true }` where SharedArrayBuffer does not exist. */
// S14.
export function noSharedMemory(): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_NO_SHARED_MEMORY',
    'awaitgroup: SharedArrayBuffer is not available, so a shared WaitGroup cannot be created; ' +
      'in a browser, serve the page cross-origin isolated with the headers ' +
      'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp. ' +
      'A local WaitGroup (new WaitGroup()) works everywhere',
  );
}

/** go() on an ErrGroup whose wait() has settled. */
// E3.
export function errGroupClosed(): WaitGroupError {
  return new WaitGroupError(
    'ERR_ERRGROUP_CLOSED',
    'awaitgroup: this ErrGroup has finished (its wait() has settled) and admits no more tasks; ' +
      'create a new ErrGroup for a new batch',
  );
}

/** A task of an ErrGroup rejected with undefined; this stands for its error. */
// E13.
export function errGroupTaskFailed(): WaitGroupError {
  return new WaitGroupError(
    'ERR_ERRGROUP_TASK_FAILED',
    'awaitgroup: a task rejected with no reason (undefined); ' +
      'reject with an Error that says what failed, so that wait() can report it',
  );
}

/** RedisWaitGroup.create of a name that a live group already has. */
// R3.
export function groupExists(name: string): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_EXISTS',
    `awaitgroup: a group named ${JSON.stringify(name)} already exists; ` +
      'attach to it with RedisWaitGroup.from(client, handle), or create the new batch under another name',
  );
}

/** the group's state in Redis expired, was deleted or belongs to another epoch. */
// R8.
export function groupLost(name: string, why: string): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_LOST',
    `awaitgroup: the group's state is gone: ${JSON.stringify(name)} ${why}; ` +
      'its count cannot be trusted, so nothing was applied: start the batch again in a new group ' +
      '(and keep Redis persistent, appendonly yes, if a restart must not lose it)',
  );
}

/** a go() task's lease expired because the process that ran it stopped. */
// R11.
export function taskLost(task: string, owner: string): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_TASK_LOST',
    `awaitgroup: a task's owner stopped: task ${task} of ${owner} let its lease expire ` +
      'without finishing, so this wait can never be released; run the task again in a new group',
  );
}

/** Redis did not answer within retryFor, or the client was closed or never connected. */
// R14.
export function unavailable(message: string, cause?: unknown): WaitGroupError {
  return new WaitGroupError(
    'ERR_WAITGROUP_UNAVAILABLE',
    `awaitgroup: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** describe renders a bad argument for an error message: its value and its type. */
export function describe(value: unknown): string {
  let text: string;
  switch (typeof value) {
    case 'string':
      text = JSON.stringify(value);
      break;
    case 'bigint':
      text = `${value}n`;
      break;
    case 'function':
      text = value.name ? `function ${value.name}` : 'function';
      break;
    case 'object':
      text = value === null ? 'null' : Object.prototype.toString.call(value);
      break;
    default:
      text = String(value);
  }
  return `${text} (${value === null ? 'null' : typeof value})`;
}
