/**
 * The packed state word of a WaitGroup, Go's `state` in one 64-bit integer.
 *
 *   bit 63 ............ 32 31 ............. 0
 *   |  counter (int32)    |  waiters (uint32) |
 *
 * The counter is the high half read as a signed int32, so that a counter that
 * would go negative is seen as negative (Go: `v := int32(state >> 32)`). The
 * waiters are the low half read as an unsigned uint32 (Go: `w := uint32(state)`).
 * The word is stored as a signed int64 (a `BigInt64Array` element), so the
 * sign of the word is the sign of the counter.
 *
 * Every valid word has counter in [0, 2^31 - 1], so it lies in [0, 2^63 - 1]
 * and the hot paths can decide everything by comparing the word with
 * constants, without shifting or masking it (see {@link classifyAdd}):
 *
 *   counter == 0            ⇔  word < COUNTER_ONE
 *   counter > 0             ⇔  word >= COUNTER_ONE
 *   counter == 0, waiters>0 ⇔  0 < word < COUNTER_ONE   (then waiters == word)
 *
 * This module is pure: no I/O, no state. Arithmetic on raw words is mod 2^64
 * ({@link wrapWord}), as Go's `atomic.AddUint64` is.
 *
 * @module
 */

/** How far the counter is shifted into the word. */
export const COUNTER_SHIFT = 32n;

/** The low half of the word: the waiter count. */
export const WAITER_MASK = 0xffff_ffffn;

/** The word delta of `add(1)`: one unit of the counter. */
export const COUNTER_ONE = 1n << COUNTER_SHIFT;

/** The word delta of `done()`. */
export const COUNTER_MINUS_ONE = -COUNTER_ONE;

/** The largest counter a group may hold (S3). */
export const MAX_COUNTER = 0x7fff_ffff;

/** The largest number of registered waiters the low half can count. */
export const MAX_WAITERS = 0xffff_ffff;

/** The largest valid word: counter 2^31 − 1 and 2^32 − 1 waiters. */
export const MAX_WORD = (1n << 63n) - 1n;

/** The word of an empty group: counter 0, no waiters (Go's zero value). */
export const EMPTY_WORD = 0n;

/**
 * pack returns the word holding `counter` in the high half and `waiters` in
 * the low half, each taken modulo 2^32 as Go's conversions do.
 */
export function pack(counter: number, waiters: number): bigint {
  return wrapWord((BigInt.asIntN(32, BigInt(counter)) << COUNTER_SHIFT) | BigInt(waiters >>> 0));
}

/** counterOf returns the counter of `word`: its high half read as an int32. */
export function counterOf(word: bigint): number {
  return Number(BigInt.asIntN(32, word >> COUNTER_SHIFT));
}

/** waitersOf returns the waiter count of `word`: its low half read as a uint32. */
export function waitersOf(word: bigint): number {
  return Number(word & WAITER_MASK);
}

/** wrapWord reduces `word` modulo 2^64 to the signed int64 a `BigInt64Array` stores. */
export function wrapWord(word: bigint): bigint {
  return BigInt.asIntN(64, word);
}

/**
 * counterDelta returns the word delta that adds `delta` (a safe integer) to
 * the counter. The two common deltas are constants, so `add(1)` and `done()`
 * allocate nothing.
 */
export function counterDelta(delta: number): bigint {
  if (delta === 1) return COUNTER_ONE;
  if (delta === -1) return COUNTER_MINUS_ONE;
  return BigInt(delta) << COUNTER_SHIFT;
}

/** What {@link classifyAdd} decided about an add. */
export const AddOutcome = {
  /** Store the next word; nobody is released. */
  Update: 0,
  /** The counter reaches 0 with waiters registered: reset the word and release them (S5). */
  Release: 1,
  /** The counter would go below 0 (S3): refuse, word unchanged. */
  Negative: 2,
  /** The counter would exceed {@link MAX_COUNTER} (S3): refuse, word unchanged. */
  Overflow: 3,
  /** A positive add from counter 0 while waiters are registered (S4): refuse. */
  Misuse: 4,
} as const;

/** One of the {@link AddOutcome} values. */
export type AddOutcome = (typeof AddOutcome)[keyof typeof AddOutcome];

/**
 * classifyAdd decides what adding the word delta `delta` to the valid word
 * `word` does (PROTOCOL.md A2–A6), in the order of Go's checks: negative,
 * overflow, misuse, release. `next` is `word + delta` (exact, not wrapped),
 * which the caller has already computed; with outcome Release, `next` is the
 * number of waiters to release.
 *
 * Only comparisons with constants: V8 keeps them on machine integers.
 */
export function classifyAdd(word: bigint, delta: bigint, next: bigint): AddOutcome {
  if (next >= COUNTER_ONE) {
    if (next > MAX_WORD) return AddOutcome.Overflow;
    // Go: w != 0 && delta > 0 && v == int32(delta).
    if (delta > 0n && word > 0n && word < COUNTER_ONE) return AddOutcome.Misuse;
    return AddOutcome.Update;
  }
  if (next < 0n) return AddOutcome.Negative;
  return next === 0n ? AddOutcome.Update : AddOutcome.Release;
}

/** isCounterZero reports whether the counter of the valid word `word` is 0 (PROTOCOL.md W2). */
export function isCounterZero(word: bigint): boolean {
  return word < COUNTER_ONE;
}

/** withWaiter returns `word` with one more waiter (PROTOCOL.md W3). */
export function withWaiter(word: bigint): bigint {
  return word + 1n;
}

/**
 * isRegistered reports whether `word` can still hold an unreleased waiter:
 * counter > 0 and waiters > 0 (PROTOCOL.md X2). Not `word != 0`: a word of
 * the next generation with no waiters, `(c > 0, 0)`, must not be decremented.
 */
export function isRegistered(word: bigint): boolean {
  return word >= COUNTER_ONE && (word & WAITER_MASK) !== 0n;
}
