/**
 * Fifo: the queue of parked waits both semaphores keep, oldest first. The
 * entries link themselves (no array, no per-entry node): O(1) to append, to
 * unlink an aborted entry from anywhere, and to take from the head, at any
 * length (the release rows of the benchmarks: a peer that drains an array with `shift()`
 * takes seconds to release 1e5 waiters).
 *
 * @module
 */

/** An entry of a `Fifo`: its neighbours, undefined at the ends and when not queued. */
export interface Linked<T> {
  prev: T | undefined;
  next: T | undefined;
}

/** Fifo is a doubly linked queue of entries that carry their own links. */
export class Fifo<T extends Linked<T>> {
  /** The oldest entry, or undefined when empty. */
  head: T | undefined = undefined;
  /** The newest entry, or undefined when empty. */
  tail: T | undefined = undefined;

  /** push appends `entry`, which must not be queued. */
  push(entry: T): void {
    const tail = this.tail;
    entry.prev = tail;
    if (tail === undefined) this.head = entry;
    else tail.next = entry;
    this.tail = entry;
  }

  /** unlink removes `entry`, which must be queued, from wherever it is. */
  unlink(entry: T): void {
    const { prev, next } = entry;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    entry.prev = entry.next = undefined;
  }

  /**
   * shiftThrough removes the entries from the head through `last` (which
   * must be queued) as one chain, which stays linked through `next` and
   * ends at `last`.
   */
  shiftThrough(last: T): void {
    const rest = last.next;
    this.head = rest;
    if (rest === undefined) this.tail = undefined;
    else rest.prev = undefined;
    last.next = undefined;
  }
}
