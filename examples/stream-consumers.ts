/**
 * stream-consumers: several consumers drain one ReadableStream through a
 * shared reader, and a WaitGroup says when all of them are done. The group is
 * declared with `await using`, so leaving its block waits for it, whether the
 * block ends normally or throws.
 *
 *   node dist/examples/stream-consumers.js
 *
 * @module
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { WaitGroup } from '../lib/index.js';

const ITEMS = 200;
const CONSUMERS = ['ant', 'bee', 'cat', 'dog'];

/** numbers is a pull stream of 1, 2, …, n: it makes an item only when a reader asks for one. */
function numbers(n: number): ReadableStream<number> {
  let next = 1;
  return new ReadableStream({
    pull(controller) {
      if (next > n) controller.close();
      else controller.enqueue(next++);
    },
  });
}

const reader = numbers(ITEMS).getReader();
const counts = new Map<string, number>();
let sum = 0;

{
  await using wg = new WaitGroup();
  for (const name of CONSUMERS) {
    counts.set(name, 0);
    void wg.go(async () => {
      for (;;) {
        // Reads from all consumers queue up on the one reader, and each item
        // goes to exactly one of them. After the stream closes, every read is done.
        const { done, value } = await reader.read();
        if (done) return;
        await sleep(Math.random() * 3); // the work an item takes
        sum += value;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    });
  }
  console.log(`${CONSUMERS.length} consumers started, wg.counter = ${wg.counter}`);
} // here `await using` runs `await wg[Symbol.asyncDispose]()`, which is `await wg.wait()`

let total = 0;
for (const [name, count] of counts) {
  console.log(`  ${name.padEnd(6)} ${String(count).padStart(4)} items`);
  total += count;
}
console.log(`  total  ${String(total).padStart(4)} items, sum ${sum}`);

// Each item was taken once: the count is ITEMS and the sum is 1 + 2 + … + ITEMS.
if (total !== ITEMS || sum !== (ITEMS * (ITEMS + 1)) / 2) {
  console.error(`stream-consumers: expected ${ITEMS} items`);
  process.exitCode = 1;
}
