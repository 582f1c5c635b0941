/**
 * One (workload × contender) measurement, in a process of its own (run.ts
 * spawns it with `node --expose-gc`): warm-up rounds, then timed rounds, then
 * one JSON line on stdout with every sample and the medians.
 *
 *   node --expose-gc dist/bench/child.js <workload> <contender> [quick | <rounds>]
 *
 * @module
 */

import { Worker } from 'node:worker_threads';
import { type Contender, type Group, loadContender } from './contenders.js';
import { type Limiter, loadLimiter } from './limiters.js';
import { median } from './stats.js';
import type { WorkerData } from './worker.js';
import { type Workload, workload } from './workloads.js';

/** What a child prints: the samples of every metric and their medians. */
export interface ChildResult {
  readonly workload: string;
  readonly contender: string;
  readonly n: number;
  readonly samples: Record<string, number[]>;
  readonly median: Record<string, number>;
}

type Round = () => Promise<Record<string, number>>;

const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    throw new Error('run the bench child with node --expose-gc');
  });

/** Everything a memory round keeps reachable, from module scope. */
export const retained: { items: unknown[] } = { items: [] };

/**
 * now is the clock of the single-threaded workloads: this process's CPU time
 * in ms (user + system), which a machine shared with other work disturbs far
 * less than the wall clock does. The shared workloads use the wall clock
 * ({@link wall}): they measure latency across threads.
 */
function now(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function wall(): number {
  return performance.now();
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A task that yields once, so it is pending when it is tracked. */
async function task(): Promise<void> {
  await null;
}

// fan-out ---------------------------------------------------------------

function fanout(c: Contender, id: string, n: number): Round {
  if (id === 'a') {
    return async () => {
      const start = now();
      const promises = new Array<Promise<void>>(n);
      for (let i = 0; i < n; i++) promises[i] = task();
      await Promise.all(promises);
      const ms = now() - start;
      return { ms, 'ns/task': (ms * 1e6) / n };
    };
  }
  // (f), (s)'s go and our go() contenders track with go(); everyone else with add+done.
  const go = id === 'f' || id === 's-go' || id.startsWith('local-go') ? c.go : undefined;
  return async () => {
    // A fresh group per round, for us and for the baselines alike: a
    // program fans out with a new group, and what a group pays on its first
    // use belongs in the measurement.
    const group = c.create(n);
    const done = (): void => group.done();
    const start = now();
    if (go !== undefined) {
      for (let i = 0; i < n; i++) go(group, task);
    } else {
      for (let i = 0; i < n; i++) {
        group.add(1);
        task().then(done);
      }
    }
    await group.wait();
    const ms = now() - start;
    return { ms, 'ns/task': (ms * 1e6) / n };
  };
}

// add+done pairs ----------------------------------------------------------

function pairLoop(group: Group, n: number): void {
  for (let i = 0; i < n; i++) {
    group.add(1);
    group.done();
  }
}

function pairs(c: Contender, n: number): Round {
  const group = c.create(1);
  return async () => {
    const start = now();
    pairLoop(group, n);
    return { 'ns/pair': ((now() - start) * 1e6) / n };
  };
}

// release -------------------------------------------------------------------

interface Countdown {
  left: number;
  resolve: () => void;
}

/** countdown returns a group of `n` at 1 and a countdown of `n` that resolves `resumed` at 0. */
function countdown(
  c: Contender,
  n: number,
): { group: Group; all: Countdown; resumed: Promise<void> } {
  const group = c.create(1);
  group.add(1);
  const all: Countdown = { left: n, resolve: () => {} };
  const resumed = new Promise<void>((resolve) => {
    all.resolve = resolve;
  });
  return { group, all, resumed };
}

async function waiter(group: Group, all: Countdown): Promise<void> {
  await group.wait();
  if (--all.left === 0) all.resolve();
}

function release(c: Contender, n: number): Round {
  return async () => {
    const { group, all, resumed } = countdown(c, n);
    for (let i = 0; i < n; i++) waiter(group, all);
    await macrotask(); // every waiter is parked
    gc();
    const start = now();
    group.done();
    await resumed;
    return { ms: now() - start };
  };
}

// already-zero wait --------------------------------------------------------

async function zeroLoop(group: Group, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await group.wait();
}

function zero(c: Contender, n: number): Round {
  const group = c.create(0);
  return async () => {
    await group.wait();
    const start = now();
    await zeroLoop(group, n);
    return { 'ns/wait': ((now() - start) * 1e6) / n };
  };
}

// memory ----------------------------------------------------------------------

function heap(): number {
  gc();
  gc();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external; // external includes the ArrayBuffer backing stores
}

function idle(c: Contender, n: number): Round {
  return async () => {
    retained.items = new Array(n).fill(undefined);
    const items = retained.items;
    const before = heap();
    for (let i = 0; i < n; i++) items[i] = c.create(1);
    const bytes = (heap() - before) / n;
    retained.items = [];
    return { 'B/group': bytes };
  };
}

async function idleWaiter(group: Group): Promise<void> {
  await group.wait();
}

function waiters(c: Contender, n: number): Round {
  return async () => {
    const group = c.create(1);
    group.add(1);
    retained.items = new Array(n).fill(undefined);
    const items = retained.items;
    const before = heap();
    for (let i = 0; i < n; i++) items[i] = idleWaiter(group);
    const bytes = (heap() - before) / n;
    group.done();
    await Promise.all(items);
    retained.items = [];
    return { 'B/waiter': bytes };
  };
}

// shared group, one thread ----------------------------------------------------

/**
 * sharedWaiters registers `n` pending waits on one thread, then releases
 * them with one done(): registration per waiter (wall time, with the heap
 * each waiter keeps) and the release until the last waiter has resumed
 * (wall time: a shared wait resumes through Atomics.waitAsync, which settles
 * from the event loop).
 */
function sharedWaiters(c: Contender, n: number): Round {
  return async () => {
    const { group, all, resumed } = countdown(c, n);
    retained.items = new Array(n).fill(undefined);
    const items = retained.items;
    const before = heap();
    const begin = wall();
    for (let i = 0; i < n; i++) items[i] = waiter(group, all);
    const registered = wall();
    const bytes = (heap() - before) / n;
    await macrotask(); // every waiter is parked
    const start = wall();
    group.done();
    await resumed;
    const end = wall();
    retained.items = [];
    return {
      'ns/register': ((registered - begin) * 1e6) / n,
      'release ms': end - start,
      'B/waiter': bytes,
    };
  };
}

// shared ------------------------------------------------------------------

interface SharedRig {
  round: Round;
  close(): Promise<void>;
}

async function sharedRig(c: Contender | undefined, id: string, w: Workload, perThread: number) {
  const threads = w.threads ?? 2;
  const controlBuffer = new SharedArrayBuffer(16 + 16 * threads);
  const control = new Int32Array(controlBuffer, 0, 4);
  const stamps = new Float64Array(controlBuffer, 16, threads);
  const costs = new Float64Array(controlBuffer, 16 + 8 * threads, threads);
  const total = threads * perThread;

  const mode: WorkerData['mode'] = id === 'shared' ? 'shared' : id === 'd' ? 'd' : 'c';
  const group = mode === 'shared' ? c?.create(total) : undefined;
  const counterBuffer = new SharedArrayBuffer(4);
  const counter = new Int32Array(counterBuffer);
  let left = 0;
  let arrived: () => void = () => {};
  const workers: Worker[] = [];
  for (let index = 0; index < threads; index++) {
    const data: WorkerData = {
      mode,
      index,
      threads,
      perThread,
      control: controlBuffer,
      ...(group !== undefined ? { handle: (group as unknown as { handle: never }).handle } : {}),
      counter: counterBuffer,
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
    worker.on('error', (error) => {
      console.error(error);
      process.exit(1);
    });
    if (mode === 'c') {
      worker.on('message', () => {
        if (--left === 0) arrived();
      });
    }
    workers.push(worker);
  }

  async function finished(count: number): Promise<void> {
    for (;;) {
      const value = Atomics.load(control, 1);
      if (value >= count) return;
      const result = Atomics.waitAsync(control, 1, value);
      if (result.async) await result.value;
    }
  }

  function start(): void {
    Atomics.add(control, 0, 1);
    Atomics.notify(control, 0);
  }

  async function parked(): Promise<void> {
    for (;;) {
      const value = Atomics.load(counter, 0);
      if (value === 0) return;
      const result = Atomics.waitAsync(counter, 0, value);
      if (result.async) await result.value;
    }
  }

  await finished(threads); // every worker attached and ready
  Atomics.store(control, 1, 0);

  const round: Round = async () => {
    let wait: Promise<void>;
    let begin: number;
    if (group !== undefined) {
      group.add(total);
      wait = group.wait();
      begin = wall();
      start();
    } else if (mode === 'd') {
      Atomics.store(counter, 0, total);
      // Parked before the workers start, as ours is: a baseline that looked
      // only after they had finished would measure no wake-up at all.
      wait = parked();
      begin = wall();
      start();
    } else {
      left = total;
      wait = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      begin = wall();
      start();
    }
    await wait;
    const end = wall();
    const resumed = performance.timeOrigin + end;
    await finished(threads);
    Atomics.store(control, 1, 0);
    let last = 0;
    let cost = 0;
    for (let i = 0; i < threads; i++) {
      last = Math.max(last, stamps[i] as number);
      cost += costs[i] as number;
    }
    return {
      'ns/done': cost / threads,
      'total ms': end - begin,
      'wake µs': (resumed - last) * 1e3,
    };
  };

  async function close(): Promise<void> {
    Atomics.store(control, 2, 1);
    start();
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  return { round, close } satisfies SharedRig;
}

// ErrGroup against limiters ------------------------------------------------------

function limited(l: Limiter, n: number, limit: number): Round {
  return async () => {
    const start = now();
    await l.run(n, limit, task);
    const ms = now() - start;
    const peak = l.peak?.();
    return { ms, 'ns/task': (ms * 1e6) / n, ...(peak === undefined ? {} : { 'peak B': peak }) };
  };
}

function queued(l: Limiter, n: number): Round {
  return async () => {
    const before = heap();
    const release = l.queue(n, task);
    retained.items = [release];
    const bytes = (heap() - before) / n;
    await release();
    retained.items = [];
    return { 'B/task': bytes };
  };
}

// main ------------------------------------------------------------------------

async function main(): Promise<void> {
  const [workloadId, contenderId, mode = ''] = process.argv.slice(2);
  if (workloadId === undefined || contenderId === undefined) {
    throw new Error('usage: child.js <workload> <contender> [quick | <rounds>]');
  }
  const quick = mode === 'quick';
  const w = workload(workloadId);
  const n = quick ? w.quickN : w.n;
  const warmup = quick ? 0 : w.warmup;
  const rounds = quick ? 1 : Number.parseInt(mode, 10) || w.rounds;
  // A ref'd handle: shared waits parked in Atomics.waitAsync keep nothing alive.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const baselineOnly = contenderId === 'a' || contenderId === 'c' || contenderId === 'd';
  const limiter = w.kind === 'limited' || w.kind === 'queued';
  const c = baselineOnly || limiter ? undefined : await loadContender(contenderId);
  const l = limiter ? await loadLimiter(contenderId) : undefined;
  let rig: SharedRig | undefined;
  let round: Round;
  switch (w.kind) {
    case 'fanout':
      round = fanout(c as Contender, contenderId, n);
      break;
    case 'pairs':
      round = pairs(c as Contender, n);
      break;
    case 'release':
      round = release(c as Contender, n);
      break;
    case 'zero':
      round = zero(c as Contender, n);
      break;
    case 'idle':
      round = idle(c as Contender, n);
      break;
    case 'waiter':
      round = waiters(c as Contender, n);
      break;
    case 'shared-waiters':
      round = sharedWaiters(c as Contender, n);
      break;
    case 'limited':
      round = limited(l as Limiter, n, w.limit ?? Number.POSITIVE_INFINITY);
      break;
    case 'queued':
      round = queued(l as Limiter, n);
      break;
    case 'shared':
      rig = await sharedRig(c, contenderId, w, quick ? w.quickN : (w.perThread ?? 1));
      round = rig.round;
      break;
  }
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < warmup + rounds; i++) {
    // No forced collection before a timed round: a full gc() shrinks the
    // young generation, so that a fan-out's own allocation then triggers
    // scavenges that copy every still-pending task, a cost that lands at
    // random on a round and swung the fan-out 1e4 ratios by 2–3× from one
    // round to the next. A program fans out with the heap it has. The
    // memory rounds collect for themselves ({@link heap}).
    const result = await round();
    if (i < warmup) continue;
    for (const [key, value] of Object.entries(result)) {
      const values = samples[key] ?? [];
      values.push(value);
      samples[key] = values;
    }
  }
  await rig?.close();
  clearInterval(keepAlive);
  const medians: Record<string, number> = {};
  for (const [key, values] of Object.entries(samples)) medians[key] = median(values);
  const result: ChildResult = {
    workload: w.id,
    contender: contenderId,
    n,
    samples,
    median: medians,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
