import { expect } from 'chai';
import type { WaitGroup } from '../../lib/index.js';
import type { WorkerMessage } from '../fixtures/shared-tasks.js';
import { expectPending, track } from '../helpers/async.js';
import { expectState } from '../helpers/waitgroup.js';
import { sharedGroup, startWorker, stopAll, type TestWorker, tokenWord, until } from './util.js';

async function attach(wg: WaitGroup, noWaitAsync = false): Promise<TestWorker> {
  const worker = startWorker({ task: 'commands', handle: wg.handle, noWaitAsync });
  await worker.next('ready');
  return worker;
}

/** waitSyncIn has `worker` block in waitSync; `outcome` is its reply once it returns or throws. */
function waitSyncIn(
  worker: TestWorker,
  timeout?: number,
): { outcome: Promise<WorkerMessage>; blocking: Promise<WorkerMessage> } {
  const id = worker.request(
    timeout === undefined ? { op: 'waitSync' } : { op: 'waitSync', timeout },
  );
  return {
    blocking: worker.reply(id, 'blocking'),
    outcome: worker.next((m) => m.id === id && (m.type === 'returned' || m.type === 'threw')),
  };
}

describe('shared: S10 waitSync in a worker', function () {
  this.timeout(15_000);

  afterEach(stopAll);

  it('returns at once when the counter is 0, registering nothing', async () => {
    const wg = sharedGroup();
    const worker = await attach(wg);
    const { outcome } = waitSyncIn(worker);
    expect(await outcome).to.include({ type: 'returned', counter: 0, waiters: 0 });
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('blocks until the main thread releases it', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg);
    const { blocking, outcome } = waitSyncIn(worker);
    await blocking;
    await until(() => wg.waiters === 1, 'the worker has registered');
    const returned = track(outcome);
    await expectPending(returned.promise, 'the worker is still blocked');
    wg.done();
    expect(await outcome).to.include({ type: 'returned', counter: 0, waiters: 0 });
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('blocks until another worker releases it', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const [blocked, releaser] = await Promise.all([attach(wg), attach(wg)]);
    const { outcome } = waitSyncIn(blocked);
    await until(() => wg.waiters === 1, 'the worker has registered');
    const id = releaser.request({ op: 'done' });
    expect(await releaser.reply(id, 'done')).to.include({ counter: 0 });
    expect(await outcome).to.include({ type: 'returned', counter: 0, waiters: 0 });
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('releases blocking and async waiters of several workers and the main thread together', async () => {
    const wg = sharedGroup();
    wg.add(2);
    const [a, b, c] = await Promise.all([attach(wg), attach(wg), attach(wg)]);
    const syncA = waitSyncIn(a).outcome;
    const syncB = waitSyncIn(b).outcome;
    const asyncId = c.request({ op: 'wait' });
    await c.reply(asyncId, 'registered');
    const here = wg.wait();
    await until(() => wg.waiters === 4, 'all four have registered');
    wg.done();
    await expectPending(here);
    const id = c.request({ op: 'done' });
    await c.reply(id, 'done');
    await here;
    expect(await syncA).to.include({ type: 'returned' });
    expect(await syncB).to.include({ type: 'returned' });
    expect(await c.reply(asyncId, 'resolved')).to.include({ type: 'resolved' });
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('after the timeout throws a TimeoutError DOMException and withdraws (waiters restored)', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const here = track(wg.wait());
    const worker = await attach(wg);
    const outcome = await waitSyncIn(worker, 20).outcome;
    expect(outcome).to.deep.include({ type: 'threw', counter: 1, waiters: 1 });
    expect(outcome.error).to.deep.include({
      name: 'TimeoutError',
      isDOMException: true,
      isWaitGroupError: false,
    });
    expect((outcome.error as { message: string }).message).to.match(/timed out after 20 ms/);
    expectState(wg, 1, 1);
    expect(tokenWord(wg.handle)).to.equal(0);
    // The group is unaffected: the remaining waiter is released by the next done().
    await expectPending(here.promise);
    wg.done();
    await here.promise;
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('timeout 0 at counter > 0 throws TimeoutError at once and withdraws', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg);
    const outcome = await waitSyncIn(worker, 0).outcome;
    expect(outcome).to.deep.include({ type: 'threw', counter: 1, waiters: 0 });
    expect(outcome.error).to.deep.include({ name: 'TimeoutError', isDOMException: true });
    wg.done();
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('a timeout that does not expire: released in time, it returns normally', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg);
    const { outcome } = waitSyncIn(worker, 600_000);
    await until(() => wg.waiters === 1, 'the worker has registered');
    wg.done();
    expect(await outcome).to.include({ type: 'returned', counter: 0, waiters: 0 });
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('throws ERR_WAITGROUP_REUSED when the group is reused before it resumed', async () => {
    const wg = sharedGroup();
    const worker = await attach(wg);
    // Release and reuse in one synchronous run. The worker, woken on another
    // core, almost always resumes after the add(1); if it wins the race it
    // returns normally, and we try again (a bounded number of times).
    let reused: WorkerMessage | undefined;
    for (let attempt = 0; attempt < 20 && reused === undefined; attempt++) {
      wg.add(1);
      const { outcome } = waitSyncIn(worker);
      await until(() => wg.waiters === 1, 'the worker has registered');
      wg.done();
      wg.add(1);
      const result = await outcome;
      if (result.type === 'threw') reused = result;
      else expect(result).to.include({ type: 'returned' });
      expectState(wg, 1, 0);
      expect(tokenWord(wg.handle)).to.equal(0);
      wg.done();
    }
    if (reused === undefined) expect.fail('no REUSED in 20 attempts');
    expect(reused.error).to.deep.include({
      name: 'WaitGroupError',
      code: 'ERR_WAITGROUP_REUSED',
      isWaitGroupError: true,
    });
    expect((reused.error as { message: string }).message).to.match(
      /^sync: WaitGroup is reused before previous Wait has returned/,
    );
    expectState(wg, 0, 0);
  });
});

describe('shared: S15 the polling fallback in a worker', function () {
  this.timeout(15_000);

  afterEach(stopAll);

  it('a worker without Atomics.waitAsync waits by polling, and is released as usual', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg, true);
    const stateId = worker.request({ op: 'state' });
    expect(await worker.reply(stateId, 'state')).to.include({ waitAsync: 'undefined' });
    const ids = [worker.request({ op: 'wait' }), worker.request({ op: 'wait' })];
    for (const id of ids) await worker.reply(id, 'registered');
    expectState(wg, 1, 2);
    wg.done();
    for (const id of ids) expect(await worker.reply(id, 'resolved')).to.include({ counter: 0 });
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  it('a polling worker releases the main thread parked in Atomics.waitAsync', async () => {
    const wg = sharedGroup();
    wg.add(1);
    const worker = await attach(wg, true);
    const here = wg.wait();
    await expectPending(here);
    const id = worker.request({ op: 'done' });
    await worker.reply(id, 'done');
    await here;
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });
});
