/**
 * quick-start: the two everyday shapes of a WaitGroup, on real async work
 * (gzip in Node's thread pool): add/done around work you start yourself, and
 * go(), which does that bookkeeping for you. Each task handles its own
 * error: wait() does not collect errors, and a rejection nothing handles
 * would end the process (an ErrGroup collects the first error instead).
 *
 *   node dist/examples/quick-start.js
 *
 * @module
 */

import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { WaitGroup } from '../lib/index.js';

const compress = promisify(gzip);

/** Some files to compress: 8 buffers of repetitive text of different sizes. */
const files = Array.from({ length: 8 }, (_, i) =>
  Buffer.from(`line ${i}: the quick brown fox\n`.repeat(1000 * (i + 1))),
);
const sizes: number[] = [];
const failures: unknown[] = [];

{
  const wg = new WaitGroup();
  for (const file of files) {
    wg.add(1);
    compress(file)
      .then((zipped) => sizes.push(zipped.length))
      .catch((error: unknown) => failures.push(error))
      .finally(() => wg.done());
  }
  await wg.wait(); // every compress() has settled
  console.log(`add/done: ${sizes.length} files compressed, counter ${wg.counter}`);
}

{
  const wg = new WaitGroup();
  const before = sizes.length;
  for (const file of files) {
    // go() adds 1, calls the task at once, and calls done() when it settles.
    wg.go(async () => {
      try {
        sizes.push((await compress(file)).length);
      } catch (error) {
        failures.push(error); // each task handles its own error: wait() does not collect them
      }
    });
  }
  await wg.wait();
  console.log(`go: ${sizes.length - before} files compressed, counter ${wg.counter}`);
}
