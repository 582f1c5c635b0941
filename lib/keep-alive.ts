/**
 * A pending shared wait keeps the process alive.
 *
 * Node does not count a pending `Atomics.waitAsync` as pending work: a
 * script whose only remaining work is `await wg.wait()` on a shared group
 * would exit with code 13 while unref'd workers are still running. So while
 * this agent has at least one shared async wait pending, it holds a ref'd
 * interval timer (which never fires in practice), and lets go of it the
 * moment the last one settles (the model checks
 * that a parked multiplexer always has the hold). Browsers have no such
 * notion; there the timer is harmless.
 *
 * The count is per agent (this module is instantiated once per thread) and is
 * touched only by this agent, so it needs no atomics.
 *
 * @module
 */
// S16; model/README.md M0, M4, M7.

let pending = 0;
let timer: ReturnType<typeof setInterval> | undefined;

// Long enough never to fire while a wait is pending, short enough for every
// platform's timer range (2^31 − 1 ms).
const HOLD_INTERVAL_MS = 0x3fff_ffff;

function hold(): void {}

/** A timer that can stop and start holding the process without being remade (Node, Bun). */
interface Refable {
  ref(): unknown;
  unref(): unknown;
}

function isRefable(value: unknown): value is Refable {
  return (
    typeof value === 'object' && value !== null && typeof (value as Refable).unref === 'function'
  );
}

/** holdProcess counts one more pending shared wait. */
// model/README.md M0.
export function holdProcess(): void {
  if (pending++ !== 0) return;
  if (timer === undefined) timer = setInterval(hold, HOLD_INTERVAL_MS);
  else (timer as unknown as Refable).ref();
}

/**
 * releaseProcess counts `count` pending shared waits less (a batch
 * settles at once). At 0, where timers can be unref'd (Node, Bun), the timer
 * is kept, unref'd: unref + ref cost 0.25 µs where clearInterval +
 * setInterval cost 1.9 µs, and clearInterval sat on the path from a worker's
 * last done() to the resumed wait (shared wake latency). Elsewhere
 * it is cleared.
 */
// SPEC §7; model/README.md M4, M7.
export function releaseProcess(count: number): void {
  pending -= count;
  if (pending !== 0 || timer === undefined) return;
  if (isRefable(timer)) {
    timer.unref();
  } else {
    clearInterval(timer);
    timer = undefined;
  }
}

/** pendingSharedWaits returns how many shared async waits this agent has pending. */
export function pendingSharedWaits(): number {
  return pending;
}
