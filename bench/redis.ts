/**
 * The RedisWaitGroup rows of SPEC §7, on a throwaway redis-server on
 * loopback, for node-redis and ioredis, each beside its baseline measured in
 * the same run on the same connection:
 *
 *   (r) one EVALSHA round trip of `return 1` carrying a done()'s keys and arguments
 *   (x) a raw XADD → XREAD BLOCK wake, on two connections
 *
 * `redisRows()` returns the rows (and prints them); when redis-server is
 * missing it prints why and returns none. Standalone: `node dist/bench/redis.js`.
 *
 * @module
 */

import { spawnSync } from 'node:child_process';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { RedisWaitGroup } from '../lib/redis/index.js';
import { Server } from '../spec/redis/support/servers.js';

/** One measured row: our median and the baseline's, and their ratio against the target. */
export interface RedisRow {
  readonly workload: string;
  readonly client: 'node-redis' | 'ioredis';
  readonly value: number;
  readonly baseline: number;
  readonly unit: string;
  readonly ratio: number;
  readonly target: string;
  readonly met: boolean;
}

type Call = (args: string[]) => Promise<unknown>;
interface Pair {
  readonly kind: 'node-redis' | 'ioredis';
  readonly client: object;
  readonly call: Call;
  readonly second: Call;
  close(): Promise<void>;
}

const ROUNDS = 5;

async function pair(kind: 'node-redis' | 'ioredis', port: number): Promise<Pair> {
  if (kind === 'node-redis') {
    const a = await createClient({ socket: { host: '127.0.0.1', port } }).connect();
    const b = await createClient({ socket: { host: '127.0.0.1', port } }).connect();
    return {
      kind,
      client: a,
      call: (args) => a.sendCommand(args),
      second: (args) => b.sendCommand(args),
      close: async () => {
        a.destroy();
        b.destroy();
      },
    };
  }
  const a = new IORedis({ host: '127.0.0.1', port });
  const b = new IORedis({ host: '127.0.0.1', port });
  const via =
    (c: IORedis): Call =>
    (args) =>
      c.call(args[0] as string, ...args.slice(1));
  return {
    kind,
    client: a,
    call: via(a),
    second: via(b),
    close: async () => {
      a.disconnect();
      b.disconnect();
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** time runs `fn` ROUNDS times after a warm-up and returns the median per-op µs. */
async function time(ops: number, fn: () => Promise<void>): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(((performance.now() - t0) * 1000) / ops);
  }
  return median(samples);
}

/** redisRows measures the Redis rows of SPEC §7 for both clients and prints them. */
export async function redisRows(): Promise<RedisRow[]> {
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) {
    console.log(
      'Redis rows skipped: redis-server is not installed (apt-get install -y redis-server)',
    );
    return [];
  }
  const server = await Server.start();
  const rows: RedisRow[] = [];
  try {
    for (const kind of ['node-redis', 'ioredis'] as const) {
      const p = await pair(kind, server.port);
      try {
        rows.push(...(await measure(p)));
      } finally {
        await p.close();
      }
    }
  } finally {
    await server.stop();
  }
  console.log('workload | client | value | baseline | ratio | target');
  for (const row of rows) {
    console.log(
      `${row.workload} | ${row.client} | ${row.value.toFixed(1)} ${row.unit} | ${row.baseline.toFixed(1)} ${row.unit} | ${row.ratio.toFixed(2)} | ${row.target} ${row.met ? 'met' : 'MISSED'}`,
    );
  }
  return rows;
}

async function measure(p: Pair): Promise<RedisRow[]> {
  const rows: RedisRow[] = [];
  const row = (
    workload: string,
    value: number,
    baseline: number,
    unit: string,
    target: string,
    met: (ratio: number) => boolean,
  ): void => {
    const ratio = value / baseline;
    rows.push({ workload, client: p.kind, value, baseline, unit, ratio, target, met: met(ratio) });
  };
  const name = `bench-${process.pid}-${p.kind}`;
  const wg = await RedisWaitGroup.create(p.client, name);
  const keys = [
    `awaitgroup:{${name}}`,
    `awaitgroup:{${name}}:ops`,
    `awaitgroup:{${name}}:events`,
    `awaitgroup:{${name}}:leases`,
  ];
  const sha = String(await p.call(['SCRIPT', 'LOAD', 'return 1']));
  const args = [wg.handle.epoch, '', `${'x'.repeat(36)}:1`, '-1', '', '', '', '30000', ''];
  const raw = (): Promise<unknown> => p.call(['EVALSHA', sha, '4', ...keys, ...args]);

  // One done() against (r).
  const N = 1000;
  await wg.add(N * (ROUNDS + 1) * 2 + 64 * 50 * (ROUNDS + 1));
  const r = await time(N, async () => {
    for (let i = 0; i < N; i++) await raw();
  });
  const done = await time(N, async () => {
    for (let i = 0; i < N; i++) await wg.done();
  });
  row('one done() vs (r) EVALSHA return 1', done, r, 'µs', '≤ 1.3 × (r)', (x) => x <= 1.3);

  // 64 concurrent: per-op time of 64 parallel loops (inverse throughput).
  const par = (fn: () => Promise<unknown>) => async () => {
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = 0; i < 50; i++) await fn();
      }),
    );
  };
  const r64 = await time(64 * 50, par(raw));
  const done64 = await time(
    64 * 50,
    par(() => wg.done()),
  );
  // Throughput ratio = r64 / done64 (≥ 0.7); reported as time ratio done64 / r64 (≤ 1/0.7).
  row(
    '64 concurrent done() vs 64 concurrent (r), per op',
    done64,
    r64,
    'µs',
    'throughput ≥ 0.7 × (r): ratio ≤ 1.43',
    (x) => x <= 1 / 0.7,
  );

  // (x) raw XADD → XREAD BLOCK wake, and the last done() → a pending wait resumed.
  const stream = `bench-x-${process.pid}-${p.kind}`;
  const wakes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const last = String(await p.call(['XADD', stream, '*', 'n', String(i)]));
    const reading = p.second(['XREAD', 'BLOCK', '0', 'STREAMS', stream, last]);
    await p.call(['PING']);
    const t0 = performance.now();
    await Promise.all([p.call(['XADD', stream, '*', 'n', String(i)]), reading]);
    wakes.push((performance.now() - t0) * 1000);
  }
  const x = median(wakes);
  const remaining = (await wg.state()).counter;
  await wg.add(-remaining);
  const resumes: number[] = [];
  const waiter = RedisWaitGroup.from(p.client, wg.handle);
  for (let i = 0; i < 200; i++) {
    await wg.add(1);
    const waiting = waiter.wait();
    while ((await wg.state()).waiters === 0) {}
    const t0 = performance.now();
    await wg.done();
    await waiting;
    resumes.push((performance.now() - t0) * 1000);
  }
  row(
    'last done() → waiter resumed (one process) vs (x) XADD → XREAD BLOCK',
    median(resumes),
    x,
    'µs',
    '≤ 2 × (x)',
    (v) => v <= 2,
  );

  // 1e4 waits released by one done(): one stream entry.
  await wg.add(1);
  const before = Number(await p.call(['XLEN', keys[2] as string]));
  const waits = Array.from({ length: 10_000 }, () => waiter.wait());
  while ((await wg.state()).waiters < 10_000) {}
  const t0 = performance.now();
  await wg.done();
  await Promise.all(waits);
  const release = (performance.now() - t0) * 1000;
  const entries = Number(await p.call(['XLEN', keys[2] as string])) - before;
  row(
    `1e4 waits released by one done() (${entries} stream entry) vs (x)`,
    release,
    x,
    'µs',
    'O(1) Redis work: 1 entry',
    () => entries === 1,
  );
  await p.call(['DEL', stream, ...keys]);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await redisRows();
}
