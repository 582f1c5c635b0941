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
 * for (const url of urls) wg.go(() => fetch(url));
 * await wg.wait();
 * ```
 *
 * @module
 */

export type { GoOptions, UnfinishedTask } from './diagnostics.js';
export { ErrGroup, type ErrGroupOptions, type ErrGroupTask } from './errgroup.js';
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
