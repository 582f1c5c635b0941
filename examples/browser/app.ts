/**
 * The page of the browser example: count the primes below 1,000,000 on four
 * module Web Workers, tracked by one shared WaitGroup that every worker calls
 * `done()` on, once per item, while the page awaits `wg.wait()`.
 *
 * Query parameters: `?workers=4&items=2000&span=500`.
 *
 * The page is cross-origin isolated by its server (COOP same-origin, COEP
 * require-corp); without that, the browser has no `SharedArrayBuffer` and
 * `new WaitGroup({ shared: true })` throws ERR_WAITGROUP_NO_SHARED_MEMORY,
 * which the page shows.
 *
 * @module
 */

import { WaitGroup, WaitGroupError } from '../../lib/index.js';
import { type Element, page } from './dom.js';
import type { Job } from './protocol.js';

/** The outcome of a run, also left on `globalThis.exampleResult` for the tests. */
export interface ExampleResult {
  readonly state: 'done' | 'error';
  readonly workers?: number;
  readonly items?: number;
  readonly primes?: number;
  readonly below?: number;
  readonly ms?: number;
  readonly code?: string;
  readonly message?: string;
}

const params = new URLSearchParams(page.location.search);
const WORKERS = intParam('workers', 4, 1, 16);
const ITEMS = intParam('items', 2000, WORKERS, 1e6);
const SPAN = intParam('span', 500, 1, 1e6);

const root = page.document.documentElement;
let stopWorkers = (): void => {};
const $ = (id: string): Element => {
  const element = page.document.getElementById(id);
  if (element === null) throw new Error(`index.html has no #${id}`);
  return element;
};

main().then(finish, (error: unknown) => {
  const code = error instanceof WaitGroupError ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  $('error-code').textContent = code ?? (error instanceof Error ? error.name : 'Error');
  $('error-message').textContent = message;
  $('error').hidden = false;
  $('status').textContent = 'Failed.';
  finish({ state: 'error', message, ...(code === undefined ? {} : { code }) });
});

async function main(): Promise<ExampleResult> {
  $('isolated').textContent = page.crossOriginIsolated ? 'yes' : 'no';
  $('total').textContent = format(ITEMS);
  $('bar').style.setProperty('--total', String(ITEMS));

  // Throws ERR_WAITGROUP_NO_SHARED_MEMORY if the page is not cross-origin isolated.
  const work = new WaitGroup({ shared: true });
  const ready = new WaitGroup({ shared: true });
  const start = new WaitGroup({ shared: true });
  const counts = new SharedArrayBuffer(2 * WORKERS * Int32Array.BYTES_PER_ELEMENT);
  const progress = new Int32Array(counts); // [items done, primes found] per worker

  work.add(ITEMS);
  ready.add(WORKERS);
  start.add(1);

  const rows = Array.from({ length: WORKERS }, (_, id) => addRow(id));
  const failed = new Promise<never>((_, reject) => {
    const workers = Array.from({ length: WORKERS }, (_, id) => {
      const worker = new page.Worker(new URL('./worker.js', import.meta.url), {
        type: 'module',
        name: `worker ${id}`,
      });
      worker.addEventListener('error', (event) =>
        reject(new Error(`worker ${id}: ${event.message}`)),
      );
      const job: Job = {
        id,
        workers: WORKERS,
        items: ITEMS,
        span: SPAN,
        work: work.handle,
        ready: ready.handle,
        start: start.handle,
        progress: counts,
      };
      worker.postMessage(job);
      return worker;
    });
    stopWorkers = () => {
      for (const worker of workers) worker.terminate();
    };
  });

  $('status').textContent = `Starting ${WORKERS} workers…`;
  await Promise.race([ready.wait(), failed]); // every worker has attached
  const began = performance.now();
  start.done(); // release every worker's start.waitSync() at once
  $('status').textContent =
    `Working: the page awaits wg.wait() while ${WORKERS} workers call wg.done()…`;

  let running = true;
  const render = (): void => {
    $('done').textContent = format(ITEMS - work.counter);
    $('remaining').textContent = format(work.counter);
    $('waiters').textContent = String(work.waiters);
    $('bar').style.setProperty('--done', String(ITEMS - work.counter));
    let primes = 0;
    rows.forEach((row, id) => {
      const items = Atomics.load(progress, 2 * id);
      const found = Atomics.load(progress, 2 * id + 1);
      primes += found;
      row.items.textContent = format(items);
      row.primes.textContent = format(found);
      row.bar.style.setProperty('--done', String(items));
    });
    $('primes').textContent = format(primes);
    if (running) page.requestAnimationFrame(render);
  };
  render();

  await Promise.race([work.wait(), failed]);
  const ms = performance.now() - began;
  running = false;
  stopWorkers();
  render();

  let primes = 0;
  for (let id = 0; id < WORKERS; id++) primes += Atomics.load(progress, 2 * id + 1);
  const below = ITEMS * SPAN;
  $('status').textContent = 'Finished.';
  $('summary').textContent =
    `All ${WORKERS} workers done: ${format(ITEMS)} items in ${ms.toFixed(0)} ms ` +
    `(${format(primes)} primes below ${format(below)})`;
  $('summary').hidden = false;
  return { state: 'done', workers: WORKERS, items: ITEMS, primes, below, ms };

  function addRow(id: number) {
    const cell = (...content: (Element | string)[]): Element => {
      const td = page.document.createElement('td');
      td.append(...content);
      return td;
    };
    const bar = page.document.createElement('div');
    bar.className = 'bar';
    bar.style.setProperty('--total', String(Math.ceil((ITEMS - id) / WORKERS)));
    const items = cell('0');
    const primes = cell('0');
    const row = page.document.createElement('tr');
    row.append(cell(`worker ${id}`), cell(bar), items, primes);
    $('rows').append(row);
    return { items, primes, bar };
  }
}

function finish(result: ExampleResult): void {
  stopWorkers();
  (globalThis as { exampleResult?: ExampleResult }).exampleResult = result;
  root.dataset.state = result.state;
}

function intParam(name: string, fallback: number, min: number, max: number): number {
  const value = Number(params.get(name) ?? fallback);
  return Number.isSafeInteger(value) ? Math.min(Math.max(value, min), max) : fallback;
}

function format(n: number): string {
  return n.toLocaleString('en-US');
}
