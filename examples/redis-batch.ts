/**
 * A batch over several processes on one RedisWaitGroup: a coordinator adds
 * one unit per job, hands the group's handle to worker processes, shows a
 * live progress line and waits for the last job. Each worker marks its jobs
 * with done({ id }), so a job run twice still counts once (R13).
 *
 *   npm run example:redis                       # a throwaway redis-server on loopback
 *   REDIS_URL=redis://127.0.0.1:6379 npm run example:redis
 *
 * @module
 */

import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisWaitGroup, type RedisWaitGroupHandle } from 'awaitgroup/redis';
import { createClient } from 'redis';

const JOBS = 40;
const WORKERS = 4;

if (process.argv[2] === 'worker') {
  // A worker: attach by handle, run its share of the jobs, done({ id }) for each.
  const [, , , url, handleJson, first, step] = process.argv as string[];
  const client = await createClient({ url: url as string }).connect();
  const wg = RedisWaitGroup.from(client, JSON.parse(handleJson as string) as RedisWaitGroupHandle);
  for (let job = Number(first); job < JOBS; job += Number(step)) {
    await new Promise((resolve) => setTimeout(resolve, 5 + (job % 7) * 3)); // the job's work
    await wg.done({ id: `job-${job}` });
    if (job === 3) await wg.done({ id: `job-${job}` }); // a queue ran job 3 twice: counted once
  }
  client.destroy();
} else {
  const { url, stop } = await redisUrl();
  const client = await createClient({ url }).connect();
  const wg = await RedisWaitGroup.create(client, `redis-batch-${process.pid}-${Date.now()}`, {
    ttl: 600_000,
  });
  await wg.add(JOBS);
  const exits: Promise<unknown>[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const args = ['worker', url, JSON.stringify(wg.handle), String(i), String(WORKERS)];
    const worker = fork(new URL(import.meta.url), args);
    exits.push(new Promise((resolve) => worker.once('exit', resolve)));
  }
  // A timer's callback must handle its own rejection: a state() that fails
  // (Redis away for longer than retryFor) only skips one progress line.
  const progress = setInterval(() => {
    wg.state().then(
      ({ counter }) => process.stdout.write(`\r${JOBS - counter}/${JOBS} jobs done`),
      () => {},
    );
  }, 100);
  await wg.wait();
  clearInterval(progress);
  console.log(`\r${JOBS}/${JOBS} jobs done: all ${JOBS} jobs done by ${WORKERS} workers`);
  await Promise.all(exits);
  client.destroy();
  await stop();
}

/** redisUrl returns REDIS_URL, or starts a throwaway redis-server on a free loopback port. */
async function redisUrl(): Promise<{ url: string; stop: () => Promise<void> }> {
  const env = process.env.REDIS_URL;
  if (env) return { url: env, stop: async () => {} };
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'redis-batch-'));
  const server = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  server.on('error', () => {
    console.error(
      'redis-server is not installed: apt-get install -y redis-server, or set REDIS_URL',
    );
    process.exit(1);
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const probe = await createClient({ url })
        .on('error', () => {})
        .connect();
      probe.destroy();
      break;
    } catch (error) {
      if (i > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return {
    url,
    stop: async () => {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
