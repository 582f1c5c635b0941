/**
 * The workloads of SPEC §7 and the contenders each one runs. Pure data: the
 * harness (run.ts), the child (child.ts) and the smoke spec all read it.
 *
 * @module
 */

/** The Node lines of SPEC §7, each one column of the tables. */
export const LINES: readonly string[] = ['20', '22', '24', '26'];

/** What a workload measures; child.ts has one runner per kind. */
export type Kind =
  | 'fanout'
  | 'pairs'
  | 'release'
  | 'zero'
  | 'shared'
  | 'idle'
  | 'waiter'
  | 'shared-waiters'
  | 'limited'
  | 'queued';

/** One metric a round reports. */
export interface Metric {
  readonly key: string;
  readonly unit: string;
}

/** One workload row group of the table. */
export interface Workload {
  readonly id: string;
  readonly title: string;
  readonly kind: Kind;
  /** The size of one round: tasks, pairs, waiters, awaits or instances. */
  readonly n: number;
  readonly quickN: number;
  /** Shared workloads: worker threads and done() calls per worker. */
  readonly threads?: number;
  readonly perThread?: number;
  /** Limiter workloads: tasks run at once. */
  readonly limit?: number;
  readonly contenders: readonly string[];
  /** The contender the ratios are taken against. */
  readonly baseline: string;
  readonly metrics: readonly Metric[];
  readonly warmup: number;
  readonly rounds: number;
  /**
   * How many fresh processes per contender share the rounds (default 3).
   * More for workloads whose speed varies from one process to the next.
   */
  readonly passes?: number;
}

const FANOUT = ['a', 'b', 'local', 'shared', 'jpw', 'esfx', 'teamwork'];
const GO = ['f', 'local-go'];
const PAIRS = ['b', 'w', 'e', 'local', 'shared', 'jpw', 'esfx'];
const RELEASE = ['b', 'b2', 'local', 'shared', 'jpw', 'esfx', 'teamwork'];
const ZERO = ['b', 'b2', 'local', 'shared', 'jpw', 'esfx', 'teamwork'];
const MEMORY = ['b', 'b2', 'e', 'local', 'shared', 'jpw', 'esfx', 'teamwork'];
const SHARED = ['d', 'shared', 'c'];

const ms: Metric = { key: 'ms', unit: 'ms' };
const perTask: Metric = { key: 'ns/task', unit: 'ns' };

/**
 * A fan-out row: a fresh group per round, `n` tasks tracked with add+done
 * (or go() for the go rows, against (f)), then one wait() made after the
 * loop, as a `for (const url of urls) wg.go(...); await wg.wait()` does.
 */
function fanout(
  n: number,
  label: string,
  warmup: number,
  rounds: number,
  passes = 3,
  go = false,
): Workload {
  return {
    id: `fanout-${go ? 'go-' : ''}${label}`,
    title: `fan-out: ${label} promise tasks with ${go ? 'go()' : 'add+done'}, then one wait()`,
    kind: 'fanout',
    n,
    quickN: 1_000,
    contenders: go ? GO : FANOUT,
    baseline: go ? 'f' : 'b',
    metrics: [perTask],
    warmup,
    rounds,
    passes,
  };
}

/**
 * The first fan-out of a process, cold: no warm-up, one round per fresh
 * process. What a program that fans out once pays, deoptimisations,
 * first-use allocations and unoptimised code included.
 */
function cold(go: boolean): Workload {
  return {
    ...fanout(1e4, '1e4', 0, 15, 15, go),
    id: `fanout-${go ? 'go-' : ''}cold-1e4`,
    title: `fan-out: the first ${go ? 'go()' : 'add+done'} fan-out of 1e4 tasks in a fresh process`,
    contenders: go ? ['f', 's-go', 'local-go'] : ['b', 'w', 's', 'local'],
  };
}

function release(n: number, label: string, warmup: number, rounds: number): Workload {
  return {
    id: `release-${label}`,
    title: `${label} pending waiters released by one done()`,
    kind: 'release',
    n,
    quickN: 100,
    contenders: RELEASE,
    baseline: 'b2',
    metrics: [ms],
    warmup,
    rounds,
  };
}

function shared(threads: number, perThread: number, label: string): Workload {
  const small = perThread === 1;
  return {
    id: `shared-T${threads}-K${label}`,
    title: `shared: ${threads} workers × ${label} done() each`,
    kind: 'shared',
    n: perThread,
    quickN: Math.min(perThread, 100),
    threads,
    perThread,
    contenders: SHARED,
    baseline: 'd',
    metrics: [
      { key: 'ns/done', unit: 'ns' },
      { key: 'total ms', unit: 'ms' },
      { key: 'wake µs', unit: 'µs' },
    ],
    warmup: small ? 20 : 5,
    rounds: small ? 42 : 15,
  };
}

/** Every workload, in table order. */
export const WORKLOADS: readonly Workload[] = [
  fanout(1e4, '1e4', 5, 40, 4),
  fanout(1e5, '1e5', 1, 8, 4),
  fanout(1e6, '1e6', 0, 2, 2),
  cold(false),
  fanout(1e4, '1e4', 5, 40, 4, true),
  // The go() fan-out with one tracing subscriber beside it (T2).
  { ...fanout(1e5, '1e5', 1, 8, 4, true), contenders: [...GO, 'local-go-traced'] },
  fanout(1e6, '1e6', 0, 2, 2, true),
  cold(true),
  {
    id: 'pairs-1e7',
    title: '1e7 add(1)+done() pairs, no waiters',
    kind: 'pairs',
    n: 1e7,
    quickN: 1e4,
    contenders: PAIRS,
    baseline: 'b',
    metrics: [{ key: 'ns/pair', unit: 'ns' }],
    warmup: 1,
    rounds: 6,
    passes: 3,
  },
  {
    id: 'pairs-cold-1e4',
    title: 'the first 1e4 add(1)+done() pairs of a fresh process (unoptimised code)',
    kind: 'pairs',
    n: 1e4,
    quickN: 1e3,
    contenders: ['b', 'w', 's', 'local'],
    baseline: 'b',
    metrics: [{ key: 'ns/pair', unit: 'ns' }],
    warmup: 0,
    rounds: 9,
    passes: 9,
  },
  release(1e4, '1e4', 2, 15),
  // Without @jpwilliams/waitgroup, which drains its queue with shift() and
  // takes seconds a round here (4.2 s measured): the row is about our queue.
  { ...release(1e5, '1e5', 1, 4), contenders: RELEASE.filter((id) => id !== 'jpw'), passes: 2 },
  {
    id: 'zero-wait',
    title: '`await wait()` on a group already at zero',
    kind: 'zero',
    n: 1e6,
    quickN: 1e3,
    contenders: ZERO,
    baseline: 'b',
    metrics: [{ key: 'ns/wait', unit: 'ns' }],
    warmup: 3,
    rounds: 12,
    passes: 3,
  },
  shared(2, 1, '1'),
  shared(2, 1e4, '1e4'),
  shared(4, 1, '1'),
  shared(4, 1e4, '1e4'),
  {
    id: 'memory-idle',
    title: 'memory: one idle group (1e5 kept)',
    kind: 'idle',
    n: 1e5,
    quickN: 1e3,
    contenders: MEMORY,
    baseline: 'b',
    metrics: [{ key: 'B/group', unit: 'B' }],
    warmup: 0,
    rounds: 2,
    passes: 1,
  },
  {
    id: 'memory-waiter',
    title: 'memory: one pending waiter (1e5 async functions awaiting wait())',
    kind: 'waiter',
    n: 1e5,
    quickN: 1e3,
    contenders: MEMORY.filter((id) => id !== 'e'),
    baseline: 'b2',
    metrics: [{ key: 'B/waiter', unit: 'B' }],
    warmup: 0,
    rounds: 2,
    passes: 1,
  },
  {
    id: 'shared-waiters-1e4',
    title: 'shared group, one thread: 1e4 pending wait()s registered, then released by one done()',
    kind: 'shared-waiters',
    n: 1e4,
    quickN: 100,
    contenders: ['b2', 'shared', 'g', 'local'],
    baseline: 'b2',
    metrics: [
      { key: 'ns/register', unit: 'ns' },
      { key: 'release ms', unit: 'ms' },
      { key: 'B/waiter', unit: 'B' },
    ],
    warmup: 2,
    rounds: 9,
  },
  {
    id: 'debug-pairs-1e5',
    title: 'debug mode (D6): 1e5 add(1)+done() pairs, off and on',
    kind: 'pairs',
    n: 1e5,
    quickN: 1e3,
    contenders: ['local', 'local-debug'],
    baseline: 'local',
    metrics: [{ key: 'ns/pair', unit: 'ns' }],
    warmup: 1,
    rounds: 3,
    passes: 1,
  },
  {
    id: 'debug-go-1e4',
    title: 'debug mode (D6): go() fan-out of 1e4 tasks, off and on',
    kind: 'fanout',
    n: 1e4,
    quickN: 1e3,
    contenders: ['local-go', 'local-go-debug'],
    baseline: 'local-go',
    metrics: [ms, perTask],
    warmup: 1,
    rounds: 5,
  },
  {
    id: 'errgroup-limit16',
    title: 'ErrGroup: 1e5 tasks with limit 16, then wait()',
    kind: 'limited',
    n: 1e5,
    quickN: 1e3,
    limit: 16,
    contenders: ['plimit', 'errgroup', 'pmap'],
    baseline: 'plimit',
    metrics: [ms, perTask],
    warmup: 1,
    rounds: 6,
    passes: 2,
  },
  {
    id: 'errgroup-queued',
    title: 'ErrGroup: memory of one queued task (1e5 behind limit 1)',
    kind: 'queued',
    n: 1e5,
    quickN: 1e3,
    contenders: ['plimit', 'errgroup'],
    baseline: 'plimit',
    metrics: [{ key: 'B/task', unit: 'B' }],
    warmup: 0,
    rounds: 3,
  },
  {
    id: 'errgroup-unlimited',
    title: 'ErrGroup: 1e5 tasks without a limit, then wait()',
    kind: 'limited',
    n: 1e5,
    quickN: 1e3,
    limit: Number.POSITIVE_INFINITY,
    contenders: ['wg-go', 'errgroup'],
    baseline: 'wg-go',
    metrics: [ms, perTask],
    warmup: 1,
    rounds: 6,
    passes: 2,
  },
  {
    id: 'errgroup-map',
    title: 'ErrGroup.map: 1e5 items with limit 16, results in order',
    kind: 'limited',
    n: 1e5,
    quickN: 1e3,
    limit: 16,
    contenders: ['pmap', 'errgroup-map'],
    baseline: 'pmap',
    metrics: [ms, perTask, { key: 'peak B', unit: 'B' }],
    warmup: 1,
    rounds: 6,
    passes: 2,
  },
  {
    id: 'errgroup-map-iterable',
    title: 'ErrGroup.mapIterable: a Readable of 1e5 items with limit 16, streamed',
    kind: 'limited',
    n: 1e5,
    quickN: 1e3,
    limit: 16,
    contenders: ['pmap-iterable', 'errgroup-map-iterable'],
    baseline: 'pmap-iterable',
    metrics: [ms, perTask],
    warmup: 1,
    rounds: 6,
    passes: 2,
  },
  {
    id: 'errgroup-timeout',
    title: 'ErrGroup: 1e5 tasks with limit 16, each with a timeout and without',
    kind: 'limited',
    n: 1e5,
    quickN: 1e3,
    limit: 16,
    contenders: ['errgroup', 'errgroup-timeout'],
    baseline: 'errgroup',
    metrics: [ms, perTask],
    warmup: 1,
    rounds: 6,
    passes: 2,
  },
];

/** workload returns the workload named `id`. */
export function workload(id: string): Workload {
  const found = WORKLOADS.find((w) => w.id === id);
  if (found === undefined) throw new Error(`unknown workload ${id}`);
  return found;
}
