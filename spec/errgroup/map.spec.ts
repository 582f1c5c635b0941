import { AsyncLocalStorage } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { ErrGroup } from '../../lib/index.js';
import { deferred, expectRejection, flushMicrotasks } from '../helpers/async.js';

/** A lazy source that counts its pulls and whether it was closed. */
interface Counted<T> {
  readonly source: T;
  readonly pulls: () => number;
  readonly closed: () => boolean;
}

function countedGenerator(n: number, failAt = -1): Counted<Generator<number>> {
  let pulls = 0;
  let closed = false;
  function* generate(): Generator<number> {
    try {
      for (let i = 0; i < n; i++) {
        pulls++;
        if (i === failAt) throw new Error(`source failed at ${i}`);
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  return { source: generate(), pulls: () => pulls, closed: () => closed };
}

function countedAsyncGenerator(n: number, failAt = -1): Counted<AsyncGenerator<number>> {
  let pulls = 0;
  let closed = false;
  async function* generate(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < n; i++) {
        pulls++;
        await null;
        if (i === failAt) throw new Error(`source failed at ${i}`);
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  return { source: generate(), pulls: () => pulls, closed: () => closed };
}

const HIGH_WATER_MARK = 16;

function countedReadable(n: number): Counted<Readable> {
  const inner = countedGenerator(n);
  const source = Readable.from(inner.source, { objectMode: true, highWaterMark: HIGH_WATER_MARK });
  return { source, pulls: inner.pulls, closed: () => source.destroyed };
}

/** A mapper that records how many items were pulled and not yet finished at each call. */
function watchInFlight(pulls: () => number): {
  readonly fn: (item: number) => Promise<number>;
  readonly most: () => number;
} {
  let finished = 0;
  let most = 0;
  return {
    fn: async (item: number) => {
      most = Math.max(most, pulls() - finished);
      await null;
      finished++;
      return item * 2;
    },
    most: () => most,
  };
}

describe('ErrGroup.map (SPEC §8.1)', () => {
  describe('E17 map', () => {
    it('resolves with the results in input order', async () => {
      const delays = [3, 0, 2, 1];
      const results = await ErrGroup.map(
        delays,
        async (delay, index) => {
          for (let i = 0; i < delay; i++) await new Promise((resolve) => setImmediate(resolve));
          return `${index}:${delay}`;
        },
        { limit: 2 },
      );
      expect(results).to.deep.equal(['0:3', '1:0', '2:2', '3:1']);
    });

    it('hands fn the item, its index and a signal', async () => {
      const seen: [string, number, boolean][] = [];
      await ErrGroup.map(['a', 'b'], (item, index, signal) => {
        seen.push([item, index, signal instanceof AbortSignal]);
      });
      expect(seen).to.deep.equal([
        ['a', 0, true],
        ['b', 1, true],
      ]);
    });

    it('pulls a generator lazily: at most limit items ahead of a free slot', async () => {
      const counted = countedGenerator(1000);
      const watch = watchInFlight(counted.pulls);
      const results = await ErrGroup.map(counted.source, watch.fn, { limit: 4 });
      expect(results).to.have.length(1000);
      expect(results[999]).to.equal(1998);
      expect(watch.most()).to.be.at.most(4);
      expect(counted.pulls()).to.equal(1000);
    });

    it('pulls an async generator lazily', async () => {
      const counted = countedAsyncGenerator(500);
      const watch = watchInFlight(counted.pulls);
      const results = await ErrGroup.map(counted.source, watch.fn, { limit: 3 });
      expect(results).to.have.length(500);
      expect(watch.most()).to.be.at.most(3);
    });

    it('a Readable of 1e5 items with limit 8 never holds more than limit items past its buffer', async function () {
      this.timeout(60_000);
      const counted = countedReadable(100_000);
      const watch = watchInFlight(counted.pulls);
      const results = await ErrGroup.map(counted.source, watch.fn, { limit: 8 });
      expect(results).to.have.length(100_000);
      expect(results[12345]).to.equal(24690);
      // The Readable reads ahead its own buffer (highWaterMark) and one item more; map takes at most limit.
      expect(watch.most()).to.be.at.most(8 + HIGH_WATER_MARK + 1);
    });

    it('stops pulling at the first error and closes the source', async () => {
      const counted = countedGenerator(1000);
      const boom = new Error('boom');
      const outcome = ErrGroup.map(
        counted.source,
        async (item) => {
          await null;
          if (item === 5) throw boom;
          return item;
        },
        { limit: 2 },
      );
      expect(await expectRejection(outcome)).to.equal(boom);
      expect(counted.pulls()).to.be.at.most(8);
      expect(counted.closed()).to.equal(true);
    });

    it('an error thrown by the source is a task error', async () => {
      for (const counted of [countedGenerator(10, 3), countedAsyncGenerator(10, 3)]) {
        const error = (await expectRejection(
          ErrGroup.map(counted.source, (item: number) => item, { limit: 2 }),
        )) as Error;
        expect(error.message).to.equal('source failed at 3');
      }
    });

    it('a parent abort stops the pulling, closes the source and rejects with its reason', async () => {
      const parent = new AbortController();
      const counted = countedAsyncGenerator(1000);
      const reason = new Error('stop');
      const outcome = ErrGroup.map(
        counted.source,
        async (item) => {
          if (item === 10) parent.abort(reason);
          await null;
          return item;
        },
        { limit: 2, signal: parent.signal },
      );
      expect(await expectRejection(outcome)).to.equal(reason);
      expect(counted.closed()).to.equal(true);
      expect(counted.pulls()).to.be.below(20);
    });

    it('every mapper runs in the async context of the map call', async () => {
      const als = new AsyncLocalStorage<string>();
      const seen = await als.run('map call', () =>
        ErrGroup.map(
          countedAsyncGenerator(50).source,
          async () => {
            const before = als.getStore();
            await new Promise((resolve) => setImmediate(resolve));
            return [before, als.getStore()];
          },
          { limit: 2 },
        ),
      );
      for (const pair of seen) expect(pair).to.deep.equal(['map call', 'map call']);
    });

    it('over an array too, even when a mapper switches context before it settles', async () => {
      const als = new AsyncLocalStorage<string>();
      const seen = await als.run('map call', () =>
        ErrGroup.map(
          Array.from({ length: 40 }, (_, i) => i),
          (i) => {
            const store = als.getStore();
            // The task settles from another context: the next item must not start in it.
            return als.run(`inside ${i}`, async () => {
              await new Promise((resolve) => setImmediate(resolve));
              return store;
            });
          },
          { limit: 2 },
        ),
      );
      expect(new Set(seen)).to.deep.equal(new Set(['map call']));
    });

    it('bad arguments reject, never throw', async () => {
      expect(await expectRejection(ErrGroup.map(5 as never, (x) => x))).to.be.an.instanceOf(
        TypeError,
      );
      expect(await expectRejection(ErrGroup.map([1], 'f' as never))).to.be.an.instanceOf(TypeError);
      expect(
        await expectRejection(ErrGroup.map([1], (x) => x, { errors: 'most' as never })),
      ).to.be.an.instanceOf(TypeError);
    });
  });
});

describe('ErrGroup.mapIterable (SPEC §8.1)', () => {
  describe('E17 mapIterable', () => {
    it('yields the results in input order as they become available', async () => {
      const gates = [deferred(), deferred(), deferred()];
      const out: number[] = [];
      const consuming = (async () => {
        for await (const value of ErrGroup.mapIterable(
          [0, 1, 2],
          async (item) => {
            await gates[item]?.promise;
            return item;
          },
          { limit: 3 },
        )) {
          out.push(value);
        }
      })();
      gates[2]?.resolve();
      gates[1]?.resolve();
      await flushMicrotasks();
      expect(out).to.deep.equal([]);
      gates[0]?.resolve();
      await consuming;
      expect(out).to.deep.equal([0, 1, 2]);
    });

    it('a slow consumer stops the pulling: at most 2 × limit items pulled and not yet yielded', async () => {
      const counted = countedGenerator(200);
      let yielded = 0;
      let most = 0;
      for await (const _ of ErrGroup.mapIterable(counted.source, async (x: number) => x, {
        limit: 3,
      })) {
        yielded++;
        // The consumer is slow: the mappers all finish while it holds the item.
        await new Promise((resolve) => setImmediate(resolve));
        most = Math.max(most, counted.pulls() - yielded);
      }
      expect(yielded).to.equal(200);
      expect(most).to.be.at.most(6);
    });

    it('a Readable of 1e5 items, streamed', async function () {
      this.timeout(60_000);
      const counted = countedReadable(100_000);
      let sum = 0;
      let count = 0;
      for await (const value of ErrGroup.mapIterable(counted.source, async (x: number) => x, {
        limit: 8,
      })) {
        sum += value;
        count++;
      }
      expect(count).to.equal(100_000);
      expect(sum).to.equal((99_999 * 100_000) / 2);
    });

    it('break out of for await closes the source, aborts the group and waits for the running tasks', async () => {
      const counted = countedAsyncGenerator(1000);
      const signals: AbortSignal[] = [];
      const running: string[] = [];
      for await (const value of ErrGroup.mapIterable(
        counted.source,
        async (item, _index, signal) => {
          signals.push(signal);
          running.push(`start ${item}`);
          await new Promise((resolve) => setImmediate(resolve));
          running.push(`end ${item}`);
          return item;
        },
        { limit: 4 },
      )) {
        if (value === 2) break;
      }
      expect(counted.closed()).to.equal(true);
      expect(signals.every((signal) => signal.aborted)).to.equal(true);
      const starts = running.filter((step) => step.startsWith('start')).length;
      const ends = running.filter((step) => step.startsWith('end')).length;
      expect(ends).to.equal(starts);
      expect(counted.pulls()).to.be.at.most(11);
    });

    it('yields the results before a failed item, then throws its error there', async () => {
      const boom = new Error('item 3');
      const out: number[] = [];
      const counted = countedGenerator(100);
      const error = await expectRejection(
        (async () => {
          for await (const value of ErrGroup.mapIterable(
            counted.source,
            async (item: number) => {
              if (item === 3) throw boom;
              return item;
            },
            { limit: 2 },
          )) {
            out.push(value);
          }
        })(),
      );
      expect(error).to.equal(boom);
      expect(out).to.deep.equal([0, 1, 2]);
      expect(counted.closed()).to.equal(true);
    });

    it("errors: 'all' yields every result and throws the AggregateError after the last", async () => {
      const out: number[] = [];
      const error = await expectRejection(
        (async () => {
          for await (const value of ErrGroup.mapIterable(
            [0, 1, 2, 3, 4],
            (item: number) => {
              if (item % 2 === 1) throw new Error(`odd ${item}`);
              return item;
            },
            { errors: 'all', cancelOnError: false },
          )) {
            out.push(value);
          }
        })(),
      );
      expect(out).to.deep.equal([0, 2, 4]);
      expect((error as AggregateError).errors.map((e: Error) => e.message)).to.deep.equal([
        'odd 1',
        'odd 3',
      ]);
    });

    it('a throwing source: the results before it, then its error', async () => {
      const counted = countedAsyncGenerator(10, 4);
      const out: number[] = [];
      const error = (await expectRejection(
        (async () => {
          for await (const value of ErrGroup.mapIterable(counted.source, (x: number) => x, {
            limit: 2,
          })) {
            out.push(value);
          }
        })(),
      )) as Error;
      expect(error.message).to.equal('source failed at 4');
      expect(out).to.deep.equal([0, 1, 2, 3]);
    });

    it("a parent abort: the results already made, then the parent's reason; the source is closed", async () => {
      const parent = new AbortController();
      const reason = new Error('shutdown');
      const counted = countedAsyncGenerator(1000);
      const out: number[] = [];
      const error = await expectRejection(
        (async () => {
          for await (const value of ErrGroup.mapIterable(
            counted.source,
            (item: number, _index, signal) => {
              if (item === 5) parent.abort(reason);
              signal.throwIfAborted();
              return item;
            },
            { limit: 1, signal: parent.signal },
          )) {
            out.push(value);
          }
        })(),
      );
      expect(error).to.equal(reason);
      expect(out).to.deep.equal([0, 1, 2, 3, 4]);
      expect(counted.closed()).to.equal(true);
    });

    it('every mapper runs in the async context of the mapIterable call', async () => {
      const als = new AsyncLocalStorage<string>();
      const iterator = als.run('call', () =>
        ErrGroup.mapIterable(
          [1, 2, 3, 4, 5],
          async () => {
            await new Promise((resolve) => setImmediate(resolve));
            return als.getStore();
          },
          { limit: 2 },
        ),
      );
      const seen: (string | undefined)[] = [];
      await als.run('consumer', async () => {
        for await (const store of iterator) seen.push(store);
      });
      expect(seen).to.deep.equal(['call', 'call', 'call', 'call', 'call']);
    });

    it('bad arguments reject the first next(), never throw', async () => {
      const iterator = ErrGroup.mapIterable(null as never, (x) => x);
      expect(await expectRejection(iterator.next())).to.be.an.instanceOf(TypeError);
      const badLimit = ErrGroup.mapIterable([1], (x) => x, { limit: 0 });
      expect(await expectRejection(badLimit.next())).to.be.an.instanceOf(RangeError);
    });
  });
});
