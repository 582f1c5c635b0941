/**
 * A port of golang/sync errgroup/errgroup_test.go, adapted as SPEC §8 says:
 * a Go Group may Wait and be used again, an ErrGroup serves one batch, so the
 * tests that reuse a group make a new one per batch; SetLimit(0) blocks every
 * TryGo in Go and is a RangeError here; goroutines are tasks on the loop.
 */

import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { ErrGroup } from '../../lib/index.js';
import { expectRejection } from '../helpers/async.js';

const errDoom = new Error('group_test: doomed');

/** The error cases of TestZeroGroup, TestWithContext and TestCancelCause. */
const cases: (Error | undefined)[][] = [
  [],
  [undefined],
  [errDoom],
  [errDoom, undefined],
  [undefined, errDoom],
  [errDoom, new Error('later')],
];

/** runCase starts one task per entry of `errs` and returns wait()'s error, or undefined. */
async function runCase(eg: ErrGroup, errs: (Error | undefined)[]): Promise<unknown> {
  for (const err of errs) {
    eg.go(async () => {
      if (err !== undefined) throw err;
    });
  }
  try {
    await eg.wait();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** A task that takes a turn of the event loop: Go's goroutine that sleeps a moment. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("Go's errgroup_test.go", () => {
  it('TestZeroGroup: wait() returns the first error of every prefix of the cases', async () => {
    for (const errs of cases) {
      for (let n = 0; n <= errs.length; n++) {
        const prefix = errs.slice(0, n);
        const first = prefix.find((err) => err !== undefined);
        expect(await runCase(new ErrGroup(), prefix), `errs ${n} of ${errs.length}`).to.equal(
          first,
        );
      }
    }
  });

  it('TestWithContext: the first error cancels the signal and is what wait() returns', async () => {
    for (const errs of cases) {
      const parent = new AbortController();
      const eg = new ErrGroup({ signal: parent.signal });
      const first = errs.find((err) => err !== undefined);
      expect(await runCase(eg, errs)).to.equal(first);
      // Go: "after %T.Go has returned, ctx.Err() = nil; want canceled".
      expect(eg.signal.aborted).to.equal(true);
      expect(parent.signal.aborted).to.equal(false);
    }
  });

  it("TestCancelCause: the signal's reason is the first error (context.Cause)", async () => {
    for (const errs of cases) {
      const eg = new ErrGroup();
      const first = errs.find((err) => err !== undefined);
      expect(await runCase(eg, errs)).to.equal(first);
      if (first !== undefined) expect(eg.signal.reason).to.equal(first);
      else expect((eg.signal.reason as DOMException).name).to.equal('AbortError');
    }
  });

  it('TestTryGo: tryGo succeeds up to the limit, fails beyond, and again after the slots free', async () => {
    const n = 42;
    let eg = new ErrGroup({ limit: n });
    const release: (() => void)[] = [];
    const fn = (): Promise<void> => new Promise((resolve) => release.push(resolve));
    for (let i = 0; i < n; i++) {
      expect(eg.tryGo(fn), `TryGo should succeed but got fail at ${i}-th call`).to.not.equal(
        undefined,
      );
    }
    expect(eg.tryGo(fn), 'TryGo is expected to fail but succeeded').to.equal(undefined);
    for (const done of release.splice(0)) done();
    await eg.wait();

    eg = new ErrGroup({ limit: n });
    expect(eg.tryGo(fn), 'TryGo should succeed after all tasks').to.not.equal(undefined);
    release.shift()?.();
    await eg.wait();

    // Switch limit.
    eg = new ErrGroup();
    eg.limit = 1;
    expect(eg.tryGo(fn), 'TryGo should succeed').to.not.equal(undefined);
    expect(eg.tryGo(fn), 'TryGo should fail').to.equal(undefined);
    release.shift()?.();
    await eg.wait();

    // Block all calls: SetLimit(0) in Go; here a limit must be at least 1.
    expect(() => {
      eg.limit = 0;
    }).to.throw(RangeError);
  });

  it('TestGoLimit: 1<<10 tasks never run more than the limit at once', async () => {
    const limit = 10;
    const eg = new ErrGroup({ limit });
    let active = 0;
    let most = 0;
    for (let i = 0; i <= 1 << 10; i++) {
      eg.go(async () => {
        active++;
        most = Math.max(most, active);
        if (active > limit) throw new Error(`tasks running at once = ${active}; want <= ${limit}`);
        await turn();
        active--;
      });
    }
    await eg.wait();
    expect(most).to.equal(limit);
  });

  it('ExampleGroup_justErrors: wait() reports the failed fetch after all fetches returned', async () => {
    const urls = [
      'http://www.golang.org/',
      'http://www.google.com/',
      'http://www.somestupidname.com/',
    ];
    const fetched: string[] = [];
    const fakeFetch = async (url: string): Promise<string> => {
      await turn();
      fetched.push(url);
      if (url.includes('somestupidname')) throw new Error(`Get "${url}": no such host`);
      return 'ok';
    };
    const eg = new ErrGroup();
    for (const url of urls) eg.go(() => fakeFetch(url));
    const error = (await expectRejection(eg.wait())) as Error;
    expect(error.message).to.equal('Get "http://www.somestupidname.com/": no such host');
    expect(fetched.sort()).to.deep.equal([...urls].sort());
  });

  it('ExampleGroup_parallel: results of parallel searches, in order', async () => {
    const fakeSearch =
      (kind: string) =>
      async (query: string): Promise<string> => {
        await turn();
        return `${kind} result for "${query}"`;
      };
    const searches = [fakeSearch('web'), fakeSearch('image'), fakeSearch('video')];
    const eg = new ErrGroup();
    const results: string[] = [];
    searches.forEach((search, i) => {
      eg.go(async () => {
        results[i] = await search('golang');
      });
    });
    await eg.wait();
    expect(results).to.deep.equal([
      'web result for "golang"',
      'image result for "golang"',
      'video result for "golang"',
    ]);
  });

  it('ExampleGroup_pipeline (MD5All): bounded stages, cancelled on the first error', async () => {
    const files = new Map<string, string>();
    for (let i = 0; i < 40; i++) files.set(`dir/file-${i}.txt`, `contents ${i}`);
    const md5All = async (
      root: Map<string, string>,
      fail?: string,
    ): Promise<Map<string, string>> => {
      const eg = new ErrGroup({ limit: 4 });
      const sums = new Map<string, string>();
      // Stage 1 walks the tree and hands paths to a bounded set of digesters.
      eg.go(async (signal) => {
        for (const [path, data] of root) {
          if (signal.aborted) return;
          eg.go(async (taskSignal) => {
            await turn();
            if (path === fail) throw new Error(`open ${path}: permission denied`);
            if (taskSignal.aborted) return;
            sums.set(path, createHash('md5').update(data).digest('hex'));
          });
        }
      });
      await eg.wait();
      return sums;
    };
    const sums = await md5All(files);
    expect(sums.size).to.equal(40);
    expect(sums.get('dir/file-7.txt')).to.equal(
      createHash('md5').update('contents 7').digest('hex'),
    );

    const error = (await expectRejection(md5All(files, 'dir/file-3.txt'))) as Error;
    expect(error.message).to.equal('open dir/file-3.txt: permission denied');
  });
});
