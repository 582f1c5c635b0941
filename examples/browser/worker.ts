/**
 * A worker of the browser example. It attaches to the page's groups, says it
 * is ready, blocks until the page starts everyone at once (a worker may
 * block: `waitSync`), then tests its items for primes and calls `done()` on
 * the shared group once per item.
 *
 * @module
 */

import { WaitGroup } from '../../lib/index.js';
import { workerScope } from './dom.js';
import { isJob } from './protocol.js';

workerScope.addEventListener('message', ({ data }) => {
  if (!isJob(data)) return;
  const work = WaitGroup.from(data.work);
  const ready = WaitGroup.from(data.ready);
  const start = WaitGroup.from(data.start);
  const progress = new Int32Array(data.progress);

  ready.done();
  start.waitSync();
  for (let item = data.id; item < data.items; item += data.workers) {
    const found = countPrimes(item * data.span, (item + 1) * data.span);
    Atomics.add(progress, 2 * data.id, 1);
    Atomics.add(progress, 2 * data.id + 1, found);
    work.done();
  }
});

/** countPrimes counts the primes in [from, to) by trial division: work to share out. */
function countPrimes(from: number, to: number): number {
  let count = 0;
  for (let n = Math.max(from, 2); n < to; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}
