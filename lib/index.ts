// The declarations use AsyncDisposable and Symbol.asyncDispose; this brings
// their lib to consumers whose own lib is older (`preserve` keeps it in the .d.ts).
/// <reference lib="esnext.disposable" preserve="true" />

/**
 * awaitgroup: Go's sync.WaitGroup for the JavaScript event loop.
 *
 * ```ts
 * import { WaitGroup } from 'awaitgroup';
 *
 * const wg = new WaitGroup();
 * for (const url of urls) {
 *   wg.go(async () => {
 *     try {
 *       pages.set(url, await (await fetch(url)).text());
 *     } catch (error) {
 *       failed.set(url, error); // each task handles its own error
 *     }
 *   });
 * }
 * await wg.wait();
 * ```
 *
 * A task whose rejection nothing handles ends the Node process; for a fan-out
 * that should stop at the first error, with a limit, use `ErrGroup`:
 *
 * ```ts
 * import { ErrGroup } from 'awaitgroup';
 *
 * const eg = new ErrGroup({ limit: 8 });
 * for (const url of urls) eg.go((signal) => fetch(url, { signal }));
 * await eg.wait(); // rejects with the first failure, after every task settled
 * ```
 *
 * @module
 */

export type { GoOptions, UnfinishedTask } from './diagnostics.js';
export {
  ErrGroup,
  type ErrGroupGoOptions,
  type ErrGroupMapper,
  type ErrGroupOptions,
  type ErrGroupStats,
  type ErrGroupTask,
  type ErrGroupUnfinishedTask,
} from './errgroup.js';
export { WaitGroupError, type WaitGroupErrorCode } from './errors.js';
export type { WaitGroupHandle } from './shared-memory.js';
export type {
  ErrGroupAbortCause,
  ErrGroupAbortMessage,
  TaskTraceContext,
  TraceGroupKind,
  WaitTraceContext,
} from './tracing.js';
export {
  WaitGroup,
  type WaitGroupOptions,
  type WaitOptions,
  type WaitSyncOptions,
} from './waitgroup.js';
