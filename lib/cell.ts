/**
 * Where a WaitGroup's state word lives. The algorithm in waitgroup.ts reads
 * and changes the word only through `StateCell`: one load, one
 * compare-and-swap. Both halves of the word change together or not at all.
 *
 * @module
 */

import type { WaitGroupHandle } from './shared-memory.js';

/** A 64-bit state word that can be loaded and compared-and-swapped. */
export interface StateCell {
  /** load returns the current word. */
  load(): bigint;
  /**
   * compareAndSwap stores `replacement` if the word equals `expected`, and
   * reports whether it did.
   */
  compareAndSwap(expected: bigint, replacement: bigint): boolean;
}

/**
 * LocalCell holds the word of a local group. The word is kept in a
 * (non-shared) `BigInt64Array(1)` rather than a `bigint` field: V8's optimizing
 * compiler keeps int64 typed-array arithmetic on machine integers, while every
 * new `bigint` value in a field is a heap allocation.
 */
// SPEC §7.
export class LocalCell implements StateCell {
  readonly #word = new BigInt64Array(1);

  load(): bigint {
    return this.#word[0] as bigint;
  }

  /**
   * One thread owns a local word, and the algorithm calls compareAndSwap in
   * the same synchronous run as the load that produced `expected`, so the
   * comparison cannot fail and is skipped: this is the hot path of add/done.
   */
  compareAndSwap(_expected: bigint, replacement: bigint): boolean {
    this.#word[0] = replacement;
    return true;
  }
}

/**
 * SharedCell is the word of a shared group: element `index` of a
 * `BigInt64Array` over a `SharedArrayBuffer`, read and changed only with
 * `Atomics` (sequentially consistent), so every agent attached to the same
 * bytes sees one word.
 */
export class SharedCell implements StateCell {
  readonly #words: BigInt64Array;
  readonly #index: number;
  /** The handle that names the group's bytes, for workers to attach with. */
  // S14.
  readonly handle: WaitGroupHandle;

  /**
   * @param words - a view of the shared buffer
   * @param index - the element of `words` that holds the state word
   * @param handle - the group's handle, kept here rather than in every
   *   WaitGroup, where a local group would pay a field for it (*   idle group ≤ 320 B)
   */
  // SPEC §7.
  constructor(words: BigInt64Array, index: number, handle: WaitGroupHandle) {
    this.#words = words;
    this.#index = index;
    this.handle = handle;
  }

  load(): bigint {
    return Atomics.load(this.#words, this.#index);
  }

  compareAndSwap(expected: bigint, replacement: bigint): boolean {
    return Atomics.compareExchange(this.#words, this.#index, expected, replacement) === expected;
  }
}
