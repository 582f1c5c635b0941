import { expect } from 'chai';
import { type UnfinishedTask, WaitGroup } from '../../lib/index.js';
import { MAX_COUNTER } from '../../lib/state.js';
import { deferred, flushMicrotasks } from '../helpers/async.js';
import { fileAndLine, marks } from '../helpers/site.js';
import { expectWaitGroupError } from '../helpers/waitgroup.js';
import { runFixture, stopFixtures } from './child.js';

/** names and counts of a group's open units, oldest first. */
function units(wg: WaitGroup): Array<[string | undefined, number]> {
  return wg.unfinished().map((unit) => [unit.name, unit.count]);
}

describe('D2 units: call sites, retirement, refusals', () => {
  afterEach(stopFixtures);

  describe('call sites', () => {
    it("names the caller's file and line for add() and go(), and the time of the call", () => {
      const mark = marks();
      const never = (): Promise<void> => new Promise<void>(() => {});
      const wg = new WaitGroup({ debug: true });
      const before = Date.now();
      wg.add(mark(2));
      wg.go(mark(never), { name: 'never' });
      const after = Date.now();
      const found = wg.unfinished();
      expect(found.map((unit) => fileAndLine(unit.site))).to.deep.equal(
        mark.sites.map(fileAndLine),
      );
      // Under mocha's --enable-source-maps the trace names this source file.
      expect(found[0]?.site).to.match(/spec\/diagnostics\/d2-units\.spec\.ts:\d+:\d+$/);
      for (const unit of found) {
        expect(unit.since).to.be.within(before, after);
      }
    });

    for (const flags of [[], ['--enable-source-maps']]) {
      it(`skips the package's own frames ${flags.length === 0 ? 'without source maps (dist/ files)' : 'with --enable-source-maps (lib/ sources)'}`, async () => {
        const outcome = await runFixture('diagnostics-sites', { flags });
        expect(outcome.code, outcome.stderr).to.equal(0);
        const { expected, unfinished } = JSON.parse(outcome.stdout) as {
          expected: string[];
          unfinished: UnfinishedTask[];
        };
        const file =
          flags.length === 0
            ? /\/dist\/spec\/fixtures\/diagnostics-sites\.js$/
            : /\/spec\/fixtures\/diagnostics-sites\.ts$/;
        expect(fileAndLine(fileAndLine(expected[0]))).to.match(file);
        expect(unfinished.map((unit) => fileAndLine(unit.site))).to.deep.equal(
          expected.map(fileAndLine),
        );
        expect(unfinished.map((unit) => unit.count)).to.deep.equal([1, 1]);
      });
    }
  });

  describe('retirement', () => {
    it('done() retires one count of the oldest add unit; add(-n) n counts, oldest first', () => {
      const wg = new WaitGroup({ debug: true });
      wg.add(2);
      wg.add(3);
      wg.add(1);
      wg.done();
      expect(wg.unfinished().map((unit) => unit.count)).to.deep.equal([1, 3, 1]);
      wg.add(-3);
      expect(wg.unfinished().map((unit) => unit.count)).to.deep.equal([1, 1]);
      wg.done();
      wg.done();
      expect(wg.unfinished()).to.deep.equal([]);
    });

    it('a go() task retires its own unit when it settles, whatever the order', async () => {
      const wg = new WaitGroup({ debug: true });
      const a = deferred();
      const b = deferred();
      const c = deferred();
      wg.add(1);
      const ga = wg.go(() => a.promise, { name: 'a' });
      wg.add(1);
      const gb = wg.go(() => b.promise, { name: 'b' });
      const gc = wg.go(() => c.promise);
      expect(units(wg)).to.deep.equal([
        [undefined, 1],
        ['a', 1],
        [undefined, 1],
        ['b', 1],
        [undefined, 1],
      ]);
      b.resolve();
      await gb;
      wg.done();
      expect(units(wg)).to.deep.equal([
        ['a', 1],
        [undefined, 1],
        [undefined, 1],
      ]);
      c.reject(new Error('c failed'));
      await gc.catch(() => {});
      a.resolve();
      await ga;
      expect(units(wg)).to.deep.equal([[undefined, 1]]);
      expect(wg.counter).to.equal(1);
    });

    it('a go() task that throws synchronously retires at once', async () => {
      const wg = new WaitGroup({ debug: true });
      const failed = wg.go(
        () => {
          throw new Error('sync');
        },
        { name: 'thrower' },
      );
      expect(wg.unfinished()).to.deep.equal([]);
      await failed.catch(() => {});
    });

    it('returns copies: a later done() does not change an array already returned', () => {
      const wg = new WaitGroup({ debug: true });
      wg.add(2);
      const seen = wg.unfinished();
      wg.done();
      expect(seen[0]?.count).to.equal(2);
      expect(Object.isFrozen(seen[0])).to.equal(true);
      wg.done();
    });

    it('keeps counter and the sum of counts equal through many adds and dones', () => {
      const wg = new WaitGroup({ debug: true });
      for (let i = 0; i < 5_000; i++) wg.add(1 + (i % 3));
      for (let left = wg.counter; left > 0; left--) {
        wg.done();
        if (left % 997 === 0) {
          const sum = wg.unfinished().reduce((total, unit) => total + unit.count, 0);
          expect(sum).to.equal(wg.counter);
        }
      }
      expect(wg.unfinished()).to.deep.equal([]);
    });

    it('outside debug mode: one anonymous unit of the whole counter while above zero', async () => {
      const wg = new WaitGroup({ debug: false });
      expect(wg.unfinished()).to.deep.equal([]);
      wg.add(2);
      const task = wg.go(() => flushMicrotasks());
      expect(wg.unfinished()).to.deep.equal([
        { name: undefined, site: undefined, since: undefined, count: 3 },
      ]);
      wg.add(-2);
      await task;
      expect(wg.unfinished()).to.deep.equal([]);
    });

    it('a shared debug group lists what this instance added, and one anonymous unit for what other instances added', () => {
      const wg = new WaitGroup({ shared: true, debug: true });
      const other = WaitGroup.from(wg.handle);
      wg.add(1);
      other.add(2);
      expect(wg.counter).to.equal(3);
      expect(units(wg)).to.deep.equal([
        [undefined, 1],
        [undefined, 2],
      ]);
      expect(wg.unfinished()[1]).to.deep.equal({
        name: undefined,
        site: undefined,
        since: undefined,
        count: 2,
      });
      expect(other.unfinished()).to.deep.equal([
        { name: undefined, site: undefined, since: undefined, count: 3 },
      ]);
      other.add(-3);
    });

    it("D7 a shared debug group: done() on another instance retires this one's oldest add counts, so the counts sum to the counter", () => {
      const wg = new WaitGroup({ shared: true, debug: true });
      const other = WaitGroup.from(wg.handle);
      wg.add(2);
      wg.add(1);
      other.done(); // a worker's done(), seen only in the shared word
      expect(wg.counter).to.equal(2);
      expect(units(wg)).to.deep.equal([
        [undefined, 1],
        [undefined, 1],
      ]);
      other.add(-2);
      expect(wg.unfinished()).to.deep.equal([]);
    });
  });

  describe('refused calls record nothing', () => {
    it('a bad delta, a negative counter, an overflow, a bad fn, bad options, a go at overflow', () => {
      const wg = new WaitGroup({ debug: true });
      wg.add(1);
      const before = wg.unfinished();
      expect(() => wg.add(1.5)).to.throw(TypeError);
      expectWaitGroupError(() => wg.add(-2), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
      expectWaitGroupError(() => wg.add(MAX_COUNTER), 'ERR_WAITGROUP_COUNTER_OVERFLOW');
      expect(() => wg.go(42 as never)).to.throw(TypeError, /^go: fn must be a function/);
      expect(() => wg.go(() => 1, { name: 1 } as never)).to.throw(TypeError);
      expect(wg.unfinished()).to.deep.equal(before);
      wg.add(MAX_COUNTER - 1);
      let called = false;
      expectWaitGroupError(
        () =>
          wg.go(() => {
            called = true;
          }),
        'ERR_WAITGROUP_COUNTER_OVERFLOW',
      );
      expect(called).to.equal(false);
      expect(units(wg)).to.deep.equal([
        [undefined, 1],
        [undefined, MAX_COUNTER - 1],
      ]);
      wg.add(-MAX_COUNTER);
      expect(wg.unfinished()).to.deep.equal([]);
      expectWaitGroupError(() => wg.done(), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
      expect(wg.unfinished()).to.deep.equal([]);
    });
  });
});
