/**
 * Replicas and failover (R16, R17): a Redis Cluster of 3 masters with a
 * replica each, and a Sentinel set (a master, 2 replicas, 3 sentinels),
 * with member processes of several client kinds running add/done/wait
 * while a master fails over. A ledger of the done()s sent and acknowledged
 * checks every round: no wait released before the last done() was sent,
 * no done() applied twice (the counter would go negative or release
 * early), and a change lost with the old master reported as
 * ERR_WAITGROUP_LOST, never run on.
 *
 * @module
 */

import { expect } from 'chai';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { type Connected, connect, type Kind, type Target } from './support/clients.js';
import { uniqueName } from './support/env.js';
import { type Answer, Member, until } from './support/members.js';
import { Cluster, Sentinel, type Server } from './support/servers.js';

/** The outcome of one round: released after every done, or reported lost. */
type Round = 'released' | 'lost';

interface Ledger {
  /** done()s sent in this round. */
  sent: number;
  /** done()s acknowledged in this round. */
  acknowledged: number;
}

const JOBS = 6;

/** codeOf returns an answer's error code, or 'ok'. */
function codeOf(answer: Answer): string {
  return answer.ok ? 'ok' : String(answer.code ?? answer.message);
}

/**
 * round runs one round on a new group: `doers` add JOBS, a `waiter` waits,
 * the doers send JOBS done()s one by one, and `fault` runs (concurrently)
 * after the third. It returns the round's outcome, having checked that the
 * wait never resolved before the last done() was sent and that every
 * failure is ERR_WAITGROUP_LOST.
 */
async function round(
  client: Connected['client'],
  doers: readonly Member[],
  waiter: Member,
  options: object,
  fault?: (name: string) => Promise<unknown>,
): Promise<Round> {
  const name = uniqueName('failover');
  const wg = await RedisWaitGroup.create(client, name, options);
  for (const member of [...doers, waiter])
    await member.ok('attach', { handle: wg.handle, options });
  await (doers[0] as Member).ok('add', { delta: JOBS });
  const ledger: Ledger = { sent: 0, acknowledged: 0 };
  let sentAtRelease: number | undefined;
  const waited = waiter.request('wait').then((answer) => {
    sentAtRelease = ledger.sent;
    return answer;
  });
  await until(
    async () => (await wg.state().catch(() => ({ waiters: 0 }))).waiters === 1,
    'the wait is registered',
  );
  let faulting: Promise<unknown> | undefined;
  const failures: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    if (i === 3 && fault !== undefined) faulting = fault(name);
    ledger.sent++;
    const answer = await (doers[i % doers.length] as Member).request('done');
    if (answer.ok) ledger.acknowledged++;
    else failures.push(codeOf(answer));
  }
  await faulting;
  const answer = await waited;
  // No early release: the wait resolved only once every done() had been sent.
  if (answer.ok) {
    expect(sentAtRelease, 'the wait was released before the last done() was sent').to.equal(JOBS);
    expect(failures, 'the wait was released though done()s failed').to.deep.equal([]);
    return 'released';
  }
  // Lost changes are reported as lost, on the wait and on every failed done().
  expect(codeOf(answer)).to.equal('ERR_WAITGROUP_LOST');
  for (const code of failures) expect(code).to.equal('ERR_WAITGROUP_LOST');
  return 'lost';
}

/** guard is a hang guard: `promise`, or a rejection naming `what` after `ms`. */
function guard<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`hang guard: not settled after ${ms} ms: ${what}`)),
      ms,
    );
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

/**
 * promote runs CLUSTER FAILOVER on the replica of `master` until that replica
 * holds the master's slots and the master is its replica, and waits for the
 * Cluster to settle. A manual failover that does not finish in time is
 * aborted by Redis (its masters vote for the replicas of one master at most
 * once per two node timeouts, and a loaded machine is slow): it is asked again.
 */
async function promote(cluster: Cluster, master: Server): Promise<Server> {
  // A master demoted by an earlier failover: its new master learns of it by gossip.
  let replica: Server | undefined;
  await until(async () => {
    replica = await cluster.replicaOf(master).catch(() => undefined);
    return (
      replica !== undefined &&
      (await replica.cli('INFO', 'replication')).includes('master_link_status:up')
    );
  }, 'the master has a replica in sync');
  const promoted = replica as Server;
  const swapped = async (): Promise<boolean> => {
    const myself = (await promoted.cli('CLUSTER', 'NODES'))
      .split('\n')
      .find((line) => line.includes('myself'));
    return (
      /^\S+ \S+ myself,master \S+ \S+ \S+ \S+ connected \d/.test(myself ?? '') &&
      (await master.cli('ROLE')).startsWith('slave')
    );
  };
  for (let attempt = 1; attempt <= 3; attempt++) {
    if (!(await swapped())) await promoted.cli('CLUSTER', 'FAILOVER');
    try {
      await until(swapped, `the replica on port ${promoted.port} took over`, 15_000);
      await cluster.settled();
      if (await swapped()) return promoted;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
  throw new Error(`the replica on port ${promoted.port} did not stay master`);
}

/** membersOf starts one member per kind on `target`. */
function membersOf(target: Omit<Target, 'kind'>, kinds: readonly Kind[]): Promise<Member[]> {
  return Promise.all(kinds.map((kind) => Member.start({ ...target, kind })));
}

describe('R16 R17 a Cluster of 3 masters with a replica each', () => {
  let cluster: Cluster;
  let target: Omit<Target, 'kind'>;
  let connected: Connected;

  before(async function () {
    this.timeout(120_000);
    cluster = await Cluster.start({ replicas: 1 });
    target = { cluster: true, ports: cluster.nodes.map((node) => node.port) };
    connected = await connect({ ...target, kind: 'ioredis' });
  });
  after(async () => {
    await connected?.close();
    await cluster?.stop();
  });

  it('CLUSTER FAILOVER mid-round, replicas: 1: every round released after its last done(), none lost', async function () {
    this.timeout(180_000);
    const [a, b, waiter] = await membersOf(target, ['node-redis', 'ioredis', 'iovalkey']);
    const doers = [a as Member, b as Member];
    const outcomes: Round[] = [];
    for (let r = 0; r < 3; r++) {
      const fault = r === 1 ? (name: string) => cluster.failover(`{${name}}`) : undefined;
      outcomes.push(await round(connected.client, doers, waiter as Member, { replicas: 1 }, fault));
    }
    expect(outcomes).to.deep.equal(['released', 'released', 'released']);
  });

  for (const kind of ['ioredis', 'ioredis5', 'iovalkey'] as Kind[]) {
    it(`R21 R5 a wait through the ${kind} Cluster subscriber wakes after CLUSTER FAILOVER: its shard channel follows the new master`, async function () {
      this.timeout(120_000);
      const waiting = await connect({ ...target, kind });
      try {
        const name = uniqueName('follow');
        const channel = `awaitgroup:{${name}}:release`;
        const subscribers = async (node: { cli(...args: string[]): Promise<string> }) =>
          Number((await node.cli('PUBSUB', 'SHARDNUMSUB', channel)).split('\n').at(-1));
        const wg = await RedisWaitGroup.create(waiting.client, name);
        await wg.add(1);
        const waited = wg.wait();
        let settled = false;
        waited.then(
          () => {
            settled = true;
          },
          () => {
            settled = true;
          },
        );
        const master = await cluster.nodeOf(`awaitgroup:{${name}}`);
        await until(async () => (await subscribers(master)) === 1, 'the channel is subscribed');
        const promoted = await promote(cluster, master);
        await until(
          async () => (await subscribers(promoted)) === 1,
          'the channel is subscribed on the promoted master',
        );
        expect(await subscribers(master), 'the demoted master keeps no subscriber').to.equal(0);
        expect(settled, 'the wait settled before the release').to.equal(false);
        await RedisWaitGroup.from(connected.client, wg.handle).done();
        await guard(waited, 15_000, 'the wait resolves after its release');
      } finally {
        await waiting.close();
      }
    });
  }

  it('SIGKILL of a master whose replica was held behind: the lost done()s are ERR_WAITGROUP_LOST, never an early release', async function () {
    this.timeout(180_000);
    const [a, b, waiter, old] = await membersOf(target, [
      'node-redis',
      'ioredis',
      'ioredis',
      'node-redis5',
    ]);
    const name = uniqueName('held');
    const wg = await RedisWaitGroup.create(connected.client, name);
    const master = await cluster.nodeOf(`awaitgroup:{${name}}`);
    const replica = await cluster.replicaOf(master);
    for (const member of [a, b, waiter] as Member[])
      await member.ok('attach', { handle: wg.handle });
    await (old as Member).ok('attach', { handle: wg.handle, options: { retryFor: 5_000 } });
    await (a as Member).ok('add', { delta: JOBS });
    const waited = (waiter as Member).request('wait');
    await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
    // Everything so far is on the replica; now hold it behind: stopped, and dropped by its master.
    await until(
      async () => (await replica.cli('INFO', 'replication')).includes('master_link_status:up'),
      'the replica is in sync',
    );
    await master.cli('CONFIG', 'SET', 'repl-timeout', '1');
    replica.pause();
    try {
      await until(
        async () => (await master.cli('INFO', 'replication')).includes('connected_slaves:0'),
        'the master dropped its stopped replica',
      );
      // Two done()s acknowledged by the master alone.
      await (a as Member).ok('done');
      await (b as Member).ok('done');
      await master.kill();
    } finally {
      replica.resume();
    }
    await until(
      async () => (await replica.cli('ROLE')).startsWith('master'),
      'the replica took over',
      60_000,
    );
    // The replica lacks both acknowledged done()s: the members that saw them must not run on.
    for (const member of [a, b] as Member[]) {
      const answer = await member.request('done');
      expect(codeOf(answer), answer.ok ? 'ok' : answer.message).to.equal('ERR_WAITGROUP_LOST');
    }
    // node-redis 5's Cluster client never learns that the master moved (node-redis#2806):
    // its done() still settles, bounded by retryFor.
    expect(codeOf(await (old as Member).request('done'))).to.be.oneOf([
      'ERR_WAITGROUP_LOST',
      'ERR_WAITGROUP_UNAVAILABLE',
    ]);
    // The waiter never saw the lost changes itself: the group must tell it (its re-checks run every second).
    const answer = await guard(
      waited,
      15_000,
      'the pending wait settles once the rollback was detected',
    );
    expect(codeOf(answer), 'the wait resolved though done()s were lost').to.equal(
      'ERR_WAITGROUP_LOST',
    );
    // The old master comes back as a replica of the new one, for the tests after this one.
    await master.restart();
    await cluster.settled();
  });
});

describe('R16 a Sentinel set: a master, 2 replicas, 3 sentinels', () => {
  let set: Sentinel;
  let target: Omit<Target, 'kind'>;
  let connected: Connected;

  before(async function () {
    this.timeout(120_000);
    set = await Sentinel.start('failover');
    target = { cluster: false, ports: set.ports, sentinel: set.name };
    connected = await connect({ ...target, kind: 'ioredis' });
  });
  after(async () => {
    await connected?.close();
    await set?.stop();
  });

  it('SENTINEL FAILOVER mid-round: no done() applied twice, no early release, lost changes ERR_WAITGROUP_LOST', async function () {
    this.timeout(180_000);
    const [a, b, waiter] = await membersOf(target, ['node-redis', 'ioredis5', 'node-redis5']);
    const doers = [a as Member, b as Member];
    const outcomes: Round[] = [];
    for (let r = 0; r < 3; r++) {
      const fault = r === 1 ? () => set.failover() : undefined;
      outcomes.push(await round(connected.client, doers, waiter as Member, {}, fault));
    }
    // The rounds before and after the failover run on a settled set: nothing to lose.
    expect(outcomes[0]).to.equal('released');
    expect(outcomes[2]).to.equal('released');
  });
});
