/**
 * forgotten-done: the commonest WaitGroup bug, a task that never calls
 * done(), and what debug mode says about it. Run it with debug mode on:
 *
 *   npm run build && AWAITGROUP_DEBUG=1 node dist/examples/forgotten-done.js
 *
 * The wait() can never return; when Node is about to exit, debug mode warns
 * which units never finished and where they were added. In a program that
 * keeps running (a server, a shared group's pending wait), debug mode warns
 * while the wait is stalled instead: after AWAITGROUP_STALL_MS (10 s by
 * default), then at doubling intervals.
 *
 * @module
 */

import { WaitGroup } from '../lib/index.js';

const wg = new WaitGroup();
const pages = ['/a', '/b', '/c'];

for (const page of pages) {
  wg.add(1);
  setTimeout(() => {
    // Bug: the /b branch returns before its done().
    if (page === '/b') return;
    wg.done();
  }, 10);
}
wg.go(() => new Promise<void>(() => {}), { name: 'fetch /slow' }); // never settles

console.log(`waiting for ${wg.counter} tasks`);
await wg.wait();
console.log('all done');
