/**
 * T5 `awaitgroup ps` against a real redis-server and a 3-master Cluster:
 * a group with go() tasks in two processes, one of them SIGKILLed, and a
 * unit added by add(); the command names both tasks, says which lease
 * expired, and keeps its exit codes.
 */

import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { PsReport } from '../../cli/ps.js';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { collect, type Outcome } from '../helpers/child.js';
import { type Connected, connect, type Target } from './support/clients.js';
import { label, targetOf, uniqueName } from './support/env.js';
import { Member, until } from './support/members.js';
import { freePort } from './support/servers.js';

const BIN = fileURLToPath(new URL('../../bin/awaitgroup.js', import.meta.url));

/** ps runs `awaitgroup ps` with `args` and resolves with its outcome. */
function ps(args: readonly string[]): Promise<Outcome> {
  return collect(
    spawn(process.execPath, ['--unhandled-rejections=strict', BIN, 'ps', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    30_000,
  );
}

function shown(outcome: Outcome): string {
  return `code ${outcome.code}\nstdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`;
}

/** report runs `ps --json` and returns its parsed report. */
async function report(args: readonly string[]): Promise<PsReport> {
  const outcome = await ps([...args, '--json']);
  expect(outcome.code, shown(outcome)).to.equal(0);
  return JSON.parse(outcome.stdout) as PsReport;
}

for (const cluster of [false, true]) {
  describe(`T5 awaitgroup ps (${label('node-redis', cluster)})`, function () {
    this.timeout(90_000);
    let target: Target;
    let connected: Connected;
    let url: string;
    const members: Member[] = [];

    before(async function () {
      this.timeout(60_000);
      target = await targetOf('node-redis', cluster);
      // Any one node: ps finds a Cluster's masters from it.
      url = `redis://127.0.0.1:${target.ports[target.ports.length - 1]}`;
    });
    beforeEach(async () => {
      connected = await connect(target);
    });
    afterEach(async () => {
      for (const member of members.splice(0)) await member.kill();
      await connected.close();
    });

    it('names the go() tasks of two processes, the SIGKILLed one with its lease expired, and the add() unit', async () => {
      const name = uniqueName('ps');
      const wg = await RedisWaitGroup.create(connected.client as never, name);
      await wg.add(1);
      const [live, killed] = [await Member.start(target), await Member.start(target)] as const;
      members.push(live, killed);
      for (const member of [live, killed]) {
        await member.ok('attach', { handle: wg.handle, options: { lease: 500 } });
      }
      const livePid = (await live.ok('go', { name: 'resize 17' })) as number;
      const killedPid = (await killed.ok('go', { name: 'resize 18' })) as number;
      await killed.kill();
      members.splice(members.indexOf(killed), 1);
      // Handshake: ps itself says when the dead process' lease has expired.
      await until(async () => {
        const { groups } = await report(['--redis', url, name]);
        return groups[0]?.tasks.some((t) => t.pid === killedPid && t.expired) === true;
      }, 'the killed task lease expired');

      const outcome = await ps(['--redis', url, name]);
      expect(outcome.code, shown(outcome)).to.equal(0);
      expect(outcome.stderr).to.equal('');
      const text = outcome.stdout;
      expect(text).to.match(
        cluster
          ? /^Redis Cluster, 3 masters \(/
          : /^Redis 127\.0\.0\.1:\d+: 1 group under "awaitgroup:"/,
      );
      expect(text).to.match(new RegExp(`\\n${name}  counter 3  waiters 0  gen 0  keys expire in `));
      const host = hostname();
      expect(text).to.match(
        new RegExp(`\\n  resize 17 +${host} +${livePid} +(-|[\\d.]+ s) +live, `),
      );
      expect(text).to.match(
        new RegExp(`\\n  resize 18 +${host} +${killedPid} +(-|[\\d.]+ s) +expired [\\d.]+ s ago`),
      );
      expect(text).to.match(
        new RegExp(
          `\\n  why: 3 units open \\(no wait\\(\\) pending\\): .*\`resize 18\` on ${host} pid ${killedPid}, lease expired [\\d.]+ s ago.*; 1 unit added by add\\(\\)\\n`,
        ),
      );
      expect(text).to.include(`\`resize 17\` on ${host} pid ${livePid}, running`);

      const json = await report(['--redis', url, name]);
      expect(json.cluster).to.equal(cluster);
      expect(json.servers).to.have.length(cluster ? 3 : 1);
      expect(json.missing).to.deep.equal([]);
      const [group] = json.groups;
      expect(group).to.include({
        name,
        counter: 3,
        waiters: 0,
        gen: 0,
        taskCount: 2,
        addedUnits: 1,
      });
      expect(group?.ttl).to.equal(86_400_000);
      expect(group?.ttlLeft).to.be.a('number').and.above(0);
      const byPid = new Map(group?.tasks.map((t) => [t.pid, t]));
      expect(byPid.get(livePid)).to.include({ name: 'resize 17', host, expired: false });
      expect(byPid.get(killedPid)).to.include({ name: 'resize 18', host, expired: true });
      expect(byPid.get(killedPid)?.leaseExpiresAt).to.be.at.most(json.time);
    });

    it('without names, lists every group it finds; --prefix of another application finds none', async () => {
      const names = [uniqueName('ps-a'), uniqueName('ps-b')];
      for (const name of names) {
        const wg = await RedisWaitGroup.create(connected.client as never, name);
        await wg.add(2);
      }
      const json = await report(['--redis', url]);
      const found = json.groups.map((g) => g.name);
      expect(found).to.include.members(names);
      expect([...found].sort()).to.deep.equal(found);
      const other = await report(['--redis', url, '--prefix', 'another-app:']);
      expect(other.groups).to.deep.equal([]);
    });

    it('a group at zero says nothing is open; a name not found exits 1', async () => {
      const name = uniqueName('ps-zero');
      await RedisWaitGroup.create(connected.client as never, name);
      const outcome = await ps(['--redis', url, name, 'no-such-group']);
      expect(outcome.code, shown(outcome)).to.equal(1);
      expect(outcome.stdout).to.include(`\n${name}  counter 0  waiters 0`);
      expect(outcome.stdout).to.include('why: nothing open: the counter is 0');
      expect(outcome.stdout).to.include('\nno-such-group: not found');
    });

    it('reads the same with ioredis', async () => {
      const name = uniqueName('ps-io');
      const wg = await RedisWaitGroup.create(connected.client as never, name);
      await wg.add(4);
      const json = await report(['--redis', url, '--client', 'ioredis', name]);
      expect(json.groups[0]).to.include({ name, counter: 4, addedUnits: 4, taskCount: 0 });
    });

    it('--watch redraws with a progress bar and exits 0 on SIGINT', async () => {
      const name = uniqueName('ps-watch');
      const wg = await RedisWaitGroup.create(connected.client as never, name);
      await wg.add(4);
      const child = spawn(process.execPath, [BIN, 'ps', '--redis', url, '--watch', name], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const outcome = collect(child, 30_000);
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      await until(async () => stdout.includes('0/4 done'), 'the first frame');
      await wg.add(-3);
      await until(async () => stdout.includes('3/4 done (75%)'), 'a frame after three done()');
      child.kill('SIGINT');
      const { code, stderr } = await outcome;
      expect({ code, stderr }).to.deep.equal({ code: 0, stderr: '' });
      expect(stdout).to.match(/\n {2}\[#{23}\.{7}\] 3\/4 done \(75%\)\n/);
    });

    it('--watch --json prints one report a line, and exits 0 on SIGINT', async () => {
      const name = uniqueName('ps-ndjson');
      const wg = await RedisWaitGroup.create(connected.client as never, name);
      await wg.add(2);
      const child = spawn(
        process.execPath,
        [BIN, 'ps', '--redis', url, '--watch', '--json', name],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const outcome = collect(child, 30_000);
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      await until(async () => stdout.split('\n').length > 2, 'two reports');
      child.kill('SIGINT');
      const { code, stderr } = await outcome;
      expect({ code, stderr }).to.deep.equal({ code: 0, stderr: '' });
      const reports = stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as PsReport);
      expect(reports.length).to.be.at.least(2);
      for (const report of reports) expect(report.groups[0]).to.include({ name, counter: 2 });
    });
  });
}

describe('T5 awaitgroup ps: arguments and failures', function () {
  this.timeout(30_000);

  for (const [what, args, line] of [
    [
      'a bad URL',
      ['--redis', 'localhost:6379'],
      /^awaitgroup ps: not a Redis URL: "localhost:6379" has protocol localhost:; use redis:\/\/host:port/,
    ],
    [
      'a URL that is not one',
      ['--redis', 'not a url'],
      /^awaitgroup ps: not a Redis URL: "not a url"; use redis:\/\/host:port/,
    ],
    [
      'an unknown option',
      ['--nope'],
      /^awaitgroup ps: unknown option --nope; see awaitgroup ps --help\n$/,
    ],
    [
      'a bad --client',
      ['--client', 'valkey'],
      /^awaitgroup ps: --client must be redis or ioredis, got "valkey"\n$/,
    ],
  ] as const) {
    it(`${what}: one line, exit code 2`, async () => {
      const outcome = await ps(args);
      expect(outcome.code, shown(outcome)).to.equal(2);
      expect(outcome.stderr.split('\n')).to.have.length(2);
      expect(outcome.stderr).to.match(line);
    });
  }

  for (const client of ['redis', 'ioredis']) {
    it(`an unreachable server (${client}): one line, exit code 2`, async () => {
      const port = await freePort();
      const outcome = await ps(['--redis', `redis://127.0.0.1:${port}`, '--client', client]);
      expect(outcome.code, shown(outcome)).to.equal(2);
      expect(outcome.stdout).to.equal('');
      expect(outcome.stderr).to.equal(
        `awaitgroup ps: cannot reach Redis at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
      );
    });
  }

  it('without redis or ioredis installed: says how to install one, exit code 2', async () => {
    // A copy of the command where no node_modules can be found above it.
    const dir = await mkdtemp(join(tmpdir(), 'awaitgroup-ps-'));
    try {
      for (const folder of ['bin', 'cli']) {
        await cp(fileURLToPath(new URL(`../../${folder}/`, import.meta.url)), join(dir, folder), {
          recursive: true,
        });
      }
      const outcome = await collect(
        spawn(process.execPath, [join(dir, 'bin', 'awaitgroup.js'), 'ps'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
        30_000,
      );
      expect(outcome.code, shown(outcome)).to.equal(2);
      expect(outcome.stderr).to.equal(
        'awaitgroup ps: no Redis client found: npm install redis (or: npm install ioredis)\n',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--help is for a person, exit code 0', async () => {
    const outcome = await ps(['--help']);
    expect(outcome.code).to.equal(0);
    expect(outcome.stdout).to.match(/^Usage: awaitgroup ps \[options\] \[name\.\.\.\]\n/);
    for (const option of ['--redis', '--prefix', '--json', '--watch', '--client', 'Exit codes']) {
      expect(outcome.stdout).to.include(option);
    }
  });
});
