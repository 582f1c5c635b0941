import { expect } from 'chai';
import { ErrGroup } from '../../lib/index.js';
import { relative, runFixture, stopFixtures } from '../diagnostics/child.js';
import { deferred } from '../helpers/async.js';

/** at is how a report names a site: relative, with the line exact and any column. */
function at(site: string | undefined): string {
  const shown = relative(site ?? '').replace(/:\d+$/, '');
  return `${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+`;
}

const AGO = '\\d+\\.\\d s ago';

describe('ErrGroup debug mode (SPEC §8.1)', () => {
  describe('E19 names and reports', () => {
    afterEach(stopFixtures);

    it('a deadlocked ErrGroup is reported as an ErrGroup, its tasks by name or go(), running or queued', async function () {
      this.timeout(30_000);
      const outcome = await runFixture('errgroup-deadlock', { env: { AWAITGROUP_DEBUG: '1' } });
      const first = JSON.parse(outcome.stdout.trim().split('\n')[0] ?? '{}') as {
        sites: string[];
        unfinished: unknown[];
      };
      const [made, named, unnamed] = first.sites;
      expect(first.unfinished).to.deep.equal([
        { name: 'fetch /a', count: 1, queued: false },
        { count: 1, queued: true },
      ]);
      // The runtime's own exit code for an unsettled top-level await stays.
      expect(outcome.code, outcome.stderr).to.equal(13);
      expect(outcome.stderr.match(/\[AWAITGROUP_PENDING_WAIT\]/g), outcome.stderr).to.have.length(
        1,
      );
      expect(outcome.stderr).to.match(
        new RegExp(
          `ErrGroup created at ${at(made)}: 1 wait\\(\\) pending, 2 tasks never finished: ` +
            `fetch /a \\(running, added at ${at(named)}, ${AGO}\\), ` +
            `go\\(\\) \\(queued, added at ${at(unnamed)}, ${AGO}\\)`,
        ),
      );
      expect(outcome.stderr).to.not.contain('WaitGroup created');
      expect(outcome.stderr).to.not.contain('add()');
    });

    it('unfinished() in debug mode names each task and says which are queued', async () => {
      const eg = new ErrGroup({ limit: 1, debug: true });
      const gate = deferred();
      eg.go(() => gate.promise, { name: 'first' });
      eg.go(() => 'second', { name: 'second' });
      const open = eg.unfinished();
      expect(open.map(({ name, queued, count }) => ({ name, queued, count }))).to.deep.equal([
        { name: 'first', queued: false, count: 1 },
        { name: 'second', queued: true, count: 1 },
      ]);
      expect(open[0]?.site).to.match(/debug\.spec\.(ts|js):\d+:\d+$/);
      gate.resolve();
      await eg.wait();
      expect(eg.unfinished()).to.deep.equal([]);
    });

    it('dropped and timed tasks leave the ledger too', async () => {
      const eg = new ErrGroup({ limit: 1, debug: true, timeout: 60_000 });
      const gate = deferred();
      eg.go(() => gate.promise);
      eg.go(() => 'dropped');
      eg.clearQueue();
      expect(eg.unfinished()).to.have.length(1);
      gate.resolve();
      await eg.wait();
      expect(eg.unfinished()).to.deep.equal([]);
    });

    it('outside debug mode: one entry for the running tasks and one for the queued', async () => {
      const eg = new ErrGroup({ limit: 2, debug: false });
      const gate = deferred();
      for (let i = 0; i < 5; i++) eg.go(() => gate.promise, { name: `task ${i}` });
      expect(eg.unfinished()).to.deep.equal([
        { name: undefined, site: undefined, since: undefined, count: 2, queued: false },
        { name: undefined, site: undefined, since: undefined, count: 3, queued: true },
      ]);
      gate.resolve();
      await eg.wait();
      expect(eg.unfinished()).to.deep.equal([]);
    });

    it('debug must be a boolean', () => {
      expect(() => new ErrGroup({ debug: 'yes' as never })).to.throw(
        TypeError,
        'options.debug must be a boolean',
      );
    });
  });
});
