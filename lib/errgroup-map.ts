/**
 * ErrGroup.map and ErrGroup.mapIterable: a group's rules
 * (limit, error policy, timeout, context) applied to the items of an
 * iterable or an async iterable, pulled lazily.
 *
 * Only the group's public face is used, through `MapGroup`, so that
 * this file does not import the class (which imports it).
 *
 * @module
 */

import { describe } from './errors.js';

/** The mapper of `ErrGroup.map` and `ErrGroup.mapIterable`. */
export type ErrGroupMapper<I, O> = (
  item: I,
  index: number,
  signal: AbortSignal,
) => O | PromiseLike<O>;

/** What map and mapIterable use of a group. */
export interface MapGroup {
  readonly signal: AbortSignal;
  readonly limit: number;
  readonly active: number;
  readonly queued: number;
  go<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>): Promise<Awaited<T>>;
  cancel(reason?: unknown): void;
  wait(): Promise<void>;
}

/** An opened input: its iterator, and whether `next()` answers synchronously. */
interface Source<I> {
  readonly iterator: Iterator<I> | AsyncIterator<I>;
  readonly sync: boolean;
}

const ignore = (): void => {};

/** open takes the iterator of an iterable or async iterable, or throws the TypeError. */
function open<I>(input: Iterable<I> | AsyncIterable<I>, where: string): Source<I> {
  if (input !== null && input !== undefined) {
    const asyncIterator = (input as AsyncIterable<I>)[Symbol.asyncIterator];
    if (typeof asyncIterator === 'function') {
      return { iterator: asyncIterator.call(input), sync: false };
    }
    const iterator = (input as Iterable<I>)[Symbol.iterator];
    if (typeof iterator === 'function') return { iterator: iterator.call(input), sync: true };
  }
  throw new TypeError(
    `${where}: input must be an iterable or an async iterable (an array, a generator, a Readable), ` +
      `got ${describe(input)}`,
  );
}

function checkMapper(fn: unknown, where: string): void {
  if (typeof fn !== 'function') {
    throw new TypeError(
      `${where}: fn must be a function (item, index, signal) => value, got ${describe(fn)}`,
    );
  }
}

/** close calls the iterator's `return()`, as a `for...of` left early does; its failure is ignored. */
async function close<I>(source: Source<I>): Promise<void> {
  try {
    await source.iterator.return?.();
  } catch {
    // The source failed while closing: the group's outcome is already decided.
  }
}

/**
 * Puller takes items from a source one at a time, only when `room()` says
 * there is room (lazily), and stops at the group's abort. It closes
 * the source when it stops early; an error of the source itself becomes the
 * error of one more task, so that the group's policy handles it.
 *
 * With `eager`, a synchronous source is pulled synchronously wherever
 * {@link wake} is called (a task's settle reaction, in map's own promise
 * chain): no promise and no await per item. mapIterable is not eager: its
 * consumer's `next()` calls wake, and the consumer's context is not the
 * one the mappers must run in.
 */
class Puller<I> {
  readonly #eg: MapGroup;
  readonly #source: Source<I>;
  readonly #room: () => boolean;
  readonly #take: (item: I, index: number) => void;
  readonly #failed: (error: unknown, index: number) => void;
  readonly #eager: boolean;
  #wake: (() => void) | undefined;
  #pulled = 0;
  #pumping = false;
  #finished = false;
  #done: (() => void) | undefined;

  constructor(
    eg: MapGroup,
    source: Source<I>,
    room: () => boolean,
    take: (item: I, index: number) => void,
    failed: (error: unknown, index: number) => void,
    eager = false,
  ) {
    this.#eg = eg;
    this.#source = source;
    this.#room = room;
    this.#take = take;
    this.#failed = failed;
    this.#eager = eager && source.sync;
  }

  get pulled(): number {
    return this.#pulled;
  }

  /** wake resumes the pulling if it waits for room or for the abort. */
  readonly wake = (): void => {
    if (this.#eager) {
      if (!this.#finished && !this.#pumping) this.#pump();
      return;
    }
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  };

  /** run pulls until the source is exhausted or fails, or the group aborts. */
  run(): Promise<void> {
    const signal = this.#eg.signal;
    signal.addEventListener('abort', this.wake, { once: true });
    if (!this.#eager) return this.#runAsync();
    return new Promise<void>((resolve) => {
      this.#done = resolve;
      this.#pump();
    });
  }

  /** #pump pulls a synchronous source while there is room (eager mode). */
  #pump(): void {
    const signal = this.#eg.signal;
    const iterator = this.#source.iterator as Iterator<I>;
    this.#pumping = true;
    try {
      while (!signal.aborted) {
        if (!this.#room()) return;
        let step: IteratorResult<I>;
        try {
          step = iterator.next();
        } catch (error) {
          this.#finish();
          this.#failed(error, this.#pulled++);
          return;
        }
        if (step.done === true) {
          this.#finish();
          return;
        }
        this.#take(step.value, this.#pulled++);
      }
      this.#finish();
      try {
        iterator.return?.();
      } catch {
        // The source failed while closing: the group's outcome is already decided.
      }
    } finally {
      this.#pumping = false;
    }
  }

  #finish(): void {
    this.#finished = true;
    this.#eg.signal.removeEventListener('abort', this.wake);
    this.#done?.();
  }

  async #runAsync(): Promise<void> {
    const eg = this.#eg;
    const { iterator, sync } = this.#source;
    const signal = eg.signal;
    let finished = false;
    try {
      while (!signal.aborted) {
        if (!this.#room()) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          continue;
        }
        let step: IteratorResult<I>;
        try {
          step = sync ? (iterator as Iterator<I>).next() : await iterator.next();
        } catch (error) {
          // The iterator has closed itself: no return() (as for...of does).
          finished = true;
          this.#failed(error, this.#pulled++);
          return;
        }
        if (step.done === true) {
          finished = true;
          return;
        }
        this.#take(step.value, this.#pulled++);
      }
    } finally {
      signal.removeEventListener('abort', this.wake);
      if (!finished) await close(this.#source);
    }
  }
}

/**
 * map is `ErrGroup.map`: `fn(item, index, signal)` for every item under a
 * group made by `make`, the results in input order once the group has
 * resolved. At most `limit` items are taken ahead of a free slot.
 */
export async function map<I, O>(
  input: Iterable<I> | AsyncIterable<I>,
  fn: ErrGroupMapper<I, O>,
  make: () => MapGroup,
): Promise<Awaited<O>[]> {
  checkMapper(fn, 'ErrGroup.map');
  const source = open(input, 'ErrGroup.map');
  const eg = make();
  const results: Awaited<O>[] = [];
  let puller: Puller<I> | undefined;
  const settled = (): void => puller?.wake();
  puller = new Puller(
    eg,
    source,
    () => eg.active + eg.queued < eg.limit,
    (item, index) => {
      results.push(undefined as Awaited<O>);
      eg.go((signal) => fn(item, index, signal)).then((value) => {
        results[index] = value;
        settled();
      }, settled);
    },
    (error) => {
      eg.go(() => Promise.reject(error));
    },
    true,
  );
  await puller.run();
  await eg.wait();
  return results;
}

/** One item of mapIterable between its pull and its yield. */
interface Slot<O> {
  /** 0 running, 1 fulfilled, 2 rejected. */
  state: 0 | 1 | 2;
  value: O | unknown;
}

/**
 * mapIterable is `ErrGroup.mapIterable`: the results of `fn` in input order
 * as they become available, with at most 2 × limit items pulled and not yet
 * yielded. Leaving the loop early aborts the group, closes the source and
 * waits for the running tasks.
 *
 * The pulling starts in a reaction registered here, in the caller's async
 * context, so that the mappers run in it whoever iterates.
 */
// E12: the reaction's context is the caller's.
export function mapIterable<I, O>(
  input: Iterable<I> | AsyncIterable<I>,
  fn: ErrGroupMapper<I, O>,
  make: () => MapGroup,
  all: (() => boolean) | undefined,
): AsyncIterableIterator<Awaited<O>> {
  let begin!: (start: () => Promise<void>) => void;
  const pulling = new Promise<() => Promise<void>>((resolve) => {
    begin = resolve;
  }).then((start) => start());
  pulling.catch(ignore);
  return stream(input, fn, make, all, begin, pulling);
}

async function* stream<I, O>(
  input: Iterable<I> | AsyncIterable<I>,
  fn: ErrGroupMapper<I, O>,
  make: () => MapGroup,
  all: (() => boolean) | undefined,
  begin: (start: () => Promise<void>) => void,
  pulling: Promise<void>,
): AsyncGenerator<Awaited<O>, undefined, undefined> {
  checkMapper(fn, 'ErrGroup.mapIterable');
  const source = open(input, 'ErrGroup.mapIterable');
  const eg = make();
  const collectAll = all?.() ?? false;
  const slots = new Map<number, Slot<Awaited<O>>>();
  let next = 0;
  let wakeConsumer: (() => void) | undefined;
  const changed = (): void => {
    const wake = wakeConsumer;
    if (wake !== undefined) {
      wakeConsumer = undefined;
      wake();
    }
    puller.wake();
  };
  const add = (index: number, task: (signal: AbortSignal) => unknown): void => {
    const slot: Slot<Awaited<O>> = { state: 0, value: undefined };
    slots.set(index, slot);
    eg.go(task).then(
      (value) => {
        slot.state = 1;
        slot.value = value;
        changed();
      },
      (error: unknown) => {
        slot.state = 2;
        slot.value = error;
        changed();
      },
    );
  };
  const puller: Puller<I> = new Puller(
    eg,
    source,
    () => eg.active + eg.queued < eg.limit && puller.pulled - next < 2 * eg.limit,
    (item, index) => add(index, (signal) => fn(item, index, signal)),
    (error, index) => add(index, () => Promise.reject(error)),
  );
  let pumpDone = false;
  begin(() =>
    puller.run().finally(() => {
      pumpDone = true;
      changed();
    }),
  );
  const consumerWaits = (): Promise<void> =>
    new Promise<void>((resolve) => {
      wakeConsumer = resolve;
    });

  let failure: { readonly error: unknown } | undefined;
  let left = true;
  try {
    for (;;) {
      const slot = slots.get(next);
      if (slot === undefined) {
        if (pumpDone) break;
        await consumerWaits();
        continue;
      }
      if (slot.state === 0) {
        await consumerWaits();
        continue;
      }
      slots.delete(next);
      next++;
      puller.wake();
      if (slot.state === 1) {
        yield slot.value as Awaited<O>;
        continue;
      }
      // E17: the results before a failed item, then its error at its position
      // (with errors: 'all', after the last result).
      if (collectAll) continue;
      failure = { error: slot.value };
      break;
    }
    left = false;
  } finally {
    if (left) {
      // The consumer left the loop (break, return or throw): stop and wait.
      eg.cancel();
      await pulling;
      await eg.wait().catch(ignore);
    }
  }
  if (failure !== undefined) {
    let reason = failure.error;
    eg.cancel(reason);
    await pulling;
    try {
      await eg.wait();
    } catch (error) {
      // A rejection with undefined is reported as the error the group recorded for it.
      if (reason === undefined) reason = error;
    }
    throw reason;
  }
  await pulling;
  await eg.wait();
  return undefined;
}
