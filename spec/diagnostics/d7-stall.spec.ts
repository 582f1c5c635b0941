import { expect } from 'chai';
import {
  DEFAULT_STALL_MS,
  parseStallMs,
  type StallSource,
  startStallWatch,
} from '../../lib/stall.js';
import { type Outcome, relative, runFixture, stopFixtures } from './child.js';

/** The first delay the children use: small, so that a report comes soon. */
const STALL_MS = '200';

/** reportsOf returns the text of each warning with `code` in a child's stderr. */
function reportsOf(stderr: string, code: string): string[] {
  const prefix = new RegExp(`^\\(node:\\d+\\) \\[${code}\\] Warning: `);
  return stderr
    .split('\n')
    .filter((line) => prefix.test(line))
    .map((line) => line.replace(prefix, ''));
}

function sitesOf(outcome: Outcome): string[] {
  const line = outcome.stdout.trim().split('\n')[0] ?? '';
  return (JSON.parse(line) as { sites: string[] }).sites;
}

/** at is how a report names a site: relative, with the line exact and any column. */
function at(site: string | undefined): string {
  const shown = relative(site ?? '').replace(/:\d+$/, '');
  return `${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+`;
}

const SECONDS = '\\d+\\.\\d s';
const DEBUG = { AWAITGROUP_DEBUG: '1', AWAITGROUP_STALL_MS: STALL_MS } as const;

describe('D7 a stalled wait is reported while it is stalled', function () {
  this.timeout(30_000);
  afterEach(stopFixtures);

  it('a local group: names the group, how long it waited and each unit, then again later; nothing once the wait settled', async () => {
    const outcome = await runFixture('diagnostics-stall', { args: ['local', '2'], env: DEBUG });
    expect(outcome.code, outcome.stderr).to.equal(0);
    const [made, added, started] = sitesOf(outcome);
    const reports = reportsOf(outcome.stderr, 'AWAITGROUP_STALLED_WAIT');
    expect(reports, outcome.stderr).to.have.length(2);
    for (const report of reports) {
      expect(report).to.match(
        new RegExp(
          `^WaitGroup created at ${at(made)}: 1 wait\\(\\) pending with no change of the counter for ${SECONDS}, ` +
            `2 tasks never finished: add\\(\\) \\(added at ${at(added)}, ${SECONDS} ago\\), ` +
            `fetch /slow \\(added at ${at(started)}, ${SECONDS} ago\\)$`,
        ),
      );
    }
    // The second report comes after a longer stall than the first.
    const waited = reports.map((report) => Number(/for (\d+\.\d) s/.exec(report)?.[1]));
    expect(waited[1]).to.be.greaterThan(waited[0] ?? 0);
    expect(outcome.stdout).to.include('settled\n');
  });

  it('a shared group whose worker died before its done(): reported while the process would hang, naming what this thread added', async () => {
    const outcome = await runFixture('diagnostics-stall', {
      args: ['shared-worker-died', '2'],
      env: DEBUG,
    });
    expect(outcome.code, outcome.stderr).to.equal(0);
    expect(outcome.stdout).to.include('worker failed: the worker died before its done()');
    const printed = JSON.parse(
      outcome.stdout.split('\n').find((line) => line.startsWith('{')) ?? '{}',
    );
    // unfinished() agrees with the counter: the other worker's done() retired one of the 2 added here.
    expect(printed).to.deep.include({ counter: 1, unfinished: [1] });
    const [made, added] = printed.sites as string[];
    const reports = reportsOf(outcome.stderr, 'AWAITGROUP_STALLED_WAIT');
    expect(reports, outcome.stderr).to.have.length(2);
    for (const report of reports) {
      expect(report).to.match(
        new RegExp(
          `^WaitGroup attached at ${at(made)}: 1 wait\\(\\) pending with no change of the counter for ${SECONDS}, ` +
            `1 task never finished: add\\(\\) \\(added at ${at(added)}, ${SECONDS} ago\\)$`,
        ),
      );
    }
    expect(outcome.stdout).to.include('settled\n');
  });

  it('a change of the counter starts the count again: each report shows the counter as it stands', async () => {
    const outcome = await runFixture('diagnostics-stall', { args: ['progress'], env: DEBUG });
    expect(outcome.code, outcome.stderr).to.equal(0);
    expect(outcome.stdout).to.include('{"seen":3}');
    const reports = reportsOf(outcome.stderr, 'AWAITGROUP_STALLED_WAIT');
    expect(reports.map((report) => /(\d) tasks? never finished/.exec(report)?.[1])).to.deep.equal([
      '3',
      '2',
      '1',
    ]);
  });

  it('its timer never keeps a process alive: a top-level local wait still ends as the runtime ends it', async () => {
    const outcome = await runFixture('diagnostics-stall', {
      args: ['top-level'],
      env: { AWAITGROUP_DEBUG: '1', AWAITGROUP_STALL_MS: '60000' },
    });
    expect(outcome.code, outcome.stderr).to.equal(13);
    expect(reportsOf(outcome.stderr, 'AWAITGROUP_PENDING_WAIT')).to.have.length(1);
    expect(reportsOf(outcome.stderr, 'AWAITGROUP_STALLED_WAIT')).to.deep.equal([]);
  });

  it('no report for an aborted wait, nor without debug mode', async () => {
    const aborted = await runFixture('diagnostics-stall', { args: ['aborted'], env: DEBUG });
    expect(aborted.code, aborted.stderr).to.equal(0);
    expect(aborted.stderr).to.equal('');
    const off = await runFixture('diagnostics-stall', {
      args: ['progress'],
      env: { AWAITGROUP_DEBUG: '0', AWAITGROUP_STALL_MS: STALL_MS },
    });
    // Without a report nothing calls done(): the wait stays pending and a
    // local wait keeps nothing alive once the fixture's own timer is all.
    expect(off.stderr).to.not.include('AWAITGROUP_STALLED_WAIT');
  });

  describe('AWAITGROUP_DEBUG and AWAITGROUP_STALL_MS values', () => {
    for (const value of ['1', 'true', 'TRUE', 'yes', 'On']) {
      it(`AWAITGROUP_DEBUG=${value} turns debug mode on`, async () => {
        const outcome = await runFixture('diagnostics-exit', {
          args: ['in-a-function'],
          env: { AWAITGROUP_DEBUG: value },
        });
        expect(outcome.stderr).to.include('[AWAITGROUP_PENDING_WAIT]');
        expect(outcome.stderr).to.not.include('AWAITGROUP_INVALID_ENV');
      });
    }

    for (const value of ['0', 'false', 'off', 'No', '']) {
      it(`AWAITGROUP_DEBUG=${JSON.stringify(value)} leaves it off, silently`, async () => {
        const outcome = await runFixture('diagnostics-exit', {
          args: ['in-a-function'],
          env: { AWAITGROUP_DEBUG: value },
        });
        expect(outcome).to.deep.include({ code: 0, stderr: '' });
      });
    }

    it('any other value is a warning that says what is accepted, and debug mode stays off', async () => {
      const outcome = await runFixture('diagnostics-exit', {
        args: ['in-a-function'],
        env: { AWAITGROUP_DEBUG: 'verbose' },
      });
      expect(outcome.code).to.equal(0);
      expect(reportsOf(outcome.stderr, 'AWAITGROUP_INVALID_ENV')).to.deep.equal([
        "AWAITGROUP_DEBUG='verbose' is not understood, so debug mode stays off; set AWAITGROUP_DEBUG=1 " +
          '(or true, yes, on) to turn it on, or 0 (false, no, off) to leave it off',
      ]);
      expect(outcome.stderr).to.not.include('AWAITGROUP_PENDING_WAIT');
    });

    it('AWAITGROUP_STALL_MS must be a whole number of milliseconds above 0; else a warning and the default', () => {
      expect(parseStallMs(undefined)).to.equal(DEFAULT_STALL_MS);
      expect(parseStallMs('')).to.equal(DEFAULT_STALL_MS);
      expect(parseStallMs('250')).to.equal(250);
      const warnings: string[] = [];
      const listener = (warning: Error & { code?: string }) => {
        if (warning.code === 'AWAITGROUP_INVALID_ENV') warnings.push(warning.message);
      };
      process.on('warning', listener);
      try {
        for (const bad of ['0', '-5', '1.5', 'soon']) expect(parseStallMs(bad)).to.equal(10_000);
      } finally {
        // Warnings are emitted on a later tick; the listener is removed after them below.
        setImmediate(() => process.removeListener('warning', listener));
      }
      return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        expect(warnings).to.have.length(4);
        expect(warnings[3]).to.equal(
          "AWAITGROUP_STALL_MS='soon' is not a whole number of milliseconds above 0; " +
            'stalled waits are reported after 10000 ms. Set it like AWAITGROUP_STALL_MS=30000',
        );
      });
    });
  });

  describe('startStallWatch, the hook every group kind uses', () => {
    /** A source whose progress and pending state the test sets. */
    function source(): StallSource & { progressValue: number; pendingValue: boolean } {
      return {
        progressValue: 0,
        pendingValue: true,
        progress() {
          return this.progressValue;
        },
        pending() {
          return this.pendingValue;
        },
        report: (stalledMs) => `stalled ${stalledMs >= 0}`,
      };
    }

    it('reports through its warn option, at doubling intervals, until the source has no wait pending', async () => {
      const src = source();
      const seen: string[] = [];
      let resolveThird: () => void = () => {};
      const third = new Promise<void>((resolve) => {
        resolveThird = resolve;
      });
      const watch = startStallWatch(src, {
        delay: 5,
        warn: (text) => {
          seen.push(text);
          if (seen.length === 3) {
            src.pendingValue = false;
            resolveThird();
          }
        },
      });
      await third;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen).to.deep.equal(['stalled true', 'stalled true', 'stalled true']);
      watch.stop(); // stopping a stopped watch is harmless
    });

    it('a change of progress is not a stall; stop() ends the watch', async () => {
      const src = source();
      const seen: string[] = [];
      let ticks = 0;
      src.progress = () => ticks++; // a new value at every tick
      const watch = startStallWatch(src, { delay: 5, warn: (text) => seen.push(text) });
      await new Promise((resolve) => setTimeout(resolve, 40));
      watch.stop();
      const after = ticks;
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen).to.deep.equal([]);
      expect(after).to.be.greaterThan(1);
      expect(ticks).to.equal(after);
    });

    it('emits an AWAITGROUP_STALLED_WAIT process warning by default', async () => {
      const src = source();
      const warning = new Promise<Error & { code?: string }>((resolve) => {
        const listener = (w: Error & { code?: string }) => {
          if (w.code !== 'AWAITGROUP_STALLED_WAIT') return;
          process.removeListener('warning', listener);
          resolve(w);
        };
        process.on('warning', listener);
      });
      const watch = startStallWatch(src, { delay: 5 });
      const w = await warning;
      watch.stop();
      expect(w.message).to.equal('stalled true');
    });
  });
});
