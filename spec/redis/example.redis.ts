/** The example of docs/redis.md runs: a coordinator, 4 workers, a throwaway redis-server. */

import { fork } from 'node:child_process';
import { expect } from 'chai';
import { collect } from '../helpers/child.js';
import { requireRedis } from './support/servers.js';

describe('examples/redis-batch.ts', () => {
  it('finishes 40 jobs over 4 worker processes, a job run twice counted once', async function () {
    this.timeout(60_000);
    requireRedis();
    const env = { ...process.env };
    delete env.REDIS_URL;
    const child = fork(new URL('../../examples/redis-batch.js', import.meta.url), [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env,
    });
    const outcome = await collect(child, 50_000);
    expect(outcome.stderr).to.equal('');
    expect(outcome.code).to.equal(0);
    expect(outcome.stdout).to.include('40/40 jobs done: all 40 jobs done by 4 workers');
  });
});
