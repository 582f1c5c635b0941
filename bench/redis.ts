/**
 * The RedisWaitGroup rows of SPEC §7, on a throwaway redis-server on a
 * loopback port in a temporary folder, for every client kind and major the
 * package supports (node-redis 5 and 6, ioredis 5 and 6, iovalkey; each row
 * names the version installed), each beside its baseline measured in the
 * same run, rounds interleaved:
 *
 *   (r) one EVALSHA round trip of `return 1` carrying a done()'s keys and
 *       arguments, on the same connection as the done()s
 *   (m) the least script a done() can be under R7–R9, in any key layout:
 *       read the epoch, counter and ttl (R8), record the operation id
 *       (R7), store the counter, slide the TTL (R9): four redis.calls, run
 *       on keys of its own; the floor of the 64 concurrent row
 *   (x) a raw XADD → XREAD BLOCK wake of 4 waiter processes, each blocked
 *       on its own connection, timed like the done() → 4 waiters row
 *
 * Waiter processes are forked from bench/redis-waiter.ts. Before a wake is
 * timed, every waiter's read is blocked in Redis: the parent polls
 * `INFO clients` until `blocked_clients` is the number of waiters (a
 * handshake, not a sleep). A wake is timed from just before the XADD or the
 * last done() to the latest `performance.timeOrigin + performance.now()`
 * the waiters report on resuming.
 *
 * The one-done() and 64-concurrent rows also report the real add script
 * run directly with EVALSHA, and (64 concurrent) the CPU each operation
 * cost Redis (INFO cpu) and this process (process.cpuUsage), so that a miss
 * can be split into Redis' (Lua) share and the client's and ours.
 *
 * Beside them, informational rows (no SPEC target; the README states them):
 * one done() with `replicas: 1` (R17) against (r) on a master with one
 * replica, per kind; and the memory of one group after 1e5 and 1e6 jobs
 * (`add(1)` + `done({ id })`; `--quick`: 1e4 and 1e5), its keys' MEMORY
 * USAGE and `used_memory`, right after and once a short retry window (1 s)
 * has passed (R18). The many-groups rows (R21) run for node-redis 6 and
 * ioredis 6, on one server and (full run only) a 3-master Cluster.
 *
 * `redisRows()` returns the rows and prints them; without redis-server it
 * prints why and how to install it and returns none. Standalone:
 * `node dist/bench/redis.js [--quick] [--kind=redis5|redis6|ioredis5|ioredis6|iovalkey]
 * [--no-many] [--no-memory] [--no-cluster]`.
 *
 * @module
 */

import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RedisClient, RedisWaitGroup } from '../lib/redis/index.js';
import { ADD } from '../lib/redis/scripts/add.js';
import {
  connect as connectTarget,
  family,
  KINDS,
  type Kind,
} from '../spec/redis/support/clients.js';
import { Cluster, Server } from '../spec/redis/support/servers.js';
import type { WaiterReply, WaiterRequest } from './redis-waiter.js';
import { median } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));

/** (m): a done() with nothing but what R7–R9 require, the op ids in the state hash. */
const FLOOR = `
local s = redis.call('HMGET', KEYS[1], 'epoch', 'counter', 'ttl')
if s[1] ~= ARGV[1] then return {'lost'} end
if redis.call('HSETNX', KEYS[1], 'o:' .. ARGV[3], 1) == 0 then return {'again'} end
redis.call('HSET', KEYS[1], 'counter', tonumber(s[2]) - 1)
redis.call('PEXPIRE', KEYS[1], s[3])
return {'ok'}
`;

/** One measured row: ours and the baseline's medians, their ratio, and the SPEC §7 target. */
export interface RedisRow {
  /** The SPEC §7 target, as the targets table names it. */
  readonly target: string;
  /** The client and its installed version, e.g. `node-redis 6.4.0`. */
  readonly client: string;
  /** Ours, in `unit`. */
  readonly value: number;
  /** The baseline's, in `unit`: (r), or (x) for the wake rows. */
  readonly baseline: number;
  readonly unit: string;
  /** value / baseline (for throughput: ours over the baseline's). */
  readonly ratio: number;
  /** The measured value as the targets table shows it. */
  readonly measured: string;
  readonly met: boolean;
  /** A row with no target of its own (printed beside one), e.g. `replicas: 1`'s cost. */
  readonly informational?: boolean;
  /** What else was measured on the way (e.g. the real script run directly). */
  readonly detail?: string;
}

/** What `redisRows` measured, or why it did not. */
export interface RedisReport {
  /** The reason the rows were not run, with how to fix it. */
  readonly skipped?: string;
  /** The Node binary that ran them (only the machine's Node, not every line). */
  readonly node: string;
  readonly redis?: string;
  readonly rows: RedisRow[];
}

/** The sizes of one run. */
interface Sizes {
  /** Interleaved rounds of each timed loop; the median is kept. */
  readonly rounds: number;
  /** Sequential calls per round (one done() vs (r)). */
  readonly serial: number;
  /** Calls per chain per round, 64 chains (concurrent throughput). */
  readonly perChain: number;
  /** Timed wakes of 4 processes, each for (x) and for done(). */
  readonly wakes: number;
  /** Pending waits over the 4 processes released by one done(), and how often. */
  readonly waits: number;
  readonly releases: number;
  /** Groups each holding a pending wait in one process (many groups), and wakes timed among them. */
  readonly groups: number;
  readonly groupWakes: number;
  /** Seconds the idle cost of those waits is measured over. */
  readonly idleSeconds: number;
  /** Jobs (add(1) + done({ id })) run on one group before its memory is read, one count per row. */
  readonly memoryJobs: readonly number[];
}

const FULL: Sizes = {
  rounds: 7,
  serial: 2000,
  perChain: 50,
  wakes: 40,
  waits: 10_000,
  releases: 3,
  groups: 10_000,
  groupWakes: 200,
  idleSeconds: 10,
  memoryJobs: [100_000, 1_000_000],
};
const QUICK: Sizes = {
  rounds: 2,
  serial: 50,
  perChain: 4,
  wakes: 3,
  waits: 100,
  releases: 1,
  groups: 100,
  groupWakes: 10,
  idleSeconds: 1,
  memoryJobs: [10_000, 100_000],
};
const PROCESSES = 4;
const CHAINS = 64;
/** RedisWaitGroup.create's default ttl: what a done() of a created group sends as ARGV[2]. */
const TTL = '86400000';

type Call = (args: string[]) => Promise<unknown>;
interface Client {
  readonly client: RedisClient;
  readonly call: Call;
  close(): void;
}

/** The npm package each kind is installed as (package.json's aliases). */
const PACKAGES: Readonly<Record<Kind, string>> = {
  'node-redis5': 'redis5',
  'node-redis': 'redis6',
  ioredis5: 'ioredis5',
  ioredis: 'ioredis6',
  iovalkey: 'iovalkey',
};

/** kindOf reads a `--kind=` value: a package alias (redis5, redis6, ioredis5, ioredis6, iovalkey) or a kind. */
function kindOf(name: string): Kind {
  for (const kind of KINDS) if (name === kind || name === PACKAGES[kind]) return kind;
  throw new RangeError(
    `bench redis: unknown --kind=${name}; use one of ${Object.values(PACKAGES).join(', ')}`,
  );
}

/** labelOf names a kind with the version installed, e.g. `node-redis 6.4.0`. */
export function labelOf(kind: Kind): string {
  const name =
    family(kind) === 'node-redis' ? 'node-redis' : kind === 'iovalkey' ? 'iovalkey' : 'ioredis';
  try {
    const file = join(here, '..', '..', 'node_modules', PACKAGES[kind], 'package.json');
    return `${name} ${(JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version}`;
  } catch {
    return `${name} (${PACKAGES[kind]})`;
  }
}

async function connect(kind: Kind, port: number): Promise<Client> {
  const { client, close } = await connectTarget({ kind, cluster: false, ports: [port] });
  const c = client as unknown as {
    sendCommand(args: string[]): Promise<unknown>;
    call(name: string, ...args: string[]): Promise<unknown>;
  };
  const call: Call =
    family(kind) === 'node-redis'
      ? (args) => c.sendCommand(args)
      : ([name, ...rest]) => c.call(name as string, ...rest);
  return { client, call, close: () => void close() };
}

const now = (): number => performance.timeOrigin + performance.now();

/** A forked waiter process and its replies, one per request. */
class Waiter {
  readonly #child: ChildProcess;
  readonly #replies: WaiterReply[] = [];
  readonly #takers: ((reply: WaiterReply) => void)[] = [];

  constructor(port: number, kind: Kind) {
    this.#child = fork(join(here, 'redis-waiter.js'), [String(port), kind], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const fail = (message: string): void => this.#push({ op: 'failed', message });
    this.#child.on('message', (reply: WaiterReply) => this.#push(reply));
    this.#child.on('error', (error) => fail(error.message));
    this.#child.on('exit', (code, signal) => {
      if (code !== 0) fail(`redis-waiter exited with ${code ?? signal}`);
    });
  }

  #push(reply: WaiterReply): void {
    const take = this.#takers.shift();
    if (take === undefined) this.#replies.push(reply);
    else take(reply);
  }

  /** next resolves with the next reply; a failure rejects. */
  async next(): Promise<WaiterReply> {
    const reply =
      this.#replies.shift() ??
      (await new Promise<WaiterReply>((resolve) => this.#takers.push(resolve)));
    if (reply.op === 'failed') throw new Error(`redis-waiter: ${reply.message}`);
    return reply;
  }

  /** resumed resolves with the moment the waiter reported resuming. */
  async resumed(): Promise<number> {
    const reply = await this.next();
    if (reply.op !== 'resumed') throw new Error(`redis-waiter: expected resumed, got ${reply.op}`);
    return reply.at;
  }

  send(request: WaiterRequest): void {
    this.#child.send(request);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    if (this.#child.connected) this.send({ op: 'close' });
    else this.#child.kill('SIGKILL');
    await exited;
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}

/** blocked polls `INFO clients` until `blocked_clients` is `count`: every read is parked. */
async function blocked(call: Call, count: number): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const info = String(await call(['INFO', 'clients']));
    const found = Number(/blocked_clients:(\d+)/.exec(info)?.[1]);
    if (found === count) return;
    if (Date.now() > until) {
      throw new Error(`bench redis: ${found} clients blocked, expected ${count}`);
    }
  }
}

/** entriesAdded reads how many entries a stream ever had (XINFO STREAM, Redis 7), not its trimmed length. */
async function entriesAdded(call: Call, key: string): Promise<number> {
  if (Number(await call(['EXISTS', key])) === 0) return 0;
  const info = (await call(['XINFO', 'STREAM', key])) as unknown;
  const pairs: unknown[] = Array.isArray(info)
    ? info
    : info instanceof Map
      ? [...info.entries()].flat()
      : Object.entries(info as object).flat();
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    if (String(pairs[i]) === 'entries-added') return Number(pairs[i + 1]);
  }
  return Number(await call(['XLEN', key]));
}

/**
 * redisRows measures the Redis rows of SPEC §7 for both clients on a
 * redis-server it starts and stops, and prints them.
 */
export async function redisRows(quick = false): Promise<RedisReport> {
  const node = process.version;
  const missing = ['redis-server', 'redis-cli'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0) {
    const skipped = `${missing.join(' and ')} not on PATH: install it with apt-get install -y redis-server`;
    console.log(`\n## redis  RedisWaitGroup (SPEC §9) on loopback: skipped, ${skipped}`);
    return { skipped, node, rows: [] };
  }
  const sizes = quick ? QUICK : FULL;
  const only = process.argv.find((arg) => arg.startsWith('--kind='))?.split('=')[1];
  const kinds = only === undefined ? KINDS : [kindOf(only)];
  const server = await Server.start();
  const rows: RedisRow[] = [];
  let redis: string | undefined;
  const replicated = await ReplicaPair.start();
  try {
    redis = /redis_version:(\S+)/.exec(await server.cli('INFO', 'server'))?.[1];
    console.log(
      `\n## redis  RedisWaitGroup (SPEC §9), redis-server ${redis} on loopback port ${server.port}` +
        `\n  on this process' Node only (${node}), not on every line; ${PROCESSES} waiter processes`,
    );
    for (const kind of kinds) {
      const begun = Date.now();
      const measured = await measure(kind, server.port, sizes);
      measured.push(await replicas(kind, replicated, sizes));
      rows.push(...measured);
      for (const row of measured) print(row);
      console.log(`  (${labelOf(kind)}: ${((Date.now() - begun) / 1000).toFixed(1)} s)`);
    }
    if (!process.argv.includes('--no-many')) {
      for (const kind of ['node-redis', 'ioredis'] as const) {
        const measured = await manyGroups(kind, [server], false, sizes);
        rows.push(...measured);
        for (const row of measured) print(row);
      }
    }
  } finally {
    await replicated.stop();
    await server.stop();
  }
  if (!process.argv.includes('--no-memory')) {
    const measured = await memory(sizes);
    rows.push(...measured);
    for (const row of measured) print(row);
  }
  // The Cluster's rows take minutes: a full run only.
  if (!quick && !process.argv.includes('--no-cluster') && !process.argv.includes('--no-many')) {
    const cluster = await Cluster.start();
    try {
      for (const kind of ['node-redis', 'ioredis'] as const) {
        const measured = await manyGroups(kind, cluster.nodes, true, sizes);
        rows.push(...measured);
        for (const row of measured) print(row);
      }
    } finally {
      await cluster.stop();
    }
  }
  return { node, ...(redis === undefined ? {} : { redis }), rows };
}

/** A master and one replica of it, replication link up: where `replicas: 1` is measured. */
class ReplicaPair {
  readonly master: Server;
  readonly replica: Server;

  private constructor(master: Server, replica: Server) {
    this.master = master;
    this.replica = replica;
  }

  static async start(): Promise<ReplicaPair> {
    const [master, replica] = await Server.startReplicated();
    return new ReplicaPair(master, replica);
  }

  async stop(): Promise<void> {
    await this.replica.stop();
    await this.master.stop();
  }
}

/** The keys a done() sends on one server: the group's five and the bell every release rings. */
function doneKeys(name: string): string[] {
  const base = `awaitgroup:{${name}}`;
  return [
    base,
    `${base}:ops`,
    `${base}:events`,
    `${base}:leases`,
    `${base}:opids`,
    'awaitgroup:releases',
  ];
}

/**
 * A done()'s arguments to the add script: epoch, version seen, retry
 * window, then one operation: its id, delta, done id, lease, task, lease
 * ms, info.
 */
function doneArgs(epoch: string, op: string): string[] {
  return [epoch, '0', '600000', op, '-1', '', '', '', '30000', ''];
}

/**
 * replicas: one done() of a group created with `replicas: 1` (a WAIT for the
 * replica after the script, R17) against (r) on a master with one replica,
 * beside a plain done() on the same master. Informational: the README states it.
 */
async function replicas(kind: Kind, pair: ReplicaPair, sizes: Sizes): Promise<RedisRow> {
  const main = await connect(kind, pair.master.port);
  try {
    const { call } = main;
    const name = `bench-replicas-${kind}-${randomUUID()}`;
    const plain = await RedisWaitGroup.create(main.client, `${name}-plain`);
    const durable = await RedisWaitGroup.create(main.client, name, { replicas: 1 });
    const keys = doneKeys(name);
    const sha = String(await call(['SCRIPT', 'LOAD', 'return 1']));
    let seq = 0;
    const args = (): string[] => doneArgs(durable.handle.epoch, `r:${++seq}`);
    const n = Math.max(10, Math.floor(sizes.serial / 4));
    await plain.add((sizes.rounds + 1) * n);
    await durable.add((sizes.rounds + 1) * n);
    const serial = (fn: () => Promise<unknown>) => async (): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn();
      return ((performance.now() - t0) * 1000) / n;
    };
    const [rSerial, plainSerial, durableSerial] = await interleave(sizes.rounds, [
      serial(() => call(['EVALSHA', sha, String(keys.length), ...keys, ...args()])),
      serial(() => plain.done()),
      serial(() => durable.done()),
    ]);
    await call(['DEL', ...keys.slice(0, 5)]);
    const ratio = durableSerial / rSerial;
    return {
      target: 'one done(), replicas: 1 (R17; informational)',
      client: labelOf(kind),
      value: durableSerial,
      baseline: rSerial,
      unit: 'µs',
      ratio,
      measured: `${ratio.toFixed(2)}×`,
      met: true,
      informational: true,
      detail:
        `on a master with one replica on loopback: a plain done() ${plainSerial.toFixed(1)} µs ` +
        `(${(plainSerial / rSerial).toFixed(2)} × (r)); replicas: 1 adds ` +
        `${(durableSerial - plainSerial).toFixed(1)} µs (the WAIT 1 round trip)`,
    };
  } finally {
    main.close();
  }
}

/** bytes reads `INFO memory`'s used_memory. */
async function usedMemory(call: Call): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(String(await call(['INFO', 'memory'])))?.[1]);
}

/** What one group's keys hold: MEMORY USAGE of each (every element sampled), and their sizes. */
async function footprint(
  call: Call,
  keys: readonly string[],
): Promise<{ bytes: number; ops: number; opids: number; each: number[] }> {
  const each: number[] = [];
  for (const key of keys) each.push(Number(await call(['MEMORY', 'USAGE', key, 'SAMPLES', '0'])));
  return {
    bytes: each.reduce((a, b) => a + b, 0),
    ops: Number(await call(['HLEN', keys[1] as string])),
    opids: Number(await call(['ZCARD', keys[4] as string])),
    each,
  };
}

/** The retry window of the memory rows: short, so that the run need not wait 10 minutes. */
const WINDOW_MS = 1000;

/**
 * memory: the keys of one group after `jobs` jobs, each an `add(1)` then a
 * `done({ id })` with the job's own id (a queue's steady stream), 64 jobs in
 * flight, on a fresh server (the client makes no difference to what Redis
 * keeps: node-redis 6). The group is created with a retry window of
 * WINDOW_MS; its keys are read right after the jobs, and again once the
 * window has passed and more jobs have run, enough for the pruning (two ids
 * per change) to drop every id older than the window.
 */
async function memory(sizes: Sizes): Promise<RedisRow[]> {
  const server = await Server.start();
  const kind: Kind = 'node-redis';
  const main = await connect(kind, server.port);
  const rows: RedisRow[] = [];
  try {
    const { call } = main;
    for (const jobs of sizes.memoryJobs) {
      await call(['FLUSHALL']);
      const begun = Date.now();
      const before = await usedMemory(call);
      const name = `bench-memory-${randomUUID()}`;
      const wg = await RedisWaitGroup.create(main.client, name, { retryWindow: WINDOW_MS });
      const base = `awaitgroup:{${name}}`;
      const keys = [base, `${base}:ops`, `${base}:events`, `${base}:leases`, `${base}:opids`];
      let next = 0;
      const run = async (count: number): Promise<void> => {
        const end = next + count;
        await Promise.all(
          Array.from({ length: CHAINS }, async () => {
            while (next < end) {
              const job = `job-${++next}`;
              await wg.add(1);
              await wg.done({ id: job });
            }
          }),
        );
      };
      await run(jobs);
      const seconds = (Date.now() - begun) / 1000;
      const after = await footprint(call, keys);
      const usedAfter = (await usedMemory(call)) - before;
      // The window passes with nothing running (ids are pruned only as the group is used) ...
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 200));
      const idle = await footprint(call, keys);
      // ... then a stream of jobs long enough to prune every id older than the window.
      const more = Math.ceil(idle.opids / 2) + 1000;
      await run(more);
      const pruned = await footprint(call, keys);
      const usedPruned = (await usedMemory(call)) - before;
      const label = jobs >= 1_000_000 ? '1e6' : jobs >= 100_000 ? '1e5' : String(jobs);
      const done = next;
      rows.push({
        target: `memory of one group after ${label} jobs (R18; informational)`,
        client: labelOf(kind),
        value: pruned.bytes / done,
        baseline: after.bytes / jobs,
        unit: 'B/job',
        ratio: pruned.bytes / after.bytes,
        measured: `${(pruned.bytes / 1e6).toFixed(1)} MB`,
        met: true,
        informational: true,
        detail:
          `${jobs} jobs (add(1) + done({ id }), ${CHAINS} in flight, ${seconds.toFixed(0)} s), retryWindow ${WINDOW_MS} ms:` +
          `\nright after: keys ${after.bytes} B (${(after.bytes / jobs).toFixed(1)} B/job; ` +
          `state, ops, events, leases, opids ${after.each.join(', ')}), used_memory +${usedAfter} B; ` +
          `ops ${after.ops} fields, opids ${after.opids} ids` +
          `\nwindow passed, idle: keys ${idle.bytes} B, opids ${idle.opids} ids (pruned only as the group is used)` +
          `\nafter ${more} more jobs: keys ${pruned.bytes} B (${(pruned.bytes / done).toFixed(1)} B/job over ${done} jobs; ` +
          `${pruned.each.join(', ')}), used_memory +${usedPruned} B; ops ${pruned.ops} fields (the done ids, ` +
          `${((pruned.each[1] as number) / pruned.ops).toFixed(1)} B each), opids ${pruned.opids} ids`,
      });
      await call(['FLUSHALL']);
    }
  } finally {
    main.close();
    await server.stop();
  }
  return rows;
}

function print(row: RedisRow): void {
  const unit = (v: number): string => `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${row.unit}`;
  console.log(
    `  ${row.client.padEnd(17)} ${row.target.padEnd(46)} ours ${unit(row.value).padStart(14)}` +
      `  base ${unit(row.baseline).padStart(14)}  ${row.measured.padStart(10)} ` +
      (row.informational ? 'info' : row.met ? 'met' : 'NOT MET'),
  );
  const indent = `\n  ${''.padEnd(17)} `;
  if (row.detail !== undefined)
    console.log(`${indent.slice(1)}${row.detail.replaceAll('\n', indent)}`);
}

async function measure(kind: Kind, port: number, sizes: Sizes): Promise<RedisRow[]> {
  const rows: RedisRow[] = [];
  const main = await connect(kind, port);
  const waiters = Array.from({ length: PROCESSES }, () => new Waiter(port, kind));
  try {
    for (const w of waiters) await w.next();
    const { call } = main;
    const name = `bench-${kind}-${randomUUID()}`;
    const wg = await RedisWaitGroup.create(main.client, name);
    const keys = doneKeys(name);
    const sha = String(await call(['SCRIPT', 'LOAD', 'return 1']));
    const addSha = String(await call(['SCRIPT', 'LOAD', ADD]));
    const floorSha = String(await call(['SCRIPT', 'LOAD', FLOOR]));
    const floorKey = `awaitgroup:{${name}-m}`;
    await call(['HSET', floorKey, 'epoch', wg.handle.epoch, 'counter', '1000000000', 'ttl', TTL]);
    const prefix = randomUUID();
    let seq = 0;
    const args = (): string[] => doneArgs(wg.handle.epoch, `${prefix}:${++seq}`);
    const r = (): Promise<unknown> =>
      call(['EVALSHA', sha, String(keys.length), ...keys, ...args()]);
    const direct = (): Promise<unknown> =>
      call(['EVALSHA', addSha, String(keys.length), ...keys, ...args()]);
    const done = (): Promise<void> => wg.done();
    // The floor script reads the arguments of the first layout: epoch, ttl, operation id, …
    const floorArgs = (): string[] => [wg.handle.epoch, TTL, `${prefix}:${++seq}`, '-1'];
    const floor = (): Promise<unknown> =>
      call(['EVALSHA', floorSha, '1', floorKey, ...floorArgs()]);
    // Enough for every done() and direct decrement below, so none reaches zero.
    await wg.add(
      (sizes.rounds + 1) * (2 * sizes.serial + 2 * CHAINS * sizes.perChain) + sizes.serial + 1,
    );

    // One done() against (r), and the real add script run directly: µs per call.
    const serial = (fn: () => Promise<unknown>) => async (): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < sizes.serial; i++) await fn();
      return ((performance.now() - t0) * 1000) / sizes.serial;
    };
    const [rSerial, doneSerial, directSerial] = await interleave(sizes.rounds, [
      serial(r),
      serial(done),
      serial(direct),
    ]);
    // Redis' own time per EVALSHA, from INFO commandstats: the Lua script's cost without the wire.
    const inRedis = async (fn: () => Promise<unknown>): Promise<number> => {
      await call(['CONFIG', 'RESETSTAT']);
      for (let i = 0; i < sizes.serial; i++) await fn();
      const info = String(await call(['INFO', 'commandstats']));
      const [, calls = '1', usec = 'NaN'] =
        /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info) ?? [];
      return Number(usec) / Number(calls);
    };
    const rRedis = await inRedis(r);
    const doneRedis = await inRedis(done);
    const ratio1 = doneSerial / rSerial;
    rows.push({
      target: 'one done() ≤ 1.3 × (r)',
      client: labelOf(kind),
      value: doneSerial,
      baseline: rSerial,
      unit: 'µs',
      ratio: ratio1,
      measured: `${ratio1.toFixed(2)}×`,
      met: ratio1 <= 1.3,
      detail:
        `the add script by EVALSHA directly: ${directSerial.toFixed(1)} µs ` +
        `(${(directSerial / rSerial).toFixed(2)} × (r)); Lua share ${(directSerial - rSerial).toFixed(1)} µs, ` +
        `JS share ${(doneSerial - directSerial).toFixed(1)} µs; ` +
        `in Redis (INFO commandstats) (r) ${rRedis.toFixed(1)} µs, done() ${doneRedis.toFixed(1)} µs`,
    });

    // 64 concurrent chains on the one connection: operations per second, and
    // what each operation cost Redis (INFO cpu) and this process (cpuUsage),
    // read outside the timed window.
    const cost = new Map<() => Promise<unknown>, { redis: number[]; node: number[] }>();
    const chains = (fn: () => Promise<unknown>) => async (): Promise<number> => {
      const ops = CHAINS * sizes.perChain;
      const redis0 = await redisCpu(call);
      const node0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CHAINS }, async () => {
          for (let i = 0; i < sizes.perChain; i++) await fn();
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const node1 = process.cpuUsage(node0);
      const redis1 = await redisCpu(call);
      const spent = cost.get(fn) ?? { redis: [], node: [] };
      spent.redis.push(((redis1 - redis0) * 1e6) / ops);
      spent.node.push((node1.user + node1.system) / ops);
      cost.set(fn, spent);
      return ops / seconds;
    };
    const [rRate, doneRate, floorRate, directRate] = await interleave(sizes.rounds, [
      chains(r),
      chains(done),
      chains(floor),
      chains(direct),
    ]);
    const per = (fn: () => Promise<unknown>): string => {
      const spent = cost.get(fn);
      return spent === undefined
        ? '?'
        : `Redis ${median(spent.redis).toFixed(1)} µs + client ${median(spent.node).toFixed(1)} µs`;
    };
    const ratio64 = doneRate / rRate;
    rows.push({
      target: '64 concurrent done() ≥ 0.7 × (r) rate',
      client: labelOf(kind),
      value: doneRate / 1000,
      baseline: rRate / 1000,
      unit: 'k/s',
      ratio: ratio64,
      measured: `${ratio64.toFixed(2)}×`,
      met: ratio64 >= 0.7,
      detail:
        `(m), the least script R7–R9 allow (4 redis.calls): ${(floorRate / 1000).toFixed(0)} k/s, ` +
        `${(floorRate / rRate).toFixed(2)} × (r); ours ${(doneRate / floorRate).toFixed(2)} × (m); ` +
        `the add script by EVALSHA directly ${(directRate / 1000).toFixed(0)} k/s, ours ` +
        `${(doneRate / directRate).toFixed(2)} × that.\nCPU per operation: ` +
        `(r) ${per(r)}; done() ${per(done)}; direct ${per(direct)}; (m) ${per(floor)}`,
    });
    await call(['DEL', floorKey]);
    const left = (await wg.state()).counter;
    await wg.add(-left);

    // (x) and the last done() → 4 waiter processes resumed, rounds interleaved.
    const stream = `bench-x-${kind}-${randomUUID()}`;
    // The first of the 4 processes to resume, beside the last: what is latency, what is 2 cores.
    const firstRaw: number[] = [];
    const firstGroup: number[] = [];
    // Each wake starts with no read blocked (the last round's connections are gone).
    const rawWake = async (): Promise<number> => {
      await blocked(call, 0);
      const id = String(await call(['XADD', stream, '*', 'n', '0']));
      for (const w of waiters) w.send({ op: 'xread', stream, id });
      await blocked(call, PROCESSES);
      const t0 = now();
      const [times] = await Promise.all([
        Promise.all(waiters.map((w) => w.resumed())),
        call(['XADD', stream, '*', 'n', '1']),
      ]);
      firstRaw.push((Math.min(...times) - t0) * 1000);
      return (Math.max(...times) - t0) * 1000;
    };
    const groupWake = async (count: number): Promise<[number, number]> => {
      await blocked(call, 0);
      await wg.add(1);
      for (const w of waiters) w.send({ op: 'wait', handle: wg.handle, count });
      while ((await wg.state()).waiters < count * PROCESSES) {}
      await blocked(call, PROCESSES);
      const before = await entriesAdded(call, keys[2] as string);
      const t0 = now();
      const [times] = await Promise.all([Promise.all(waiters.map((w) => w.resumed())), wg.done()]);
      const after = await entriesAdded(call, keys[2] as string);
      firstGroup.push((Math.min(...times) - t0) * 1000);
      return [(Math.max(...times) - t0) * 1000, after - before];
    };
    // The events stream exists once a first release has written to it.
    await groupWake(1);
    const [x, wake] = await interleave(sizes.wakes, [rawWake, async () => (await groupWake(1))[0]]);
    const ratioWake = wake / x;
    rows.push({
      target: `last done() → ${PROCESSES} procs resumed ≤ 2 × (x)`,
      client: labelOf(kind),
      value: wake,
      baseline: x,
      unit: 'µs',
      ratio: ratioWake,
      measured: `${ratioWake.toFixed(2)}×`,
      met: ratioWake <= 2,
      detail: `first of the ${PROCESSES} resumed: ours ${median(firstGroup).toFixed(0)} µs, (x) ${median(firstRaw).toFixed(0)} µs`,
    });

    // Many waits over the 4 processes, released by one done(): stream entries added.
    const releases: number[] = [];
    let most = 0;
    for (let i = 0; i < sizes.releases; i++) {
      const [us, entries] = await groupWake(sizes.waits / PROCESSES);
      releases.push(us);
      most = Math.max(most, entries);
    }
    const release = median(releases);
    const label = sizes.waits === 10_000 ? '1e4' : String(sizes.waits);
    rows.push({
      target: `${label} waits in ${PROCESSES} procs, one done(): O(1)`,
      client: labelOf(kind),
      value: release / 1000,
      baseline: x / 1000,
      unit: 'ms',
      ratio: release / x,
      measured: `${most} ${most === 1 ? 'entry' : 'entries'}, ${(release / 1000).toFixed(1)} ms`,
      met: most === 1,
      detail: `stream entries added by the release: ${most}; ops hash now holds ${String(await call(['HLEN', keys[1] as string]))} fields`,
    });
    await call(['DEL', stream, ...keys.slice(0, 5)]);
    for (const w of waiters) await w.close();
  } finally {
    for (const w of waiters) w.kill();
    main.close();
  }
  return rows;
}

/** redisCpu reads the server's CPU time so far in seconds (INFO cpu, user + sys), by `call`. */
async function redisCpu(call: Call): Promise<number> {
  const info = String(await call(['INFO', 'cpu']));
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  return user + sys;
}

/** cpuSeconds reads a server's CPU time so far (INFO cpu, user + sys). */
async function cpuSeconds(server: Server): Promise<number> {
  const info = await server.cli('INFO', 'cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  return user + sys;
}

/** How long the many-groups rows wait for one wake, for all of them, and for the rest to drain. */
const WAKE_LIMIT_MS = 5000;
const WAKES_FOR_MS = 120_000;
const DRAIN_MS = 30_000;

/**
 * manyGroups: one process holding a pending wait on each of `sizes.groups`
 * groups (a coordinator of many batches): how long a release of one of them
 * takes to wake its wait (p99 over `groupWakes` groups released one at a
 * time), and what all those waits cost Redis while nothing happens (CPU
 * time over `idleSeconds`, the busiest node, as a share of one core).
 */
async function manyGroups(
  kind: Kind,
  servers: readonly Server[],
  inCluster: boolean,
  sizes: Sizes,
): Promise<RedisRow[]> {
  const target = { kind, cluster: inCluster, ports: servers.map((server) => server.port) };
  const waiting = await connectTarget(target);
  const releasing = await connectTarget(target);
  const where = inCluster ? '3-master cluster' : 'single server';
  const label = sizes.groups === 10_000 ? '1e4' : String(sizes.groups);
  try {
    const groups: RedisWaitGroup[] = [];
    for (let i = 0; i < sizes.groups; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, sizes.groups - i) }, () =>
          RedisWaitGroup.create(waiting.client, `many-${randomUUID()}`, { ttl: 3_600_000 }),
        ),
      );
      await Promise.all(batch.map((wg) => wg.add(1)));
      groups.push(...batch);
    }
    const resolved = new Map<RedisWaitGroup, number>();
    // A wait that fails (e.g. its group expired in a very slow run) is counted, never thrown.
    const stop = new AbortController();
    setMaxListeners(Number.POSITIVE_INFINITY, stop.signal);
    let failed = 0;
    const waits = groups.map((wg) =>
      wg.wait({ signal: stop.signal }).then(
        () => void resolved.set(wg, now()),
        () => void failed++,
      ),
    );
    for (let i = 0; i < groups.length; i += 100) {
      await Promise.all(
        groups.slice(i, i + 100).map(async (wg) => {
          while ((await wg.state()).waiters !== 1) {}
        }),
      );
    }
    // Idle: nothing released for idleSeconds.
    const before = await Promise.all(servers.map(cpuSeconds));
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, sizes.idleSeconds * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const after = await Promise.all(servers.map(cpuSeconds));
    const idle = Math.max(...after.map((cpu, i) => (cpu - (before[i] as number)) / seconds)) * 100;
    // Wakes, one group at a time. A wake not seen within WAKE_LIMIT_MS counts as infinitely
    // late, and the wakes stop after WAKES_FOR_MS: a client whose wakes wait for a slow poll
    // (minutes with 1e4 groups) still prints its row, as a miss, in bounded time.
    const latencies: number[] = [];
    const released = new Set<RedisWaitGroup>();
    const wakesBegun = performance.now();
    for (let i = 0; i < sizes.groupWakes; i++) {
      if (performance.now() - wakesBegun > WAKES_FOR_MS) break;
      const wg = groups[Math.floor((i * groups.length) / sizes.groupWakes)] as RedisWaitGroup;
      const start = now();
      await RedisWaitGroup.from(releasing.client, wg.handle).done();
      released.add(wg);
      while (!resolved.has(wg) && now() - start < WAKE_LIMIT_MS) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      const at = resolved.get(wg);
      latencies.push(at === undefined ? Number.POSITIVE_INFINITY : at - start);
    }
    latencies.sort((a, b) => a - b);
    const p99 = latencies[
      Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)
    ] as number;
    const late = latencies.filter((ms) => ms === Number.POSITIVE_INFINITY).length;
    const ms = (value: number): string =>
      value === Number.POSITIVE_INFINITY ? `> ${WAKE_LIMIT_MS} ms` : `${value.toFixed(1)} ms`;
    await Promise.all(
      groups.map((wg) =>
        released.has(wg) ? undefined : RedisWaitGroup.from(releasing.client, wg.handle).done(),
      ),
    );
    // The rest resolve as their releases are heard; those still waiting after DRAIN_MS are aborted.
    const drained = await Promise.race([
      Promise.all(waits).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(resolve, DRAIN_MS, false)),
    ]);
    const rejected = failed;
    const unheard = groups.length - resolved.size - rejected;
    stop.abort();
    await Promise.all(waits);
    return [
      {
        target: `${label} groups waiting, one wake ≤ 50 ms p99 (${where})`,
        client: labelOf(kind),
        value: p99,
        baseline: 50,
        unit: 'ms',
        ratio: p99 / 50,
        measured: ms(p99),
        met: p99 <= 50,
        detail:
          `wake median ${ms(median(latencies))}, max ${ms(latencies.at(-1) as number)} over ` +
          `${latencies.length} groups` +
          (late > 0 ? `; ${late} not woken within ${WAKE_LIMIT_MS} ms` : '') +
          (drained
            ? ''
            : `; ${unheard} released waits not resolved ${DRAIN_MS / 1000} s later (aborted)`) +
          (rejected > 0 ? `; ${rejected} waits rejected` : ''),
      },
      {
        target: `${label} groups waiting, idle < 2 % of a core (${where})`,
        client: labelOf(kind),
        value: idle,
        baseline: 2,
        unit: '%',
        ratio: idle / 2,
        measured: `${idle.toFixed(2)} %`,
        met: idle < 2,
        detail: `Redis CPU (INFO cpu) over ${seconds.toFixed(1)} s idle, the busiest node`,
      },
    ];
  } finally {
    await waiting.close();
    await releasing.close();
  }
}

/**
 * interleave runs each of `fns` once per round, in a rotated order, and
 * returns the median of each: a slow spell of the machine lands on all.
 */
async function interleave<const T extends readonly (() => Promise<number>)[]>(
  rounds: number,
  fns: T,
): Promise<{ -readonly [K in keyof T]: number }> {
  for (const fn of fns) await fn(); // warm-up
  const samples = fns.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < fns.length; k++) {
      const i = (round + k) % fns.length;
      samples[i]?.push(await (fns[i] as () => Promise<number>)());
    }
  }
  return samples.map(median) as { -readonly [K in keyof T]: number };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--many')) {
    // The many-groups rows alone:
    // --many [--quick] [--no-cluster] [--no-single] [--single-kind=ioredis] [--groups=1000]
    const groups = Number(process.argv.find((arg) => arg.startsWith('--groups='))?.split('=')[1]);
    const sizes = {
      ...(process.argv.includes('--quick') ? QUICK : FULL),
      ...(Number.isSafeInteger(groups) && groups > 0 ? { groups } : {}),
    };
    const only = process.argv.find((arg) => arg.startsWith('--single-kind='))?.split('=')[1];
    const kinds = (['node-redis', 'ioredis'] as const).filter(
      (k) => only === undefined || k === only,
    );
    if (!process.argv.includes('--no-single')) {
      const server = await Server.start();
      try {
        for (const kind of kinds)
          for (const row of await manyGroups(kind, [server], false, sizes)) print(row);
      } finally {
        await server.stop();
      }
    }
    if (!process.argv.includes('--no-cluster')) {
      const cluster = await Cluster.start();
      try {
        for (const kind of kinds)
          for (const row of await manyGroups(kind, cluster.nodes, true, sizes)) print(row);
      } finally {
        await cluster.stop();
      }
    }
  } else {
    await redisRows(process.argv.includes('--quick'));
  }
}
