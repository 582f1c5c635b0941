/**
 * What the stalled-wait fixtures share (§10): a child process that counts
 * its own stalled-wait warnings, and keeps itself alive for a window in
 * which a report must not come (a window to observe an absence, not a
 * timed assertion).
 *
 * @module
 */

/** The code of the stalled-wait warning, as the user filters it. */
export const STALLED = 'AWAITGROUP_STALLED_WAIT';

/** The first delay of the stalled-wait report in this process (AWAITGROUP_STALL_MS, default 10 s). */
export const STALL_MS = Number(process.env.AWAITGROUP_STALL_MS ?? '10000');

/** afterReports resolves once this process has emitted `count` stalled-wait warnings. */
export function afterReports(count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    process.on('warning', (warning: Error & { code?: string }) => {
      if (warning.code === STALLED && ++seen === count) resolve();
    });
  });
}

/**
 * quietFor keeps the process alive for `ms`, so that a report that should
 * not come would have had its time.
 */
export function quietFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
