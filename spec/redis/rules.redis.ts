/**
 * The rules of SPEC §9 on one process, on each client and topology: the
 * scripts' refusals, handles and epochs, TTLs, aborts, once-per-id and the
 * re-check that makes a lost hint harmless.
 */

import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import { type RedisClient, RedisWaitGroup } from '../../lib/redis/index.js';
import { ABORT } from '../../lib/redis/scripts/abort.js';
import { ADD } from '../../lib/redis/scripts/add.js';
import { CHECK } from '../../lib/redis/scripts/check.js';
import { CREATE } from '../../lib/redis/scripts/create.js';
import { REGISTER } from '../../lib/redis/scripts/register.js';
import { RENEW } from '../../lib/redis/scripts/renew.js';
import { UNFINISHED } from '../../lib/redis/scripts/unfinished.js';
import { expectPending, expectRejection } from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';
import { type Connected, connect, type Target } from './support/clients.js';
import { label, MATRIX, sharedCluster, sharedServer, targetOf, uniqueName } from './support/env.js';
import { until } from './support/members.js';
import type { Server } from './support/servers.js';

/** Every script of lib/redis/scripts, by the operation it implements. */
const SCRIPTS = {
  abort: ABORT,
  add: ADD,
  check: CHECK,
  create: CREATE,
  register: REGISTER,
  renew: RENEW,
  unfinished: UNFINISHED,
};

/** registered resolves once `n` waiters of `wg` are counted in Redis. */
async function registered(wg: RedisWaitGroup, n: number): Promise<void> {
  await until(async () => (await wg.state()).waiters === n, `${n} waiters are registered`);
}

function expectThrows(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

for (const { kind, cluster } of MATRIX) {
  describe(`RedisWaitGroup rules (${label(kind, cluster)})`, function () {
    this.timeout(30_000);
    let target: Target;
    const opened: Connected[] = [];
    let client: RedisClient;

    const open = async (): Promise<RedisClient> => {
      const connected = await connect(target);
      opened.push(connected);
      return connected.client;
    };
    /** node returns the server that holds the group's keys. */
    const node = async (name: string): Promise<Server> =>
      cluster ? (await sharedCluster()).nodeOf(`awaitgroup:{${name}}`) : sharedServer();

    before(async function () {
      this.timeout(60_000);
      target = await targetOf(kind, cluster);
    });
    beforeEach(async () => {
      client = await open();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((c) => c.close()));
    });

    describe('R1 names, clients and hash tags', () => {
      it('puts every key of a group under the hash tag {name}, on one node', async () => {
        const name = uniqueName();
        const wg = await RedisWaitGroup.create(client, name);
        await wg.add(1);
        const waiting = wg.wait();
        await expectPending(waiting);
        await wg.go(() => 1, { name: 'one' });
        await wg.done();
        await waiting;
        const server = await node(name);
        const keys = (await server.cli('--scan', '--pattern', `*${name}*`)).split('\n').sort();
        expect(keys).to.deep.equal(
          [
            `awaitgroup:{${name}}`,
            `awaitgroup:{${name}}:events`,
            `awaitgroup:{${name}}:leases`,
            `awaitgroup:{${name}}:opids`,
            `awaitgroup:{${name}}:ops`,
          ].sort(),
        );
        const slots = new Set(
          await Promise.all(keys.map((key) => server.cli('CLUSTER', 'KEYSLOT', key))),
        );
        expect(slots.size).to.equal(1);
      });

      it('refuses a bad name with a TypeError or RangeError and creates nothing', async () => {
        for (const bad of [undefined, 1, null, {}]) {
          const error = await expectRejection(RedisWaitGroup.create(client, bad as never));
          expect(error).to.be.an.instanceOf(TypeError);
          expect((error as Error).message).to.match(/name must be a string/);
        }
        for (const bad of ['', 'a{b', 'b}', 'x'.repeat(201)]) {
          const error = await expectRejection(RedisWaitGroup.create(client, bad));
          expect(error).to.be.an.instanceOf(RangeError);
          expect((error as Error).message).to.match(/1 to 200 characters without \{ or \}/);
        }
        expect(() => RedisWaitGroup.from(client, { name: '', epoch: 'e' })).to.throw(RangeError);
      });

      it('refuses a client that is neither node-redis nor ioredis, naming both', async () => {
        for (const bad of [undefined, null, {}, { get() {} }, 'redis://x']) {
          const error = await expectRejection(RedisWaitGroup.create(bad as never, uniqueName()));
          expect(error).to.be.an.instanceOf(TypeError);
          expect((error as Error).message).to.match(
            /node-redis client or cluster.*ioredis Redis or Cluster/,
          );
          expect(() => RedisWaitGroup.from(bad as never, { name: 'n', epoch: 'e' })).to.throw(
            TypeError,
          );
        }
      });

      it('refuses bad options and bad handles', async () => {
        expect(() => RedisWaitGroup.from(client, null as never)).to.throw(
          TypeError,
          /handle must be/,
        );
        expect(() => RedisWaitGroup.from(client, { name: 'n', epoch: '' })).to.throw(
          TypeError,
          /epoch/,
        );
        expect(() =>
          RedisWaitGroup.from(client, { name: 'n', epoch: 'e' }, { ttl: '1' as never }),
        ).to.throw(TypeError, /ttl must be a number/);
        for (const ttl of [0, -1, 1.5, Number.NaN]) {
          const error = await expectRejection(RedisWaitGroup.create(client, uniqueName(), { ttl }));
          expect(error).to.be.an.instanceOf(RangeError);
        }
        expect(() =>
          RedisWaitGroup.from(client, { name: 'n', epoch: 'e' }, { lease: 50 }),
        ).to.throw(RangeError, /lease must be an integer of at least 100 ms/);
      });
    });

    describe('R2 add and done are Go’s Add, in one script each', () => {
      it('counts adds and dones, and reports counter and waiters', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
        await wg.add(3);
        await wg.add();
        await wg.done();
        expect(await wg.state()).to.deep.include({ counter: 3, waiters: 0 });
        const waiting = wg.wait();
        await expectPending(waiting);
        await wg.add(-3);
        await waiting;
        expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
      });

      it('refuses a negative counter with Go’s message and changes nothing', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        await wg.add(2);
        expectWaitGroupErrorValue(
          await expectRejection(wg.add(-3)),
          'ERR_WAITGROUP_NEGATIVE_COUNTER',
        );
        expect(await wg.state()).to.deep.include({ counter: 2, waiters: 0 });
        await wg.done();
        await wg.done();
        expectWaitGroupErrorValue(
          await expectRejection(wg.done()),
          'ERR_WAITGROUP_NEGATIVE_COUNTER',
        );
        await wg.add(1);
        await wg.done();
        await wg.wait();
      });

      it('refuses an add above 2^31 − 1 and changes nothing', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        await wg.add(2 ** 31 - 1);
        expectWaitGroupErrorValue(
          await expectRejection(wg.add(1)),
          'ERR_WAITGROUP_COUNTER_OVERFLOW',
        );
        expectWaitGroupErrorValue(
          await expectRejection(wg.add(Number.MAX_SAFE_INTEGER)),
          'ERR_WAITGROUP_COUNTER_OVERFLOW',
        );
        expect(await wg.state()).to.deep.include({ counter: 2 ** 31 - 1, waiters: 0 });
        await wg.add(-(2 ** 31 - 1));
        expectWaitGroupErrorValue(
          await expectRejection(wg.add(-Number.MAX_SAFE_INTEGER)),
          'ERR_WAITGROUP_NEGATIVE_COUNTER',
        );
        expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
      });

      it('refuses a delta that is not a safe integer with a TypeError, sending nothing', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        for (const bad of [Number.NaN, 1.5, Number.POSITIVE_INFINITY, '1', 1n, null, 2 ** 53]) {
          const error = await expectRejection(wg.add(bad as never));
          expect(error).to.be.an.instanceOf(TypeError);
          expect((error as Error).message).to.match(/^add: delta must be a safe integer, got /);
        }
        for (const bad of ['', 7, null]) {
          const error = await expectRejection(wg.done({ id: bad as never }));
          expect(error).to.be.an.instanceOf(TypeError);
          expect((error as Error).message).to.match(/^done: options.id must be a non-empty string/);
        }
        expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
      });

      it('keeps working when the server forgets its scripts (SCRIPT FLUSH: EVAL, then EVALSHA again)', async () => {
        const name = uniqueName();
        const wg = await RedisWaitGroup.create(client, name);
        await wg.add(2);
        const waiting = wg.wait();
        await registered(wg, 1);
        const servers = cluster ? (await sharedCluster()).nodes : [await sharedServer()];
        await Promise.all(servers.map((server) => server.cli('SCRIPT', 'FLUSH')));
        await wg.done();
        expect(await wg.state()).to.deep.include({ counter: 1, waiters: 1 });
        await wg.done();
        await waiting;
      });
    });

    describe('R3 create and attach by handle', () => {
      it('refuses to create a live group twice with ERR_WAITGROUP_EXISTS, changing nothing', async () => {
        const name = uniqueName();
        const wg = await RedisWaitGroup.create(client, name);
        await wg.add(2);
        const error = expectWaitGroupErrorValue(
          await expectRejection(RedisWaitGroup.create(client, name)),
          'ERR_WAITGROUP_EXISTS',
        );
        expect(error.message).to.include(JSON.stringify(name));
        expect(await wg.state()).to.deep.include({ counter: 2, waiters: 0 });
      });

      it('attaches from a JSON copy of the handle, in another client', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        const handle = JSON.parse(JSON.stringify(wg.handle));
        expect(Object.keys(handle).sort()).to.deep.equal(['epoch', 'name']);
        const other = RedisWaitGroup.from(await open(), handle);
        expect(other.name).to.equal(wg.name);
        await other.add(1);
        const waiting = wg.wait();
        await expectPending(waiting);
        await other.done();
        await waiting;
      });
    });

    describe('R4 R5 releases by generation', () => {
      it('releases every waiter with one stream entry, whatever their number', async () => {
        const name = uniqueName();
        const wg = await RedisWaitGroup.create(client, name);
        await wg.add(1);
        const waits = Array.from({ length: 500 }, () => wg.wait());
        await until(async () => (await wg.state()).waiters === 500, '500 waiters are registered');
        await expectPending(Promise.race(waits));
        await wg.done();
        await Promise.all(waits);
        const server = await node(name);
        // One entry from create (the stream is never empty) and one for the release.
        expect(await server.cli('XLEN', `awaitgroup:{${name}}:events`)).to.equal('2');
      });

      it('lets a new round start while the last one is still waking (no REUSED)', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        for (let round = 0; round < 8; round++) {
          await wg.add(1);
          const waiting = wg.wait();
          await registered(wg, 1);
          await wg.done();
          await wg.add(1);
          await waiting;
          await wg.done();
        }
        expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
      });

      it('resolves a wait whose release hint never arrived, by re-checking the state', async () => {
        const name = uniqueName();
        const wg = await RedisWaitGroup.create(client, name);
        await wg.add(1);
        const waiting = wg.wait();
        await expectPending(waiting);
        // A release without its stream entry: only the re-check can see it.
        const server = await node(name);
        await server.cli(
          'HSET',
          `awaitgroup:{${name}}`,
          'counter',
          '0',
          'waiters',
          '0',
          'gen',
          '1',
        );
        await waiting;
      });
    });

    describe('R6 abort', () => {
      it('deregisters atomically before the release and rejects with the reason', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        await wg.add(1);
        const controller = new AbortController();
        const kept = wg.wait();
        const aborted = wg.wait({ signal: controller.signal });
        await until(async () => (await wg.state()).waiters === 2, 'both waits are registered');
        await expectPending(aborted);
        const reason = new Error('stop');
        controller.abort(reason);
        expect(await expectRejection(aborted)).to.equal(reason);
        // R14: the deregistration runs in the background after the rejection.
        await until(
          async () => (await wg.state()).waiters === 1,
          'the aborted wait is deregistered',
        );
        expect(await wg.state()).to.deep.include({ counter: 1, waiters: 1 });
        expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
        await wg.done();
        await kept;
      });

      it('rejects at once for a signal already aborted, registering nothing', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        await wg.add(1);
        const reason = new Error('already');
        expect(await expectRejection(wg.wait({ signal: AbortSignal.abort(reason) }))).to.equal(
          reason,
        );
        expect(await wg.state()).to.deep.include({ counter: 1, waiters: 0 });
        const error = await expectRejection(wg.wait({ signal: 'no' as never }));
        expect(error).to.be.an.instanceOf(TypeError);
      });

      it('ignores an abort after the release: the wait resolves, no listener is left', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        await wg.add(1);
        const controller = new AbortController();
        const waiting = wg.wait({ signal: controller.signal });
        await expectPending(waiting);
        await wg.done();
        await waiting;
        controller.abort();
        expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
        expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
      });
    });

    describe('R8 lost state is an error, never success', () => {
      it('rejects a handle of another epoch (the name created again) with ERR_WAITGROUP_LOST', async () => {
        const name = uniqueName();
        const old = await RedisWaitGroup.create(client, name);
        await old.add(1);
        const waiting = old.wait();
        await expectPending(waiting);
        // The name created again by another coordinator after the state was deleted.
        const server = await node(name);
        await server.cli('DEL', `awaitgroup:{${name}}`);
        const renewed = await RedisWaitGroup.create(await open(), name);
        // The wait's re-check may land between the DEL and the create (the state
        // missing) or after it (another epoch): LOST either way.
        expectWaitGroupErrorValue(await expectRejection(waiting), 'ERR_WAITGROUP_LOST');
        const error = expectWaitGroupErrorValue(
          await expectRejection(old.done()),
          'ERR_WAITGROUP_LOST',
        );
        expect(error.message).to.include('another epoch');
        expectWaitGroupErrorValue(await expectRejection(old.add(1)), 'ERR_WAITGROUP_LOST');
        expect(await renewed.state()).to.deep.include({ counter: 0, waiters: 0 });
      });

      it('rejects pending waits, adds and later waits when the state was deleted, recreating nothing', async () => {
        const name = uniqueName();
        const wg = await RedisWaitGroup.create(client, name);
        await wg.add(1);
        const waiting = wg.wait();
        await expectPending(waiting);
        const server = await node(name);
        await server.cli('DEL', `awaitgroup:{${name}}`);
        expectWaitGroupErrorValue(await expectRejection(waiting), 'ERR_WAITGROUP_LOST');
        expectWaitGroupErrorValue(await expectRejection(wg.done()), 'ERR_WAITGROUP_LOST');
        expectWaitGroupErrorValue(await expectRejection(wg.wait()), 'ERR_WAITGROUP_LOST');
        expectWaitGroupErrorValue(await expectRejection(wg.state()), 'ERR_WAITGROUP_LOST');
        expect(await server.cli('EXISTS', `awaitgroup:{${name}}`)).to.equal('0');
      });
    });

    describe('R9 a sliding TTL that belongs to the group', () => {
      it('expires every key ttl ms after the last change, for every attachment', async () => {
        const name = uniqueName();
        const wg = await RedisWaitGroup.create(client, name, { ttl: 60_000 });
        await wg.go(() => 0);
        await wg.add(1);
        const server = await node(name);
        const pttl = async (suffix: string): Promise<number> =>
          Number(await server.cli('PTTL', `awaitgroup:{${name}}${suffix}`));
        const other = RedisWaitGroup.from(await open(), wg.handle);
        await other.add(1);
        for (const suffix of ['', ':ops', ':events', ':leases', ':opids']) {
          expect(await pttl(suffix), suffix).to.be.within(50_000, 61_000);
        }
        expect(await other.state()).to.deep.include({ ttl: 60_000 });
      });

      it('R18b refuses a ttl in from(): the ttl belongs to the group and is set by create()', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName(), { ttl: 600_000 });
        const error = expectThrows(() => RedisWaitGroup.from(client, wg.handle, { ttl: 1 }));
        expect(error).to.be.an.instanceOf(TypeError);
        expect((error as Error).message).to.include('set by RedisWaitGroup.create');
        expect(await wg.state()).to.deep.include({ counter: 0, ttl: 600_000 });
      });

      it('leaves nothing behind once the ttl has passed', async () => {
        const name = uniqueName();
        const wg = await RedisWaitGroup.create(client, name, { ttl: 200 });
        await wg.add(1);
        const server = await node(name);
        // Redis expires keys in the background; the bound (20 s) is a hang guard only.
        for (let i = 0; i < 800; i++) {
          if ((await server.cli('--scan', '--pattern', `*{${name}}*`)) === '') break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        expect(await server.cli('--scan', '--pattern', `*{${name}}*`)).to.equal('');
        expectWaitGroupErrorValue(await expectRejection(wg.done()), 'ERR_WAITGROUP_LOST');
      });
    });

    describe('R10 one blocking connection per node per process', () => {
      it('serves 1,000 waits on 3 groups with at most one extra connection per node, and none when idle', async () => {
        const servers = cluster ? (await sharedCluster()).nodes : [await sharedServer()];
        const list = async (): Promise<string[]> =>
          (await Promise.all(servers.map((server) => server.cli('CLIENT', 'LIST'))))
            .join('\n')
            .split('\n');
        const blocked = async (): Promise<number> =>
          // On a Cluster the release channels' subscriber stands in for the blocking reads.
          (await list()).filter((line) => / cmd=(xread|ssubscribe|sunsubscribe) /.test(line))
            .length;
        const groups = await Promise.all(
          [0, 1, 2].map(() => RedisWaitGroup.create(client, uniqueName())),
        );
        await Promise.all(groups.map((wg) => wg.add(1)));
        const before = (await list()).length;
        const waits = groups.flatMap((wg) => Array.from({ length: 334 }, () => wg.wait()));
        for (const wg of groups) await registered(wg, 334);
        await until(async () => (await blocked()) > 0, 'a blocking read is parked');
        await expectPending(Promise.race(waits));
        expect((await list()).length - before).to.be.at.most(servers.length);
        expect(await blocked()).to.be.at.most(servers.length);
        await Promise.all(groups.map((wg) => wg.done()));
        await Promise.all(waits);
        await until(async () => (await blocked()) === 0, 'no blocking read is left');
        expect((await list()).length).to.be.at.most(before);
      });
    });

    describe('R13 done({ id }) counts once per id', () => {
      it('ignores a second done with the same id for the group’s lifetime', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        await wg.add(2);
        await wg.done({ id: 'job-1' });
        await wg.done({ id: 'job-1' });
        expect(await wg.state()).to.deep.include({ counter: 1, waiters: 0 });
        const waiting = wg.wait();
        await expectPending(waiting);
        await wg.done({ id: 'job-2' });
        await waiting;
        await wg.add(1);
        await wg.done({ id: 'job-2' });
        expect(await wg.state()).to.deep.include({ counter: 1, waiters: 0 });
        await wg.done();
        expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
      });
    });

    describe('S11 go(fn, { name })', () => {
      it('adds before fn runs, done when it settles, and returns its result or error', async () => {
        const wg = await RedisWaitGroup.create(client, uniqueName());
        let seen: unknown;
        const result = await wg.go(async () => {
          seen = await wg.state();
          return 42;
        });
        expect(result).to.equal(42);
        expect(seen).to.deep.include({ counter: 1, waiters: 0 });
        const failure = new Error('task');
        expect(await expectRejection(wg.go(() => Promise.reject(failure)))).to.equal(failure);
        expect(await expectRejection(wg.go('x' as never))).to.be.an.instanceOf(TypeError);
        expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
      });
    });
  });
}

describe('R2 every script compiles on the server (SCRIPT LOAD)', () => {
  // A script that does not compile fails only when it first runs; the lease
  // renewal runs in the background and swallows its errors, so its script
  // once had a Lua syntax error (`until` is a keyword) that no call reported.
  for (const [name, source] of Object.entries(SCRIPTS)) {
    it(`${name} compiles and is cached by its SHA-1`, async () => {
      const server = await sharedServer();
      const sha = await server.cli('SCRIPT', 'LOAD', source);
      expect(sha).to.match(/^[0-9a-f]{40}$/);
      expect(await server.cli('SCRIPT', 'EXISTS', sha)).to.equal('1');
    });
  }
});
