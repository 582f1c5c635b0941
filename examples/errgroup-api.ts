/**
 * errgroup-api: build one page from five backend calls at once, each with a
 * time budget of its own, and report every failure, not only the first.
 * The example serves its own backends on 127.0.0.1, so it needs no network.
 *
 *   node dist/examples/errgroup-api.js
 *
 * The group is a supervisor (`cancelOnError: false`): a failed call does not
 * cancel the others, and `errors: 'all'` makes `wait()` reject with an
 * AggregateError of every failure. `/ads` never answers: its 200 ms timeout
 * aborts its fetch with a TimeoutError. `/reviews` answers 503. The page is
 * built from what arrived. Each call runs in the request's async context (an
 * AsyncLocalStorage holding the request id), and its log line says so.
 *
 * @module
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrGroup } from '../lib/index.js';

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/ads') return; // never answers: only the timeout ends it
  if (path === '/reviews') res.writeHead(503).end('unavailable');
  else res.end(JSON.stringify({ from: path }));
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const request = new AsyncLocalStorage<{ readonly id: string }>();
const log = (line: string): void =>
  console.log(`[${request.getStore()?.id ?? 'no request'}] ${line}`);

/** call fetches one backend as JSON, with the signal the group hands the task. */
async function call(path: string, signal: AbortSignal): Promise<unknown> {
  const res = await fetch(`${origin}${path}`, { signal });
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${path}`);
  const body = await res.json();
  log(`${path} answered`);
  return body;
}

async function buildPage(): Promise<Record<string, unknown>> {
  const eg = new ErrGroup({ limit: 3, errors: 'all', cancelOnError: false, timeout: 10_000 });
  const page: Record<string, unknown> = {};
  for (const path of ['/user', '/cart', '/recommendations', '/reviews']) {
    // The results are read from the settled promises below: ignoring a
    // rejected go() promise is safe, it is already marked handled.
    void eg.go(async (signal) => {
      page[path] = await call(path, signal);
    });
  }
  // A call may have its own budget: /ads gets 200 ms.
  void eg.go(
    async (signal) => {
      page['/ads'] = await call('/ads', signal);
    },
    { timeout: 200, name: 'ads' },
  );
  try {
    await eg.wait();
  } catch (error) {
    for (const failure of (error as AggregateError).errors as Error[]) {
      log(`failed: ${failure.name === 'TimeoutError' ? 'TimeoutError on /ads' : failure.message}`);
    }
  }
  const { fulfilled, rejected } = eg.stats;
  log(`${fulfilled} calls answered, ${rejected} failed`);
  return page;
}

const page = await request.run({ id: 'req-42' }, buildPage);
server.closeAllConnections();
server.close();
console.log(`page built from: ${Object.keys(page).sort().join(', ')}`);
