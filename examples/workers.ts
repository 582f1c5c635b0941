/**
 * workers: count the primes below a limit on worker threads that share one
 * WaitGroup in a SharedArrayBuffer. Each counter worker calls `done()` on it;
 * the main thread `await`s it; a reporter worker blocks on it with
 * `waitSync`, then adds up the counts and reports through a second group.
 *
 *   node dist/examples/workers.js [--limit 5000000] [--threads 4]
 *
 * This file is both the main script and the workers' script.
 *
 * @module
 */

import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { WaitGroup, type WaitGroupHandle } from '../lib/index.js';

/** What a worker is given: handles of shared groups and a shared array to write into. */
type Job =
  | {
      role: 'counter';
      counted: WaitGroupHandle;
      results: Int32Array;
      index: number;
      from: number;
      to: number;
    }
  | { role: 'reporter'; counted: WaitGroupHandle; reported: WaitGroupHandle; results: Int32Array };

function isPrime(n: number): boolean {
  if (n < 4) return n >= 2;
  if (n % 2 === 0) return false;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** countPrimes counts the primes p with from <= p < to, the slow way: it is the CPU work. */
function countPrimes(from: number, to: number): number {
  let count = 0;
  for (let n = from; n < to; n++) if (isPrime(n)) count++;
  return count;
}

function runWorker(job: Job): void {
  const counted = WaitGroup.from(job.counted);
  if (job.role === 'counter') {
    try {
      job.results[job.index] = countPrimes(job.from, job.to);
    } finally {
      counted.done(); // always, or the waiters wait forever; an error still reaches 'error'
    }
    return;
  }
  // A worker may block: waitSync parks this thread in Atomics.wait until the
  // counters are done, or throws a TimeoutError after a minute.
  counted.waitSync({ timeout: 60_000 });
  // Each counter wrote its count before its done(), and the last done()
  // happens before waitSync returns: plain reads see every count.
  const { results } = job;
  let total = 0;
  for (let i = 0; i < results.length - 1; i++) total += results[i] ?? 0;
  results[results.length - 1] = total;
  WaitGroup.from(job.reported).done();
}

async function main(limit: number, threads: number): Promise<number> {
  const counted = new WaitGroup({ shared: true }); // done() by each counter
  const reported = new WaitGroup({ shared: true }); // done() by the reporter
  // One count per counter, then the reporter's total.
  const results = new Int32Array(new SharedArrayBuffer(4 * (threads + 1)));

  // Add before starting the work that is counted, as in Go.
  counted.add(threads);
  reported.add(1);
  const start = (job: Job) =>
    new Worker(new URL(import.meta.url), { workerData: job })
      .on('error', (error) => {
        console.error('workers: a worker failed:', error);
        process.exit(1);
      })
      // Nothing but the pending shared waits below keeps the process alive (S16).
      .unref();

  const started = performance.now();
  start({ role: 'reporter', counted: counted.handle, reported: reported.handle, results });
  for (let i = 0; i < threads; i++) {
    const from = Math.floor((limit * i) / threads);
    const to = Math.floor((limit * (i + 1)) / threads);
    start({ role: 'counter', counted: counted.handle, results, index: i, from, to });
  }

  await counted.wait();
  const seconds = (performance.now() - started) / 1000;
  const total = results.subarray(0, threads).reduce((sum, count) => sum + count, 0);
  await reported.wait();
  const reportedTotal = results[threads];

  const check = performance.now();
  const expected = countPrimes(0, limit);
  const checkSeconds = (performance.now() - check) / 1000;

  console.log(`primes below ${limit}`);
  console.log(
    `  ${`${threads} worker${threads === 1 ? '' : 's'}`.padEnd(11)} ${total} in ${seconds.toFixed(2)} s`,
  );
  console.log(`  reporter    ${reportedTotal} after waitSync`);
  console.log(`  one thread  ${expected} in ${checkSeconds.toFixed(2)} s`);
  // The workers' time includes starting them (tens of ms each), and they
  // can only be as fast as the idle cores they get: on a busy 2-core machine
  // four workers may well be slower than one thread.
  const cores = availableParallelism();
  const load = loadavg()[0] ?? 0; // 0 where the platform has no load average
  console.log(
    `  speed-up    ${(checkSeconds / seconds).toFixed(2)}× with ${threads} worker${threads === 1 ? '' : 's'} ` +
      `on ${cores} core${cores === 1 ? '' : 's'}${load > 0 ? `, load average ${load.toFixed(1)}` : ''}`,
  );
  if (checkSeconds < seconds) {
    console.log(
      "              slower than one thread: the workers' time includes starting them, and they\n" +
        '              share the cores with each other and with whatever else this machine runs',
    );
  }
  if (total !== expected || reportedTotal !== expected) {
    console.error('workers: the counts do not agree');
    return 1;
  }
  console.log('  ok: all three agree');
  return 0;
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new Error(
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

if (isMainThread) {
  let limit: number;
  let threads: number;
  try {
    const { values } = parseArgs({
      options: {
        limit: { type: 'string', default: '5000000' },
        threads: { type: 'string', default: '4' },
      },
    });
    limit = integer('--limit', values.limit, 2, 100_000_000);
    threads = integer('--threads', values.threads, 1, 64);
  } catch (error) {
    console.error(
      `workers: ${(error as Error).message}\nusage: workers [--limit <n>] [--threads <1-64>]`,
    );
    process.exit(2);
  }
  process.exitCode = await main(limit, threads);
} else {
  runWorker(workerData as Job);
}
