/**
 * Debug mode for an ErrGroup: its own ledger, so that
 * `unfinished()` and the reports say ErrGroup and name its tasks by their
 * `name` or `go()` and the caller's site, running or queued, never the
 * WaitGroup underneath or `add()`.
 *
 * @module
 */

import type { StateCell } from './cell.js';
import {
  callSite,
  DEBUG_FROM_ENV,
  Ledger,
  type UnfinishedTask,
  watchLedger,
} from './diagnostics.js';
import { pack } from './state.js';

/** One task of an ErrGroup that has not finished, as `eg.unfinished()` reports it. */
export interface ErrGroupUnfinishedTask extends UnfinishedTask {
  /** Whether the task is still waiting for a slot. */
  readonly queued: boolean;
}

/** A unit of the ledger: one admitted task. */
export type TaskUnit = ReturnType<Ledger['started']>;

/**
 * WaitCell is what an ErrGroup's ledger reads in place of a group's word:
 * no counter (the open units are the count) and one waiter while `wait()`
 * is pending. It holds no reference to the group, so that the report of a collected group can
 * hold the ledger.
 */
class WaitCell implements StateCell {
  waiting = false;

  load(): bigint {
    return pack(0, this.waiting ? 1 : 0);
  }

  compareAndSwap(): boolean {
    return false;
  }
}

/** ErrGroupDebug is the debug state of one ErrGroup. */
export class ErrGroupDebug {
  readonly #cell = new WaitCell();
  readonly ledger: Ledger = new Ledger(this.#cell, false, callSite(), 'ErrGroup');

  /** waiting records whether the group's `wait()` is pending, and puts it in the reports while it is. */
  waiting(group: object, pending: boolean): void {
    this.#cell.waiting = pending;
    if (pending) watchLedger(this.ledger, group);
    // A change of nothing: the ledger sees no pending wait and leaves the reports.
    else this.ledger.added(0);
  }

  unfinished(): readonly ErrGroupUnfinishedTask[] {
    return this.ledger.unfinished() as ErrGroupUnfinishedTask[];
  }
}

/** debugFor returns the debug state of a new group, or undefined when debug mode is off. */
export function debugFor(option: boolean | undefined): ErrGroupDebug | undefined {
  return (option ?? DEBUG_FROM_ENV) ? new ErrGroupDebug() : undefined;
}
