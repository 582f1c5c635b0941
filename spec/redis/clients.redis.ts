/**
 * The clients people have (R15) and what happens when they are not
 * connected or are closed (R14): node-redis 5 and 6 (client, Cluster,
 * Sentinel; RESP2, RESP3 and type mappings), ioredis 5 and 6 (Redis,
 * Cluster, sentinels; ioredis 6's RESP3 with both reply mappings) and
 * iovalkey, on one server, a Cluster and a Sentinel set.
 *
 * @module
 */

import { expect } from 'chai';
import { connectionOf, isClosed, isTransient, keySlot } from '../../lib/redis/client.js';
import { type RedisClient, RedisWaitGroup } from '../../lib/redis/index.js';
import {
  type Connected,
  closeBy,
  closesOf,
  connect,
  create,
  describeTarget,
  family,
  KINDS,
  type Target,
} from './support/clients.js';
import { sharedCluster, sharedSentinel, sharedServer, uniqueName } from './support/env.js';
import { until } from './support/members.js';

type Topology = 'single server' | 'cluster' | 'sentinel';
const TOPOLOGIES: readonly Topology[] = ['single server', 'cluster', 'sentinel'];

/** targetOn returns the shared target of `topology` for `kind`, with protocol options. */
async function targetOn(
  topology: Topology,
  kind: Target['kind'],
  extra: Partial<Target> = {},
): Promise<Target> {
  if (topology === 'cluster') {
    const cluster = await sharedCluster();
    return { kind, cluster: true, ports: cluster.nodes.map((node) => node.port), ...extra };
  }
  if (topology === 'sentinel') {
    const set = await sharedSentinel();
    return { kind, cluster: false, ports: set.ports, sentinel: set.name, ...extra };
  }
  return { kind, cluster: false, ports: [(await sharedServer()).port], ...extra };
}

/** Every client variant: each kind, and RESP3 with and without mapped replies where the client has them. */
function variants(): { kind: Target['kind']; resp?: 2 | 3; mapped?: boolean }[] {
  const all: { kind: Target['kind']; resp?: 2 | 3; mapped?: boolean }[] = [];
  for (const kind of KINDS) {
    all.push({ kind });
    if (kind === 'node-redis' || kind === 'node-redis5' || kind === 'ioredis') {
      all.push({ kind, resp: kind === 'ioredis' ? 2 : 3 });
      all.push({ kind, resp: 3, mapped: true });
    }
  }
  return all;
}

/** settled resolves with how `promise` settled: 'resolved', or the rejection. */
function settled(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => error,
  );
}

describe('R15 the clients people have', () => {
  for (const topology of TOPOLOGIES) {
    describe(`on a ${topology}`, () => {
      const opened: Connected[] = [];
      afterEach(async () => {
        await Promise.all(opened.splice(0).map((c) => c.close()));
      });

      it('runs add/done/wait/go with one group shared by every client at once', async function () {
        this.timeout(120_000);
        const all = await Promise.all(
          variants().map(async (variant) => {
            const target = await targetOn(topology, variant.kind, variant);
            const connected = await connect(target);
            opened.push(connected);
            return { name: describeTarget(target), client: connected.client };
          }),
        );
        const [first] = all;
        if (first === undefined) throw new Error('no client');
        const creator = await RedisWaitGroup.create(first.client, uniqueName('clients'));
        const groups = all.map(({ name, client }) => ({
          name,
          wg: RedisWaitGroup.from(client, creator.handle),
        }));
        // Every client adds one job and registers a wait; every one must be counted.
        for (const { wg } of groups) await wg.add(1);
        expect(await creator.state()).to.include({ counter: all.length });
        let finished = 0;
        const waits = groups.map(({ name, wg }) =>
          wg.wait().then(() => {
            expect(finished, `${name} was released before the last done()`).to.equal(all.length);
          }),
        );
        await until(
          async () => (await creator.state()).waiters === all.length,
          `${all.length} waits are registered`,
        );
        // Every client finishes one job with done() and runs one more with go(); the last one releases all.
        for (const { wg } of groups) {
          await wg.go(async () => {});
        }
        for (const { wg } of groups.slice(0, -1)) {
          await wg.done();
          finished++;
        }
        expect(await creator.state()).to.include({ counter: 1, waiters: all.length });
        finished++;
        await (groups.at(-1) as (typeof groups)[number]).wg.done();
        await Promise.all(waits);
        expect(await creator.state()).to.include({ counter: 0, waiters: 0 });
      });
    });
  }
});

describe('R14 clients that are not connected, or closed', () => {
  const opened: Connected[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });

  for (const topology of TOPOLOGIES) {
    for (const kind of KINDS) {
      const title = describeTarget({
        kind,
        cluster: topology === 'cluster',
        ...(topology === 'sentinel' ? { sentinel: 'mymaster' } : {}),
      });
      describe(title, () => {
        if (family(kind) === 'node-redis') {
          // The test's timeout is the hang guard: a retry would take retryFor (30 s).
          it('refuses a client never connected at once, saying to connect it, never retried', async function () {
            this.timeout(10_000);
            const client = create(await targetOn(topology, kind));
            const refused = await settled(RedisWaitGroup.create(client, uniqueName()));
            expect(refused).to.be.instanceOf(Error);
            expect((refused as Error).message).to.match(/connect the client first/);
            expect(() => RedisWaitGroup.from(client, { name: 'x', epoch: 'e' })).to.satisfy(
              (attach: () => RedisWaitGroup) => {
                try {
                  return attach() instanceof RedisWaitGroup;
                } catch (error) {
                  return /connect the client first/.test((error as Error).message);
                }
              },
            );
          });
        } else {
          it('accepts a client with lazyConnect that has not connected yet: it connects on its first command', async function () {
            this.timeout(20_000);
            const target = await targetOn(topology, kind);
            const client = create(target) as RedisClient & { disconnect(): void };
            opened.push({ client, close: async () => client.disconnect() });
            const wg = await RedisWaitGroup.create(client, uniqueName());
            await wg.add(1);
            await wg.done();
            await wg.wait();
          });
        }

        for (const method of closesOf({
          kind,
          cluster: topology === 'cluster',
          ports: [],
          ...(topology === 'sentinel' ? { sentinel: 'mymaster' } : {}),
        })) {
          it(`refuses a client closed with ${method}() at once, as closed, never retried`, async function () {
            this.timeout(10_000);
            const { client } = await connect(await targetOn(topology, kind));
            const wg = await RedisWaitGroup.create(client, uniqueName());
            await closeBy(client, method);
            const refused = await settled(wg.add(1));
            expect(refused).to.be.instanceOf(Error);
            expect(refused).to.have.property('code', 'ERR_WAITGROUP_UNAVAILABLE');
            expect((refused as Error).message).to.match(/^awaitgroup: the client was closed/);
            const again = await settled(RedisWaitGroup.create(client, uniqueName()));
            expect(again).to.be.instanceOf(Error);
          });

          it(`rejects a pending wait with ERR_WAITGROUP_UNAVAILABLE when the user calls ${method}()`, async function () {
            // The hang guard: the wait must settle within a second of the close.
            this.timeout(10_000);
            const target = await targetOn(topology, kind);
            const { client } = await connect(target);
            const observer = await connect(target);
            opened.push(observer);
            const wg = await RedisWaitGroup.create(client, uniqueName());
            await wg.add(1);
            const waiting = settled(wg.wait());
            const seen = RedisWaitGroup.from(observer.client, wg.handle);
            await until(async () => (await seen.state()).waiters === 1, 'the wait is registered');
            await closeBy(client, method);
            const outcome = await waiting;
            expect(outcome).to.be.instanceOf(Error);
            expect(outcome).to.have.property('code', 'ERR_WAITGROUP_UNAVAILABLE');
            expect((outcome as Error).message).to.match(/the client was closed/);
          });
        }
      });
    }
  }
});

describe('the client adapter', () => {
  const opened: Connected[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });

  for (const topology of TOPOLOGIES) {
    for (const kind of KINDS) {
      it(`names the server for error messages (${kind}, ${topology})`, async () => {
        const target = await targetOn(topology, kind);
        const connected = await connect(target);
        opened.push(connected);
        const connection = connectionOf(connected.client, 'test');
        expect(connection.readiness()).to.equal('ready');
        const named = connection.describeServer('{k}');
        if (topology === 'single server') {
          expect(named).to.equal(`Redis at 127.0.0.1:${target.ports[0]}`);
        } else if (topology === 'cluster') {
          const master = await (await sharedCluster()).nodeOf('{k}');
          expect(named).to.equal(`Redis Cluster node 127.0.0.1:${master.port}`);
        } else {
          expect(named).to.match(/^Sentinel master/);
          const master = await (await sharedSentinel()).master();
          if (family(kind) === 'node-redis') expect(named).to.include(`127.0.0.1:${master.port}`);
          else expect(named).to.include(`127.0.0.1:${target.ports[0]}`);
        }
      });
    }
  }

  it('computes the Cluster slot of a key as Redis does', async () => {
    const server = await sharedCluster();
    const node = server.nodes[0];
    if (node === undefined) throw new Error('no node');
    for (const key of [
      '',
      'a',
      'awaitgroup:{batch-42}:ops',
      '{}x',
      'x{}{y}',
      '{é}',
      'foo{bar}{zap}',
    ]) {
      expect(keySlot(key), key).to.equal(Number(await node.cli('CLUSTER', 'KEYSLOT', key)));
    }
  });

  it('tells transient failures from closed clients and errors that will not change', () => {
    const transient = [
      'LOADING Redis is loading the dataset in memory',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'CLUSTERDOWN The cluster is down',
      'MASTERDOWN Link with MASTER is down',
      "READONLY You can't write against a read only replica.",
      'MOVED 3999 127.0.0.1:6381',
      'Socket closed unexpectedly',
      'Connection is closed.',
      'connect ECONNREFUSED 127.0.0.1:6379',
      'None of startup nodes is available',
    ];
    for (const message of transient)
      expect(isTransient(new Error(message)), message).to.equal(true);
    const final = [
      'ERR Error running script',
      'NOPERM this user has no permissions',
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      'NOSCRIPT No matching script',
      'The client is closed',
      'Disconnects client',
    ];
    for (const message of final) expect(isTransient(new Error(message)), message).to.equal(false);
    expect(isTransient(new TypeError('entries.map is not a function'))).to.equal(false);
    expect(isClosed(new Error('The client is closed'))).to.equal(true);
    expect(isClosed(new Error('Connection is closed.'))).to.equal(false);
  });
});
