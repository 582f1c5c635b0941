import { expect } from 'chai';
import { relative, runFixture, stopFixtures, warnings } from './child.js';

describe('D5 a debug local group collected with a pending wait is reported', function () {
  this.timeout(30_000);
  afterEach(stopFixtures);

  it('reports the unreachable group once, and not the one still referenced', async () => {
    const outcome = await runFixture('diagnostics-gc', { flags: ['--expose-gc'] });
    expect(outcome.code, outcome.stderr).to.equal(0);
    const { sites, reports, kept } = JSON.parse(outcome.stdout) as {
      sites: string[];
      reports: string[];
      kept: number;
    };
    const [, , lost, task] = sites.map((site) => relative(site).replace(/:\d+$/, ''));
    expect(reports).to.have.length(1);
    const [report] = reports;
    expect(report?.startsWith(`WaitGroup created at ${lost}:`), report).to.equal(true);
    expect(report).to.match(
      /:\d+ was garbage-collected with 1 wait\(\) pending, 1 task never finished: lost task \(added at /,
    );
    expect(report).to.include(`(added at ${task}:`);
    // The kept group was never reported: it is still referenced, and it was
    // released before the process ended.
    expect(kept).to.equal(1);
    expect(warnings(outcome.stderr)).to.deep.equal(reports);
  });
});
