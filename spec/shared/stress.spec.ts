import { expect } from 'chai';
import { pendingSharedWaits } from '../../lib/keep-alive.js';
import { outcomes, waitLoop } from '../fixtures/outcomes.js';
import { type Outcomes, Stress, type WorkerMessage } from '../fixtures/shared-tasks.js';
import { expectState } from '../helpers/waitgroup.js';
import {
  control,
  failFast,
  setWord,
  sharedGroup,
  startWorker,
  stopAll,
  tokenWord,
} from './util.js';

type Summary = WorkerMessage & Outcomes & { readonly role: string };

describe('shared: S17 stress across threads', function () {
  this.timeout(30_000);

  afterEach(stopAll);

  it('add/done pairs on workers over many generations, with async, aborted and blocking waiters, end with counter 0, waiters 0, token word 0', async () => {
    const wg = sharedGroup();
    const ctl = control(Stress.LENGTH);
    const base = { task: 'stress', handle: wg.handle, control: ctl } as const;
    const pairs = 50_000;
    const doers = [1, 2, 3].map(() => startWorker({ ...base, role: 'doer', pairs }));
    const waiters = [
      startWorker({ ...base, role: 'async-waiter', loops: 4 }),
      startWorker({ ...base, role: 'sync-waiter' }),
      startWorker({ ...base, role: 'sync-waiter', timeout: 1 }),
      // Timeout 0: every registration is withdrawn at once, racing the releases (X6).
      startWorker({ ...base, role: 'sync-waiter', timeout: 0 }),
    ];
    // The main thread waits too: two plain loops and one whose waits abort.
    const stopped = () => Atomics.load(ctl, Stress.STOP) !== 0;
    const here = outcomes();
    const loops = [false, false, true].map((abort) => waitLoop(wg, stopped, here, abort));

    const done = await Promise.all(doers.map((w) => w.next<Summary>('summary')));
    setWord(ctl, Stress.STOP, 1);
    // Every waiter returns: the last done() released whoever was registered (S17).
    await failFast(Promise.all(loops));
    const waited = await Promise.all(waiters.map((w) => w.next<Summary>('summary')));

    for (const s of [...done, ...waited, { role: 'main', ...here }]) {
      expect(s.other, `${s.role}: unexpected errors`).to.deep.equal([]);
      expect(
        s.misuse,
        `${s.role}: MISUSE cannot occur (model/README.md: MISUSE never fires)`,
      ).to.equal(0);
    }
    expectState(wg, 0, 0);
    expect(tokenWord(wg.handle)).to.equal(0);
    expect(pendingSharedWaits()).to.equal(0);
    // The waiters did wait, across many generations.
    const total = (key: 'resolved' | 'reused' | 'aborted' | 'timeouts') =>
      [...waited, here].reduce((sum, s) => sum + s[key], 0);
    expect(total('resolved')).to.be.greaterThan(100);
  });
});
