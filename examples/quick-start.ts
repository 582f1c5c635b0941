/**
 * quick-start: the two everyday shapes of a WaitGroup, on real async work
 * (gzip in Node's thread pool): add/done around work you start yourself, and
 * go(), which does that bookkeeping for you.
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

{
  const wg = new WaitGroup();
  for (const file of files) {
    wg.add(1);
    compress(file)
      .then((zipped) => sizes.push(zipped.length))
      .finally(() => wg.done());
  }
  await wg.wait(); // every compress() has settled
  console.log(`add/done: ${sizes.length} files compressed, counter ${wg.counter}`);
}

{
  const wg = new WaitGroup();
  for (const file of files) wg.go(() => compress(file));
  await wg.wait();
  console.log(`go: ${files.length} files compressed, counter ${wg.counter}`);
}
