import { expect } from 'chai';
import { BROWSERS, inPage, useBrowser } from './support.js';

for (const browser of BROWSERS) {
  describe(`in a ${browser.name} page (cross-origin isolated)`, () => {
    const session = useBrowser(browser, { isolated: true });

    it(`runs in the system's ${browser.name}: the driver and the page name the same version`, async () => {
      const page = await session.open('/playground.html');
      const driver = browser.product.exec(await page.browser().version());
      const agent = browser.product.exec(
        await page.evaluate(
          () => (globalThis as { navigator?: { userAgent: string } }).navigator?.userAgent ?? '',
        ),
      );
      expect(driver?.[1], 'the major version the driver reports').to.match(/^\d+$/);
      expect(agent?.[1], "the page's user agent").to.equal(driver?.[1]);
    });

    it('loads the unbundled build as ES modules, with SharedArrayBuffer', async () => {
      const page = await session.open('/playground.html');
      const seen = await inPage(page, ({ WaitGroup, environment }) => ({
        ...environment(),
        byteLength: WaitGroup.BYTE_LENGTH,
      }));
      expect(seen).to.deep.equal({
        isolated: true,
        sab: 'function',
        waitAsync: 'function',
        byteLength: 16,
      });
    });

    describe('a local group', () => {
      it('go() fans out 100 tasks and wait() resolves after the last', async () => {
        const page = await session.open('/playground.html');
        const seen = await inPage(page, async ({ WaitGroup, state, PENDING }) => {
          const wg = new WaitGroup();
          const finished: number[] = [];
          const gates: (() => void)[] = [];
          for (let i = 0; i < 100; i++) {
            void wg.go(async () => {
              await new Promise<void>((resolve) => gates.push(resolve));
              finished.push(i);
            });
          }
          const waited = wg.wait();
          const before = { counter: wg.counter, waiters: wg.waiters, state: await state(waited) };
          for (const open of gates.reverse()) open();
          await waited;
          return {
            before,
            pending: PENDING,
            finished: finished.length,
            after: { counter: wg.counter, waiters: wg.waiters },
          };
        });
        expect(seen.before).to.deep.equal({ counter: 100, waiters: 1, state: seen.pending });
        expect(seen.finished).to.equal(100);
        expect(seen.after).to.deep.equal({ counter: 0, waiters: 0 });
      });

      it('done() below zero throws ERR_WAITGROUP_NEGATIVE_COUNTER and changes nothing', async () => {
        const page = await session.open('/playground.html');
        const seen = await inPage(page, async ({ WaitGroup, thrown }) => {
          const wg = new WaitGroup();
          const error = thrown(() => wg.done());
          wg.add(1);
          const counter = wg.counter;
          wg.done();
          await wg.wait();
          return { error, counter };
        });
        expect(seen.error).to.include({
          name: 'WaitGroupError',
          code: 'ERR_WAITGROUP_NEGATIVE_COUNTER',
          waitGroupError: true,
        });
        expect(seen.error.message).to.match(/^sync: negative WaitGroup counter/);
        expect(seen.counter).to.equal(1);
      });

      it('done(); add(1) while a wait is pending rejects it with ERR_WAITGROUP_REUSED', async () => {
        const page = await session.open('/playground.html');
        const error = await inPage(page, ({ WaitGroup, rejection }) => {
          const wg = new WaitGroup();
          wg.add(1);
          const waited = wg.wait();
          wg.done();
          wg.add(1);
          return rejection(waited);
        });
        expect(error).to.include({ name: 'WaitGroupError', code: 'ERR_WAITGROUP_REUSED' });
        expect(error.message).to.match(
          /^sync: WaitGroup is reused before previous Wait has returned/,
        );
      });

      it('waitSync() with counter > 0 throws ERR_WAITGROUP_DEADLOCK, registering nothing', async () => {
        const page = await session.open('/playground.html');
        const seen = await inPage(page, ({ WaitGroup, thrown }) => {
          const wg = new WaitGroup();
          wg.add(1);
          return { error: thrown(() => wg.waitSync()), waiters: wg.waiters };
        });
        expect(seen.error).to.include({ name: 'WaitGroupError', code: 'ERR_WAITGROUP_DEADLOCK' });
        expect(seen.error.message).to.match(
          /^awaitgroup: waitSync on a local WaitGroup would block forever/,
        );
        expect(seen.waiters).to.equal(0);
      });

      it('handle throws ERR_WAITGROUP_NOT_SHARED', async () => {
        const page = await session.open('/playground.html');
        const error = await inPage(page, ({ WaitGroup, thrown }) =>
          thrown(() => new WaitGroup().handle),
        );
        expect(error).to.include({ name: 'WaitGroupError', code: 'ERR_WAITGROUP_NOT_SHARED' });
        expect(error.message).to.match(/^awaitgroup: this WaitGroup is local/);
        expect(error.message).to.include('new WaitGroup({ shared: true })');
      });
    });

    describe('S10 waitSync on the main thread', () => {
      it('throws ERR_WAITGROUP_CANNOT_BLOCK on a shared group with counter > 0', async () => {
        const page = await session.open('/playground.html');
        const seen = await inPage(page, ({ WaitGroup, thrown }) => {
          const wg = new WaitGroup({ shared: true });
          wg.add(1);
          const error = thrown(() => wg.waitSync({ timeout: 10 }));
          return { error, counter: wg.counter, waiters: wg.waiters };
        });
        expect(seen.error).to.include({
          name: 'WaitGroupError',
          code: 'ERR_WAITGROUP_CANNOT_BLOCK',
        });
        expect(seen.error.message).to.match(/^awaitgroup: this thread may not block/);
        expect(seen).to.include({ counter: 1, waiters: 0 });
      });

      it('returns at once on a shared group with counter 0', async () => {
        const page = await session.open('/playground.html');
        const seen = await inPage(page, ({ WaitGroup }) => {
          const wg = new WaitGroup({ shared: true });
          wg.waitSync();
          return { counter: wg.counter, waiters: wg.waiters };
        });
        expect(seen).to.deep.equal({ counter: 0, waiters: 0 });
      });
    });
  });

  describe(`S14 in a ${browser.name} page served without COOP/COEP`, () => {
    const session = useBrowser(browser, { isolated: false });

    it('the page has no SharedArrayBuffer', async () => {
      const page = await session.open('/playground.html');
      const seen = await inPage(page, ({ environment }) => environment());
      expect(seen).to.include({ isolated: false, sab: 'undefined' });
    });

    it('{ shared: true } throws ERR_WAITGROUP_NO_SHARED_MEMORY naming both headers', async () => {
      const page = await session.open('/playground.html');
      const error = await inPage(page, ({ WaitGroup, thrown }) =>
        thrown(() => new WaitGroup({ shared: true })),
      );
      expect(error).to.include({
        name: 'WaitGroupError',
        code: 'ERR_WAITGROUP_NO_SHARED_MEMORY',
        waitGroupError: true,
      });
      expect(error.message).to.match(/^awaitgroup: SharedArrayBuffer is not available/);
      expect(error.message).to.include('Cross-Origin-Opener-Policy: same-origin');
      expect(error.message).to.include('Cross-Origin-Embedder-Policy: require-corp');
    });

    it('a local group still works: go(), wait(), and its errors', async () => {
      const page = await session.open('/playground.html');
      const seen = await inPage(page, async ({ WaitGroup, thrown }) => {
        const wg = new WaitGroup();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => wg.go(() => Promise.resolve(i * i))),
        );
        await wg.wait();
        wg.add(1);
        const deadlock = thrown(() => wg.waitSync());
        wg.done();
        return { results, counter: wg.counter, deadlock: deadlock.code };
      });
      expect(seen).to.deep.equal({
        results: [0, 1, 4, 9, 16, 25, 36, 49, 64, 81],
        counter: 0,
        deadlock: 'ERR_WAITGROUP_DEADLOCK',
      });
    });
  });
}
