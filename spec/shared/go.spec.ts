import { expect } from 'chai';
import { WaitGroup } from '../../lib/index.js';
import { pendingSharedWaits } from '../../lib/keep-alive.js';
import {
  Barrier,
  Misuse,
  type Outcomes,
  Race,
  STOP,
  type WorkerMessage,
} from '../fixtures/shared-tasks.js';
import { expectState } from '../helpers/waitgroup.js';
import {
  bumpWord,
  control,
  failFast,
  setWord,
  sharedGroup,
  startWorker,
  stateWord,
  stopAll,
  type TestWorker,
  tokenWord,
  untilWord,
} from './util.js';

/** A worker's tally, as posted at the end of a looping task. */
type Summary = WorkerMessage & Outcomes & { readonly role: string };

describe("shared: Go's sync tests with workers as goroutines", function () {
  this.timeout(20_000);

  afterEach(stopAll);

  it('TestWaitGroup: the two-group barrier holds, 8 times over the same two groups', async () => {
    const wg1 = sharedGroup();
    const wg2 = sharedGroup();
    const ctl = control(Barrier.LENGTH);
    const rounds = 8;
    // Four workers: three run async goroutines, one blocks in waitSync.
    const plan = [
      { mode: 'async', goroutines: 4 },
      { mode: 'async', goroutines: 4 },
      { mode: 'async', goroutines: 3 },
      { mode: 'sync', goroutines: 1 },
    ] as const;
    const n = plan.reduce((sum, p) => sum + p.goroutines, 0);
    const workers = plan.map((p) =>
      startWorker({
        task: 'barrier',
        wg1: wg1.handle,
        wg2: wg2.handle,
        control: ctl,
        rounds,
        ...p,
      }),
    );
    for (let round = 1; round <= rounds; round++) {
      wg1.add(n);
      wg2.add(n);
      setWord(ctl, Barrier.ROUND, round);
      await failFast(wg1.wait());
      for (let i = 0; i < n; i++) {
        // Go: "WaitGroup released group too soon".
        expect(Atomics.load(ctl, Barrier.EXITED), `round ${round}`).to.equal((round - 1) * n);
        wg2.done();
      }
      // Go: "<-exited // Will block if barrier fails to unlock someone."
      await untilWord(ctl, Barrier.EXITED, (v) => v === round * n);
    }
    await Promise.all(workers.map((w) => w.next('finished')));
    expectState(wg1, 0, 0);
    expectState(wg2, 0, 0);
    expect([tokenWord(wg1.handle), tokenWord(wg2.handle)]).to.deep.equal([0, 0]);
    expect(pendingSharedWaits()).to.equal(0);
  });

  it('TestWaitGroupRace: a wait never returns before both done() calls of its round', async () => {
    const wg = sharedGroup();
    const ctl = control(Race.LENGTH);
    const rounds = 1000;
    const task = { task: 'race', handle: wg.handle, control: ctl, rounds } as const;
    const workers = [
      startWorker({ ...task, role: 'doer' }),
      startWorker({ ...task, role: 'doer' }),
      startWorker({ ...task, role: 'waiter' }),
    ];
    for (let round = 1; round <= rounds; round++) {
      wg.add(2);
      setWord(ctl, Race.ROUND, round);
      await failFast(wg.wait());
      // Go: "Spurious wakeup from Wait".
      expect(Atomics.load(ctl, Race.WORK), `round ${round}`).to.equal(2 * round);
      // The worker's waitSync must return before the group is reused (S8).
      await untilWord(ctl, Race.WAITED, (v) => v === round);
    }
    await Promise.all(workers.map((w) => w.next('finished')));
    expect(Atomics.load(ctl, Race.EARLY), 'waitSync returned early').to.equal(0);
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
  });

  /**
   * misuseRounds plays Go's misuse tests round by round, each on a fresh
   * group, for at least 200 rounds and until a worker has seen REUSED, or
   * until the bound (400 rounds, or 4 s) is hit. Detection is
   * opportunistic (Go runs a million rounds); what must hold every round is
   * that nothing hangs and the group ends empty (S17).
   */
  async function misuseRounds(
    roles: ReadonlyArray<'reuser' | 'waiter' | 'bad-guy'>,
    round: (wg: WaitGroup, r: number, ctl: Int32Array) => Promise<void>,
  ): Promise<Summary[]> {
    const minRounds = 200;
    const maxRounds = 400;
    const buffer = new SharedArrayBuffer(16 * (maxRounds + 1));
    const ctl = control(Misuse.LENGTH);
    const workers: TestWorker[] = roles.map((role) =>
      startWorker({ task: 'misuse', role, buffer, control: ctl }),
    );
    const deadline = performance.now() + 4_000;
    for (let r = 1; r <= maxRounds; r++) {
      const byteOffset = 16 * r;
      const wg = WaitGroup.from({ buffer, byteOffset });
      wg.add(1);
      setWord(ctl, Misuse.ROUND, r);
      await round(wg, r, ctl);
      await untilWord(ctl, Misuse.FINISHED, (v) => v === roles.length * r);
      expect([stateWord({ buffer, byteOffset }), tokenWord({ buffer, byteOffset })]).to.deep.equal(
        [0n, 0],
        `round ${r}: word and tokens`,
      );
      if (r >= minRounds && Atomics.load(ctl, Misuse.REUSED) !== 0) break;
      if (performance.now() > deadline) break;
    }
    setWord(ctl, Misuse.ROUND, STOP);
    const summaries = await Promise.all(workers.map((w) => w.next<Summary>('summary')));
    for (const s of summaries) {
      expect(s.other, `${s.role}: errors other than Go's`).to.deep.equal([]);
    }
    return summaries;
  }

  /** releaseWhen waits (boundedly) until `wg` has `waiters` waiters, so the release meets them. */
  async function releaseWhen(wg: WaitGroup, waiters: number): Promise<void> {
    for (let look = 0; look < 200 && wg.waiters < waiters; look++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('TestWaitGroupMisuse3: reuse before an earlier wait returned shows as REUSED, never as a hang', async () => {
    const summaries = await misuseRounds(['reuser', 'waiter'], async (wg, r, ctl) => {
      await releaseWhen(wg, 2);
      wg.done();
      // The reuser has done add(1) (or failed to): give its second wait a done().
      const added = await untilWord(ctl, Misuse.ADDED, (v) => v === r || v === -r);
      if (added === r) wg.done();
    });
    const [reuser, waiter] = summaries as [Summary, Summary];
    // MISUSE cannot occur in this protocol (model/README.md: MISUSE never fires); REUSED may.
    expect(reuser.misuse + waiter.misuse).to.equal(0);
    expect(reuser.resolved).to.be.greaterThan(0);
  });

  it('TestWaitGroupMisuse2: add(1); done() racing a wait and its release never hangs', async () => {
    const summaries = await misuseRounds(['waiter', 'bad-guy'], async (wg, _r, ctl) => {
      await releaseWhen(wg, 1);
      // Start the bad guy, and release at once: its add(1) races the waiter's resume.
      bumpWord(ctl, Misuse.START);
      wg.done();
    });
    for (const s of summaries) expect(s.misuse, s.role).to.equal(0);
  });
});
