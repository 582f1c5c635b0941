/**
 * The examples are what users copy, and the README quotes them (STYLE.md 8):
 * each one is run here as a child process, the way a user runs it, and its
 * output and exit code are checked.
 */

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { collect, type Outcome, stopChildren } from './helpers/child.js';

/** How long a child may run before the hang guard kills it. */
const HANG_GUARD_MS = 30_000;

/** run runs dist/examples/`name`.js with `args`, stdio piped, and resolves when it exits. */
function run(
  name: string,
  args: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<Outcome> {
  const file = fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));
  const child = spawn(process.execPath, ['--enable-source-maps', file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  return collect(child, HANG_GUARD_MS);
}

/** runStrict runs an example as run() does, under --unhandled-rejections=strict: nothing may escape. */
function runStrict(name: string): Promise<Outcome> {
  const file = fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--unhandled-rejections=strict', file],
    { stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
  );
  return collect(child, HANG_GUARD_MS);
}

/** expectSuccess asserts exit code 0 and an empty stderr, showing the output if not. */
function expectSuccess(outcome: Outcome): void {
  const shown = `stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`;
  expect(outcome.signal, shown).to.equal(null);
  expect(outcome.code, shown).to.equal(0);
  expect(outcome.stderr, shown).to.equal('');
}

/** numberAfter returns the first number that follows `label` in `text`. */
function numberAfter(text: string, label: RegExp): number {
  const match = new RegExp(`${label.source}\\s*(\\d+)`, 'm').exec(text);
  expect(match, `${label} in\n${text}`).to.not.equal(null);
  return Number(match?.[1]);
}

describe('examples', function () {
  this.timeout(HANG_GUARD_MS + 5_000);

  afterEach(stopChildren);

  describe('forgotten-done', () => {
    it('with AWAITGROUP_DEBUG=1, names the units that never finished and where they were added', async () => {
      const outcome = await run('forgotten-done', [], { AWAITGROUP_DEBUG: '1' });
      const major = Number(process.versions.node.split('.')[0]);
      expect(outcome.code).to.equal(13);
      expect(outcome.stdout).to.equal('waiting for 4 tasks\n');
      // The sites are the lines of the example that made the group and its units.
      const source = (
        await readFile(new URL('../../examples/forgotten-done.ts', import.meta.url), 'utf8')
      ).split('\n');
      const at = (text: string) =>
        `examples/forgotten-done.ts:${source.findIndex((line) => line.includes(text)) + 1}`;
      const warning = outcome.stderr
        .split('\n')
        .find((line) => line.includes('AWAITGROUP_PENDING_WAIT'));
      expect(warning, outcome.stderr).to.include(
        `[AWAITGROUP_PENDING_WAIT] Warning: WaitGroup created at ${at('new WaitGroup()')}:12: ` +
          `1 wait() pending, 2 tasks never finished: add() (added at ${at('wg.add(1)')}:6, `,
      );
      expect(warning).to.include(`fetch /slow (added at ${at("name: 'fetch /slow'")}:4, `);
      expect(warning).to.match(/ \d+\.\d s ago\), fetch \/slow \(added at \S+, \d+\.\d s ago\)$/);
      if (major >= 22) expect(outcome.stderr).to.include('Detected unsettled top-level await');
    });

    it('without debug mode, exits as the runtime does and names nothing', async () => {
      const outcome = await run('forgotten-done', [], { AWAITGROUP_DEBUG: '0' });
      expect(outcome.code).to.equal(13);
      expect(outcome.stderr).to.not.include('AWAITGROUP_PENDING_WAIT');
    });
  });

  describe('errgroup-crawl', () => {
    it('stops at the failing route: the pages in flight are cancelled and the queued never start', async () => {
      const outcome = await run('errgroup-crawl');
      expectSuccess(outcome);
      const { stdout } = outcome;
      expect(stdout.split('\n')[0]).to.equal('crawl stopped: HTTP 500 from /page/10');
      const ran = numberAfter(stdout, /^ {2}ran/);
      const cancelled = numberAfter(stdout, /^ {2}cancelled/);
      const neverStarted = numberAfter(stdout, /^ {2}never started/);
      // Pages 0–9 answer at once; /page/10 fails once 11–13 are in flight,
      // which only the abort can end; 14–99 were still queued.
      expect([ran, cancelled, neverStarted]).to.deep.equal([10, 3, 86]);
      // E12: every task that started ran in the request context of its own go().
      expect(stdout).to.match(/^ {2}in context {5}14 of 14 started tasks$/m);
      expect(stdout).to.match(
        /^ {2}stats {10}admitted 100, started 14, fulfilled 10, rejected 4, dropped 86$/m,
      );
    });

    it('leaves no unhandled rejection under --unhandled-rejections=strict', async () => {
      const outcome = await runStrict('errgroup-crawl');
      expectSuccess(outcome);
    });
  });

  describe('errgroup-api', () => {
    it('builds the page from the calls that answered and reports every failure, with the request context', async () => {
      const outcome = await runStrict('errgroup-api');
      expectSuccess(outcome);
      const lines = outcome.stdout.trimEnd().split('\n');
      expect(lines.slice(0, 5).sort()).to.deep.equal([
        '[req-42] /cart answered',
        '[req-42] /recommendations answered',
        '[req-42] /user answered',
        '[req-42] failed: HTTP 503 from /reviews',
        '[req-42] failed: TimeoutError on /ads',
      ]);
      expect(lines.slice(5)).to.deep.equal([
        '[req-42] 3 calls answered, 2 failed',
        'page built from: /cart, /recommendations, /user',
      ]);
    });
  });

  describe('fetch-fanout', () => {
    it('answers 300 requests by default, 5 of them with a 500, all before wait() resolves', async () => {
      const outcome = await run('fetch-fanout');
      expectSuccess(outcome);
      const { stdout } = outcome;
      expect(stdout).to.match(/^300 requests in \d+\.\d\d s \(\d+ requests\/s\)$/m);
      expect(numberAfter(stdout, /^ {2}ok/)).to.equal(295);
      expect(numberAfter(stdout, /^ {2}failed/)).to.equal(5);
      expect(stdout).to.include('(HTTP 500: 5, network: 0; deliberate: the /flaky route fails');
      expect(numberAfter(stdout, /^ {2}served/)).to.equal(300);
    });

    it('prints plain lines, never \\r, when stdout is not a TTY', async () => {
      const outcome = await run('fetch-fanout', ['--requests', '20']);
      expectSuccess(outcome);
      expect(outcome.stdout).to.not.include('\r');
      expect(outcome.stdout).to.not.include('\x1b');
    });

    it('takes --requests and --max-delay; --progress off prints only the summary', async () => {
      const outcome = await run('fetch-fanout', [
        '--requests',
        '61',
        '--max-delay',
        '0',
        '--progress',
        'off',
      ]);
      expectSuccess(outcome);
      const lines = outcome.stdout.trimEnd().split('\n');
      expect(lines).to.have.length(4);
      expect(lines[0]).to.match(/^61 requests in /);
      // /flaky fails requests 2, 62, 122, … (i % 60 === 2): of 0–60, only request 2.
      expect(numberAfter(outcome.stdout, /^ {2}ok/)).to.equal(60);
      expect(numberAfter(outcome.stdout, /^ {2}failed/)).to.equal(1);
      expect(numberAfter(outcome.stdout, /^ {2}served/)).to.equal(61);
    });

    it('--progress tty draws one line over itself and clears it before the summary', async () => {
      const outcome = await run('fetch-fanout', ['--requests', '30', '--progress', 'tty']);
      expectSuccess(outcome);
      const clear = '\r\x1b[2K';
      const { stdout } = outcome;
      expect(stdout.startsWith(`${clear}0/30 done, 30 in flight, 0 failed`), stdout).to.equal(true);
      const summary = stdout.slice(stdout.lastIndexOf(clear) + clear.length);
      expect(summary).to.match(/^30 requests in /);
      expect(summary).to.not.include('\r');
      expect(stdout.slice(0, stdout.lastIndexOf(clear))).to.not.include('\n');
    });

    for (const [args, message] of [
      [['--requests', 'abc'], '--requests must be a whole number from 1 to 10000, got "abc"'],
      [['--requests', '0'], '--requests must be a whole number from 1 to 10000, got "0"'],
      [['--requests', '1.5'], '--requests must be a whole number from 1 to 10000, got "1.5"'],
      [['--max-delay=-1'], '--max-delay must be a whole number from 0 to 2000, got "-1"'],
      [['--max-delay', '5000'], '--max-delay must be a whole number from 0 to 2000, got "5000"'],
      [['--progress', 'fancy'], '--progress must be auto, tty, plain or off, got "fancy"'],
      [['--bogus'], "Unknown option '--bogus'"],
    ] as const) {
      it(`refuses ${args.join(' ')} with exit code 2 and says why`, async () => {
        const outcome = await run('fetch-fanout', args);
        expect(outcome.code).to.equal(2);
        expect(outcome.stdout).to.equal('');
        expect(outcome.stderr).to.include(`fetch-fanout: ${message}`);
        expect(outcome.stderr).to.include('usage: fetch-fanout');
      });
    }
  });

  describe('opentelemetry', () => {
    it('prints the span tree: tasks under the span of their go(), nested tasks under their task, the failure an error', async () => {
      const outcome = await run('opentelemetry');
      expectSuccess(outcome);
      expect(outcome.stdout).to.equal(
        [
          'GET /orders/42',
          '  WaitGroup task load user',
          '  WaitGroup task load order',
          '    WaitGroup task line 1',
          '    WaitGroup task line 2',
          '    WaitGroup wait',
          '  WaitGroup wait',
          '  ErrGroup task',
          '  ErrGroup task',
          '  ErrGroup wait [error: cannot resize to 256]',
          '  ErrGroup task [error: cannot resize to 256]',
          '',
        ].join('\n'),
      );
    });
  });

  describe('quick-start', () => {
    it('compresses 8 files with add/done and with go(), each waited for', async () => {
      const outcome = await run('quick-start');
      expectSuccess(outcome);
      expect(outcome.stdout).to.equal(
        'add/done: 8 files compressed, counter 0\ngo: 8 files compressed, counter 0\n',
      );
    });
  });

  describe('stream-consumers', () => {
    it('maps a Readable of 1e6 records 8 at a time, in order, pulling only ahead of the loop', async () => {
      const outcome = await runStrict('stream-consumers');
      expectSuccess(outcome);
      const { stdout } = outcome;
      expect(stdout).to.match(/^1000000 records, sum 99000000, in input order: true$/m);
      // 2 × limit pulled and not yet yielded, the Readable's buffer of 16, and the one in hand.
      expect(numberAfter(stdout, /most records pulled ahead of the loop:/)).to.be.at.most(33);
    });

    it('takes --records', async () => {
      const outcome = await run('stream-consumers', ['--records', '250']);
      expectSuccess(outcome);
      expect(outcome.stdout).to.match(/^250 records, sum 22250, in input order: true$/m);
    });
  });

  describe('workers', () => {
    it('counts the 348513 primes below 5000000 by default, in workers and in one thread', async () => {
      const outcome = await run('workers');
      expectSuccess(outcome);
      const { stdout } = outcome;
      expect(stdout).to.match(/^primes below 5000000$/m);
      expect(numberAfter(stdout, /^ {2}4 workers/)).to.equal(348513);
      expect(numberAfter(stdout, /^ {2}reporter/)).to.equal(348513);
      expect(numberAfter(stdout, /^ {2}one thread/)).to.equal(348513);
      expect(stdout).to.include('ok: all three agree');
    });

    for (const threads of [1, 3]) {
      it(`takes --limit and --threads: 78498 primes below 1000000 on ${threads}`, async () => {
        const outcome = await run('workers', ['--limit', '1000000', '--threads', String(threads)]);
        expectSuccess(outcome);
        const label = new RegExp(`^ {2}${threads} workers?`);
        expect(numberAfter(outcome.stdout, label)).to.equal(78498);
        expect(numberAfter(outcome.stdout, /^ {2}reporter/)).to.equal(78498);
        expect(outcome.stdout).to.include('ok: all three agree');
      });
    }

    it('refuses --threads 0 with exit code 2 and says why', async () => {
      const outcome = await run('workers', ['--threads', '0']);
      expect(outcome.code).to.equal(2);
      expect(outcome.stdout).to.equal('');
      expect(outcome.stderr).to.include(
        'workers: --threads must be a whole number from 1 to 64, got "0"',
      );
    });
  });
});
