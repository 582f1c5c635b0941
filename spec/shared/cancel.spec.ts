import { getEventListeners, setMaxListeners } from 'node:events';
import { expect } from 'chai';
import type { WaitGroup } from '../../lib/index.js';
import { pendingSharedWaits } from '../../lib/keep-alive.js';
import type { WorkerMessage } from '../fixtures/shared-tasks.js';
import { expectPending, expectRejection, settledState, track } from '../helpers/async.js';
import { expectState, expectWaitGroupRejection } from '../helpers/waitgroup.js';
import { sharedGroup, startWorker, stopAll, type TestWorker, tokenWord } from './util.js';

/** listeners counts the abort listeners on `signal`. */
function listeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/** attach starts a `commands` worker on `wg` and waits until it is ready. */
async function attach(wg: WaitGroup): Promise<TestWorker> {
  const worker = startWorker({ task: 'commands', handle: wg.handle });
  await worker.next('ready');
  return worker;
}

/** workerWait has `worker` call wait() and resolves once it has registered; `settled` is the outcome. */
async function workerWait(worker: TestWorker): Promise<{ settled: Promise<WorkerMessage> }> {
  const id = worker.request({ op: 'wait' });
  await worker.reply(id, 'registered');
  return {
    settled: worker.next((m) => m.id === id && (m.type === 'resolved' || m.type === 'rejected')),
  };
}

describe('shared: S9 cancellation', function () {
  this.timeout(15_000);

  afterEach(async () => {
    await stopAll();
    // Every test leaves nothing pending on this thread (S9, S16).
    expect(pendingSharedWaits(), 'pending shared waits after the test').to.equal(0);
  });

  it('an already-aborted signal rejects with its reason and registers nothing', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const reason = new Error('stop');
    const waiting = wg.wait({ signal: AbortSignal.abort(reason) });
    expectState(wg, 1, 0);
    expect(pendingSharedWaits()).to.equal(0);
    expect(await expectRejection(waiting)).to.equal(reason);
    wg.done();
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('an abort while parked deregisters (waiters − 1); the other waiters, here and in a worker, are still released', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg);
    const inWorker = await workerWait(worker);
    const controller = new AbortController();
    const aborted = track(wg.wait({ signal: controller.signal }));
    const other = track(wg.wait());
    expectState(wg, 1, 3);
    expect(pendingSharedWaits()).to.equal(2);
    await expectPending(aborted.promise);

    const reason = new Error('cancelled');
    controller.abort(reason);
    expectState(wg, 1, 2);
    expect(await expectRejection(aborted.promise)).to.equal(reason);
    expect(pendingSharedWaits()).to.equal(1);
    expect(listeners(controller.signal)).to.equal(0);
    await expectPending(other.promise, 'the other waiter is still waiting');
    expect(tokenWord(wg.handle)).to.equal(0);

    wg.done();
    await other.promise;
    expect(await inWorker.settled).to.include({ type: 'resolved', counter: 0, waiters: 0 });
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('an abort after the release is ignored: the wait resolves and takes its token (X6)', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const controller = new AbortController();
    const waiting = wg.wait({ signal: controller.signal });
    await expectPending(waiting);
    wg.done();
    // Released: a token is in the word, and the waiter has not taken it yet.
    expect(tokenWord(wg.handle)).to.equal(1);
    controller.abort(new Error('too late'));
    expect(await settledState(waiting)).to.deep.equal({ status: 'fulfilled', value: undefined });
    expect(tokenWord(wg.handle)).to.equal(0);
    expect(listeners(controller.signal)).to.equal(0);
  });

  it('an abort after the release, with the group already reused, leaves the new word alone and rejects REUSED', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const controller = new AbortController();
    const waiting = wg.wait({ signal: controller.signal });
    await expectPending(waiting);
    // Released, reused at once (the misuse of S8), then aborted: the word (1, 0)
    // looks like nobody is registered, so the abort must not touch it (X2's guard).
    wg.done();
    wg.add(1);
    controller.abort(new Error('too late'));
    expectState(wg, 1, 0);
    await expectWaitGroupRejection(waiting, 'ERR_WAITGROUP_REUSED');
    expectState(wg, 1, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
    wg.done();
    expectState(wg, 0, 0);
  });

  it('an abort storm: 3000 aborted waits, in batches, leave no token and no registration behind', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg);
    const inWorker = await workerWait(worker);
    const batches = Array.from({ length: 30 }, () => new AbortController());
    // 100 listeners per signal are intended here.
    setMaxListeners(0, ...batches.map((c) => c.signal));
    const reasons = batches.map((_, b) => new Error(`batch ${b}`));
    const doomed = Array.from({ length: 3000 }, (_, i) =>
      track(wg.wait({ signal: (batches[i % batches.length] as AbortController).signal })),
    );
    const survivors = Array.from({ length: 100 }, () => track(wg.wait()));
    expectState(wg, 1, 3101);
    expect(pendingSharedWaits()).to.equal(3100);

    for (const [b, controller] of batches.entries()) {
      controller.abort(reasons[b]);
      // Let the woken survivors look for a token and park again (W8).
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.allSettled(doomed.map((d) => d.promise));
    doomed.forEach((d, i) => {
      expect(d.state, `wait ${i}`).to.deep.equal({
        status: 'rejected',
        reason: reasons[i % batches.length],
      });
    });
    expectState(wg, 1, 101);
    expect(tokenWord(wg.handle)).to.equal(0);
    expect(pendingSharedWaits()).to.equal(100);
    expect(survivors.every((s) => s.state.status === 'pending')).to.equal(true);
    for (const controller of batches) expect(listeners(controller.signal)).to.equal(0);

    // The survivors of the storm are released, each once.
    wg.done();
    await Promise.all(survivors.map((s) => s.promise));
    expect(await inWorker.settled).to.include({ type: 'resolved' });
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);

    // A new generation's waiters do not resolve early: no token was left over.
    wg.add(1);
    const nextInWorker = await workerWait(worker);
    const next = Array.from({ length: 10 }, () => wg.wait());
    expectState(wg, 1, 11);
    // A round trip through the worker: its wait is still pending too.
    const id = worker.request({ op: 'state' });
    expect(await worker.reply(id, 'state')).to.include({ counter: 1, waiters: 11 });
    for (const waiting of next) await expectPending(waiting, 'a next-generation wait');
    wg.done();
    await Promise.all(next);
    expect(await nextInWorker.settled).to.include({ type: 'resolved' });
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('1000 waits aborted one by one in one synchronous run deregister each, and the token word stays 0', async () => {
    const wg = sharedGroup();
    wg.add(2);
    const controllers = Array.from({ length: 1000 }, () => new AbortController());
    const waits = controllers.map((c) => track(wg.wait({ signal: c.signal })));
    const survivor = track(wg.wait());
    expectState(wg, 2, 1001);
    for (const c of controllers) c.abort();
    expectState(wg, 2, 1);
    await Promise.allSettled(waits.map((w) => w.promise));
    expect(waits.every((w) => w.state.status === 'rejected')).to.equal(true);
    await expectPending(survivor.promise);
    wg.done();
    await expectPending(survivor.promise, 'the counter is still 1');
    wg.done();
    await survivor.promise;
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('1000 aborts that land after the release are all ignored, and absorb every token', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const controllers = Array.from({ length: 1000 }, () => new AbortController());
    const waits = controllers.map((c) => wg.wait({ signal: c.signal }));
    expect(pendingSharedWaits()).to.equal(1000);
    wg.done();
    expect(tokenWord(wg.handle)).to.equal(1000);
    for (const c of controllers) c.abort();
    await Promise.all(waits);
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('the keep-alive count goes back to 0 whether waits resolve, reject REUSED or are aborted', async () => {
    const wg = sharedGroup();
    expect(pendingSharedWaits()).to.equal(0);
    wg.add(1);
    const controller = new AbortController();
    const aborted = wg.wait({ signal: controller.signal });
    const resolved = wg.wait();
    const reused = wg.wait();
    expect(pendingSharedWaits()).to.equal(3);
    controller.abort();
    expect(pendingSharedWaits()).to.equal(2);
    await expectRejection(aborted);
    // The last done() and a new add(1) in one run: the waiters resume to a reused group (S8).
    wg.done();
    wg.add(1);
    await expectWaitGroupRejection(resolved, 'ERR_WAITGROUP_REUSED');
    await expectWaitGroupRejection(reused, 'ERR_WAITGROUP_REUSED');
    expect(pendingSharedWaits()).to.equal(0);
    const last = wg.wait();
    expect(pendingSharedWaits()).to.equal(1);
    wg.done();
    await last;
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('one long-lived signal serves 1000 waits without accumulating listeners', async () => {
    const wg = sharedGroup();
    const { signal } = new AbortController();
    setMaxListeners(0, signal);
    for (let i = 0; i < 1000; i++) {
      wg.add(1);
      const waiting = wg.wait({ signal });
      expect(listeners(signal)).to.equal(1);
      wg.done();
      await waiting;
      expect(listeners(signal), `after wait ${i}`).to.equal(0);
    }
    // Many at once, and one that rejects REUSED.
    wg.add(1);
    const many = Array.from({ length: 100 }, () => wg.wait({ signal }));
    expect(listeners(signal)).to.equal(100);
    wg.done();
    await Promise.all(many);
    expect(listeners(signal)).to.equal(0);
    wg.add(1);
    const reused = wg.wait({ signal });
    wg.done();
    wg.add(1);
    await expectWaitGroupRejection(reused, 'ERR_WAITGROUP_REUSED');
    expect(listeners(signal)).to.equal(0);
    wg.done();
    expect(tokenWord(wg.handle)).to.equal(0);
  });
});
