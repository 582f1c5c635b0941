/**
 * S16: a pending shared wait keeps the process alive.
 *
 * Node does not count a pending `Atomics.waitAsync` as pending work: a
 * script whose only remaining work is `await wg.wait()` on a shared group
 * would exit with code 13 while unref'd workers are still running. So while
 * this agent has at least one shared async wait pending, it holds a ref'd
 * interval timer (which never fires in practice), and drops it the moment the
 * last one settles (PROTOCOL.md §6). Browsers have no such notion; there the
 * timer is harmless.
 *
 * The count is per agent (this module is instantiated once per thread) and is
 * touched only by this agent, so it needs no atomics.
 *
 * @module
 */

let pending = 0;
let timer: ReturnType<typeof setInterval> | undefined;

// Long enough never to fire while a wait is pending, short enough for every
// platform's timer range (2^31 − 1 ms).
const HOLD_INTERVAL_MS = 0x3fff_ffff;

function hold(): void {}

/** holdProcess counts one more pending shared wait (model/README.md M0). */
export function holdProcess(): void {
  if (pending++ === 0) timer = setInterval(hold, HOLD_INTERVAL_MS);
}

/** releaseProcess counts `count` pending shared waits less (M4, M7): a batch settles at once. */
export function releaseProcess(count: number): void {
  pending -= count;
  if (pending === 0) {
    clearInterval(timer);
    timer = undefined;
  }
}

/** pendingSharedWaits returns how many shared async waits this agent has pending. */
export function pendingSharedWaits(): number {
  return pending;
}
