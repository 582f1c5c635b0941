/**
 * errgroup-crawl: fetch 100 pages of a local server through an ErrGroup with
 * a limit of 4, each `fetch` given the task's signal. One route fails; the
 * group then aborts: the requests in flight are cancelled and the queued ones
 * never start. The example serves itself on 127.0.0.1, so it needs no network.
 *
 *   npm run build && node dist/examples/errgroup-crawl.js
 *
 * Pages before /page/10 answer at once, /page/10 answers 500, and the pages
 * after it are held until the server closes, so those that started are still
 * in flight when the failure arrives.
 *
 * Each page is handled in a request context of its own (an AsyncLocalStorage,
 * as a server's request id or an OpenTelemetry span would be): a task runs in
 * the context of its go() call even when it waited in the queue for a slot.
 *
 * @module
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrGroup } from '../lib/index.js';

const PAGES = 100;
const FAILING = 10;

// /page/10 answers once the 3 pages after it have arrived, so that the
// failure meets exactly 3 requests in flight (limit 4): the output is the same
// on every run.
let failing: ServerResponse | undefined;
let held = 0;
const server = createServer((req, res) => {
  const n = Number(new URL(req.url ?? '/', 'http://localhost').pathname.split('/').pop());
  if (n < FAILING) res.end(`page ${n}\n`);
  else if (n === FAILING) failing = res;
  else held++; // later pages get no answer: only the client's abort ends them
  if (failing !== undefined && held === 3) failing.writeHead(500).end('broken\n');
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const request = new AsyncLocalStorage<{ readonly page: number }>();
const tally = { ran: 0, cancelled: 0, neverStarted: 0, started: 0, inContext: 0 };
const eg = new ErrGroup({ limit: 4 });
for (let n = 0; n < PAGES; n++) {
  request.run({ page: n }, () => {
    let started = false;
    const page = eg.go(async (signal) => {
      started = true;
      tally.started++;
      if (request.getStore()?.page === n) tally.inContext++;
      // The group's signal aborts at the first failure: it cancels this fetch.
      const res = await fetch(`${origin}/page/${n}`, { signal });
      if (!res.ok) throw new Error(`HTTP ${res.status} from /page/${n}`);
      await res.text();
      tally.ran++;
    });
    // After the failure, a task in flight rejects with the signal's reason
    // (fetch's abort), and so does a queued one, which never started.
    page.catch(() => {
      if (!started) tally.neverStarted++;
      else if (n !== FAILING) tally.cancelled++;
    });
  });
}

try {
  await eg.wait();
  console.log('crawl finished without an error');
} catch (error) {
  // wait() settles only after every task settled: the counts are final here.
  console.log(`crawl stopped: ${(error as Error).message}`);
}
server.closeAllConnections();
server.close();
console.log(`  ran            ${tally.ran}`);
console.log(`  cancelled      ${tally.cancelled}  (in flight when the failure came)`);
console.log(`  never started  ${tally.neverStarted}`);
console.log(`  failed         1  (/page/${FAILING}, on purpose)`);
console.log(`  in context     ${tally.inContext} of ${tally.started} started tasks`);
const { admitted, started, fulfilled, rejected, dropped } = eg.stats;
console.log(
  `  stats          admitted ${admitted}, started ${started}, fulfilled ${fulfilled}, ` +
    `rejected ${rejected}, dropped ${dropped}`,
);
