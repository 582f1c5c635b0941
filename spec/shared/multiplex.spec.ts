import { expect } from 'chai';
import type { WaitGroup } from '../../lib/index.js';
import { pendingSharedWaits } from '../../lib/keep-alive.js';
import type { WorkerMessage } from '../fixtures/shared-tasks.js';
import {
  expectPending,
  expectRejection,
  settledState,
  track,
  unlistenableSignal,
} from '../helpers/async.js';
import { expectState } from '../helpers/waitgroup.js';
import { sharedGroup, startWorker, stopAll, type TestWorker, tokenWord } from './util.js';

/** attach starts a `commands` worker on `wg` and waits until it is ready. */
async function attach(wg: WaitGroup): Promise<TestWorker> {
  const worker = startWorker({ task: 'commands', handle: wg.handle });
  await worker.next('ready');
  return worker;
}

/** workerDone has `worker` call done() and resolves with its reply. */
async function workerDone(worker: TestWorker): Promise<WorkerMessage> {
  const id = worker.request({ op: 'done' });
  return worker.next((m) => m.id === id);
}

/** tokenView is the group's semaphore word (SPEC §2: the Int32 at byteOffset + 8). */
function tokenView(wg: WaitGroup): Int32Array {
  return new Int32Array(wg.handle.buffer, wg.handle.byteOffset + 8, 1);
}

describe('shared: the waits of one thread share one parked waitAsync (model/README.md M0–M7)', function () {
  this.timeout(15_000);

  afterEach(async () => {
    await stopAll();
    expect(pendingSharedWaits(), 'pending shared waits after the test').to.equal(0);
  });

  it('1000 pending waits on this thread are one waiter in the engine; a spurious wake-up releases none', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const waits = Array.from({ length: 1000 }, (_, i) =>
      track(i % 10 === 0 ? wg.wait({ signal: new AbortController().signal }) : wg.wait()),
    );
    expectState(wg, 1, 1000);
    // Atomics.notify returns how many parked waits it woke: this thread's one.
    expect(Atomics.notify(tokenView(wg), 0)).to.equal(1);
    await expectPending(waits[999]?.promise as Promise<void>, 'woken without a token');
    expect(waits.every((w) => w.state.status === 'pending')).to.equal(true);
    expectState(wg, 1, 1000);
    expect(tokenWord(wg.handle)).to.equal(0);
    // The woken pump found no token and parked again, once.
    expect(Atomics.notify(tokenView(wg), 0, 0)).to.equal(0);
    wg.done();
    await Promise.all(waits.map((w) => w.promise));
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('one done() on a worker releases 1000 waits of this thread in the order they were made, one token each', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg);
    const order: number[] = [];
    const waits = Array.from({ length: 1000 }, (_, i) => {
      const options = i % 7 === 3 ? { signal: new AbortController().signal } : undefined;
      return wg.wait(options).then(() => {
        order.push(i);
      });
    });
    expectState(wg, 1, 1000);
    expect(pendingSharedWaits()).to.equal(1000);
    expect(await workerDone(worker)).to.include({ type: 'done', counter: 0, waiters: 0 });
    await Promise.all(waits);
    expect(order).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i));
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('an abort of one queued wait deregisters it alone; the waits before and after it are released', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg);
    const controller = new AbortController();
    const before = track(wg.wait({ signal: new AbortController().signal }));
    const batch = track(wg.wait());
    const aborted = track(wg.wait({ signal: controller.signal }));
    const after = track(wg.wait());
    expectState(wg, 1, 4);
    const reason = new Error('cancelled');
    controller.abort(reason);
    expect(await expectRejection(aborted.promise)).to.equal(reason);
    expectState(wg, 1, 3);
    expect(pendingSharedWaits()).to.equal(3);
    await expectPending(after.promise, 'the wait behind the aborted one still waits');
    expect([before.state.status, batch.state.status]).to.deep.equal(['pending', 'pending']);
    expect(tokenWord(wg.handle)).to.equal(0);
    await workerDone(worker);
    await Promise.all([before.promise, batch.promise, after.promise]);
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('a timed-out wait (AbortSignal.timeout) rejects with TimeoutError; the others stay queued and are released', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg);
    const first = track(wg.wait());
    const timed = wg.wait({ signal: AbortSignal.timeout(10) });
    const last = track(wg.wait({ signal: new AbortController().signal }));
    const error = await expectRejection(timed);
    expect(error).to.be.instanceOf(DOMException).and.to.have.property('name', 'TimeoutError');
    expectState(wg, 1, 2);
    expect([first.state.status, last.state.status]).to.deep.equal(['pending', 'pending']);
    expect(tokenWord(wg.handle)).to.equal(0);
    await workerDone(worker);
    await Promise.all([first.promise, last.promise]);
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it("the last queued wait of this thread aborting does not swallow the wake-up of a worker's wait parked behind it (M7)", async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg);
    const controller = new AbortController();
    // This thread parks first: its waitAsync is the oldest in the engine's queue.
    const mine = wg.wait({ signal: controller.signal });
    const id = worker.request({ op: 'wait' });
    await worker.reply(id, 'registered');
    const theirs = worker.next((m) => m.id === id && m.type !== 'registered');
    controller.abort(new Error('stop'));
    await expectRejection(mine);
    expectState(wg, 1, 1);
    // release(1) notifies one waiter: it must be the worker's, not our dead entry.
    wg.done();
    expect(await theirs).to.include({ type: 'resolved', counter: 0, waiters: 0 });
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('an abort after the release is ignored: the wait takes its token with the rest of its queue (X6)', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const controller = new AbortController();
    const aborted = wg.wait({ signal: controller.signal });
    const batch = wg.wait();
    wg.done();
    // Released, and this thread's pump has not run yet: both tokens wait in the word.
    expect(tokenWord(wg.handle)).to.equal(2);
    controller.abort(new Error('too late'));
    expect(await settledState(aborted)).to.deep.equal({ status: 'fulfilled', value: undefined });
    await batch;
    expect(tokenWord(wg.handle)).to.equal(0);
    expectState(wg, 0, 0);
  });

  it('a signal-like object that cannot be listened to rejects, registers nothing and queues nothing', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const queued = track(wg.wait());
    const error = new Error('no listeners');
    const signal = unlistenableSignal(error);
    expect(await expectRejection(wg.wait({ signal }))).to.equal(error);
    expectState(wg, 1, 1);
    expect(pendingSharedWaits()).to.equal(1);
    wg.done();
    await queued.promise;
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('aborts racing a worker’s done(), 40 rounds: every wait settles once and no token is left', async () => {
    const wg = sharedGroup();
    const worker = await attach(wg);
    for (let round = 0; round < 40; round++) {
      wg.add(1);
      const controllers = Array.from({ length: 10 }, () => new AbortController());
      const withSignal = controllers.map((c) => track(wg.wait({ signal: c.signal })));
      const without = Array.from({ length: 10 }, () => track(wg.wait()));
      const reason = new Error(`round ${round}`);
      const done = workerDone(worker);
      for (const controller of controllers) controller.abort(reason);
      await done;
      await Promise.allSettled([...withSignal, ...without].map((w) => w.promise));
      expect(without.every((w) => w.state.status === 'fulfilled')).to.equal(true);
      // Each aborted wait withdrew (rejected with the reason) or was released first (resolved).
      for (const w of withSignal) {
        expect(w.state).to.deep.oneOf([
          { status: 'fulfilled', value: undefined },
          { status: 'rejected', reason },
        ]);
      }
      expect(tokenWord(wg.handle), `round ${round}`).to.equal(0);
      expectState(wg, 0, 0);
      expect(pendingSharedWaits()).to.equal(0);
    }
  });
});
