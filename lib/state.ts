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
 * constants, without shifting or masking it (see `classifyAdd`):
 *
 *   counter == 0            ⇔  word < COUNTER_ONE
 *   counter > 0             ⇔  word >= COUNTER_ONE
 *   counter == 0, waiters>0 ⇔  0 < word < COUNTER_ONE   (then waiters == word)
 *
 * This module is pure: no I/O, no state. Arithmetic on raw words is mod 2^64
 * (`wrapWord`), as Go's `atomic.AddUint64` is.
 *
 * @module
 */

/** How far the counter is shifted into the word. */
export const COUNTER_SHIFT = 32n;

/** The low half of the word: the waiter count. */
export const WAITER_MASK = 0xffff_ffffn;

// The functions below read module-local twins of the exported constants.
// An ES module's exports are live bindings, which V8 reads through a cell
// and cannot fold; module-local constants are read without one (SPEC §7).
//
// They stay `bigint` literals. Optimised code unboxes a literal at each use
// (`--print-opt-code`: a load, a length test and a sign test per
// comparison); `BigInt.asIntN(64, c)` of a constant folds to a machine
// immediate instead, and with it the add+done pair measured 1.85–3.0 × (b)
// rather than 3.7–5.4 × (that was before classifyAdd took the delta, below,
// which brought the literals to 2.1–2.9 ×). It was taken back: below the
// optimising tier each `asIntN` is a builtin call, and ErrGroup's unlimited
// row ran 2 × slower with it on Node 24 (640–950 against 386–473 ns per
// task; a CPU profile put the difference in the collector, 441 against 267
// ms). Literals cost nothing in the tiers where code that is not a tight
// loop runs.
const ONE = 1n << 32n;
const MINUS_ONE = -ONE;
const WORD_MAX = (1n << 63n) - 1n;
const COUNTER_MAX = 0x7fff_ffff;
// One object for every 0n of the hot path: each `0n` literal is a heap
// object of its own, and optimised code checks each object it compares with
// once (`--print-opt-code` on Node 20: two 0n objects checked per add+done
// pair; one with this).
const ZERO = 0n;

/** The word delta of `add(1)`: one unit of the counter. */
export const COUNTER_ONE = ONE;

/** The word delta of `done()`. */
export const COUNTER_MINUS_ONE = MINUS_ONE;

/** The largest counter a group may hold. */
// S3.
export const MAX_COUNTER = COUNTER_MAX;

/** The largest number of registered waiters the low half can count. */
export const MAX_WAITERS = 0xffff_ffff;

/** The largest valid word: counter 2^31 − 1 and 2^32 − 1 waiters. */
export const MAX_WORD = WORD_MAX;

/** The word of an empty group: counter 0, no waiters (Go's zero value). */
export const EMPTY_WORD = ZERO;

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

// The outcomes of classifyAdd as module-local constants, not properties of
// an object: a property read that only a rare outcome reaches has no type
// feedback when V8 optimises the common path, and is one more place where
// the first release of a process deoptimises (`--trace-deopt`:
// "Insufficient type feedback for generic named access", SPEC §7 fan-out).
const UPDATE = 0;
const RELEASE = 1;
const NEGATIVE = 2;
const OVERFLOW = 3;
const MISUSE = 4;

/** The outcomes of `classifyAdd`. */
const Outcome = {
  /** Store the next word; nobody is released. */
  Update: UPDATE,
  /** The counter reaches 0 with waiters registered: reset the word and release them. */
  // S5.
  Release: RELEASE,
  /** The counter would go below 0: refuse, word unchanged. */
  // S3.
  Negative: NEGATIVE,
  /** The counter would exceed `MAX_COUNTER`: refuse, word unchanged. */
  // S3.
  Overflow: OVERFLOW,
  /** A positive add from counter 0 while waiters are registered: refuse. */
  // S4.
  Misuse: MISUSE,
} as const;

/** What `classifyAdd` decided about an add. */
export const AddOutcome = Outcome;

/** One of the `AddOutcome` values. */
export type AddOutcome = (typeof AddOutcome)[keyof typeof AddOutcome];

/**
 * addToWord returns `word` with `delta` (a safe integer) added to its
 * counter, exact (not wrapped): the `next` of `classifyAdd`.
 *
 * `add(1)` and `done()` pass a constant 1 or −1; once V8 has inlined this
 * into them, the tests fold away and what is left is one int64 addition of
 * a constant of this module.
 *
 * −1 is tested first so that every call runs both tests: a fan-out calls
 * add(1) N times before its first done(), and a test of −1 that only done()
 * reached would have no type feedback when V8 optimised this on the adds,
 * so the first done() would deoptimise it (`--trace-deopt`: "Insufficient
 * type feedback for compare operation"), and the N dones would run
 * unoptimised: the fan-out 1e4 row, cold.
 */
// SPEC §7.
export function addToWord(word: bigint, delta: number): bigint {
  // One `+` for both: a `-` that only done() reached would have no type
  // feedback when V8 optimised this on a fan-out's adds (`--trace-deopt`:
  // "Insufficient type feedback for binary operation" at the first done()).
  // The second test of −1 folds away in add(1) and done(); one chain of
  // ternaries instead, `-1 ? MINUS_ONE : 1 ? ONE : shifted`, measured the
  // add+done pair at 4.9–5.2 × (b) against 3.5 × (Node 20 and 26).
  if (delta === -1 || delta === 1) {
    return word + (delta === -1 ? MINUS_ONE : ONE);
  }
  return word + (BigInt(delta) << COUNTER_SHIFT);
}

/**
 * classifyAdd decides what an add of `delta` (a safe integer) that takes the
 * valid word `word` to `next` (`word` plus the word delta, exact, not
 * wrapped: see `addToWord`) does, in the order
 * of Go's checks: negative, overflow, misuse, release. With outcome Release,
 * `next` is the number of waiters to release.
 *
 * Only comparisons with constants, which V8 keeps on machine integers. The
 * sign of `delta` picks the checks: add(1) and done() pass a constant, so
 * once this is inlined into them the test folds away and each runs only its
 * own half. Each comparison of a `bigint` with a constant costs about a
 * nanosecond in optimised code (see the constants above), so each half
 * tests first what a fan-out and an add+done pair meet: one to three
 * comparisons for add(1), one or two for done() (the add+done pair).
 */
// SPEC §7; model/README.md A2–A6.
export function classifyAdd(word: bigint, next: bigint, delta: number): AddOutcome {
  if (delta > 0) {
    // Every add runs the first two tests, so that they have type feedback
    // when V8 optimises add(): a test that only a batch's first add reached
    // would have none (that add runs before add() has a feedback vector),
    // and the next batch's first add would deoptimise add() (`--trace-deopt`:
    // "Insufficient type feedback for compare operation"). The first is a
    // number test, which folds away in add(1): a delta above the largest
    // counter overflows any counter.
    if (delta > COUNTER_MAX) return OVERFLOW;
    if (word === ZERO) return UPDATE;
    if (word >= ONE) return next > WORD_MAX ? OVERFLOW : UPDATE;
    // Go's misuse: w != 0 && delta > 0 && v == int32(delta), that is:
    // waiters are registered and the counter was 0.
    return MISUSE;
  }
  // A done() that leaves tasks running, then one that ends a batch nobody
  // waits for: the two that a fan-out and an add+done pair make.
  if (next >= ONE || next === ZERO) return UPDATE;
  return next < ZERO ? NEGATIVE : RELEASE;
}

/** isCounterZero reports whether the counter of the valid word `word` is 0. */
// model/README.md W2.
export function isCounterZero(word: bigint): boolean {
  return word < ONE;
}

/** withWaiter returns `word` with one more waiter. */
// model/README.md W3.
export function withWaiter(word: bigint): bigint {
  return word + 1n;
}

/** withoutWaiter returns `word` with one waiter less; see `isRegistered`. */
// model/README.md X2.
export function withoutWaiter(word: bigint): bigint {
  return word - 1n;
}

/**
 * hasMostWaiters reports whether the waiter half of `word` is full
 * (`MAX_WAITERS`): one more registration would carry into the counter.
 */
export function hasMostWaiters(word: bigint): boolean {
  return (word & WAITER_MASK) === WAITER_MASK;
}

/**
 * isRegistered reports whether `word` can still hold an unreleased waiter:
 * counter > 0 and waiters > 0. Not `word != 0`: a word of
 * the next generation with no waiters, `(c > 0, 0)`, must not be decremented.
 */
// model/README.md X2.
export function isRegistered(word: bigint): boolean {
  return word >= ONE && (word & WAITER_MASK) !== 0n;
}
