import { expect } from 'chai';

import { BROWSERS, inPage, type Page, useBrowser } from './support.js';

/**
 * generations runs `rounds` rounds of one shared group between the page and
 * four module workers: each round the page adds 4·K, the workers block on a
 * gate, the page calls wait() (registering) and opens the gate, and the
 * workers' done() calls release the page's wait. It reports, per round,
 * what the page saw before opening the gate and after its wait resolved.
 */
function generations(page: Page, rounds: number, perWorker: number) {
  return inPage(
    page,
    async ({ WaitGroup, spawn, ask, state, PENDING, environment }, [ROUNDS, K]) => {
      const workers = spawn(4);
      try {
        const wg = new WaitGroup({ shared: true });
        const gate = new WaitGroup({ shared: true });
        const seen = [];
        for (let round = 0; round < ROUNDS; round++) {
          gate.add(1);
          wg.add(4 * K);
          const replies = Promise.all(
            workers.map((worker) =>
              ask(worker, { op: 'done', group: wg.handle, gate: gate.handle, times: K }),
            ),
          );
          const waited = wg.wait();
          const before = {
            counter: wg.counter,
            waiters: wg.waiters,
            pending: (await state(waited)) === PENDING,
          };
          gate.done(); // every worker's gate.waitSync() returns; their done() calls release us
          await waited;
          const after = { counter: wg.counter, waiters: wg.waiters };
          // Every gate.waitSync() has returned before the gate is reused (S8).
          const done = (await replies).map((reply) => (reply.op === 'done' ? reply.times : reply));
          seen.push({ before, after, done });
        }
        return { seen, environment: environment() };
      } finally {
        for (const worker of workers) worker.terminate();
      }
    },
    [rounds, perWorker] as const,
  );
}
for (const browser of BROWSERS) {
  describe(`in ${browser.name} Web Workers (cross-origin isolated)`, () => {
    const session = useBrowser(browser, { isolated: true });

    describe('a shared group between the page and 4 module workers', () => {
      it("the workers' done() calls release the page's await wg.wait(), 5 generations", async () => {
        const page = await session.open('/playground.html');
        const { seen, environment } = await generations(page, 5, 250);
        expect(environment.waitAsync).to.equal('function');
        expect(seen).to.have.length(5);
        for (const round of seen) {
          expect(round.before).to.deep.equal({ counter: 1000, waiters: 1, pending: true });
          expect(round.after).to.deep.equal({ counter: 0, waiters: 0 });
          expect(round.done).to.deep.equal([250, 250, 250, 250]);
        }
      });

      it('a worker can attach to a group carved out of a buffer of the page', async () => {
        const page = await session.open('/playground.html');
        const seen = await inPage(page, async ({ WaitGroup, spawn, ask }) => {
          const [worker] = spawn(1);
          if (worker === undefined) throw new Error('no worker');
          try {
            const buffer = new SharedArrayBuffer(4 * WaitGroup.BYTE_LENGTH);
            const wg = WaitGroup.from({ buffer, byteOffset: 2 * WaitGroup.BYTE_LENGTH });
            wg.add(3);
            const waited = wg.wait();
            const reply = await ask(worker, { op: 'done', group: wg.handle, times: 3 });
            await waited;
            const untouched = new BigInt64Array(buffer).filter((word) => word !== 0n).length;
            return { reply, counter: wg.counter, untouched };
          } finally {
            worker.terminate();
          }
        });
        expect(seen).to.deep.equal({ reply: { op: 'done', times: 3 }, counter: 0, untouched: 0 });
      });
    });

    describe('S10 waitSync in a worker', () => {
      it('blocks the worker until the page brings the counter to zero', async () => {
        const page = await session.open('/playground.html');
        const seen = await inPage(page, async ({ WaitGroup, spawn, ask, until }) => {
          const [worker] = spawn(1);
          if (worker === undefined) throw new Error('no worker');
          try {
            const wg = new WaitGroup({ shared: true });
            wg.add(2);
            const reply = ask(worker, { op: 'waitSync', group: wg.handle });
            await until(() => wg.waiters === 1, 'the worker registering in waitSync');
            wg.done();
            const registered = { counter: wg.counter, waiters: wg.waiters };
            wg.done();
            return { registered, reply: await reply };
          } finally {
            worker.terminate();
          }
        });
        expect(seen.registered).to.deep.equal({ counter: 1, waiters: 1 });
        expect(seen.reply).to.deep.equal({ op: 'returned', counter: 0, waiters: 0 });
      });

      it('gives up after its timeout with a TimeoutError and deregisters', async () => {
        const page = await session.open('/playground.html');
        const seen = await inPage(page, async ({ WaitGroup, spawn, ask }) => {
          const [worker] = spawn(1);
          if (worker === undefined) throw new Error('no worker');
          try {
            const wg = new WaitGroup({ shared: true });
            wg.add(1);
            const reply = await ask(worker, { op: 'waitSync', group: wg.handle, timeout: 20 });
            const after = { counter: wg.counter, waiters: wg.waiters };
            wg.done();
            await wg.wait();
            return { reply, after };
          } finally {
            worker.terminate();
          }
        });
        expect(seen.reply.op).to.equal('threw');
        if (seen.reply.op !== 'threw') return;
        expect(seen.reply.error).to.include({ name: 'TimeoutError', domException: true });
        expect(seen.after).to.deep.equal({ counter: 1, waiters: 0 });
      });
    });
  });

  describe(`S15 in ${browser.name} with Atomics.waitAsync removed before the package loads`, () => {
    const session = useBrowser(browser, { isolated: true });
    const withoutWaitAsync = (): void => {
      // Runs in the page before any of its scripts.
      delete (Atomics as { waitAsync?: unknown }).waitAsync;
    };

    it('the page has no Atomics.waitAsync', async () => {
      const page = await session.open('/playground.html', withoutWaitAsync);
      const seen = await inPage(page, ({ environment }) => environment());
      expect(seen).to.deep.equal({ isolated: true, sab: 'function', waitAsync: 'undefined' });
    });

    it("the workers' done() calls still release the page's shared wait, 3 generations", async () => {
      const page = await session.open('/playground.html', withoutWaitAsync);
      const { seen, environment } = await generations(page, 3, 100);
      expect(environment.waitAsync).to.equal('undefined');
      for (const round of seen) {
        expect(round.before).to.deep.equal({ counter: 400, waiters: 1, pending: true });
        expect(round.after).to.deep.equal({ counter: 0, waiters: 0 });
        expect(round.done).to.deep.equal([100, 100, 100, 100]);
      }
    });

    it('a done() on the page releases every waiter, in one generation after another', async () => {
      const page = await session.open('/playground.html', withoutWaitAsync);
      const seen = await inPage(page, async ({ WaitGroup, state, PENDING }) => {
        const wg = new WaitGroup({ shared: true });
        const rounds = [];
        for (let round = 0; round < 3; round++) {
          wg.add(1);
          const waits = [wg.wait(), wg.wait(), wg.wait()];
          const pending = (await state(waits[0] as Promise<void>)) === PENDING;
          const waiters = wg.waiters;
          wg.done();
          await Promise.all(waits);
          rounds.push({ pending, waiters, after: wg.waiters });
        }
        return rounds;
      });
      expect(seen).to.deep.equal(Array(3).fill({ pending: true, waiters: 3, after: 0 }));
    });

    it('an aborted wait rejects with the reason and deregisters', async () => {
      const page = await session.open('/playground.html', withoutWaitAsync);
      const seen = await inPage(page, async ({ WaitGroup, rejection }) => {
        const wg = new WaitGroup({ shared: true });
        wg.add(1);
        const controller = new AbortController();
        const aborted = wg.wait({ signal: controller.signal });
        const other = wg.wait();
        const registered = wg.waiters;
        controller.abort(new Error('stop'));
        const error = await rejection(aborted);
        const afterAbort = wg.waiters;
        wg.done();
        await other;
        return { registered, error: error.message, afterAbort, after: wg.waiters };
      });
      expect(seen).to.deep.equal({ registered: 2, error: 'stop', afterAbort: 1, after: 0 });
    });
  });
}
