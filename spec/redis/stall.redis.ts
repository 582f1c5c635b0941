/**
 * Debug mode's stalled-wait report for a Redis group (D7 with T4's units
 * across processes), and how `util.inspect` shows a group. The waiting
 * process is a child (spec/redis/fixtures/stall-waiter.ts) whose warnings
 * are read from its stderr; the task's owner is a member killed with
 * SIGKILL, its lease long enough that ERR_WAITGROUP_TASK_LOST does not come
 * first.
 */

import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { type RedisClient, RedisWaitGroup } from '../../lib/redis/index.js';
import { collect, type Outcome, stopChildren } from '../helpers/child.js';
import { type Connected, connect, type Kind, type Target } from './support/clients.js';
import { label, MATRIX, targetOf, uniqueName } from './support/env.js';
import { Member } from './support/members.js';

const WAITER = fileURLToPath(new URL('./fixtures/stall-waiter.js', import.meta.url));
const STALL_MS = '300';
const HANG_GUARD_MS = 30_000;
/** Long enough that the killed owner's lease outlives the test. */
const LEASE = 120_000;
const SECONDS = '\\d+\\.\\d s';

/** runWaiter runs the waiting child on `handle` and resolves with its outcome. */
function runWaiter(
  target: Target,
  handle: RedisWaitGroup['handle'],
  scenario: string,
  env: Readonly<Record<string, string>>,
): Promise<Outcome> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  if (env.AWAITGROUP_DEBUG === undefined) delete childEnv.AWAITGROUP_DEBUG;
  delete childEnv.NODE_OPTIONS;
  const child = spawn(
    process.execPath,
    [
      '--unhandled-rejections=strict',
      '--enable-source-maps',
      WAITER,
      JSON.stringify(target),
      JSON.stringify(handle),
      scenario,
    ],
    { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return collect(child, HANG_GUARD_MS);
}

/** reportsOf returns the text of each warning with `code` in a child's stderr. */
function reportsOf(stderr: string, code = 'AWAITGROUP_STALLED_WAIT'): string[] {
  const prefix = new RegExp(`^\\(node:\\d+\\) \\[${code}\\] Warning: `);
  return stderr
    .split('\n')
    .filter((line) => prefix.test(line))
    .map((line) => line.replace(prefix, ''));
}

const escapeRe = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * expectTwoReports asserts that a child's stderr holds two stalled-wait
 * reports of the group `name`, each ending with `units` (a regular
 * expression), and returns them.
 */
function expectTwoReports(stderr: string, name: string, units: string): string[] {
  const reports = reportsOf(stderr);
  expect(reports, stderr).to.have.length(2);
  for (const report of reports) {
    expect(report).to.match(
      new RegExp(
        `^RedisWaitGroup '${escapeRe(name)}': 1 wait\\(\\) pending in this process with no change ` +
          `of the counter for ${SECONDS}, ${units}$`,
      ),
    );
  }
  return reports;
}

const DEBUG = { AWAITGROUP_DEBUG: '1', AWAITGROUP_STALL_MS: STALL_MS } as const;

/**
 * clientPerTest registers the hooks of a describe block: the shared target
 * of `kind` and `cluster` once, a client of its own for each test, and,
 * after each test, its children stopped and its client closed.
 */
function clientPerTest(kind: Kind, cluster: boolean): { target: Target; client: RedisClient } {
  const on = {} as { target: Target; client: RedisClient };
  let connected: Connected | undefined;
  before(async function () {
    this.timeout(60_000);
    on.target = await targetOf(kind, cluster);
  });
  beforeEach(async () => {
    connected = await connect(on.target);
    on.client = connected.client;
  });
  afterEach(async () => {
    stopChildren();
    await connected?.close();
  });
  return on;
}

for (const { kind, cluster } of MATRIX) {
  describe(`D7 T4 a stalled wait on a Redis group is reported with its units across processes (${label(kind, cluster)})`, function () {
    this.timeout(60_000);
    const on = clientPerTest(kind, cluster);

    it('D7 a task whose owner was SIGKILLed: the waiting process names the task, its host and pid, then again later; nothing once the wait settled', async () => {
      const wg = await RedisWaitGroup.create(on.client, uniqueName('stall'));
      await wg.add(1);
      const owner = await Member.start(on.target);
      await owner.ok('attach', { handle: wg.handle, options: { lease: LEASE } });
      const pid = (await owner.ok('go', { name: 'fetch /slow' })) as number;
      await owner.kill();

      const outcome = await runWaiter(on.target, wg.handle, 'stalled', DEBUG);
      expect(outcome.code, outcome.stderr).to.equal(0);
      expect(outcome.stdout).to.equal('settled\n');
      const reports = expectTwoReports(
        outcome.stderr,
        wg.name,
        '2 tasks never finished across processes: ' +
          `fetch /slow \\(go\\(\\) task on host ${escapeRe(hostname())} pid ${pid}, started ${SECONDS} ago, ` +
          `lease live, expires in ${SECONDS}\\), add\\(\\)`,
      );
      // The second report comes after a longer stall than the first.
      const waited = reports.map((report) => Number(/for (\d+\.\d) s/.exec(report)?.[1]));
      expect(waited[1]).to.be.greaterThan(waited[0] ?? 0);
    });
  });
}

describe('D7 the stalled-wait report of a Redis group: when it comes and when not', function () {
  this.timeout(60_000);
  const on = clientPerTest('node-redis', false);

  it('D7 options.debug turns it on without AWAITGROUP_DEBUG; plain add() units are counted', async () => {
    const wg = await RedisWaitGroup.create(on.client, uniqueName('stall'));
    await wg.add(3);
    const outcome = await runWaiter(on.target, wg.handle, 'option', {
      AWAITGROUP_STALL_MS: STALL_MS,
    });
    expect(outcome.code, outcome.stderr).to.equal(0);
    expectTwoReports(
      outcome.stderr,
      wg.name,
      '3 tasks never finished across processes: add\\(\\) ×3',
    );
  });

  it('D7 a change of the counter starts the count again: each report shows the counter as it stands', async () => {
    const wg = await RedisWaitGroup.create(on.client, uniqueName('stall'));
    await wg.add(3);
    const outcome = await runWaiter(on.target, wg.handle, 'progress', DEBUG);
    expect(outcome.code, outcome.stderr).to.equal(0);
    expect(outcome.stdout).to.equal('{"seen":3}\n');
    const reports = reportsOf(outcome.stderr);
    expect(reports.map((report) => /(\d) tasks? never finished/.exec(report)?.[1])).to.deep.equal([
      '3',
      '2',
      '1',
    ]);
  });

  it('D7 D6 no report without debug mode', async () => {
    const wg = await RedisWaitGroup.create(on.client, uniqueName('stall'));
    await wg.add(1);
    const outcome = await runWaiter(on.target, wg.handle, 'quiet', {
      AWAITGROUP_DEBUG: '0',
      AWAITGROUP_STALL_MS: STALL_MS,
    });
    expect(outcome.code, outcome.stderr).to.equal(0);
    expect(outcome.stdout).to.equal('settled\n');
    expect(outcome.stderr).to.not.include('AWAITGROUP_STALLED_WAIT');
  });

  it('D7 its timer never keeps a process alive: after a released wait and a wait ended by closing the client, the process exits at once', async () => {
    const wg = await RedisWaitGroup.create(on.client, uniqueName('stall'));
    // A first delay far beyond the hang guard: a timer left behind would hang the child.
    const outcome = await runWaiter(on.target, wg.handle, 'exits', {
      AWAITGROUP_DEBUG: '1',
      AWAITGROUP_STALL_MS: String(10 * HANG_GUARD_MS),
    });
    expect(outcome, outcome.stderr).to.deep.include({ code: 0, signal: null });
    expect(outcome.stdout).to.equal('released\nclosed: ERR_WAITGROUP_UNAVAILABLE\n');
    expect(reportsOf(outcome.stderr)).to.deep.equal([]);
  });
});

describe('util.inspect of a RedisWaitGroup', () => {
  const on = clientPerTest('node-redis', false);

  it('looks like Node’s own: single quotes, the name, the epoch and the waits pending here', async () => {
    const wg = await RedisWaitGroup.create(on.client, uniqueName('batch-42'));
    expect(inspect(wg)).to.equal(
      `RedisWaitGroup { name: '${wg.name}', epoch: '${wg.handle.epoch}', pending: 0 }`,
    );
    const colored = inspect(wg, { colors: true });
    expect(colored).to.include(`\u001b[32m'${wg.name}'\u001b[39m`);
    expect(colored).to.include('\u001b[33m0\u001b[39m');
    const debug = RedisWaitGroup.from(on.client, wg.handle, { debug: true });
    expect(inspect(debug)).to.match(/, pending: 0, debug: true \}$/);
  });

  it('a name with a single quote is quoted as Node quotes strings', async () => {
    const wg = await RedisWaitGroup.create(on.client, uniqueName("it's"));
    expect(inspect(wg)).to.include(`name: "${wg.name}"`);
  });

  it('options.debug must be a boolean', () => {
    expect(() =>
      RedisWaitGroup.from(on.client, { name: 'x', epoch: 'e' }, { debug: 1 as never }),
    ).to.throw(TypeError, /options\.debug must be a boolean.*got 1/);
  });
});
