import { expect } from 'chai';
import { NODE_MAJOR, type Outcome, relative, runFixture, stopFixtures, warnings } from './child.js';

/** The exit of a script whose top-level await never settles: 13 on every Node line CI runs. */
const UNSETTLED_TOP_LEVEL_AWAIT = 13;

/** Node ≥ 22 also prints this for an unsettled top-level await; Node 20 prints nothing. */
const UNSETTLED_WARNING = 'Warning: Detected unsettled top-level await';

/** at is how a report names a site: relative, with the line exact and any column. */
function at(site: string | undefined): string {
  const shown = relative(site ?? '').replace(/:\d+$/, '');
  return `${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+`;
}

function sitesOf(outcome: Outcome): string[] {
  const line = outcome.stdout.trim().split('\n')[0] ?? '';
  return (JSON.parse(line) as { sites: string[] }).sites;
}

const AGO = '\\d+\\.\\d s ago';
const DEBUG = { AWAITGROUP_DEBUG: '1' } as const;

describe('D4 beforeExit: a pending wait() is reported, the exit code stays the runtime’s', function () {
  this.timeout(30_000);
  afterEach(stopFixtures);

  it('names the group, its pending wait and each unfinished unit with site and age (top-level await)', async () => {
    const outcome = await runFixture('diagnostics-exit', { args: ['forgotten'], env: DEBUG });
    expect(outcome.code, outcome.stderr).to.equal(UNSETTLED_TOP_LEVEL_AWAIT);
    const [made, added, started] = sitesOf(outcome);
    const reports = warnings(outcome.stderr);
    expect(reports).to.have.length(1);
    expect(reports[0]).to.match(
      new RegExp(
        `^WaitGroup created at ${at(made)}: 1 wait\\(\\) pending, 2 tasks never finished: ` +
          `add\\(\\) \\(added at ${at(added)}, ${AGO}\\), ` +
          `fetch /a \\(added at ${at(started)}, ${AGO}\\)$`,
      ),
    );
    expect(outcome.stderr.includes(UNSETTLED_WARNING), `Node ${NODE_MAJOR}`).to.equal(
      NODE_MAJOR >= 22,
    );
  });

  it('names each group when several are pending, with their wait counts', async () => {
    const outcome = await runFixture('diagnostics-exit', { args: ['two-groups'], env: DEBUG });
    expect(outcome.code, outcome.stderr).to.equal(0);
    const [first, task, second, added] = sitesOf(outcome);
    expect(warnings(outcome.stderr)).to.have.length(1);
    expect(warnings(outcome.stderr)[0]).to.match(
      new RegExp(
        `^WaitGroup created at ${at(first)}: 1 wait\\(\\) pending, 1 task never finished: ` +
          `a go\\(\\) task \\(added at ${at(task)}, ${AGO}\\)\\n` +
          `WaitGroup created at ${at(second)}: 2 wait\\(\\)s pending, 1 task never finished: ` +
          `add\\(\\) \\(added at ${at(added)}, ${AGO}\\)$`,
      ),
    );
  });

  it('a wait pending in an async function (no top-level await): reported, and the exit code stays 0', async () => {
    const outcome = await runFixture('diagnostics-exit', { args: ['in-a-function'], env: DEBUG });
    expect(outcome.code, outcome.stderr).to.equal(0);
    const [made, added] = sitesOf(outcome);
    expect(warnings(outcome.stderr)).to.have.length(1);
    expect(warnings(outcome.stderr)[0]).to.match(
      new RegExp(
        `^WaitGroup created at ${at(made)}: 1 wait\\(\\) pending, 3 tasks never finished: ` +
          `add\\(\\) ×3 \\(added at ${at(added)}, ${AGO}\\)$`,
      ),
    );
  });

  it('debug mode off: the same pending wait exits as the runtime does, with no report', async () => {
    const outcome = await runFixture('diagnostics-exit', { args: ['in-a-function'] });
    expect(outcome).to.deep.include({ code: 0, stderr: '' });
    const tla = await runFixture('diagnostics-exit', { args: ['forgotten'] });
    expect(tla.code).to.equal(UNSETTLED_TOP_LEVEL_AWAIT);
    expect(tla.stderr).to.not.include('AWAITGROUP');
    expect(tla.stderr.includes(UNSETTLED_WARNING), `Node ${NODE_MAJOR}`).to.equal(NODE_MAJOR >= 22);
  });

  it('{ debug: false } wins over AWAITGROUP_DEBUG=1: no report, exit 13', async () => {
    const outcome = await runFixture('diagnostics-exit', { args: ['debug-off'], env: DEBUG });
    expect(outcome.code).to.equal(UNSETTLED_TOP_LEVEL_AWAIT);
    expect(outcome.stderr).to.not.include('AWAITGROUP');
  });

  it('no report without a pending wait: unfinished units alone, an aborted wait, a released wait', async () => {
    for (const scenario of ['no-wait', 'aborted', 'released']) {
      const outcome = await runFixture('diagnostics-exit', { args: [scenario], env: DEBUG });
      expect(outcome, scenario).to.deep.include({ code: 0, stderr: '' });
    }
  });

  it('listens to beforeExit only while a wait is pending', async () => {
    const released = await runFixture('diagnostics-exit', { args: ['released'], env: DEBUG });
    expect(JSON.parse(released.stdout)).to.deep.include({ during: 1, after: 0 });
    const idle = await runFixture('diagnostics-exit', { args: ['no-wait'], env: DEBUG });
    expect(JSON.parse(idle.stdout)).to.deep.include({ listeners: 0 });
  });
});
