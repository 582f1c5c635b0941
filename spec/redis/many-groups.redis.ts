/**
 * R21 many groups on a Cluster: one process holds a pending wait on each of
 * 1e3 groups; another process releases a sample of them. The release of a
 * group reaches the waiting process on the group's shard channel; a lost
 * subscriber connection is made up for by an immediate re-check.
 *
 * @module
 */

import { expect } from 'chai';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { type Connected, connect, KINDS } from './support/clients.js';
import { label, sharedCluster, targetOf, uniqueName } from './support/env.js';
import { Member, until } from './support/members.js';
import { cli } from './support/servers.js';

const GROUPS = 1000;
const SAMPLE = [0, 1, 137, 500, 998];

interface Waiting {
  readonly wg: RedisWaitGroup;
  readonly wait: Promise<void>;
  settled: boolean;
}

/** waitOnEach creates `n` groups of counter 1 and starts one wait on each, registered in Redis. */
async function waitOnEach(
  connected: Connected,
  n: number,
  prefix = uniqueName('many'),
): Promise<Waiting[]> {
  const groups: Waiting[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, async (_, j) => {
        const wg = await RedisWaitGroup.create(connected.client, `${prefix}-${i + j}`);
        await wg.add(1);
        return wg;
      }),
    );
    for (const wg of batch) {
      const waiting: Waiting = { wg, wait: wg.wait(), settled: false };
      waiting.wait.then(
        () => {
          waiting.settled = true;
        },
        () => {
          waiting.settled = true;
        },
      );
      groups.push(waiting);
    }
  }
  for (let i = 0; i < n; i += 100) {
    await Promise.all(
      groups
        .slice(i, i + 100)
        .map((g) =>
          until(
            async () => (await g.wg.state()).waiters === 1,
            `${g.wg.name}'s wait is registered`,
          ),
        ),
    );
  }
  return groups;
}

/** releaseAll lets every remaining wait end, so the test leaves nothing pending. */
async function releaseAll(groups: readonly Waiting[]): Promise<void> {
  for (let i = 0; i < groups.length; i += 100) {
    await Promise.all(
      groups.slice(i, i + 100).map(async (g) => {
        if (!g.settled) await g.wg.done();
      }),
    );
  }
  await Promise.all(groups.map((g) => g.wait));
}

/** subscribed counts the shard channels of groups named `prefix`-… that have a subscriber, over every master. */
async function subscribed(prefix: string): Promise<number> {
  const cluster = await sharedCluster();
  const counts = await Promise.all(
    cluster.nodes.map(async (node) => {
      const out = await cli(
        node.port,
        'PUBSUB',
        'SHARDCHANNELS',
        `awaitgroup:{${prefix}-*}:release`,
      );
      return out.split('\n').filter(Boolean).length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** pubsubClients counts the connections in pub/sub mode over every master. */
async function pubsubClients(): Promise<number> {
  const cluster = await sharedCluster();
  const counts = await Promise.all(
    cluster.nodes.map(
      async (node) =>
        (await cli(node.port, 'CLIENT', 'LIST', 'TYPE', 'pubsub')).split('\n').filter(Boolean)
          .length,
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

// Every Cluster client subscribes to the groups' shard channels: node-redis through its own
// Cluster, ioredis and iovalkey on one connection per master (lib/redis/ioredis-subscriber.ts).
for (const kind of KINDS) {
  describe(`R21 many groups (${label(kind, true)})`, function () {
    this.timeout(120_000);
    let connected: Connected;
    let closed = false;

    before(async function () {
      this.timeout(60_000);
      await sharedCluster();
    });

    beforeEach(async () => {
      connected = await connect(await targetOf(kind, true));
    });

    afterEach(async () => {
      if (!closed) await connected.close();
      closed = false;
    });

    it(`R21 R4 a release from another process resolves exactly its group's wait among ${GROUPS} pending`, async () => {
      const groups = await waitOnEach(connected, GROUPS);
      const releaser = await Member.start(await targetOf(kind, true));
      try {
        for (const index of SAMPLE) {
          const g = groups[index] as Waiting;
          await releaser.ok('attach', { handle: g.wg.handle });
          await releaser.ok('done');
          await g.wait;
        }
      } finally {
        await releaser.kill();
      }
      // Every sampled wait resolved; a state read of each other group
      // (after the releases) shows it still waiting, and its wait pending.
      const others = groups.filter((_, i) => !SAMPLE.includes(i));
      for (const g of others.slice(0, 50)) expect((await g.wg.state()).waiters).to.equal(1);
      expect(others.filter((g) => g.settled).map((g) => g.wg.name)).to.deep.equal([]);
      await releaseAll(others);
    });

    it('R21 subscribes to the release channel of each group with a pending wait, and unsubscribes when it has none', async () => {
      const prefix = uniqueName('subs');
      // A group of another name keeps a wait pending, so the subscriber stays open.
      const keeper = uniqueName('keeper');
      const kept = await waitOnEach(connected, 1, keeper);
      const groups = await waitOnEach(connected, 200, prefix);
      await until(async () => (await subscribed(prefix)) === 200, 'every group is subscribed');
      await releaseAll(groups);
      await until(async () => (await subscribed(prefix)) === 0, 'no released group is subscribed');
      expect(await subscribed(keeper)).to.equal(1);
      await releaseAll(kept);
    });

    it('R21 R5 a release while the subscriber connections are killed is not lost', async () => {
      const groups = await waitOnEach(connected, 20);
      const cluster = await sharedCluster();
      const releaser = await Member.start(await targetOf(kind, true));
      try {
        const g = groups[7] as Waiting;
        await releaser.ok('attach', { handle: g.wg.handle });
        // The subscriber connections are open once a subscription exists on every master.
        await until(async () => (await pubsubClients()) > 0, 'a subscriber connection is open');
        await Promise.all(
          cluster.nodes.map((node) => cli(node.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub')),
        );
        await releaser.ok('done');
        await g.wait;
      } finally {
        await releaser.kill();
      }
      expect(groups.filter((g) => g.settled).map((g) => g.wg.name)).to.deep.equal([
        groups[7]?.wg.name,
      ]);
      await releaseAll(groups.filter((g) => !g.settled));
    });

    it('R10 closing the client with waits pending ends its subscriber connections', async () => {
      // Other clients of the suite may hold pub/sub connections of their own.
      const before = await pubsubClients();
      const groups = await waitOnEach(connected, 20);
      await until(async () => (await pubsubClients()) > before, 'a subscriber connection is open');
      closed = true;
      await connected.close();
      const outcomes = await Promise.all(
        groups.map((g) =>
          g.wait.then(
            () => 'ok',
            (e) => e.code,
          ),
        ),
      );
      expect(new Set(outcomes)).to.deep.equal(new Set(['ERR_WAITGROUP_UNAVAILABLE']));
      await until(
        async () => (await pubsubClients()) <= before,
        'no subscriber connection of the client is left',
      );
    });
  });
}
