/**
 * What the page of the browser example tells each worker: where the groups
 * are, and which items are its own.
 *
 * @module
 */

import type { WaitGroupHandle } from '../../lib/index.js';

/** The one message the page posts to each worker. */
export interface Job {
  /** The worker's index, 0 … workers − 1; it owns items id, id + workers, … */
  readonly id: number;
  /** How many workers share the items. */
  readonly workers: number;
  /** How many items there are in all. */
  readonly items: number;
  /** How many numbers one item tests for primality. */
  readonly span: number;
  /** The group of all items: done() once per item. */
  readonly work: WaitGroupHandle;
  /** Counted down once by each worker when it has attached. */
  readonly ready: WaitGroupHandle;
  /** Brought to zero by the page to start every worker at once. */
  readonly start: WaitGroupHandle;
  /** Per worker: [items done, primes found] at 2·id and 2·id + 1. */
  readonly progress: SharedArrayBuffer;
}

/** isJob tells a {@link Job} from any other message. */
export function isJob(value: unknown): value is Job {
  return typeof value === 'object' && value !== null && 'work' in value && 'progress' in value;
}
